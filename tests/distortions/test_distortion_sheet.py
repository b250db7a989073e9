"""The contact sheet of the distortions (the command: tests/cli/test_distortions.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from blindiqa.distortions import make_sheet
from blindiqa.distortions.sheet import prepare_tile


def test_prepare_tile_keeps_orientation():
    assert prepare_tile(torch.rand(3, 100, 200), 64).shape == (1, 3, 48, 64)
    assert prepare_tile(torch.rand(3, 200, 100), 64).shape == (1, 3, 64, 48)


def test_make_sheet(tmp_path, images):
    path = make_sheet(images[0], tmp_path / "sub" / "s.png",
                      generator=torch.Generator().manual_seed(0), tile=64)
    assert path.exists()
    with Image.open(path) as im:
        w, h = im.size
        assert im.mode == "RGB"
    assert h > 25 * 48 and w > 6 * 64
    again = make_sheet(images[0], tmp_path / "t.png",
                       generator=torch.Generator().manual_seed(0), tile=64)
    with Image.open(path) as a, Image.open(again) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_make_sheet_errors(tmp_path):
    with pytest.raises(ValueError):
        make_sheet(torch.rand(1, 3, 64, 64), tmp_path / "x.png")
    with pytest.raises(ValueError):
        make_sheet(torch.zeros(3, 64, 64, dtype=torch.uint8), tmp_path / "x.png")
    with pytest.raises(ValueError):
        make_sheet(torch.rand(3, 64, 64), tmp_path / "x.png", tile=32)
