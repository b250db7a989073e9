"""The trained quality head: its shape rules, the losses, training through the one loop
with exact resume, and a bundle that scores in the head's space."""

from __future__ import annotations

import pytest
import torch

from blindiqa.head import HeadConfig, QualityHead
from blindiqa.losses.level_ranking import (
    LevelRankingLoss,
    level_consistency_loss,
    level_ranking_loss,
)
from blindiqa.train.head import (
    HeadSyntheticConfig,
    level_chains,
    load_head,
    train_head_synthetic,
)


def test_a_full_rank_linear_head_is_refused():
    with pytest.raises(ValueError, match="reduce the dimension"):
        HeadConfig(in_dim=8, kind="linear", out_dim=8)
    with pytest.raises(ValueError, match="residual"):
        HeadConfig(in_dim=8, kind="residual", out_dim=4)
    with pytest.raises(ValueError, match="kind"):
        HeadConfig(in_dim=8, kind="cnn")


def test_an_untrained_residual_head_is_the_identity():
    head = QualityHead(HeadConfig(in_dim=6, kind="residual", hidden=4, out_dim=6),
                       generator=torch.Generator().manual_seed(0))
    x = torch.rand(5, 6, dtype=torch.float64)
    torch.testing.assert_close(head.score_features(x), x, rtol=1e-6, atol=1e-7)


def test_concat_puts_the_descriptor_beside_the_embedding():
    head = QualityHead(HeadConfig(in_dim=6, kind="mlp", hidden=4, out_dim=3, combine="concat"))
    x = torch.rand(5, 6, dtype=torch.float64)
    out = head.score_features(x)
    assert out.shape == (5, 9) and out.dtype == torch.float64
    assert torch.equal(out[:, :6], x)


def test_level_ranking_penalises_only_inverted_levels():
    ordered = torch.tensor([[0.0, 1.0, 2.0]])
    assert level_ranking_loss(ordered).item() == 0.0
    inverted = torch.tensor([[2.0, 1.0, 0.0]])
    assert level_ranking_loss(inverted).item() == pytest.approx(1.0)
    assert level_ranking_loss(ordered, margin=1.5).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match=">= 2 levels"):
        level_ranking_loss(torch.zeros(3, 1))
    with pytest.raises(ValueError, match="margin"):
        level_ranking_loss(ordered, margin=-1)


def test_consistency_is_scale_free_and_zero_for_equal_scores():
    a = torch.tensor([1.0, 2.0, 3.0])
    assert level_consistency_loss(a, a).item() == 0.0
    b = torch.tensor([1.5, 2.0, 2.5])
    assert level_consistency_loss(a, b).item() == pytest.approx(
        level_consistency_loss(10 * a, 10 * b).item())
    with pytest.raises(ValueError):
        level_consistency_loss(a, b[:2])
    assert LevelRankingLoss()(a[None].expand(2, 3), a[None].expand(2, 3)).item() == 0.0


def test_level_chains_follow_the_cache_layout():
    levels = torch.tensor([[0, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5]])
    chains = level_chains(levels, torch.zeros_like(levels))
    assert chains.tolist() == [[0, 1, 2, 3, 4, 5], [0, 6, 7, 8, 9, 10]]
    with pytest.raises(ValueError):
        level_chains(torch.tensor([[0, 2, 1, 3, 4, 5]]), torch.zeros(1, 6))


def _tiny_cache(path, scenes=4, windows=6, dim=280):
    gen = torch.Generator().manual_seed(0)
    levels = torch.tensor([0, 1, 2, 3, 4, 5]).repeat(scenes, 1)
    feats = torch.rand(scenes, 6, windows, dim, generator=gen)
    feats = feats + levels[:, :, None, None] * 0.1  # levels move the descriptors
    from blindiqa.onepass import OnePassConfig

    torch.save({"kind": "synthetic", "features": feats.half(), "levels": levels,
                "types": torch.where(levels > 0, 3, -1), "names": [f"{i}" for i in range(scenes)],
                "config": OnePassConfig().to_json(), "dims": [dim], "seed": 0}, path)


def _images(folder, n=4):
    from PIL import Image

    folder.mkdir()
    for i in range(n):
        Image.new("RGB", (64, 64), (i * 40, 90, 200)).save(folder / f"{i}.png")
    return folder


def test_head_synthetic_trains_and_resumes_exactly(tmp_path):
    cache = tmp_path / "windows.pt"
    _tiny_cache(cache)
    images = _images(tmp_path / "img")
    common = dict(images=[str(images)], cache=str(cache), epochs=3, batch=2, hidden=16,
                  out_dim=8, objective="infonce+ranking", seed=1)
    whole = train_head_synthetic(HeadSyntheticConfig(**common), tmp_path / "a",
                                 progress=False, echo=lambda m: None)
    assert whole.stopped == "done" and whole.step == 6
    cut = train_head_synthetic(HeadSyntheticConfig(**common, max_steps=3), tmp_path / "b",
                               progress=False, echo=lambda m: None)
    assert cut.stopped == "max_steps"
    again = train_head_synthetic(HeadSyntheticConfig(**common), tmp_path / "b", resume=True,
                                 progress=False, echo=lambda m: None)
    assert again.step == 6
    a, _ = load_head(tmp_path / "a")
    b, cfg = load_head(tmp_path / "b")
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(v, w), k  # same machine, same process: exact
    assert cfg.taps == ("stage2", "stage3", "stage4", "stage5")


def test_load_head_refuses_an_encoder_run(tmp_path):
    with pytest.raises(ValueError, match="not a head run"):
        load_head(tmp_path)


def test_a_bundle_with_a_head_scores_in_its_space_and_round_trips(tmp_path, photo):
    import blindiqa
    from blindiqa.models.bundle import save_bundle
    from blindiqa.models.fit import fit_one_pass
    from blindiqa.onepass import OnePassConfig

    images = _images(tmp_path / "img", n=2)
    head = QualityHead(HeadConfig(in_dim=280, kind="mlp", hidden=16, out_dim=8),
                       generator=torch.Generator().manual_seed(0))
    model = fit_one_pass([images], OnePassConfig(), head=head)
    assert model.pristine_mean.shape == (8,)
    tensors, meta = model.bundle_contents()
    save_bundle(tmp_path / "m.safetensors", tensors, meta)
    again = blindiqa.load(tmp_path / "m.safetensors")
    assert again.head is not None and again.head.config == head.config
    assert again.score(photo).item() == model.score(photo).item()  # same machine
    assert "trained head" in repr(again)


def test_the_authentic_cache_covers_photos_whose_sides_are_not_multiples_of_32(tmp_path):
    from PIL import Image

    from blindiqa.head.cache import build_authentic_cache, check_cache
    from blindiqa.onepass import OnePassConfig

    gen = torch.Generator().manual_seed(0)
    files = []
    for i, size in enumerate([(200, 150), (170, 120)]):  # 150 // 16 = 9 > 2 * (150 // 32)
        pixels = (torch.rand(size[1], size[0], 3, generator=gen) * 255).to(torch.uint8)
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(pixels.numpy()).save(files[-1])
    cache = build_authentic_cache(files, OnePassConfig(), windows_per_image=5, seed=0)
    check_cache(cache, "authentic")
    assert cache["features"].shape == (2, 5, 280)
    assert cache["content"].shape == (2, 5, 1000)
    assert torch.isfinite(cache["content"].float()).all()
    again = build_authentic_cache(files, OnePassConfig(), windows_per_image=5, seed=0)
    assert torch.equal(again["content"], cache["content"])
    with pytest.raises(ValueError, match="expected a synthetic"):
        check_cache(cache, "synthetic")


def test_head_authentic_builds_its_cache_with_pseudo_labels_and_self_trains(tmp_path):
    from PIL import Image

    from blindiqa.train.head import HeadAuthenticConfig, train_head_authentic

    gen = torch.Generator().manual_seed(0)
    folder = tmp_path / "unlabeled"
    folder.mkdir()
    for i in range(4):
        pixels = (torch.rand(96, 128, 3, generator=gen) * 255).to(torch.uint8)
        Image.fromarray(pixels.numpy()).save(folder / f"{i}.png")
    cfg = HeadAuthenticConfig(images=[str(folder)], windows=4, epochs=2, batch=2, hidden=16,
                              out_dim=8, mi="contrastive", selftrain_weight=1.0, seed=0)
    result = train_head_authentic(cfg, tmp_path / "run", progress=False, echo=lambda m: None)
    assert result.stopped == "done" and result.step == 4
    cache = torch.load(tmp_path / "run" / "windows.pt", weights_only=False)
    assert cache["pseudo"].shape == (4, 4)
    assert bool((cache["pseudo"] > 0).all())
    assert cache["image_scores"].shape == (4,)
    head, _ = load_head(tmp_path / "run")
    assert head.config.combine == "concat" and head.config.score_dim == 280 + 8
