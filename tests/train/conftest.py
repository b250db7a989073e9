"""Fixtures of the training tests: a folder of small smooth images, one torch thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

#: (height, width) of the fixture images: landscape, portrait, square, smaller than the
#: working size of the tests (128) so that they get enlarged.
SIZES = ((100, 140), (150, 120), (128, 128), (90, 160), (200, 96))


def smooth_image(height: int, width: int, seed: int) -> np.ndarray:
    """A deterministic uint8 RGB image with structure at a few scales."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(1, 3, height, width)
    for cells in (4, 12, 40):
        noise = torch.rand(1, 3, cells, cells, generator=g)
        out += F.interpolate(noise, size=(height, width), mode="bicubic", align_corners=False)
    out = (out / 3).clamp(0, 1)
    return (out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def pristine_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pristine")
    for i, (h, w) in enumerate(SIZES):
        Image.fromarray(smooth_image(h, w, i)).save(d / f"img{i}.png")
    return d


@pytest.fixture(autouse=True, scope="package")
def _one_thread():
    # Package scope, so that module-scoped runs (e.g. the uninterrupted reference run
    # of the resume test) use the same thread count as the tests that compare with them:
    # bitwise equality needs the same reduction order.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
