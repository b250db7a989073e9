"""Gaussian statistics (mergeable, float64; NaN-aware for NIQE) and the distance between
Gaussians."""

from blindiqa.gaussian.distance import (
    DEFAULT_RIDGE,
    gaussian_distance,
    gaussian_distance_tensor,
    patch_distances,
)
from blindiqa.gaussian.nanstats import NanGaussianStats
from blindiqa.gaussian.stats import GaussianStats

__all__ = ["DEFAULT_RIDGE", "GaussianStats", "NanGaussianStats", "gaussian_distance",
           "gaussian_distance_tensor", "patch_distances"]
