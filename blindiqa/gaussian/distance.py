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


def _mahalanobis_sq(pooled: torch.Tensor, diff: torch.Tensor) -> torch.Tensor:
    """``diff[:, j]^T pooled^-1 diff[:, j]`` for every column of ``diff`` ``(D, P)``.

    The pooled covariance is symmetric positive definite (a covariance plus a ridge), so
    a Cholesky factor ``L`` gives it as ``|L^-1 diff_j|^2``: one triangular solve instead
    of an LU solve (1.5x faster on 280 x 841, equal to 1e-15 relative). Where rounding
    leaves the matrix not quite positive definite (no ridge, a rank-deficient pristine
    covariance), the LU solve is used as before.
    """
    chol, info = torch.linalg.cholesky_ex(pooled)
    if int(info) == 0:
        y = torch.linalg.solve_triangular(chol, diff, upper=False)
        return (y * y).sum(0)
    return (diff * torch.linalg.solve(pooled, diff)).sum(0)


def gaussian_distance_tensor(mu_p: torch.Tensor, cov_p: torch.Tensor, mu_t: torch.Tensor,
                             cov_t: torch.Tensor, ridge: float = DEFAULT_RIDGE
                             ) -> torch.Tensor:
    """:func:`gaussian_distance` as a 0-d float64 tensor, differentiable with respect to
    every input (Cholesky factor and triangular solve are autograd operations)."""
    diff = (mu_p.double() - mu_t.double())[:, None]
    return _mahalanobis_sq(_pooled(cov_p, cov_t, ridge), diff).sum().clamp_min(0).sqrt()


def gaussian_distance(mu_p: torch.Tensor, cov_p: torch.Tensor, mu_t: torch.Tensor,
                      cov_t: torch.Tensor, ridge: float = DEFAULT_RIDGE) -> float:
    """Mahalanobis-like distance between two Gaussians with the pooled covariance.

    Args:
        mu_p, cov_p: the pristine mean ``(D,)`` and covariance ``(D, D)``.
        mu_t, cov_t: the test image's.
        ridge: added to the diagonal of the pooled covariance.
    """
    return float(gaussian_distance_tensor(mu_p, cov_p, mu_t, cov_t, ridge))


def patch_distances(features: torch.Tensor, mu_p: torch.Tensor, cov_p: torch.Tensor,
                    cov_t: torch.Tensor, ridge: float = DEFAULT_RIDGE) -> torch.Tensor:
    """Distance of each patch feature ``(P, D)`` to the pristine mean, with the same
    pooled covariance as :func:`gaussian_distance` (the local quality map)."""
    diff = (features.double() - mu_p.double()[None]).T  # D, P
    return _mahalanobis_sq(_pooled(cov_p, cov_t, ridge), diff).clamp_min(0).sqrt()
