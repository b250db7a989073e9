"""Metrics against hand-computed values and scipy.stats."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from blindiqa.bench.metrics import (
    LogisticFitWarning,
    evaluate,
    fit_logistic,
    krcc,
    logistic4,
    plcc,
    srcc,
)


def test_srcc_krcc_by_hand() -> None:
    pred, mos = [1, 2, 3, 4], [1, 3, 2, 4]
    # one swapped pair: rho = 1 - 6 * (1 + 1) / (4 * 15) = 0.8
    assert srcc(pred, mos) == pytest.approx(0.8)
    # 5 concordant, 1 discordant pairs: tau = (5 - 1) / 6
    assert krcc(pred, mos) == pytest.approx(4 / 6)


def test_against_scipy() -> None:
    rng = np.random.default_rng(0)
    pred = rng.normal(size=50)
    mos = pred + rng.normal(scale=0.7, size=50)
    assert srcc(pred, mos) == pytest.approx(stats.spearmanr(pred, mos)[0])
    assert krcc(pred, mos) == pytest.approx(stats.kendalltau(pred, mos)[0])


def test_logistic4_formula() -> None:
    b1, b2, b3, b4 = 90.0, 10.0, 2.0, -0.5  # |b4| is used
    x = np.array([0.0, 2.0, 5.0])
    expected = (b1 - b2) / (1 + np.exp(-(x - b3) / abs(b4))) + b2
    assert np.allclose(logistic4(x, b1, b2, b3, b4), expected)
    assert np.isfinite(logistic4(np.array([-1e6, 1e6]), b1, b2, b3, b4)).all()


def test_plcc_of_exact_logistic_is_one() -> None:
    x = np.linspace(-3, 3, 40)
    mos = logistic4(x, 80.0, 20.0, 0.3, 0.8)
    assert plcc(x, mos) == pytest.approx(1.0, abs=1e-6)
    # decreasing relation (a distance): still 1 in magnitude
    assert plcc(-x, mos) == pytest.approx(1.0, abs=1e-6)


def test_plcc_not_below_linear() -> None:
    rng = np.random.default_rng(3)
    mos = rng.uniform(0, 100, 80)
    pred = np.exp(-mos / 40) + rng.normal(0, 0.05, 80)
    linear = abs(stats.pearsonr(pred, mos)[0])
    assert plcc(pred, mos) >= linear - 1e-3


def _distances(scale: float, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mos = rng.uniform(0, 100, 100)
    pred = scale * (5 - 0.03 * mos + rng.normal(0, 0.8, 100))
    return pred, mos


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_retry_when_b4_is_off_scale(scale: float) -> None:
    # the method's b4 = 1 start is a line (1e-6) or a step (1e6) over these scores and
    # stays there; the retry from b4 = std(pred) recovers the PLCC found at scale 1
    pred, mos = _distances(scale)
    fit = fit_logistic(pred, mos)
    assert fit is not None and fit.start != "b4=1"
    assert fit.plcc == pytest.approx(plcc(pred / scale, mos), abs=1e-4)


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e3, 1e6])
def test_plcc_scale_invariant(scale: float) -> None:
    pred, mos = _distances(scale, seed=11)
    assert plcc(pred, mos) == pytest.approx(plcc(pred / scale, mos), abs=1e-4)


def test_first_start_is_the_methods() -> None:
    pred, mos = _distances(1.0, seed=11)
    fit = fit_logistic(pred, mos)
    assert fit is not None and fit.start == "b4=1"
    fitted = fit(pred)
    assert fit.plcc == pytest.approx(abs(stats.pearsonr(fitted, mos)[0]))


def test_fallback_to_plain_plcc_with_warning() -> None:
    pred, mos = [1.0, 2.0, 4.0], [10.0, 25.0, 30.0]  # too few points for 4 parameters
    with pytest.warns(LogisticFitWarning):
        value = plcc(pred, mos)
    assert value == pytest.approx(abs(stats.pearsonr(pred, mos)[0]))


def test_constant_predictions() -> None:
    assert fit_logistic([1.0] * 5, [1, 2, 3, 4, 5]) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LogisticFitWarning)
        out = evaluate([1.0] * 5, [1, 2, 3, 4, 5])
    assert math.isnan(out["srcc"]) and math.isnan(out["plcc"]) and out["n"] == 5


def test_evaluate_reports_magnitudes() -> None:
    rng = np.random.default_rng(1)
    mos = rng.uniform(0, 100, 60)
    pred = -mos + rng.normal(0, 15, 60)  # a distance: negative correlation
    out = evaluate(pred, mos)
    assert set(out) == {"srcc", "plcc", "krcc", "n"}
    assert out["n"] == 60
    assert out["srcc"] == pytest.approx(-stats.spearmanr(pred, mos)[0])
    assert out["krcc"] == pytest.approx(-stats.kendalltau(pred, mos)[0])
    assert 0 < out["plcc"] <= 1


def test_evaluate_drops_non_finite_pairs() -> None:
    out = evaluate([1, 2, np.nan, 3, 4, 5], [1, 2, 3, np.inf, 5, 4])
    assert out["n"] == 4


def test_evaluate_empty_and_mismatch() -> None:
    out = evaluate([], [])
    assert out["n"] == 0 and math.isnan(out["srcc"]) and math.isnan(out["plcc"])
    with pytest.raises(ValueError, match="3 predictions but 2"):
        evaluate([1, 2, 3], [1, 2])
