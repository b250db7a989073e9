"""Shared fixtures: sample photos, a small fitted model, the shared data folder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

#: robustness_cases.py (also used outside pytest, by benchmarks/) holds the small model's
#: recipe; the robustness tests import it the same way, as a top-level module.
sys.path.insert(0, str(Path(__file__).resolve().parent / "robustness"))
from robustness_cases import fit_small_model  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests that need it skip without it."""
    d = SHARED / "data"
    if not d.is_dir():
        pytest.skip(f"shared data not found at {d} (it sits beside the repository in CI)")
    return d


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 192x256 uint8 RGB photograph (scikit-image's 'coffee', cropped)."""
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.coffee()[100:292, 150:406])


@pytest.fixture(scope="session")
def photo2() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.chelsea()[50:242, 100:300])


@pytest.fixture(scope="session")
def small_model():
    """A cheap but real model: EfficientNet-Lite0 'stage3' features (40-d), pristine
    Gaussian fitted on two sample photos."""
    data = pytest.importorskip("skimage.data")
    return fit_small_model((data.astronaut(), data.rocket()))
