"""Fixtures of the report tests: a small folder of photos with a corrupt file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

#: A file name that is markup if written into a page unescaped.
TRICKY_NAME = "a<b>&\"q'.png"


@pytest.fixture()
def tricky_name() -> str:
    """The name of the photo whose name is markup."""
    return TRICKY_NAME


@pytest.fixture()
def report_photos(tmp_path, photo, photo2):
    """Six inputs: five small photos (one with a name full of markup) and a corrupt JPEG."""
    d = tmp_path / "photos"
    d.mkdir()
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 25, photo.shape), 0, 255)
    blocky = photo2[::4, ::4].repeat(4, 0).repeat(4, 1)
    Image.fromarray(photo).save(d / "coffee.jpg", quality=95)
    Image.fromarray(photo2).save(d / "cat.png")
    Image.fromarray(noisy.astype(np.uint8)).save(d / "noisy.png")
    Image.fromarray(blocky).save(d / "blocky.png")
    Image.fromarray(photo[:, ::-1].copy()).save(d / TRICKY_NAME)
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    return d
