"""NSS building blocks: MSCN, GGD / AGGD fits (recovery, vectorisation, MATLAB lookup)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gamma
from scipy.stats import gennorm

from blindiqa.baselines import nss
from blindiqa.baselines.matlab import fspecial_gaussian


def _aggd_samples(alpha: float, bl: float, br: float, n: int, seed: int) -> np.ndarray:
    """Samples of an AGGD: |GGD(alpha, scale b)| on each side, side chosen by mass."""
    rng = np.random.default_rng(seed)
    mag = np.abs(gennorm.rvs(alpha, size=n, random_state=rng))
    left = rng.random(n) < bl / (bl + br)
    return np.where(left, -bl * mag, br * mag)


# ----------------------------------------------------------------------------- grid
def test_gamma_grid_is_matlab_colon() -> None:
    g = nss.GAMMA_GRID
    assert g.shape == (9801,)
    assert g[0] == 0.2 and g[-1] == 10.0
    np.testing.assert_allclose(np.diff(g), 0.001, atol=1e-12)


@pytest.mark.parametrize("squared", [True, False])
def test_grid_lookup_equals_brute_force_argmin(squared: bool) -> None:
    table = nss._R_AGGD if squared else nss._R_GGD
    rng = np.random.default_rng(0)
    lo, hi = float(table.min()), float(table.max())
    values = np.concatenate([rng.uniform(lo - 0.1, hi + 0.1, 800), table[[0, 5, 77, -1]],
                             [np.nan, np.inf, -np.inf]])
    got = nss.grid_lookup(values, table, squared=squared)
    with np.errstate(invalid="ignore"):
        d = table[None, :] - values[:, None]
        d = d * d if squared else np.abs(d)
    ref = np.argmin(np.where(np.isnan(d), np.inf, d), axis=1)
    ref[~np.isfinite(values)] = 0  # MATLAB's min over all-NaN / all-Inf: first index
    np.testing.assert_array_equal(got, ref)


def test_moment_ratio_tables_are_strictly_monotonic() -> None:
    assert np.all(np.diff(nss._R_AGGD) > 0)
    assert np.all(np.diff(nss._R_GGD) < 0)


# ----------------------------------------------------------------------------- GGD
@pytest.mark.parametrize("alpha", [0.6, 1.0, 2.0, 3.5])
def test_ggd_recovers_shape_and_std(alpha: float) -> None:
    x = gennorm.rvs(alpha, scale=2.0, size=(2, 200_000), random_state=1)
    a, sigma = nss.estimate_ggd_param(x)
    np.testing.assert_allclose(a, alpha, rtol=0.04)
    true_std = 2.0 * np.sqrt(gamma(3 / alpha) / gamma(1 / alpha))
    np.testing.assert_allclose(sigma, true_std, rtol=0.02)


def test_ggd_one_dimensional_input_is_one_sample() -> None:
    a, s = nss.estimate_ggd_param(np.array([1.0, -1.0, 1.0, -1.0]))
    assert a.shape == (1,) and s[0] == 1.0
    assert a[0] == 10.0  # rho = 1 is below every grid ratio: the largest shape wins


# ----------------------------------------------------------------------------- AGGD
@pytest.mark.parametrize(("alpha", "bl", "br"), [(0.8, 1.0, 1.0), (1.5, 0.5, 1.2),
                                                 (2.5, 2.0, 0.7)])
def test_aggd_recovers_parameters(alpha: float, bl: float, br: float) -> None:
    x = _aggd_samples(alpha, bl, br, 300_000, seed=2)
    a, l_hat, r_hat = nss.estimate_aggd_param(x)
    np.testing.assert_allclose(a, alpha, rtol=0.05)
    np.testing.assert_allclose(l_hat, bl, rtol=0.03)
    np.testing.assert_allclose(r_hat, br, rtol=0.03)


def test_aggd_is_vectorised_row_by_row() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 12, 13)) * rng.uniform(0.5, 2, (7, 1, 1)) + 0.1
    batched = nss.estimate_aggd_param(x)
    for i in range(7):
        single = nss.estimate_aggd_param(x[i].ravel())  # 1-D: one sample
        for b, s in zip(batched, single, strict=True):
            assert b[i] == pytest.approx(s[0], rel=1e-13)


def test_aggd_matches_direct_formula() -> None:
    x = np.random.default_rng(4).laplace(size=5000) + 0.2
    left = np.sqrt(np.mean(x[x < 0] ** 2))
    right = np.sqrt(np.mean(x[x > 0] ** 2))
    g = left / right
    rhat = np.mean(np.abs(x)) ** 2 / np.mean(x ** 2)
    rn = rhat * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
    grid = nss.GAMMA_GRID
    r = gamma(2 / grid) ** 2 / (gamma(1 / grid) * gamma(3 / grid))
    alpha = grid[np.argmin((r - rn) ** 2)]
    a, bl, br = nss.estimate_aggd_param(x)
    assert a[0] == alpha
    assert bl[0] == pytest.approx(left * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha)),
                                  rel=1e-12)
    assert br[0] == pytest.approx(right * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha)),
                                  rel=1e-12)


def test_aggd_one_sided_sample_behaves_like_matlab() -> None:
    # no negative values: leftstd = sqrt(mean([])) = NaN -> ratio NaN -> alpha = grid(1);
    # the left scale is NaN, the right one is still computed
    a, bl, br = nss.estimate_aggd_param(np.array([[0.0, 1.0, 2.0, 3.0]]))
    assert a[0] == pytest.approx(0.2)
    assert np.isnan(bl[0]) and np.isfinite(br[0])
    a, bl, _ = nss.estimate_aggd_param(np.zeros((1, 10)))
    assert a[0] == pytest.approx(0.2) and np.isnan(bl[0])


def test_aggd_mean_factor() -> None:
    a = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(nss.aggd_mean_factor(a), gamma(2 / a) / gamma(1 / a))


# ----------------------------------------------------------------------------- MSCN
def _mscn_reference(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Direct 2-D correlation with replicate padding (imfilter(...,'replicate'))."""
    w = fspecial_gaussian(7, 7 / 6)
    view = np.lib.stride_tricks.sliding_window_view

    def filt(a: np.ndarray) -> np.ndarray:
        return np.einsum("ijkl,kl->ij", view(np.pad(a, 3, mode="edge"), (7, 7)), w)

    mu = filt(img)
    sigma = np.sqrt(np.abs(filt(img * img) - mu * mu))
    return (img - mu) / (sigma + 1), sigma


def test_mscn_matches_direct_2d_filter() -> None:
    img = np.random.default_rng(5).integers(0, 256, (23, 31)).astype(np.float64)
    got, sigma = nss.mscn(img)
    ref, ref_sigma = _mscn_reference(img)
    np.testing.assert_allclose(got, ref, atol=1e-10)
    np.testing.assert_allclose(sigma, ref_sigma, atol=1e-8)


def test_mscn_of_constant_image_is_zero() -> None:
    coeffs, sigma = nss.mscn(np.full((20, 20), 128.0))
    np.testing.assert_allclose(coeffs, 0.0, atol=1e-12)
    np.testing.assert_allclose(sigma, 0.0, atol=1e-5)
