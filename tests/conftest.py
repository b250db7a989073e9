"""Shared fixtures: sample photos, a small fitted model, the shared data folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

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
    from blindiqa.gaussian import GaussianStats
    from blindiqa.models.gaussian_model import (
        FeatureConfig,
        GaussianDistanceModel,
        build_extractor,
        patch_features,
    )
    from blindiqa.patches import extract_patches

    cfg = FeatureConfig(encoder="efficientnet_lite0", layers=("stage3",), patch_size=96,
                        stride=48)
    ex = build_extractor(cfg)
    stats = GaussianStats.empty(ex.feature_dim)
    for arr in (data.astronaut(), data.rocket()):
        t = torch.from_numpy(np.array(arr)).permute(2, 0, 1).float() / 255
        stats = stats + GaussianStats.from_features(patch_features(ex, extract_patches(t, 96, 96)))
    return GaussianDistanceModel(ex, cfg, stats.mean, stats.cov, name="small").eval()
