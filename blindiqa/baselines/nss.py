"""Natural scene statistics: MSCN coefficients and (A)GGD moment-matching fits.

These are the building blocks of NIQE (and BRISQUE / IL-NIQE), written to reproduce
the official MATLAB code of Mittal et al. exactly:

* :func:`mscn` -- mean-subtracted contrast-normalised coefficients
  ``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian window (sigma 7/6, normalised) and
  MATLAB ``imfilter(..., 'replicate')`` boundary handling.
* :func:`estimate_ggd_param` / :func:`estimate_aggd_param` -- the moment-matching fits
  of the official ``estimateggdparam.m`` / ``estimateaggdparam.m``: the shape is looked
  up on the grid ``0.2:0.001:10`` (the grid point whose moment ratio is closest to the
  sample's; ties and undefined ratios resolve as MATLAB's ``min`` does).

All fits are vectorised: they take an array of shape ``(n, ...)`` and fit each of the
``n`` samples (e.g. ``n`` patches of ``ph x pw`` pixels) at once, in float64.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.ndimage
from scipy.special import gamma as gamma_fn

from blindiqa.baselines.matlab import fspecial_gaussian

__all__ = ["CHUNK_ELEMENTS", "GAMMA_GRID", "aggd_from_moments", "aggd_mean_factor",
           "aggd_moments", "estimate_aggd_param", "estimate_ggd_param",
           "gaussian_filter_replicate", "grid_lookup", "mscn", "mscn_bands"]


def _matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """``start:step:stop`` as MATLAB builds it (symmetric from both ends)."""
    n = int(np.floor((stop - start) / step + 0.5))
    k = np.arange(n + 1, dtype=np.float64)
    half = n // 2
    out = np.where(k < n / 2.0, start + k * step, stop - (n - k) * step)
    if n % 2 == 0:
        out[half] = (start + stop) / 2.0
    return out


_DBL_EPS = float(np.finfo(np.float64).eps)

#: Elements per group of rows in :func:`aggd_stats` (keeps temporaries in cache).
CHUNK_ELEMENTS = 1 << 17

#: The shape grid of the official code, ``0.2:0.001:10`` (9801 values).
GAMMA_GRID: np.ndarray = _matlab_colon(0.2, 0.001, 10.0)
GAMMA_GRID.setflags(write=False)

# Moment ratios on the grid and the constants each grid shape needs.
_G1 = gamma_fn(1.0 / GAMMA_GRID)
_G2 = gamma_fn(2.0 / GAMMA_GRID)
_G3 = gamma_fn(3.0 / GAMMA_GRID)
#: AGGD: Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)), increasing in a.
_R_AGGD = (_G2 ** 2) / (_G1 * _G3)
#: GGD: Gamma(1/a) Gamma(3/a) / Gamma(2/a)^2, decreasing in a.
_R_GGD = (_G1 * _G3) / (_G2 ** 2)
#: sqrt(Gamma(1/a) / Gamma(3/a)), which turns a standard deviation into a scale.
_SCALE_FACTOR = np.sqrt(_G1 / _G3)
#: Gamma(2/a) / Gamma(1/a), used for the AGGD mean.
_MEAN_FACTOR = _G2 / _G1


def grid_lookup(values: np.ndarray, table: np.ndarray, squared: bool) -> np.ndarray:
    """Index of the table entry closest to each value, as MATLAB's ``min`` finds it.

    Equivalent to ``argmin((table - v)^2)`` (``squared``) or ``argmin(|v - table|)``
    over the whole table, first index on ties, index 0 where ``v`` is NaN or infinite
    (MATLAB's ``min`` over all-NaN / all-Inf returns the first position). The table
    must be strictly monotonic; a binary search finds the neighbourhood and the exact
    MATLAB expression decides among a few candidates, so the cost is
    ``O(n log len(table))``.

    Args:
        values: any-shape float64 array.
        table: 1-D strictly monotonic float64 array.
        squared: compare squared differences (``estimateaggdparam``) rather than
            absolute ones (``estimateggdparam``).

    Returns:
        int64 indices with the shape of ``values``.
    """
    v = np.asarray(values, dtype=np.float64)
    flat = v.ravel()
    ascending = table[-1] > table[0]
    n = table.shape[0]
    if ascending:
        pos = np.searchsorted(table, np.where(np.isfinite(flat), flat, 0.0))
    else:
        pos = n - np.searchsorted(table[::-1], np.where(np.isfinite(flat), flat, 0.0))
    cand = np.clip(pos[:, None] + np.arange(-2, 2)[None, :], 0, n - 1)
    diff = table[cand] - flat[:, None]
    dist = diff * diff if squared else np.abs(diff)
    best = cand[np.arange(cand.shape[0]), np.argmin(dist, axis=1)]
    # np.argmin over clipped (repeated) candidates still returns the smallest index of
    # the minimum because candidates are sorted ascending.
    best = np.where(np.isfinite(flat), best, 0)
    return best.reshape(v.shape)


def _separable_factors(window: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The column and row factors of a rank-one window (default NIQE's 7x7 Gaussian)."""
    if window is None:
        window = fspecial_gaussian(7, 7.0 / 6.0)
    return window.sum(axis=1), window.sum(axis=0)


def gaussian_filter_replicate(img: np.ndarray, window: np.ndarray | None = None
                              ) -> np.ndarray:
    """MATLAB ``imfilter(img, window, 'replicate')`` for a separable Gaussian window.

    The window is applied as two 1-D passes (MATLAB's ``imfilter`` also separates
    rank-one kernels); results agree with the 2-D correlation to ~1e-15.

    Args:
        img: ``(..., H, W)`` float array; the filter runs over the last two axes.
        window: a rank-one 2-D window (default ``fspecial('gaussian', 7, 7/6)``).

    Returns:
        The filtered float64 array, same shape.
    """
    col, row = _separable_factors(window)
    x = np.asarray(img, dtype=np.float64)
    x = scipy.ndimage.correlate1d(x, col, axis=-2, mode="nearest")
    return scipy.ndimage.correlate1d(x, row, axis=-1, mode="nearest")


def _scipy_symmetric(weights: np.ndarray) -> bool:
    """Whether ``scipy.ndimage.correlate1d`` treats ``weights`` as a symmetric kernel."""
    w = np.asarray(weights, dtype=np.float64)
    return w.size % 2 == 1 and bool(np.all(np.abs(w - w[::-1]) <= _DBL_EPS))


def _correlate_valid(xp: np.ndarray, weights: np.ndarray, axis: int, out: np.ndarray,
                     tmp: np.ndarray) -> np.ndarray:
    """Correlation of ``xp`` with a symmetric odd kernel along ``axis`` (0 or 1): the
    outputs that need no padding beyond ``xp``, written into ``out``.

    The arithmetic is that of ``scipy.ndimage.correlate1d`` for symmetric kernels,
    ``x[0] w[c] + (x[-c] + x[c]) w[0] + ... + (x[-1] + x[1]) w[c-1]`` in this order, so
    the values are the same; here it runs as whole-array operations on contiguous
    rows, which is two to three times faster than scipy's line-by-line filter.

    Args:
        xp: padded input.
        weights: the kernel (odd length, symmetric).
        axis: 0 (along columns) or 1 (along rows).
        out: the result, ``xp``'s shape less ``len(weights) - 1`` along ``axis``.
        tmp: scratch of ``out``'s shape.

    Returns:
        ``out``.
    """
    c = weights.size // 2
    n = out.shape[axis]

    def shifted(start: int) -> np.ndarray:
        return xp[start:start + n] if axis == 0 else xp[:, start:start + n]

    np.multiply(shifted(c), weights[c], out=out)
    for d in range(c, 0, -1):
        np.add(shifted(c - d), shifted(c + d), out=tmp)
        np.multiply(tmp, weights[c - d], out=tmp)
        np.add(out, tmp, out=out)
    return out


def _mscn_bands_fast(x: np.ndarray, rows: int, col: np.ndarray, row: np.ndarray, c: float
                     ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """:func:`mscn_bands` for symmetric odd kernels, in buffers reused from band to band
    (fresh arrays for every band made the allocator map and unmap memory each time)."""
    h, w = x.shape
    hy, hx = col.size // 2, row.size // 2  # context each output reads on each side
    rows = min(rows, h)
    # The band with hy rows and hx columns of context, edges replicated (MATLAB's
    # 'replicate', scipy's 'nearest'), and its square.
    padded = np.empty((2, rows + 2 * hy, w + 2 * hx))
    vertical = np.empty((2, rows, w + 2 * hx))
    vtmp = np.empty((rows, w + 2 * hx))
    mu = np.empty((2, rows, w))  # local mean of x and of x^2
    tmp = np.empty((rows, w))
    sigma = np.empty((rows, w))
    coeffs = np.empty((rows, w))
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        n, m = r1 - r0, r1 - r0 + 2 * hy
        a0, a1 = max(0, r0 - hy), min(h, r1 + hy)
        top = a0 - (r0 - hy)  # replicated rows above the image
        band = padded[0, :m]
        band[top:top + a1 - a0, hx:hx + w] = x[a0:a1]
        band[:top, hx:hx + w] = x[0]
        band[top + a1 - a0:, hx:hx + w] = x[h - 1]
        band[:, :hx] = band[:, hx:hx + 1]
        band[:, hx + w:] = band[:, hx + w - 1:hx + w]
        np.multiply(band, band, out=padded[1, :m])
        for k in (0, 1):
            _correlate_valid(padded[k, :m], col, 0, vertical[k, :n], vtmp[:n])
            _correlate_valid(vertical[k, :n], row, 1, mu[k, :n], tmp[:n])
        # sigma = sqrt(|mu2 - mu^2|), mscn = (x - mu) / (sigma + c)
        sig = np.multiply(mu[0, :n], mu[0, :n], out=sigma[:n])
        np.subtract(mu[1, :n], sig, out=sig)
        np.sqrt(np.abs(sig, out=sig), out=sig)
        coef = np.subtract(x[r0:r1], mu[0, :n], out=coeffs[:n])
        np.divide(coef, np.add(sig, c, out=tmp[:n]), out=coef)
        yield r0, coef, sig


def mscn_bands(img: np.ndarray, rows: int, window: np.ndarray | None = None, c: float = 1.0
               ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """:func:`mscn` of a 2-D image, computed and yielded one band of rows at a time.

    Each band is filtered with the rows around it (the window's half-height) as context,
    replicated at the image's edges, so the concatenated bands are the MSCN
    coefficients of the whole image. Working on cache-sized bands avoids a dozen passes
    over full-resolution float64 temporaries (about 100 MB each for a 12-Mpixel photo),
    which made big photos slow. The filter runs as whole-array operations with the
    arithmetic of ``scipy.ndimage.correlate1d`` (:func:`gaussian_filter_replicate`), so
    the values are those of the whole-image filter bit for bit.

    Args:
        img: ``(H, W)`` float image on the 0..255 scale.
        rows: band height (the last band may be shorter).
        window: the Gaussian window (default 7x7, sigma 7/6, normalised).
        c: the stabilising constant (1 in NIQE).

    Yields:
        ``(first_row, mscn, sigma)`` for consecutive bands, each ``(band_rows, W)``
        float64. The arrays are overwritten by the next band: copy what you keep.
    """
    x = np.asarray(img, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"mscn_bands needs a 2-D image, got shape {x.shape}")
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    col, row = _separable_factors(window)
    if _scipy_symmetric(col) and _scipy_symmetric(row):
        yield from _mscn_bands_fast(x, rows, col, row, c)
        return
    # Other kernels: scipy on the band and its context rows (the band's own rows never
    # see the artificial edges of the context).
    halo = col.size // 2
    h = x.shape[0]
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        a0, a1 = max(0, r0 - halo), min(h, r1 + halo)
        band = x[a0:a1]
        keep = slice(r0 - a0, r1 - a0)
        mu = scipy.ndimage.correlate1d(band, col, axis=0, mode="nearest")[keep]
        mu2 = scipy.ndimage.correlate1d(band * band, col, axis=0, mode="nearest")[keep]
        mu = scipy.ndimage.correlate1d(mu, row, axis=1, mode="nearest")
        mu2 = scipy.ndimage.correlate1d(mu2, row, axis=1, mode="nearest")
        sigma = np.sqrt(np.abs(mu2 - mu * mu))
        yield r0, (x[r0:r1] - mu) / (sigma + c), sigma


def _band_rows(width: int) -> int:
    """Rows per band in :func:`mscn`: about ``CHUNK_ELEMENTS`` values, at least 16 rows."""
    return max(16, CHUNK_ELEMENTS // max(width, 1))


def mscn(img: np.ndarray, window: np.ndarray | None = None, c: float = 1.0
         ) -> tuple[np.ndarray, np.ndarray]:
    """MSCN coefficients and local standard deviation, as the official NIQE code.

    ``mu = imfilter(I, w, 'replicate')``,
    ``sigma = sqrt(|imfilter(I.^2, w, 'replicate') - mu.^2|)``,
    ``mscn = (I - mu) ./ (sigma + c)``.

    A 2-D image is processed in bands of rows (:func:`mscn_bands`, same values).

    Args:
        img: ``(H, W)`` (or ``(..., H, W)``) float image on the 0..255 scale.
        window: the Gaussian window (default 7x7, sigma 7/6, normalised).
        c: the stabilising constant (1 in NIQE).

    Returns:
        ``(mscn, sigma)``, both float64 of the input's shape.
    """
    x = np.asarray(img, dtype=np.float64)
    if x.ndim == 2:
        coeffs = np.empty_like(x)
        sigma = np.empty_like(x)
        for r0, band_mscn, band_sigma in mscn_bands(x, _band_rows(x.shape[1]), window, c):
            coeffs[r0:r0 + band_mscn.shape[0]] = band_mscn
            sigma[r0:r0 + band_sigma.shape[0]] = band_sigma
        return coeffs, sigma
    mu = gaussian_filter_replicate(x, window)
    mu2 = gaussian_filter_replicate(x * x, window)
    sigma = np.sqrt(np.abs(mu2 - mu * mu))
    return (x - mu) / (sigma + c), sigma


def _flatten_samples(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("need at least one sample vector")
    if x.ndim == 1:
        return x[None, :]
    return x.reshape(x.shape[0], -1)


def aggd_moments(x: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """Per-row sums the AGGD fit needs.

    Rows are processed in cache-sized groups (vectorised within a group; the grouping
    only keeps temporaries small).

    Args:
        x: ``(n, m)`` float64 samples.
        scratch: optional float64 array of shape ``(2, k, m)`` to compute in, ``k`` at
            least ``min(n, CHUNK_ELEMENTS // m)`` (saves allocations when called often).

    Returns:
        ``(5, n)`` float64: sum of squares of the negative values, sum of squares of
        the positive values, sum of absolute values, number of negative values, number
        of positive values.
    """
    n, m = x.shape
    out = np.empty((5, n))
    step = max(1, CHUNK_ELEMENTS // max(m, 1))
    if scratch is None:
        scratch = np.empty((2, min(step, n), m))
    ones = np.ones(m)
    for i in range(0, n, step):
        rows = x[i:i + step]
        k = rows.shape[0]
        neg = np.minimum(rows, 0.0, out=scratch[0, :k])
        pos = np.maximum(rows, 0.0, out=scratch[1, :k])
        out[0, i:i + step] = np.einsum("ij,ij->i", neg, neg)
        out[1, i:i + step] = np.einsum("ij,ij->i", pos, pos)
        out[2, i:i + step] = pos @ ones - neg @ ones
        out[3, i:i + step] = np.count_nonzero(neg, axis=1)
        out[4, i:i + step] = np.count_nonzero(pos, axis=1)
    return out


def aggd_from_moments(moments: np.ndarray, m: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AGGD parameters from the sums of :func:`aggd_moments` (``estimateaggdparam.m``).

    Args:
        moments: ``(5, ...)`` sums as returned by :func:`aggd_moments`.
        m: number of values per sample.

    Returns:
        ``(alpha, beta_left, beta_right)`` with the shape of ``moments[0]``.
    """
    left_sq, right_sq, abs_sum, n_neg, n_pos = moments
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt(left_sq / n_neg)
        right = np.sqrt(right_sq / n_pos)
        rhat = (abs_sum / m) ** 2 / ((left_sq + right_sq) / m)
        g = left / right
        rhatnorm = (rhat * (g ** 3 + 1.0) * (g + 1.0)) / ((g ** 2 + 1.0) ** 2)
    idx = grid_lookup(rhatnorm, _R_AGGD, squared=True)
    k = _SCALE_FACTOR[idx]
    return GAMMA_GRID[idx], left * k, right * k


def estimate_aggd_param(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian fit of each sample (``estimateaggdparam.m``).

    ``leftstd`` / ``rightstd`` are the root mean squares of the negative / positive
    values, ``rhat = mean(|x|)^2 / mean(x^2)`` is normalised by
    ``(g^3 + 1)(g + 1) / (g^2 + 1)^2`` with ``g = leftstd / rightstd`` and matched
    on the shape grid; the scales are ``std * sqrt(Gamma(1/a) / Gamma(3/a))``.

    Args:
        x: ``(n, ...)`` array: ``n`` samples, each flattened (a 1-D array is one
            sample).

    Returns:
        ``(alpha, beta_left, beta_right)``, each ``(n,)`` float64. ``alpha`` is on the
        grid ``0.2:0.001:10``. A sample with no negative (or positive) values gets
        NaN scales and ``alpha = 0.2``, exactly as the MATLAB code produces.
    """
    s = _flatten_samples(x)
    return aggd_from_moments(aggd_moments(s), s.shape[1])


def aggd_mean_factor(alpha: np.ndarray) -> np.ndarray:
    """``Gamma(2/alpha) / Gamma(1/alpha)`` (the AGGD mean is ``(br - bl)`` times this).

    Args:
        alpha: shapes returned by :func:`estimate_aggd_param` (on the grid).

    Returns:
        The factor, float64.
    """
    a = np.asarray(alpha, dtype=np.float64)
    return gamma_fn(2.0 / a) / gamma_fn(1.0 / a)


def estimate_ggd_param(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Gaussian fit of each sample (``estimateggdparam.m``).

    Args:
        x: ``(n, ...)`` array: ``n`` samples, each flattened.

    Returns:
        ``(alpha, sigma)``: the shape on the grid ``0.2:0.001:10`` and the standard
        deviation ``sqrt(mean(x^2))``, each ``(n,)``.
    """
    s = _flatten_samples(x)
    m = s.shape[1]
    sigma_sq = (s * s).sum(axis=1) / m
    e = np.abs(s).sum(axis=1) / m
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = sigma_sq / (e * e)
    idx = grid_lookup(rho, _R_GGD, squared=False)
    return GAMMA_GRID[idx], np.sqrt(sigma_sq)
