"""The distance between the pristine Gaussian and an image's Gaussian (method.md).

``d = sqrt((mu_p - mu_t)^T [(S_p + S_t)/2 + ridge I]^-1 (mu_p - mu_t))`` in float64.
"""

from __future__ import annotations

import torch

#: The ridge added to the pooled covariance.
DEFAULT_RIDGE = 1e-3


def _pooled(cov_p: torch.Tensor, cov_t: torch.Tensor, ridge: float) -> torch.Tensor:
    eye = torch.eye(cov_p.shape[0], dtype=torch.float64, device=cov_p.device)
    return (cov_p.double() + cov_t.double()) / 2 + ridge * eye


def gaussian_distance(mu_p: torch.Tensor, cov_p: torch.Tensor, mu_t: torch.Tensor,
                      cov_t: torch.Tensor, ridge: float = DEFAULT_RIDGE) -> float:
    """Mahalanobis-like distance between two Gaussians with the pooled covariance.

    Args:
        mu_p, cov_p: the pristine mean ``(D,)`` and covariance ``(D, D)``.
        mu_t, cov_t: the test image's.
        ridge: added to the diagonal of the pooled covariance.
    """
    diff = (mu_p.double() - mu_t.double())[:, None]
    sol = torch.linalg.solve(_pooled(cov_p, cov_t, ridge), diff)
    return float((diff * sol).sum().clamp_min(0).sqrt())


def patch_distances(features: torch.Tensor, mu_p: torch.Tensor, cov_p: torch.Tensor,
                    cov_t: torch.Tensor, ridge: float = DEFAULT_RIDGE) -> torch.Tensor:
    """Distance of each patch feature ``(P, D)`` to the pristine mean, with the same
    pooled covariance as :func:`gaussian_distance` (the local quality map)."""
    diff = (features.double() - mu_p.double()[None]).T  # D, P
    sol = torch.linalg.solve(_pooled(cov_p, cov_t, ridge), diff)
    return (diff * sol).sum(0).clamp_min(0).sqrt()
