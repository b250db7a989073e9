"""Scenes, distortions, the two-halves sampler and the scene sampler."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from blindiqa.distortions import NAMES, apply_distortion
from blindiqa.train.data import (
    CPU_TYPES,
    NUM_CLASSES,
    PRISTINE_CLASS,
    SceneDataset,
    SceneSampler,
    SceneSpec,
    apply_drawn_distortions,
    class_to_distortion,
    collate_scenes,
    derive_seed,
    distortion_class,
    draw_distortion_classes,
    finish_device_batch,
    list_training_images,
    make_generator,
    make_views,
    scale_views,
    scene_labels,
    two_halves_boxes,
    two_halves_views,
    working_crop,
)


def coordinate_scene(k: int, h: int, w: int) -> torch.Tensor:
    """(1, k, 3, h, w): channel 0 = row, channel 1 = column, channel 2 = version."""
    rows = torch.arange(h, dtype=torch.float64).view(h, 1).expand(h, w)
    cols = torch.arange(w, dtype=torch.float64).view(1, w).expand(h, w)
    return torch.stack([torch.stack([rows, cols, torch.full((h, w), float(v))])
                        for v in range(k)])[None]


def test_derive_seed():
    assert derive_seed(0, 1, 2) == derive_seed(0, 1, 2)
    seeds = {derive_seed(0, a, b) for a in range(5) for b in range(5)}
    assert len(seeds) == 25 and all(0 <= s < 2**63 for s in seeds)
    a = torch.rand(3, generator=make_generator(4, 2))
    assert torch.equal(a, torch.rand(3, generator=make_generator(4, 2)))


@pytest.mark.parametrize("h,w", [(128, 128), (100, 141), (161, 90), (7, 9)])
def test_two_halves_boxes_inside_their_halves_and_disjoint(h, w):
    axes = set()
    for seed in range(40):
        box = two_halves_boxes(h, w, torch.Generator().manual_seed(seed))
        axes.add(box.axis)
        assert box.side == min(h, w) // 2
        (t1, l1), (t2, l2) = box.first, box.second
        for t, left in (box.first, box.second):
            assert t >= 0 and t + box.side <= h and left >= 0 and left + box.side <= w
        if box.axis == 0:
            assert t1 + box.side <= h // 2 <= t2
        else:
            assert l1 + box.side <= w // 2 <= l2
        rows_overlap = t1 < t2 + box.side and t2 < t1 + box.side
        cols_overlap = l1 < l2 + box.side and l2 < l1 + box.side
        assert not (rows_overlap and cols_overlap)
    assert axes == {0, 1}  # both splits occur (p = 1/2 each)


def test_two_halves_boxes_rejects_tiny_images():
    with pytest.raises(ValueError, match="too small"):
        two_halves_boxes(1, 10, torch.Generator())


def test_two_halves_views_same_split_and_place_for_the_whole_scene():
    k, h, w = 3, 64, 96
    scenes = torch.cat([coordinate_scene(k, h, w), coordinate_scene(k, h, w)])
    v1, v2 = two_halves_views(scenes, torch.Generator().manual_seed(0))
    assert v1.shape == v2.shape == (2, k, 3, 32, 32)
    for s in range(2):
        for view in (v1[s], v2[s]):
            # every version cropped at the same place; versions stay in order
            assert all(torch.equal(view[i, :2], view[0, :2]) for i in range(k))
            assert [int(view[i, 2, 0, 0]) for i in range(k)] == list(range(k))
        r1, c1 = v1[s, 0, 0, 0, 0].item(), v1[s, 0, 1, 0, 0].item()
        r2, c2 = v2[s, 0, 0, 0, 0].item(), v2[s, 0, 1, 0, 0].item()
        # the first crop lies in the top / left half, the second in the other one
        assert (r1 + 32 <= h // 2 <= r2) or (c1 + 32 <= w // 2 <= c2)


def test_views_resized_and_scales():
    scenes = torch.rand(2, 4, 3, 128, 128)
    v1, v2 = make_views(scenes, torch.Generator().manual_seed(0), "halves", out_size=48)
    assert v1.shape == v2.shape == (2, 4, 3, 48, 48)
    f, s = scale_views(scenes, torch.Generator().manual_seed(0))
    assert f.shape == s.shape == (2, 4, 3, 64, 64)
    u8 = (scenes * 255).to(torch.uint8)
    f8, s8 = scale_views(u8, torch.Generator().manual_seed(0), out_size=32)
    assert f8.dtype == torch.uint8 and f8.shape == (2, 4, 3, 32, 32)
    with pytest.raises(ValueError, match="view mode"):
        make_views(scenes, torch.Generator(), "tiles")


def test_working_crop_enlarges_small_images():
    g = torch.Generator().manual_seed(0)
    assert working_crop(torch.rand(3, 90, 160), 128, g).shape == (3, 128, 128)
    big = torch.rand(3, 300, 200)
    out = working_crop(big, 128, g)
    assert out.shape == (3, 128, 128)
    # a plain crop: found somewhere in the image
    hits = [(t, left) for t in range(300 - 127) for left in range(200 - 127)
            if torch.equal(big[:, t, left], out[:, 0, 0])]
    assert hits


def test_classes():
    types, levels = draw_distortion_classes(50, 3, torch.Generator().manual_seed(0))
    assert types.shape == levels.shape == (50, 3)
    assert int(types.min()) >= 0 and int(types.max()) <= 24
    assert int(levels.min()) >= 1 and int(levels.max()) <= 5
    labels = distortion_class(types, levels)
    assert all(len(set(row)) == 3 for row in labels.tolist())  # distinct per scene
    for c in range(1, NUM_CLASSES):
        t, v = class_to_distortion(c)
        assert int(distortion_class(torch.tensor(t), torch.tensor(v))) == c
    assert scene_labels(types, levels)[:, 0].eq(PRISTINE_CLASS).all()
    with pytest.raises(ValueError):
        class_to_distortion(PRISTINE_CLASS)
    with pytest.raises(ValueError, match="count"):
        draw_distortion_classes(1, 126, torch.Generator())


def test_apply_drawn_distortions_matches_apply_distortion():
    g = torch.Generator().manual_seed(0)
    pristine = torch.rand(2, 3, 64, 64, generator=g)
    idx = {n: i for i, n in enumerate(NAMES)}
    types = torch.tensor([[idx["gaussian_blur"], idx["darken"]],
                          [idx["darken"], idx["pixelate"]]])
    levels = torch.tensor([[2, 3], [3, 5]])
    out = apply_drawn_distortions(pristine, types, levels, None)
    assert out.shape == (2, 3, 3, 64, 64)
    assert torch.equal(out[:, 0], pristine)
    for b, j in itertools.product(range(2), range(2)):
        ref = apply_distortion(pristine[b:b + 1], NAMES[int(types[b, j])], int(levels[b, j]))
        assert torch.allclose(out[b, j + 1], ref[0], atol=1e-6)
    only = torch.tensor([[True, False], [False, False]])
    part = apply_drawn_distortions(pristine, types, levels, None, only=only)
    assert torch.allclose(part[0, 1], out[0, 1]) and torch.equal(part[0, 2], pristine[0])
    assert torch.equal(part[1, 1], pristine[1])


@pytest.fixture(scope="module")
def files(pristine_dir):
    return [p for p, _ in list_training_images([pristine_dir])]


def test_dataset_items_workers_mode(files):
    spec = SceneSpec(k=3, work_size=128, out_size=48)
    ds = SceneDataset(files, spec, seed=0)
    item = ds[((0, 5), 1)]
    assert item["views"].shape == (3, 2, 3, 48, 48) and item["views"].dtype == torch.uint8
    assert item["labels"][0] == PRISTINE_CLASS and item["labels"].shape == (3,)
    again = ds[((0, 5), 1)]
    assert torch.equal(item["views"], again["views"])  # fixed by (seed, epoch, slot)
    other = ds[((0, 6), 1)]
    assert not torch.equal(item["views"], other["views"])
    assert not torch.equal(SceneDataset(files, spec, seed=1)[((0, 5), 1)]["views"],
                           item["views"])


def test_dataset_device_mode_and_finish(files):
    spec = SceneSpec(k=4, work_size=128, distort_on="device")
    ds = SceneDataset(files, spec, seed=0)
    items = [ds[((0, s), s % len(files))] for s in range(3)]
    for it in items:
        assert it["images"].shape == (4, 3, 128, 128)
        for j, t in enumerate(it["types"].tolist()):
            if NAMES[t] not in CPU_TYPES:  # left for the device: still pristine
                assert torch.equal(it["images"][j + 1], it["images"][0])
    batch = collate_scenes(items)
    v1, v2, labels = finish_device_batch(batch, spec, 123, torch.device("cpu"))
    assert v1.shape == v2.shape == (3, 4, 3, 64, 64) and v1.dtype == torch.float32
    assert labels.shape == (3, 4)
    w1, _, _ = finish_device_batch(collate_scenes(items), spec, 123, torch.device("cpu"))
    assert torch.equal(v1, w1)
    # worker-mode batches are only moved and converted
    wspec = SceneSpec(k=2, work_size=128)
    wb = collate_scenes([SceneDataset(files, wspec)[((0, 0), 0)]])
    a, b, _ = finish_device_batch(wb, wspec, 0, torch.device("cpu"))
    assert torch.equal(a * 255, wb["views"][:, :, 0].float())


def test_spec_validation():
    with pytest.raises(ValueError, match="k must"):
        SceneSpec(k=1)
    with pytest.raises(ValueError, match="work_size"):
        SceneSpec(work_size=32)
    with pytest.raises(ValueError, match="views"):
        SceneSpec(views="x")
    with pytest.raises(ValueError, match="crop size"):
        SceneSpec(out_size=8)
    with pytest.raises(ValueError, match="distort_on"):
        SceneSpec(distort_on="gpu")
    assert SceneSpec(work_size=384).crop_size == 192
    assert SceneSpec(work_size=384, out_size=224).crop_size == 224


def test_corrupt_images_are_skipped_with_a_warning(pristine_dir, tmp_path):
    import shutil

    d = tmp_path / "mixed"
    shutil.copytree(pristine_dir, d)
    (d / "broken.png").write_bytes(b"not an image")
    good = (d / "img0.png").read_bytes()
    (d / "truncated.png").write_bytes(good[: len(good) // 3])
    with pytest.warns(UserWarning, match="broken.png"):
        found = list_training_images([d])
    names = [n for _, n in found]
    assert "broken.png" not in names and "truncated.png" in names  # its header reads
    ds = SceneDataset([p for p, _ in found], SceneSpec(k=2, work_size=128))
    bad = names.index("truncated.png")
    with pytest.warns(UserWarning, match="truncated.png"):
        item = ds[((0, 0), bad)]
    assert item["views"].shape[0] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds[((0, 1), bad)]  # known bad: skipped silently the second time
    with pytest.raises(ValueError, match="no readable images"), \
            pytest.warns(UserWarning, match="nothing-here"):
        list_training_images([tmp_path / "nothing-here"])


def test_sampler_epochs_ranks_and_resume():
    full = SceneSampler(10, 4, 5, 10, seed=3)
    items = list(full)
    assert len(items) == len(full) == 40
    # epoch 0 has 20 slots over 10 images: every image exactly twice
    epoch0 = [i for (e, _), i in items if e == 0]
    assert sorted(epoch0) == sorted(list(range(10)) * 2)
    assert [slot for (e, slot), _ in items if e == 1] == list(range(20))
    # two ranks split every step; together they give the single-process stream
    r0 = list(SceneSampler(10, 4, 5, 10, seed=3, rank=0, world_size=2))
    r1 = list(SceneSampler(10, 4, 5, 10, seed=3, rank=1, world_size=2))
    merged = [x for s in range(10) for x in r0[2 * s:2 * s + 2] + r1[2 * s:2 * s + 2]]
    assert merged == items
    # starting at step 7 gives the tail of the stream
    assert list(SceneSampler(10, 4, 5, 10, seed=3, start_step=7)) == items[28:]
    assert list(SceneSampler(10, 4, 5, 10, seed=4)) != items
    assert [i for (e, _), i in items if e == 1] == full.epoch_order(1).tolist()
    # a very long epoch costs nothing up front
    long = SceneSampler(71, 16, 10**6, 10**6, seed=0, start_step=10**5)
    first = next(iter(long))
    round_, pos = divmod(16 * 10**5, 71)
    assert first == ((0, 16 * 10**5), int(long.permutation(0, round_)[pos]))
    with pytest.raises(ValueError, match="divisible"):
        SceneSampler(10, 3, 5, 10, world_size=2)
    with pytest.raises(ValueError, match="rank"):
        SceneSampler(10, 4, 5, 10, rank=2, world_size=2)
