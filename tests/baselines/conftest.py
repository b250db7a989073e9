"""Shared fixtures of the baseline tests: files inside the shared data folder.

The data folder (``tests/conftest.py``: ``$BLINDIQA_SHARED_DATA`` or ``../shared/data``)
is not part of the repository; tests that need it skip with a clear reason where it is
absent. Use the ``shared_data`` fixture (the folder) or ``shared_file`` (a callable
returning a path inside it, skipping where it is missing).
``matlab_results`` reads the official MATLAB scores of the calibration images, and
``textured_image`` makes the synthetic test images of the NIQE and IL-NIQE tests.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def shared_file(shared_data: Path) -> Callable[[str], Path]:
    """A function ``rel -> path`` inside the shared data folder; skips where missing."""

    def get(rel: str) -> Path:
        path = shared_data / rel
        if not path.exists():
            pytest.skip(f"{rel} not found in {shared_data}")
        return path

    return get


@pytest.fixture(scope="session")
def matlab_results(shared_file: Callable[[str], Path]) -> Callable[[str], dict[str, float]]:
    """A function ``method -> {image: score}`` of the official MATLAB scores of the
    calibration images (``calibration/matlab_results.csv``, one column per method)."""

    def scores(method: str) -> dict[str, float]:
        with open(shared_file("calibration/matlab_results.csv"), newline="") as f:
            rows = {r[0]: r[1:] for r in csv.reader(f)}
        pairs = zip(rows["Method"], rows[method], strict=True)
        return {name.split(".")[0]: float(v) for name, v in pairs}

    return scores


def _textured_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A deterministic textured test image (3, H, W) in [0, 1], uint8-valued."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 120 + 60 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    rgb = base[None] + rng.normal(0, 12, (3, h, w)) + np.array([10, 0, -10])[:, None, None]
    return torch.from_numpy(np.clip(np.round(rgb), 0, 255) / 255.0).float()


@pytest.fixture(scope="session")
def textured_image() -> Callable[..., torch.Tensor]:
    """A function ``(h, w, seed=0) -> (3, H, W)`` deterministic textured test image."""
    return _textured_image
