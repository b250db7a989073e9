import math

import torch

from blindiqa.gaussian import gaussian_distance, patch_distances
from blindiqa.gaussian.distance import _mahalanobis_sq


def test_distance_by_hand():
    # identity covariances: pooled = I + 1e-3 I, diff = (3, 4) -> 5 / sqrt(1.001)
    mu_p, mu_t = torch.zeros(2), torch.tensor([3.0, 4.0])
    d = gaussian_distance(mu_p, torch.eye(2), mu_t, torch.eye(2))
    assert math.isclose(d, 5 / math.sqrt(1.001), rel_tol=1e-12)


def test_pooled_covariance_and_ridge():
    mu_p, mu_t = torch.zeros(2), torch.tensor([2.0, 0.0])
    cp, ct = torch.diag(torch.tensor([1.0, 1.0])), torch.diag(torch.tensor([3.0, 1.0]))
    # pooled var along x = (1 + 3)/2 + 0.5 = 2.5 -> d = 2 / sqrt(2.5)
    d = gaussian_distance(mu_p, cp, mu_t, ct, ridge=0.5)
    assert math.isclose(d, 2 / math.sqrt(2.5), rel_tol=1e-12)


def test_identical_gaussians_are_at_zero_and_symmetric():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(8, 8, generator=g, dtype=torch.float64)
    c = a @ a.T
    m = torch.randn(8, generator=g, dtype=torch.float64)
    assert gaussian_distance(m, c, m, c) == 0.0
    m2 = m + 1
    assert math.isclose(gaussian_distance(m, c, m2, 2 * c), gaussian_distance(m2, 2 * c, m, c),
                        rel_tol=1e-12)


def test_patch_distances_match_single_distance():
    g = torch.Generator().manual_seed(3)
    f = torch.randn(5, 4, generator=g, dtype=torch.float64)
    mu, cp, ct = torch.zeros(4), torch.eye(4), torch.eye(4) * 2
    d = patch_distances(f, mu, cp, ct)
    for i in range(5):
        assert math.isclose(float(d[i]), gaussian_distance(mu, cp, f[i], ct), rel_tol=1e-12)


def _quadratic_forms(a: torch.Tensor, diff: torch.Tensor) -> torch.Tensor:
    return torch.einsum("dp,de,ep->p", diff, torch.linalg.inv(a), diff)


def test_mahalanobis_uses_cholesky_and_equals_the_inverse():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(50, 6, generator=gen, dtype=torch.float64)
    a = torch.cov(x.T) + 1e-3 * torch.eye(6, dtype=torch.float64)
    diff = torch.randn(6, 9, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(_mahalanobis_sq(a, diff), _quadratic_forms(a, diff),
                               rtol=1e-12, atol=0)


def test_mahalanobis_falls_back_to_lu_where_cholesky_fails():
    a = torch.diag(torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64))  # not PD
    assert int(torch.linalg.cholesky_ex(a)[1]) != 0
    diff = torch.tensor([[1.0, 0.0], [1.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(_mahalanobis_sq(a, diff), _quadratic_forms(a, diff),
                               rtol=1e-12, atol=1e-15)
