"""Quality maps on a fixed scale: colours, legends, map ranges, and the map's type."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.models.quality_scale import QualityScale
from blindiqa.viz import (
    QUALITY_LEGEND,
    cell_colours,
    check_map_range,
    map_legend,
    parse_map_range,
    render_quality_map,
)

SCALE = QualityScale.fit(np.linspace(1, 10, 50), "test")
NARROW = np.array([[4.0, 5.0], [5.5, 6.0]])  # two maps spanning different ranges,
WIDE = np.array([[1.0, 5.0], [9.0, 12.0]])   # both holding the value 5.0 at (0, 1)


@pytest.mark.parametrize("fixed", [{"scale": SCALE}, {"map_range": (2.0, 8.0)}])
def test_the_same_value_gets_the_same_colour_in_every_map(fixed):
    a, b = cell_colours(NARROW, **fixed), cell_colours(WIDE, **fixed)
    assert np.array_equal(a[0, 1], b[0, 1])
    assert not np.array_equal(a[0, 0], b[0, 0])  # different values, different colours


def test_without_a_fixed_scale_the_colour_follows_the_image_range():
    a, b = cell_colours(NARROW), cell_colours(WIDE)
    assert not np.array_equal(a[0, 1], b[0, 1])


def test_rendered_maps_share_colours_on_a_fixed_scale():
    image = torch.full((3, 64, 64), 0.5)
    flat = np.full((2, 2), 5.0)
    halves = np.array([[5.0, 5.0, 9.0, 9.0]] * 4)
    for fixed in ({"scale": SCALE}, {"map_range": (2.0, 8.0)}):
        a = np.asarray(render_quality_map(image, flat, **fixed))
        b = np.asarray(render_quality_map(image, halves, **fixed))
        # the left edge of ``halves`` is 5.0 only; map pixels start below the title
        assert np.array_equal(a[40:80, 2], b[40:80, 2])


def test_higher_quality_is_a_better_colour():
    rgb = cell_colours(np.array([[1.0, 10.0]]), scale=SCALE)
    best, worst = rgb[0, 0].astype(int), rgb[0, 1].astype(int)
    assert best[2] > best[0] and worst[0] > worst[2]  # blue = best, red = worst


def test_legend_says_what_the_colour_means():
    assert QUALITY_LEGEND == ("local quality (0-100, share of reference photos scoring "
                              "worse; 100 = best)")
    assert QUALITY_LEGEND in map_legend(scale=SCALE)
    assert "50 reference photos (test)" in map_legend(scale=SCALE)
    ranged = map_legend(map_range=(2, 8))
    assert "fixed range 2 to 8" in ranged and "lower is better" in ranged
    assert "cannot be compared" in map_legend()
    assert map_legend(scale=SCALE, map_range=(2, 8)) == ranged  # the range wins


def test_render_draws_below_the_map_and_accepts_tensors():
    image = torch.rand(3, 40, 300)
    img = render_quality_map(image, torch.tensor([[1.0, 2.0], [3.0, float("nan")]]),
                             score=2.5, scale=SCALE)
    assert img.size[1] > 40 + 28  # title above, legend lines below
    assert img.size[0] >= 300


@pytest.mark.parametrize("bad", [(2.0, 2.0), (3.0, 1.0), (float("nan"), 1.0),
                                 (0.0, float("inf")), (1.0,), (1.0, 2.0, 3.0), "ab"])
def test_invalid_map_ranges_are_refused(bad):
    with pytest.raises(ValueError):
        check_map_range(bad)
    with pytest.raises(ValueError):
        render_quality_map(torch.rand(3, 32, 32), NARROW, map_range=bad)


def test_map_range_from_text():
    assert parse_map_range("1.5,4") == (1.5, 4.0)
    for bad in ("4,1.5", "1", "1,2,3", "a,b", "nan,2", "1,inf"):
        with pytest.raises(ValueError):
            parse_map_range(bad)


class _GridModel(QualityModel):
    """A stand-in scorer whose map is a numpy array, as every model's is inside."""

    min_size = 8

    def score_tensor(self, image: torch.Tensor) -> float:
        return float(self.quality_map_tensor(image).mean())

    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        return np.arange(12, dtype=np.float32).reshape(3, 4)

    def info(self) -> ModelInfo:
        return ModelInfo("grid", 1, "none")


def test_quality_map_is_a_float64_tensor_like_score():
    qmap = _GridModel("grid").quality_map(torch.rand(3, 24, 32))
    assert isinstance(qmap, torch.Tensor) and qmap.dtype == torch.float64
    assert qmap.shape == (3, 4) and qmap[2, 3].item() == 11.0


def test_a_real_models_map_is_a_float64_tensor_on_the_grid(small_model, photo):
    qmap = small_model.quality_map(photo)  # 192x256, 96-px patches at stride 48
    assert isinstance(qmap, torch.Tensor) and qmap.dtype == torch.float64
    assert qmap.shape == (3, 4) and torch.isfinite(qmap).all()


@pytest.mark.parametrize(("quality", "text"), [
    (99.557522, "99.5"), (99.99999999, "99.9"), (100.0, "100.0"), (2.3, "2.3"),
    (0.7, "0.7"), (0.04, "0.0"), (0.0, "0.0"), (50.0, "50.0"), (float("nan"), "nan")])
def test_quality_text_rounds_down_to_one_decimal(quality, text):
    from blindiqa.viz.maps import quality_text

    assert quality_text(quality) == text


def test_a_quality_below_100_never_reads_100_in_the_title(monkeypatch):
    """450 of 452 reference photos worse: quality 99.56, shown as 99.5, not 100."""
    import blindiqa.viz.maps as maps

    scale = QualityScale.fit(np.arange(1.0, 453.0), "452 photos")
    assert float(scale(2.5)) == pytest.approx(99.5575, abs=1e-4)
    titles = []
    real = maps._with_bar_and_legend
    monkeypatch.setattr(maps, "_with_bar_and_legend",
                        lambda img, col, title: titles.append(title) or real(img, col, title))
    render_quality_map(torch.full((3, 64, 64), 0.5), np.full((2, 2), 2.5), score=2.5,
                       scale=scale)
    assert "quality 99.5/100" in titles[0]
