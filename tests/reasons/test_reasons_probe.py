"""The reasons probe: families, pooled features, fitting, its file, the training set."""

from __future__ import annotations

import pytest
import torch

from blindiqa.distortions import NAMES
from blindiqa.onepass import OnePassConfig
from blindiqa.reasons import (
    FAMILIES,
    PIXEL_STATS,
    TYPE_FAMILY,
    ProbeConfig,
    ReasonProbe,
    family_of,
    fit_probe,
    load_probe,
    pixel_stats,
    pooled_descriptors,
    probe_input,
    save_probe,
)
from blindiqa.reasons.dataset import draw_recipe, recipe_target
from blindiqa.reasons.families import family_types
from blindiqa.reasons.probe import shipped_probe
from blindiqa.scoring.rows import REASON_COLUMNS


def test_every_type_has_its_family():
    assert set(TYPE_FAMILY) == set(NAMES)
    assert family_of("gaussian_blur") == "blur" and family_of("jpeg") == "compression"
    assert family_of("darken") == "exposure" and family_of("contrast_change") == "exposure"
    assert family_of("color_saturation_1") == "colour" and family_of("pixelate") == "spatial"
    assert family_of("high_sharpen") is None
    assert all(family_types(f) for f in FAMILIES)
    assert sum(len(family_types(f)) for f in FAMILIES) == len(NAMES) - 1


def test_family_errors():
    with pytest.raises(ValueError, match="unknown distortion type"):
        family_of("vignette")
    with pytest.raises(ValueError, match="family must be one of"):
        family_types("brightness")


def test_columns_follow_the_families():
    assert tuple(f"reason_{f}" for f in FAMILIES) == REASON_COLUMNS


def test_pooled_descriptors():
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=torch.float64)
    out = pooled_descriptors(x)
    assert out.dtype == torch.float32
    assert out.tolist() == [2.0, 4.0, 1.0, 2.0]
    assert pooled_descriptors(x[:1]).tolist() == [1.0, 2.0, 0.0, 0.0]
    for bad in (torch.zeros(0, 3), torch.zeros(3)):
        with pytest.raises(ValueError, match="expected \\(windows, channels\\)"):
            pooled_descriptors(bad)


def test_pixel_stats():
    grey = torch.full((3, 40, 60), 0.5)
    s = pixel_stats(grey)
    assert s.shape == (PIXEL_STATS,) and s.dtype == torch.float32
    assert s[0].item() == pytest.approx(0.5) and s[1].item() == pytest.approx(0.0, abs=1e-6)
    assert s[2:7].tolist() == pytest.approx([0.5] * 5)
    assert s[7:9].tolist() == [0.0, 0.0] and s[12:].tolist() == pytest.approx([0.0] * 4)
    dark = pixel_stats(torch.zeros(3, 300, 500))  # scaled to 256 px first
    assert dark[7].item() == 1.0 and dark[0].item() == 0.0
    red = torch.zeros(3, 32, 32)
    red[0] = 1.0
    r = pixel_stats(red)
    assert r[9:12].tolist() == [1.0, 0.0, 0.0] and r[12].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected a \\(3, H, W\\) image"):
        pixel_stats(torch.zeros(1, 8, 8))
    both = probe_input(torch.ones(5, 4), grey)
    assert both.shape == (8 + PIXEL_STATS,) and both[:8].tolist() == [1.0] * 4 + [0.0] * 4


def _toy(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs whose first six channels are the targets, plus noise channels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 6, (n, 6), generator=g).float()
    x = torch.cat([y + 0.05 * torch.randn(n, 6, generator=g), torch.randn(n, 4, generator=g)],
                  dim=1)
    return x, y


@pytest.mark.parametrize("hidden", [0, 8])
def test_fit_learns_and_is_seeded(hidden):
    x, y = _toy()
    a = fit_probe(x, y, hidden=hidden, epochs=300, lr=3e-2, weight_decay=0.0, seed=1)
    b = fit_probe(x, y, hidden=hidden, epochs=300, lr=3e-2, weight_decay=0.0, seed=1)
    xt, yt = _toy(50, seed=2)
    pred = a.predict(xt)
    assert pred.shape == (50, 6) and pred.dtype == torch.float64
    assert float(pred.min()) >= 0.0 and float(pred.max()) <= 5.0
    assert float((pred - yt).abs().mean()) < 0.3
    assert torch.equal(a.predict(xt), b.predict(xt))


def test_fit_errors():
    x, y = _toy(10)
    with pytest.raises(ValueError, match="disagree"):
        fit_probe(x, y[:5])
    with pytest.raises(ValueError, match="at least 2 samples"):
        fit_probe(x[:1], y[:1])
    with pytest.raises(ValueError, match="one column per family"):
        fit_probe(x, y[:, :3])
    with pytest.raises(ValueError, match="bad fitting settings"):
        fit_probe(x, y, epochs=0)
    with pytest.raises(ValueError, match="probe widths"):
        ProbeConfig(in_dim=0)
    with pytest.raises(ValueError, match="unknown probe setting"):
        ProbeConfig.from_json({"in_dim": 3, "depth": 2})
    probe = ReasonProbe(ProbeConfig(in_dim=10))
    with pytest.raises(ValueError, match="takes \\(N, 10\\) inputs"):
        probe(torch.zeros(2, 9))


def test_save_and_load(tmp_path):
    x, y = _toy(40)
    engine = OnePassConfig().to_json()
    probe = fit_probe(x, y, hidden=4, epochs=20, engine=engine)
    path = save_probe(probe, tmp_path / "p.safetensors", {"photos": 1})
    back = load_probe(path)
    assert back.config == probe.config and back.training_info == {"photos": 1}
    assert torch.equal(back.predict(x), probe.predict(x))
    back.check_engine(engine)
    with pytest.raises(ValueError, match="other engine settings \\(encoder, taps differ\\)"):
        back.check_engine({**engine, "encoder": "efficientnet_lite0", "taps": ["stage3"]})
    back.check_engine({**engine, "max_side": 512})  # the resolution limit is not checked


def test_load_refuses_other_files(tmp_path):
    with pytest.raises(ValueError, match="no reasons probe file"):
        load_probe(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(1)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(ValueError, match="is not a reasons probe"):
        load_probe(tmp_path / "x.safetensors")


def test_shipped_probe_reads_the_default_descriptors():
    probe = shipped_probe()
    assert probe.config.families == FAMILIES
    assert probe.config.in_dim == 2 * 280 + PIXEL_STATS
    probe.check_engine(OnePassConfig().to_json())
    assert probe.training_info["photos"] == 171
    assert probe.predict(torch.zeros(1, probe.config.in_dim)).shape == (1, 6)


def test_recipes_are_seeded_and_targets_take_levels():
    a = [draw_recipe(torch.Generator().manual_seed(3)) for _ in range(1)]
    b = [draw_recipe(torch.Generator().manual_seed(3)) for _ in range(1)]
    assert a == b
    g = torch.Generator().manual_seed(0)
    recipes = [draw_recipe(g, pair_share=0.5) for _ in range(60)]
    assert {len(r) for r in recipes} == {1, 2}
    for r in recipes:
        assert len({family_of(n) for n, _ in r}) == len(r)  # families differ
        assert all(1 <= lv <= 5 and family_of(n) is not None for n, lv in r)
    t = recipe_target([("jpeg", 4), ("darken", 2)])
    assert t.tolist() == [0.0, 0.0, 4.0, 2.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="in no reasons family"):
        recipe_target([("high_sharpen", 1)])
    with pytest.raises(ValueError, match="pair_share"):
        draw_recipe(g, pair_share=1.5)
