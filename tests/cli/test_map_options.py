"""``blindiqa score --maps`` with ``--map-opacity`` and ``--map-beside``, on the model's
window scale."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import blindiqa
import blindiqa.viz
from blindiqa.cli.main import main


@pytest.fixture()
def one_photo(tmp_path, photo):
    path = tmp_path / "photos" / "coffee.png"
    path.parent.mkdir()
    Image.fromarray(photo).save(path)
    return path


def _maps(one_photo, tmp_path, *options: str):
    maps = tmp_path / "maps"
    code = main(["score", str(one_photo), "--model", "niqe", "--out", str(tmp_path / "s.csv"),
                 "--maps", str(maps), "--workers", "0", "--quiet", "--overwrite", *options])
    assert code == 0
    return Image.open(maps / "coffee.png.png")


def test_maps_on_the_window_scale_at_the_default_opacity(one_photo, tmp_path, photo,
                                                         map_render_spy):
    h, w = photo.shape[:2]
    with _maps(one_photo, tmp_path) as drawing:
        left = np.asarray(drawing)[28:28 + h, :w]  # below the title
        assert not np.array_equal(left, photo)  # the map covers the photo
    (call,) = map_render_spy
    assert call["alpha"] == 0.5 and call["beside"] is False and call["map_range"] is None
    assert call["window_scale"].windows == blindiqa.load("niqe").window_scale.windows
    with _maps(one_photo, tmp_path, "--map-opacity", "0.3", "--map-beside") as drawing:
        pixels = np.asarray(drawing)
        assert np.array_equal(pixels[28:28 + h, :w], photo)  # the plain photo, then
        assert not np.array_equal(pixels[28:28 + h, w + 8:2 * w + 8], photo)  # its map
    assert map_render_spy[1]["alpha"] == 0.3 and map_render_spy[1]["beside"] is True


@pytest.mark.parametrize("bad", ["-1", "1.0001", "inf", "x"])
def test_score_refuses_an_opacity_outside_0_to_1(bad, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["score", str(tmp_path), "--maps", str(tmp_path / "m"), f"--map-opacity={bad}"])
    assert exc.value.code == 2
    assert "a map opacity is a number from 0 to 1" in capsys.readouterr().err
