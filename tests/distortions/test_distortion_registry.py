"""Registry look-ups, argument checking and random_distortions."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from blindiqa.distortions import (
    DISTORTIONS,
    FAMILIES,
    NAMES,
    apply_distortion,
    distortion_index,
    get_distortion,
    list_distortions,
    random_distortions,
)


def test_lookup_and_listing():
    assert list_distortions() == list(NAMES)
    assert get_distortion("jpeg").kadid_id == 10
    assert distortion_index("contrast_change") == 24
    assert FAMILIES == ("blur", "color", "compression", "noise", "brightness", "spatial",
                        "sharpness")
    assert list_distortions("blur") == ["gaussian_blur", "lens_blur", "motion_blur"]
    assert sum(len(list_distortions(f)) for f in FAMILIES) == 25
    for d in DISTORTIONS:
        assert len(d.levels) == len(d.kadid_levels) == 5
        assert d.param


def test_distortion_is_frozen_and_callable():
    d = get_distortion("darken")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.name = "x"  # type: ignore[misc]
    x = torch.rand(1, 3, 40, 40)
    assert torch.equal(d(x, 2), apply_distortion(x, "darken", 2))


@pytest.mark.parametrize("name", ["nope", "", "Gaussian_Blur", None, 3])
def test_unknown_name(name):
    with pytest.raises(ValueError, match="unknown distortion"):
        apply_distortion(torch.rand(1, 3, 40, 40), name, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        get_distortion(name)  # type: ignore[arg-type]


def test_unknown_family():
    with pytest.raises(ValueError, match="unknown family"):
        list_distortions("colour")


@pytest.mark.parametrize("level", [0, 6, -1, 2.5, True, "3", None])
def test_bad_level(level):
    with pytest.raises(ValueError, match="level"):
        apply_distortion(torch.rand(1, 3, 40, 40), "jpeg", level)  # type: ignore[arg-type]


def test_numpy_integer_level_is_accepted():
    np = pytest.importorskip("numpy")
    out = apply_distortion(torch.rand(1, 3, 40, 40), "darken", np.int64(3))
    assert out.shape == (1, 3, 40, 40)


@pytest.mark.parametrize("bad", [
    torch.rand(3, 40, 40),              # no batch dimension
    torch.rand(1, 1, 40, 40),           # grey
    torch.rand(1, 4, 40, 40),           # RGBA
    torch.rand(2, 3, 40),               # 3-D
    torch.rand(0, 3, 40, 40),           # empty batch
    torch.rand(1, 3, 16, 40),           # too small
    torch.zeros(1, 3, 40, 40, dtype=torch.uint8),
    [[0.5]],
])
def test_bad_images(bad):
    with pytest.raises(ValueError):
        apply_distortion(bad, "gaussian_blur", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        random_distortions(bad, torch.Generator().manual_seed(0))  # type: ignore[arg-type]


def test_random_distortions(images):
    x = images.repeat(4, 1, 1, 1)  # 12 images
    out, kind, level = random_distortions(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert kind.shape == level.shape == (12,)
    assert kind.dtype == level.dtype == torch.int64
    assert int(kind.min()) >= 0 and int(kind.max()) < 25
    assert int(level.min()) >= 1 and int(level.max()) <= 5
    assert out.min() >= 0 and out.max() <= 1
    again = random_distortions(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again[0]) and torch.equal(kind, again[1])
    assert torch.equal(level, again[2])
    # deterministic types give exactly what apply_distortion gives on the image alone
    for i in range(12):
        d = DISTORTIONS[int(kind[i])]
        if not d.random:
            expect = apply_distortion(x[i:i + 1], d.name, int(level[i]))
            torch.testing.assert_close(out[i:i + 1], expect, atol=1e-5, rtol=0)


def test_random_distortions_draws_everything():
    x = torch.rand(1, 3, 32, 32).expand(200, -1, -1, -1).contiguous()
    names = ["darken", "mean_shift", "pixelate"]
    _, kind, level = random_distortions(x, torch.Generator().manual_seed(1), names=names)
    assert set(kind.tolist()) == {distortion_index(n) for n in names}
    assert set(level.tolist()) == {1, 2, 3, 4, 5}


def test_random_distortions_bad_names():
    x = torch.rand(2, 3, 40, 40)
    with pytest.raises(ValueError):
        random_distortions(x, names=[])
    with pytest.raises(ValueError, match="unknown distortion"):
        random_distortions(x, names=["jpeg", "nope"])
