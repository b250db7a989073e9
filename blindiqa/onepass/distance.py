"""From an image's window descriptors to its score, in float64."""

from __future__ import annotations

import torch

from blindiqa.gaussian import GaussianStats, gaussian_distance_tensor, patch_distances
from blindiqa.onepass.windows import Windows, activity_weights


def image_cov(features: torch.Tensor) -> torch.Tensor:
    """Covariance of ``(P, D)`` descriptors (zeros for a single window)."""
    if features.shape[0] < 2:
        return features.new_zeros((features.shape[1],) * 2)
    return GaussianStats.from_features(features).cov


def score_windows(wins: Windows, mean: torch.Tensor, cov: torch.Tensor, distance: str,
                  ridge: float, with_map: bool = False) -> tuple[float, torch.Tensor | None]:
    """The score of one image from its windows (a Python float), and optionally the
    per-window distances; see :func:`score_windows_tensor`."""
    score, dist = score_windows_tensor(wins, mean, cov, distance, ridge, with_map)
    return float(score), dist


def score_windows_tensor(wins: Windows, mean: torch.Tensor, cov: torch.Tensor, distance: str,
                         ridge: float, with_map: bool = False
                         ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The score of one image from its windows as a 0-d float64 tensor, differentiable
    with respect to the windows' features and activity, and optionally the per-window
    distances.

    Args:
        wins: the image's windows.
        mean, cov: the pristine Gaussian (float64).
        distance: ``"mean"``: the distance between the pristine Gaussian and the
            Gaussian of the windows; ``"patch"``: the windows' distances to the pristine
            mean, averaged with :func:`activity_weights`. Both use the covariance
            ``(cov + cov_image) / 2 + ridge I``.
        ridge: the ridge.
        with_map: also return the per-window distances ``(P,)``.
    """
    feats = wins.features.to(mean.device, torch.float64)
    cov_t = image_cov(feats)
    dist = None
    if with_map or distance == "patch":
        dist = patch_distances(feats, mean, cov, cov_t, ridge)
    if distance == "patch":
        w = activity_weights(wins.activity.to(dist))
        score = (w * dist).sum() / w.sum()
    else:
        score = gaussian_distance_tensor(mean, cov, feats.mean(0), cov_t, ridge)
    return score, dist
