"""Agreement of predicted scores with mean opinion scores (MOS).

* SRCC -- Spearman rank correlation, reported as ``|SRCC|``.
* KRCC -- Kendall rank correlation (tau-b), reported as ``|KRCC|``.
* PLCC -- Pearson correlation between the MOS and the predictions mapped through the
  4-parameter logistic ``f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``, fitted
  by least squares from predictions to MOS (scipy ``curve_fit``, initial values
  ``[max(mos), min(mos), mean(pred), 1]``, ``maxfev`` 10000), as in the method's
  evaluation protocol.

Why absolute values: blindiqa scores are distances from pristine quality (lower =
better) while MOS is higher = better, so the rank correlations come out negative for a
good scorer; their magnitude is what is compared across methods. For PLCC the logistic
family is closed under mirroring (swapping ``b1`` and ``b2`` turns ``f`` into
``b1 + b2 - f``, which flips the sign of the correlation), so its magnitude is the
correlation of the best-fitting curve, whichever way the scores run.

On the initial ``b4 = 1``: the method fixes it, and it suits predictions whose spread is
of order 1. With scores of scale ~1e-3 the starting curve is a straight line over the
data, with scores of ~1e3 a step, and the optimiser tends to stay there (the gradients
with respect to ``b3``/``b4`` vanish). So the method's start is tried first and kept
unless the fit fails (exception or non-finite result) or is *degenerate*:

* *stuck*: its PLCC is below that of the best straight line (the logistic family
  contains lines as a limit, so a converged fit does at least as well);
* *step*: ``|b4| < 0.01 std(pred)``, a jump between two neighbouring scores -- it fits
  noise (on small samples this can even be the least-squares optimum), so its PLCC
  means nothing;
* *line*: ``|b4| > 100 std(pred)``, a straight line over the data -- the start's scale
  never adapted to the scores.

Then the fit is retried from ``b4 = std(pred)``, and from the same with ``b1``/``b2``
swapped (the start of a decreasing curve, as distances need); of the tries that are
neither stuck nor a step the best is kept (the largest PLCC, which at a converged fit
is also the smallest squared error, since ``b1``/``b2`` enter linearly). Where no try
qualifies, the plain (linear) PLCC is reported with a :class:`LogisticFitWarning`. The
Jacobian is given analytically: the default finite differences step relative to each
parameter's value and would leave a ``b3`` that starts near zero (centred scores)
where it is.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.special import expit

#: A fit whose PLCC is below the plain PLCC by more than this counts as degenerate.
DEGENERATE_TOL = 1e-3
MAXFEV = 10000


class LogisticFitWarning(UserWarning):
    """The logistic fit failed; a plain PLCC was reported instead."""


def logistic4(x: Any, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """``(b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``, evaluated without overflow."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (b1 - b2) * expit((x - b3) / abs(b4)) + b2


def _logistic4_jac(x: Any, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """Analytic Jacobian of :func:`logistic4` with respect to ``(b1, b2, b3, b4)``.

    Given to ``curve_fit``: its default finite differences take steps relative to each
    parameter's value, so a parameter starting at (nearly) zero -- ``b3 = mean(pred)``
    of centred scores -- would never move.
    """
    x = np.asarray(x, dtype=np.float64)
    a = abs(b4)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = (x - b3) / a
        s = expit(z)
        ds = (b1 - b2) * s * (1.0 - s)
        return np.stack([s, 1.0 - s, -ds / a, -ds * z * np.sign(b4) / a], axis=1)


@dataclass(frozen=True)
class LogisticFit:
    """A fitted 4-parameter logistic.

    Attributes:
        params: ``(b1, b2, b3, b4)``.
        plcc: Pearson correlation between the fitted values and the MOS (magnitude).
        start: which initial values gave it: ``"b4=1"`` (the method's), ``"b4=std"``
            or ``"b4=std,swapped"``.
    """

    params: tuple[float, float, float, float]
    plcc: float
    start: str

    def __call__(self, x: Any) -> np.ndarray:
        return logistic4(x, *self.params)


def _as_pair(pred: Sequence[float] | np.ndarray,
             mos: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).ravel()
    m = np.asarray(mos, dtype=np.float64).ravel()
    if p.shape != m.shape:
        raise ValueError(f"{p.size} predictions but {m.size} MOS values")
    return p, m


def _finite_pairs(pred: Any, mos: Any) -> tuple[np.ndarray, np.ndarray]:
    p, m = _as_pair(pred, mos)
    keep = np.isfinite(p) & np.isfinite(m)
    return p[keep], m[keep]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = float(stats.pearsonr(a, b)[0])
    return r if math.isfinite(r) else math.nan


def srcc(pred: Any, mos: Any) -> float:
    """Spearman rank correlation (signed; NaN when undefined)."""
    p, m = _as_pair(pred, mos)
    if p.size < 2 or np.ptp(p) == 0 or np.ptp(m) == 0:
        return math.nan
    return float(stats.spearmanr(p, m)[0])


def krcc(pred: Any, mos: Any) -> float:
    """Kendall rank correlation, tau-b (signed; NaN when undefined)."""
    p, m = _as_pair(pred, mos)
    if p.size < 2 or np.ptp(p) == 0 or np.ptp(m) == 0:
        return math.nan
    return float(stats.kendalltau(p, m)[0])


def _try_fit(p: np.ndarray, m: np.ndarray, p0: list[float]) -> tuple[tuple, float] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params, _ = curve_fit(logistic4, p, m, p0=p0, maxfev=MAXFEV, jac=_logistic4_jac)
    except (RuntimeError, ValueError, TypeError, FloatingPointError):
        return None
    if not np.all(np.isfinite(params)) or params[3] == 0:
        return None
    fitted = logistic4(p, *params)
    if not np.all(np.isfinite(fitted)):
        return None
    r = _pearson(fitted, m)
    if not math.isfinite(r):
        return None
    return tuple(float(v) for v in params), abs(r)


def fit_logistic(pred: Any, mos: Any) -> LogisticFit | None:
    """Fit the 4-parameter logistic from predictions to MOS.

    Tries the method's initial values first, then the retries described in the module
    docstring.

    Returns:
        The fit, or None where no try gives a finite, non-degenerate fit (fewer than 4
        points, constant predictions, optimiser failures).
    """
    p, m = _finite_pairs(pred, mos)
    if p.size < 4 or np.ptp(p) == 0 or np.ptp(m) == 0:
        return None
    linear = abs(_pearson(p, m))
    hi, lo, mu, sd = float(m.max()), float(m.min()), float(p.mean()), float(p.std())
    first = _try_fit(p, m, [hi, lo, mu, 1.0])
    if first is not None and _fit_kind(first, linear, sd) == "ok":
        return LogisticFit(first[0], first[1], "b4=1")
    tries = [("b4=1", first),
             ("b4=std", _try_fit(p, m, [hi, lo, mu, sd])),
             ("b4=std,swapped", _try_fit(p, m, [lo, hi, mu, sd]))]
    usable = [(got[1], label, got[0]) for label, got in tries
              if got is not None and _fit_kind(got, linear, sd) in ("ok", "line")]
    if not usable:
        return None
    r, label, params = max(usable, key=lambda t: t[0])
    return LogisticFit(params, r, label)


def _fit_kind(fit: tuple[tuple, float], linear: float, spread: float) -> str:
    """Classify a converged fit.

    Returns:
        ``"stuck"``: its PLCC is below that of the best straight line; ``"step"``:
        ``|b4| < 0.01 std(pred)``, a jump inside the data; ``"line"``:
        ``|b4| > 100 std(pred)``, a straight line over the data; ``"ok"`` otherwise.
    """
    params, r = fit
    ratio = abs(params[3]) / spread
    if r < linear - DEGENERATE_TOL:
        return "stuck"
    if ratio < 1e-2:
        return "step"
    if ratio > 1e2:
        return "line"
    return "ok"


def plcc(pred: Any, mos: Any) -> float:
    """PLCC after the 4-parameter logistic (magnitude; see the module docstring).

    Falls back to the plain PLCC magnitude, with a :class:`LogisticFitWarning`, where
    the fit fails.
    """
    fit = fit_logistic(pred, mos)
    if fit is not None:
        return fit.plcc
    p, m = _finite_pairs(pred, mos)
    linear = _pearson(p, m)
    if p.size >= 2:
        warnings.warn(
            f"no usable logistic fit on {p.size} points (failed, or a step that fits "
            "noise); reporting the plain PLCC",
            LogisticFitWarning, stacklevel=2,
        )
    return abs(linear) if math.isfinite(linear) else math.nan


def evaluate(pred: Any, mos: Any) -> dict[str, float | int]:
    """All metrics of one prediction set.

    Pairs where the prediction or the MOS is not finite are left out.

    Args:
        pred: the predicted scores (any direction).
        mos: the mean opinion scores, same length.

    Returns:
        ``{"srcc": |SRCC|, "plcc": PLCC after the logistic (magnitude), "krcc": |KRCC|,
        "n": pairs used}``; the correlations are NaN where undefined (n < 2, constant
        input).
    """
    p, m = _finite_pairs(pred, mos)
    s, k = srcc(p, m), krcc(p, m)
    return {
        "srcc": abs(s) if math.isfinite(s) else math.nan,
        "plcc": plcc(p, m) if p.size >= 2 else math.nan,
        "krcc": abs(k) if math.isfinite(k) else math.nan,
        "n": int(p.size),
    }
