"""Maps coloured on the window scale, the map's opacity and the photo beside its map."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from blindiqa.models.quality_scale import QualityScale, WindowScale
from blindiqa.viz import (
    MAP_OPACITY,
    QUALITY_LEGEND,
    WINDOW_LEGEND,
    cell_colours,
    check_map_opacity,
    colormap,
    map_legend,
    render_quality_map,
)
from blindiqa.viz.maps import map_colouring

#: Photo scores span 4-6; their windows spread wider, over 0-10.
PHOTOS = QualityScale.fit(np.linspace(4, 6, 100), "test photos")
WINDOWS = WindowScale.from_maps([np.linspace(0, 10, 5000).reshape(50, 100)], "test photos")


def test_the_window_scale_colours_the_map():
    qmap = np.array([[0.0, 2.5, 5.0, 7.5, 10.0]])
    col = map_colouring(qmap, scale=PHOTOS, window_scale=WINDOWS)
    # badness = 1 - share of the windows that are worse (one quantile step = 0.001)
    np.testing.assert_allclose(col.badness, [[0.0, 0.25, 0.5, 0.75, 1.0]], atol=0.0011)
    old = map_colouring(qmap, scale=PHOTOS).badness  # the photo scale saturates
    np.testing.assert_array_equal(old, [[0.0, 0.0, 0.5, 1.0, 1.0]])
    assert WINDOW_LEGEND in col.legend and QUALITY_LEGEND not in col.legend
    assert not col.worst_at_top and col.ticks[-1] == (1.0, "100 best")


def test_window_scale_alone_and_map_range_still_wins():
    qmap = np.array([[1.0, 9.0]])
    np.testing.assert_array_equal(cell_colours(qmap, window_scale=WINDOWS),
                                  cell_colours(qmap, scale=PHOTOS, window_scale=WINDOWS))
    ranged = map_colouring(qmap, scale=PHOTOS, window_scale=WINDOWS, map_range=(0, 10))
    np.testing.assert_allclose(ranged.badness, [[0.1, 0.9]])
    assert "fixed range 0 to 10" in ranged.legend


def test_the_legend_names_the_windows_and_their_photos():
    legend = map_legend(scale=PHOTOS, window_scale=WINDOWS)
    assert WINDOW_LEGEND == ("local quality (0-100, share of the reference corpus's windows "
                             "that are worse; 100 = best)")
    assert "scale: 5,000 windows of 1 reference photos (test photos)" in legend


def test_nan_cells_stay_grey_on_the_window_scale():
    rgb = cell_colours(np.array([[5.0, math.nan]]), window_scale=WINDOWS)
    assert tuple(rgb[0, 1]) == (128, 128, 128) and tuple(rgb[0, 0]) != (128, 128, 128)


@pytest.mark.parametrize("good", [0, 0.0, 0.35, 1, "0.7"])
def test_opacity_from_0_to_1(good):
    assert check_map_opacity(good) == float(good)


@pytest.mark.parametrize("bad", [-0.1, 1.01, 2, math.nan, math.inf, "x", None])
def test_opacity_outside_0_to_1_is_refused(bad):
    with pytest.raises(ValueError, match="a map opacity is a number from 0 to 1"):
        check_map_opacity(bad)


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand((3, 48, 64), generator=g)


def _map_pixels(drawing, width: int = 64, height: int = 48) -> np.ndarray:
    """The map's area of a drawing (below the 28-pixel title)."""
    return np.asarray(drawing)[28:28 + height, :width].astype(int)


def test_opacity_0_shows_the_photo_and_1_the_map_only(image):
    qmap = np.full((3, 4), 5.0)
    photo = np.asarray((image.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0)).astype(int)
    plain = _map_pixels(render_quality_map(image, qmap, alpha=0.0, window_scale=WINDOWS))
    assert np.abs(plain - photo).max() <= 1
    solid = _map_pixels(render_quality_map(image, qmap, alpha=1.0, window_scale=WINDOWS))
    colour = colormap(np.array([1 - float(WINDOWS(5.0)) / 100])).astype(int)
    assert np.abs(solid - colour).max() <= 1
    assert MAP_OPACITY == 0.5


@pytest.mark.parametrize("bad", [-0.5, 1.5])
def test_render_refuses_an_opacity_outside_0_to_1(image, bad):
    with pytest.raises(ValueError, match="opacity"):
        render_quality_map(image, np.ones((2, 2)), alpha=bad)


def test_the_photo_beside_its_map(image):
    qmap = np.linspace(0, 10, 12).reshape(3, 4)
    over = render_quality_map(image, qmap, window_scale=WINDOWS)
    pair = render_quality_map(image, qmap, window_scale=WINDOWS, beside=True)
    assert pair.height == over.height  # (the legend's text sets the width here)
    photo = np.asarray((image.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0)).astype(int)
    assert np.array_equal(_map_pixels(pair), photo)  # the left panel is the plain photo
    right = np.asarray(pair)[28:28 + 48, 64 + 8:64 + 8 + 64]
    assert np.array_equal(right, np.asarray(over)[28:28 + 48, :64])  # the right, the map
