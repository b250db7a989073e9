"""Fixtures of the distortion tests: three small natural images, one torch thread.

The images are 128 x 128 centre crops of scikit-image's bundled sample photographs
(astronaut, coffee, chelsea), so these tests need no data from ``../shared``.
"""

from __future__ import annotations

import pytest
import torch


def _crop(array, side: int = 128) -> torch.Tensor:
    h, w, _ = array.shape
    top, left = (h - side) // 2, (w - side) // 2
    patch = array[top:top + side, left:left + side].copy()
    return torch.from_numpy(patch).permute(2, 0, 1).float() / 255.0


@pytest.fixture(scope="session")
def images() -> torch.Tensor:
    """``(3, 3, 128, 128)`` float32 in ``[0, 1]``: astronaut, coffee, chelsea."""
    data = pytest.importorskip("skimage.data", reason="scikit-image is a test dependency")
    return torch.stack([_crop(data.astronaut()), _crop(data.coffee()), _crop(data.chelsea())])


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors run faster on one thread (and timings are stabler on a busy CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
