"""Gaussian statistics (mergeable, float64) and the distance between Gaussians."""

from blindiqa.gaussian.distance import DEFAULT_RIDGE, gaussian_distance, patch_distances
from blindiqa.gaussian.stats import GaussianStats

__all__ = ["DEFAULT_RIDGE", "GaussianStats", "gaussian_distance", "patch_distances"]
