"""IL-NIQE patch features (Zhang, Zhang & Bovik, IEEE TIP 2015), vectorised over patches.

Every step follows the published MATLAB implementation so that the 468 features of each
84x84 patch (234 at each of two scales) agree with it to floating-point accuracy:

* the image is resized to 524x524 with MATLAB's bicubic ``imresize`` (rounded back to
  ``uint8`` as MATLAB does for ``uint8`` input) and cropped to whole patches (504x504);
* three opponent channels ``O1, O2, O3`` and the log RGB channels are formed;
* at each scale: MSCN coefficients of ``O3`` (5x5 Gaussian window, sigma 5/6,
  replicate padding); Gaussian-derivative gradients of ``O1, O2, O3``
  (``conv2(..., 'same')`` with zero padding); log-opponent colour channels; a 3-scale,
  4-orientation log-Gabor bank applied to ``O3`` in the frequency domain, and the
  gradients of the real and imaginary parts of each response;
* per patch: AGGD fits (MSCN, its four neighbour products, gradients, log-Gabor
  responses and their derivatives), Weibull maximum-likelihood fits (gradient
  magnitudes) and mean / variance (colour channels);
* between scales every map is low-passed (6x6 Gaussian, sigma 0.9) and decimated by 2.

Speed (about 1 s of CPU per image): the per-patch loops of the reference code become
per-map patch reductions (reshape-sums, one map at a time, two threads); the Weibull
maximum-likelihood fits use Halley's method on all patches of a map at once; every
Gaussian-derivative ``conv2`` is a circular FFT convolution (sharing the log-Gabor
spectra: the spectrum of the real/imaginary part of a response is the image spectrum
times the even/odd part of the filter) whose border frame, where the kernel wraps, is
recomputed directly, so that it equals MATLAB's zero-padded ``conv2(..., 'same')``.

Exactness: on images without flat regions the features agree with MATLAB to about
1e-5 relative (MATLAB's ``wblfit`` stops at a 1e-6 tolerance). In perfectly flat
regions some statistics (sign counts of AGGD fits, log-magnitudes of Weibull fits)
depend on floating-point rounding noise, whose pattern no reimplementation shares.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.special

from blindiqa.baselines.matlab import imresize, resize_matrix

__all__ = [
    "BLOCK_SIZE", "FEATURES_PER_SCALE", "NORMALIZED_SIZE", "NUM_FEATURES",
    "aggd_fit", "image_features", "log_gabor_bank", "resize_uint8", "resize_unit_image",
    "unit_to_levels", "weibull_fit",
]

#: Side of the square the image is resized to before feature extraction.
NORMALIZED_SIZE = 524
#: Patch side (pixels) at the first scale.
BLOCK_SIZE = 84
#: Features per patch at one scale and in total (two scales).
FEATURES_PER_SCALE = 234
NUM_FEATURES = 2 * FEATURES_PER_SCALE

_SIGMA_GAUSS_DERIVATIVE = 1.66
_K_FOR_LOG = 0.00001
_MIN_WAVELENGTH = 2.4
_SIGMA_ON_F = 0.55
_MULT = 1.31
_DTHETA_ON_SIGMA = 1.10
_SCALE_FACTOR_LOG_GABOR = 0.87
_SCALE_FACTOR_GAUSS_DERIVATIVE = 0.28
_SIGMA_DOWNSAMPLE = 0.9
_N_LG_SCALES = 3
_N_LG_ORIENTATIONS = 4
_EPS = float(np.finfo(np.float64).eps)

#: Opponent colour transform (rows: O1, O2, O3).
_OPPONENT = np.array([[0.30, 0.04, -0.35],
                      [0.34, -0.60, 0.17],
                      [0.06, 0.63, 0.27]])

#: MATLAB circshift offsets of the neighbour products (row shift, column shift).
_PRODUCT_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))

#: The AGGD shape grid ``0.2:0.001:10`` and its ratio function, as in the reference.
_AGGD_GRID = 0.2 + 0.001 * np.arange(9801)
_AGGD_RATIO = (scipy.special.gamma(2.0 / _AGGD_GRID) ** 2
               / (scipy.special.gamma(1.0 / _AGGD_GRID) * scipy.special.gamma(3.0 / _AGGD_GRID)))


# --------------------------------------------------------------------------- image prep
#: Values per band when a full-resolution image is converted and resized in bands.
_BAND_ELEMENTS = 1 << 18


def unit_to_levels(x: np.ndarray) -> np.ndarray:
    """``round(255 x)`` saturated to ``[0, 255]``, as float64 (the uint8 levels).

    Args:
        x: float array with values in ``[0, 1]`` (any shape).

    Returns:
        float64 array of integers 0..255, same shape.
    """
    return np.clip(np.floor(np.multiply(x, 255.0, dtype=np.float64) + 0.5), 0.0, 255.0)


def _round_levels(x: np.ndarray) -> np.ndarray:
    """MATLAB's conversion of a resized ``uint8`` image back to ``uint8`` (in place)."""
    np.floor(np.add(x, 0.5, out=x), out=x)
    return np.clip(x, 0.0, 255.0, out=x)


def _resize_passes(h: int, w: int, size: int) -> list[tuple[int, int]]:
    """MATLAB's two passes of ``imresize`` to ``size x size``: smaller scale first."""
    return [(size, w), (size, size)] if size / h <= size / w else [(h, size), (size, size)]


def resize_uint8(rgb: np.ndarray, size: int = NORMALIZED_SIZE) -> np.ndarray:
    """MATLAB ``imresize(rgb, [size size])`` of a uint8 image (bicubic, antialiased).

    MATLAB resizes one dimension at a time (the one with the smaller scale first) and,
    for ``uint8`` input, rounds each pass back to ``uint8`` (half away from zero,
    saturated); both are reproduced here.

    Args:
        rgb: ``(H, W, 3)`` image of integer levels (uint8 or float).
        size: output height and width.

    Returns:
        ``(size, size, 3)`` float64 array of integers in ``[0, 255]``.
    """
    x = np.asarray(rgb, dtype=np.float64)
    h, w = x.shape[:2]
    if (h, w) == (size, size):
        return x
    for shape in _resize_passes(h, w, size):
        if x.shape[:2] != shape:
            x = _round_levels(imresize(x, output_shape=shape))
    return x


def resize_unit_image(image: np.ndarray, size: int = NORMALIZED_SIZE) -> np.ndarray:
    """``resize_uint8(levels, size)`` straight from a ``(C, H, W)`` image in ``[0, 1]``.

    ``levels`` are :func:`unit_to_levels` of the image in ``(H, W, 3)`` layout (a
    one-channel image is replicated). The result is the same, value for value, but the
    first resize pass, the only one at full resolution, runs on bands of the image:
    each band is converted to levels, laid out for the sparse product and resized while
    it is in cache. On a 12-Mpixel photo this replaces several full-size float64
    copies (300 MB each) by one read of the image.

    Args:
        image: ``(3, H, W)`` or ``(1, H, W)`` float array in ``[0, 1]``.
        size: output height and width.

    Returns:
        ``(size, size, 3)`` float64 array of integers in ``[0, 255]``.
    """
    c, h, w = image.shape
    first = _resize_passes(h, w, size)[0]
    if first == (h, w):  # no resize at full resolution: nothing to gain
        levels = unit_to_levels(image)
        if c == 1:
            levels = np.repeat(levels, 3, axis=0)
        return resize_uint8(np.ascontiguousarray(levels.transpose(1, 2, 0)), size)
    if first[0] != h:  # rows resized (columns kept): bands of columns
        mat = resize_matrix(h, size, size / h)
        out = np.empty((size, w, c))
        step = max(1, _BAND_ELEMENTS // (h * c))
        for c0 in range(0, w, step):
            band = unit_to_levels(image[:, :, c0:c0 + step])  # (C, H, n)
            n = band.shape[2]
            flat = np.ascontiguousarray(band.transpose(1, 0, 2)).reshape(h, c * n)
            out[:, c0:c0 + n] = np.asarray(mat @ flat).reshape(size, c, n).transpose(0, 2, 1)
    else:  # columns resized (rows kept): bands of rows
        mat = resize_matrix(w, size, size / w)
        out = np.empty((h, size, c))
        step = max(1, _BAND_ELEMENTS // (w * c))
        for r0 in range(0, h, step):
            band = unit_to_levels(image[:, r0:r0 + step])  # (C, n, W)
            n = band.shape[1]
            flat = np.ascontiguousarray(band.reshape(c * n, w).T)  # (W, C*n)
            out[r0:r0 + n] = np.asarray(mat @ flat).reshape(size, c, n).transpose(2, 0, 1)
    out = _round_levels(out)
    if c == 1:
        out = np.repeat(out, 3, axis=2)
    return resize_uint8(out, size)


# --------------------------------------------------------------------------- filters
def _gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """The 1-D factor of MATLAB ``fspecial('gaussian', size, sigma)`` (normalised)."""
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(ax * ax) / (2.0 * sigma * sigma))
    return g / g.sum()


def _imfilter_replicate(maps: np.ndarray, kernel_1d: np.ndarray) -> np.ndarray:
    """MATLAB ``imfilter(x, k' * k, 'replicate')`` on the last two axes.

    MATLAB puts the kernel centre at ``floor((n + 1) / 2)`` (1-based), which for an
    even length is one sample left of scipy's default, hence ``origin=-1`` there.
    """
    origin = -1 if kernel_1d.size % 2 == 0 else 0
    out = scipy.ndimage.correlate1d(maps, kernel_1d, axis=-2, mode="nearest", origin=origin)
    return scipy.ndimage.correlate1d(out, kernel_1d, axis=-1, mode="nearest", origin=origin)


def _derivative_factors(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """1-D factors of the reference ``gauDerivative`` kernels.

    ``dx(r, c) = g(r) * t(c)`` and ``dy(r, c) = t(r) * g(c)`` with
    ``g(t) = exp(-t^2 / (2 sigma^2))``, ``t(t) = t g(t)`` on ``-ceil(3 sigma) ..
    ceil(3 sigma)``.
    """
    half = math.ceil(3.0 * sigma)
    ax = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-(ax * ax) / 2.0 / sigma / sigma)
    return g, ax * g


@lru_cache(maxsize=8)
def _derivative_spectrum(sigma: float, shape: tuple[int, int]) -> np.ndarray:
    """FFT (size ``shape``) of the complex kernel ``dx + 1i*dy``, centred at (0, 0)."""
    g, tg = _derivative_factors(sigma)
    half = g.size // 2
    kernel = np.outer(g, tg) + 1j * np.outer(tg, g)
    padded = np.zeros(shape, dtype=np.complex128)
    padded[: 2 * half + 1, : 2 * half + 1] = kernel
    return scipy.fft.fft2(np.roll(padded, (-half, -half), axis=(0, 1)))


def _conv2_direct(maps: np.ndarray, sigma: float) -> np.ndarray:
    """``conv2(m, dx + 1i*dy, 'same')`` of real maps by separable direct convolution."""
    g, tg = _derivative_factors(sigma)
    conv = scipy.ndimage.convolve1d
    d_x = conv(conv(maps, g, axis=-2, mode="constant"), tg, axis=-1, mode="constant")
    d_y = conv(conv(maps, tg, axis=-2, mode="constant"), g, axis=-1, mode="constant")
    return d_x + 1j * d_y


def _fix_borders(circular: np.ndarray, maps: np.ndarray, sigma: float) -> np.ndarray:
    """Turn circular convolutions into MATLAB's zero-padded ``conv2(..., 'same')``.

    A circular convolution is exact except in a frame of width ``ceil(3 sigma)`` where
    the kernel wraps around; that frame is recomputed directly from strips of ``maps``.

    Args:
        circular: ``(C, H, W)`` complex circular convolutions of ``maps`` with
            ``dx + 1i*dy`` (modified in place).
        maps: ``(C, H, W)`` the real maps that were convolved.
        sigma: Gaussian-derivative scale.

    Returns:
        ``circular``, corrected.
    """
    half = math.ceil(3.0 * sigma)
    m = 2 * half
    circular[..., :half, :] = _conv2_direct(maps[..., :m, :], sigma)[..., :half, :]
    circular[..., -half:, :] = _conv2_direct(maps[..., -m:, :], sigma)[..., -half:, :]
    circular[..., :, :half] = _conv2_direct(maps[..., :, :m], sigma)[..., :, :half]
    circular[..., :, -half:] = _conv2_direct(maps[..., :, -m:], sigma)[..., :, -half:]
    return circular


def _conv2_gradient(maps: np.ndarray, sigma: float,
                    spectra: np.ndarray | None = None) -> np.ndarray:
    """``conv2(m, dx + 1i*dy, 'same')`` (zero padding) of a stack of real maps.

    Args:
        maps: ``(C, H, W)`` real stack.
        sigma: Gaussian-derivative scale.
        spectra: ``fft2(maps)`` when already known.

    Returns:
        ``(C, H, W)`` complex array: x derivative + 1i * y derivative.
    """
    if spectra is None:
        spectra = scipy.fft.fft2(maps, axes=(-2, -1), workers=-1)
    kernel = _derivative_spectrum(sigma, maps.shape[-2:])
    circular = scipy.fft.ifft2(spectra * kernel, axes=(-2, -1), workers=-1)
    return _fix_borders(circular, maps, sigma)


def log_gabor_bank(rows: int, cols: int, min_wavelength: float) -> np.ndarray:
    """The reference ``logGabors`` bank in the (unshifted) frequency domain.

    Args:
        rows: image height.
        cols: image width.
        min_wavelength: wavelength of the finest scale (pixels).

    Returns:
        ``(3, 4, rows, cols)`` float64 transfer functions, indexed
        ``[scale, orientation]``.
    """
    theta_sigma = math.pi / _N_LG_ORIENTATIONS / _DTHETA_ON_SIGMA

    def freq_range(n: int) -> np.ndarray:
        if n % 2:
            return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
        return np.arange(-n / 2, n / 2) / n

    x, y = np.meshgrid(freq_range(cols), freq_range(rows))
    radius = np.fft.ifftshift(np.sqrt(x * x + y * y))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    radius[0, 0] = 1.0
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    bank = np.empty((_N_LG_SCALES, _N_LG_ORIENTATIONS, rows, cols))
    radial = []
    for s in range(_N_LG_SCALES):
        fo = 1.0 / (min_wavelength * _MULT ** s)
        lg = np.exp(-(np.log(radius / fo) ** 2) / (2.0 * math.log(_SIGMA_ON_F) ** 2))
        lg[0, 0] = 0.0
        radial.append(lg)
    for o in range(_N_LG_ORIENTATIONS):
        angle = o * math.pi / _N_LG_ORIENTATIONS
        ds = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        dc = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        dtheta = np.abs(np.arctan2(ds, dc))
        spread = np.exp(-(dtheta ** 2) / (2.0 * theta_sigma ** 2))
        for s in range(_N_LG_SCALES):
            bank[s, o] = radial[s] * spread
    return bank


@lru_cache(maxsize=4)
def _log_gabor_parts(rows: int, cols: int,
                     min_wavelength: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bank as ``(12, rows, cols)`` and its even and odd parts ``(LG(f) +- LG(-f))/2``."""
    bank = log_gabor_bank(rows, cols, min_wavelength).reshape(-1, rows, cols)
    mirrored = np.roll(np.flip(bank, axis=(-2, -1)), 1, axis=(-2, -1))  # LG(-f)
    return bank, 0.5 * (bank + mirrored), 0.5 * (bank - mirrored)


# --------------------------------------------------------------------------- statistics
def _nearest_grid_index(target: np.ndarray) -> np.ndarray:
    """Index of ``min((r_gam - target).^2)`` (first one on ties; 0 for NaN, as MATLAB)."""
    r = _AGGD_RATIO
    hi = np.clip(np.searchsorted(r, target), 1, r.size - 1)
    lo = hi - 1
    take_lo = (r[lo] - target) ** 2 <= (r[hi] - target) ** 2
    idx = np.where(take_lo, lo, hi)
    return np.where(np.isnan(target), 0, idx)


def aggd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moment-matching AGGD fit (``estimateaggdparam``) along the last axis.

    Args:
        x: ``(..., n)`` samples.

    Returns:
        ``(alpha, beta_left, beta_right)``, each of shape ``x.shape[:-1]``. A side with
        no samples gives NaN, as the reference does (``mean([])``).
    """
    n = x.shape[-1]
    neg = np.minimum(x, 0.0)
    sq = x * x
    sum_sq = sq.sum(axis=-1)
    sum_sq_neg = (neg * neg).sum(axis=-1)
    sum_sq_pos = sum_sq - sum_sq_neg
    n_neg = np.count_nonzero(x < 0, axis=-1)
    n_pos = np.count_nonzero(x > 0, axis=-1)
    sum_abs = np.abs(x).sum(axis=-1)
    return _aggd_from_sums(sum_sq_neg, n_neg, sum_sq_pos, n_pos, sum_abs, sum_sq, n)


def _aggd_from_sums(sum_sq_neg: np.ndarray, n_neg: np.ndarray, sum_sq_pos: np.ndarray,
                    n_pos: np.ndarray, sum_abs: np.ndarray, sum_sq: np.ndarray,
                    n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.sqrt(sum_sq_neg / n_neg)
        right = np.sqrt(sum_sq_pos / n_pos)
        gamma_hat = left / right
        mean_abs = sum_abs / n
        r_hat = mean_abs * mean_abs / (sum_sq / n)
        r_norm = (r_hat * (gamma_hat ** 3 + 1.0) * (gamma_hat + 1.0)
                  / (gamma_hat ** 2 + 1.0) ** 2)
    alpha = _AGGD_GRID[_nearest_grid_index(r_norm)]
    factor = np.sqrt(scipy.special.gamma(1.0 / alpha) / scipy.special.gamma(3.0 / alpha))
    return alpha, left * factor, right * factor


def weibull_fit(x: np.ndarray, tol: float = 1e-13,
                max_iter: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood Weibull fit (MATLAB ``wblfit``) along the last axis.

    A plain reference implementation (the feature extractor uses a faster per-patch
    version). It solves the profile-likelihood equation of the shape ``k``,
    ``sum(x^k log x) / sum(x^k) - 1/k - mean(log x) = 0``, by Newton's method from the
    Gumbel moment estimate.

    Args:
        x: ``(..., n)`` positive samples.
        tol: relative tolerance on the shape.
        max_iter: iteration cap.

    Returns:
        ``(scale, shape)``, each of shape ``x.shape[:-1]``. Rows whose samples are all
        equal give an infinite shape, as ``wblfit`` does.
    """
    u = np.log(np.asarray(x, dtype=np.float64))
    top = u.max(axis=-1, keepdims=True)
    u = u - top  # <= 0: no overflow in exp(k * u)
    mean_u = u.mean(axis=-1)
    std_u = u.std(axis=-1)
    degenerate = ~(std_u > 0)
    k = math.pi / (math.sqrt(6.0) * np.where(degenerate, 1.0, std_u))
    for _ in range(max_iter):
        e = np.exp(k[..., None] * u)
        a0 = e.sum(axis=-1)
        m1 = (e * u).sum(axis=-1) / a0
        var = (e * u * u).sum(axis=-1) / a0 - m1 * m1
        new_k = k - (m1 - mean_u - 1.0 / k) / (var + 1.0 / (k * k))
        new_k = np.where(degenerate, k, np.where(new_k > 0, new_k, 0.5 * k))
        done = np.all(np.abs(new_k - k) <= tol * new_k)
        k = new_k
        if done:
            break
    scale = np.exp(top[..., 0] + np.log(np.exp(k[..., None] * u).mean(axis=-1)) / k)
    return np.where(degenerate, np.exp(top[..., 0]), scale), np.where(degenerate, np.inf, k)


# --------------------------------------------------------------------------- fast block statistics
# The per-patch statistics are computed one map at a time (cache-friendly, with reused
# buffers), the patch sums by two reshape-reductions, and the maps of one scale are
# shared between two threads (numpy releases the GIL in these loops).

def _block_sum(a: np.ndarray, by: int, bx: int) -> np.ndarray:
    """Sum of a contiguous ``(H, W)`` map over each of its ``by x bx`` patches."""
    h, w = a.shape
    return a.reshape(by, h // by, w).sum(axis=1).reshape(by, bx, w // bx).sum(axis=-1)


def _block_aggd(x: np.ndarray, by: int, bx: int, buf: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AGGD fit of every patch of one map (same result as :func:`aggd_fit`).

    Args:
        x: contiguous ``(H, W)`` map.
        by: patch rows.
        bx: patch columns.
        buf: scratch array of shape ``(2, H, W)``.

    Returns:
        ``(alpha, beta_left, beta_right)``, each ``(by, bx)``.
    """
    neg = np.minimum(x, 0.0, out=buf[0])
    pos = np.subtract(x, neg, out=buf[1])  # max(x, 0), exactly
    s_neg = _block_sum(neg, by, bx)
    s_pos = _block_sum(pos, by, bx)
    s_neg_sq = _block_sum(np.multiply(neg, neg, out=buf[0]), by, bx)
    s_pos_sq = _block_sum(np.multiply(pos, pos, out=buf[1]), by, bx)
    sign = np.sign(x, out=buf[0])
    s_sign = _block_sum(sign, by, bx)
    s_nonzero = _block_sum(np.abs(sign, out=buf[0]), by, bx)
    n_pos = 0.5 * (s_nonzero + s_sign)
    n_neg = 0.5 * (s_nonzero - s_sign)
    n = x.size // (by * bx)
    return _aggd_from_sums(s_neg_sq, n_neg, s_pos_sq, n_pos, s_pos - s_neg,
                           s_neg_sq + s_pos_sq, n)


def _block_weibull(x: np.ndarray, by: int, bx: int, buf: np.ndarray, step_tol: float = 1e-5,
                   max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Weibull MLE of every patch of one positive map (same as :func:`weibull_fit`).

    Args:
        x: contiguous ``(H, W)`` positive map.
        by: patch rows.
        bx: patch columns.
        buf: scratch array of shape ``(3, H, W)``.
        step_tol: stop once every relative Halley step is below this (the shape is
            then accurate to about its cube).
        max_iter: iteration cap.

    Returns:
        ``(scale, shape)``, each ``(by, bx)``.
    """
    h, w = x.shape
    bh, bw = h // by, w // bx
    n = bh * bw
    u = np.log(x, out=buf[0])
    u4 = u.reshape(by, bh, bx, bw)
    top = u4.max(axis=(1, 3))
    u4 -= top[:, None, :, None]  # u <= 0: exp(k u) cannot overflow
    mean_u = _block_sum(u, by, bx) / n
    centred = np.subtract(u4, mean_u[:, None, :, None], out=buf[1].reshape(by, bh, bx, bw))
    std_u = np.sqrt(_block_sum(np.multiply(centred, centred, out=buf[1].reshape(
        by, bh, bx, bw)).reshape(h, w), by, bx) / n)
    degenerate = ~(std_u > 0)
    k = math.pi / (math.sqrt(6.0) * np.where(degenerate, 1.0, std_u))
    e4 = buf[1].reshape(by, bh, bx, bw)
    eu4 = buf[2].reshape(by, bh, bx, bw)
    for _ in range(max_iter):
        np.multiply(u4, k[:, None, :, None], out=e4)
        np.exp(e4, out=e4)
        np.multiply(e4, u4, out=eu4)
        a0 = _block_sum(buf[1], by, bx)
        m1 = _block_sum(buf[2], by, bx) / a0
        m2 = _block_sum(np.multiply(eu4, u4, out=eu4).reshape(h, w), by, bx) / a0
        m3 = _block_sum(np.multiply(eu4, u4, out=eu4).reshape(h, w), by, bx) / a0
        # g(k) = E_w[u] - mean(u) - 1/k with weights exp(k u); g' = Var_w[u] + 1/k^2,
        # g'' = (third central moment) - 2/k^3. Halley's step (cubic convergence).
        var = m2 - m1 * m1
        g = m1 - mean_u - 1.0 / k
        dg = var + 1.0 / (k * k)
        d2g = m3 - 3.0 * m1 * m2 + 2.0 * m1 ** 3 - 2.0 / k ** 3
        step = 2.0 * g * dg / (2.0 * dg * dg - g * d2g)
        step = np.where(np.isfinite(step), step, g / dg)
        new_k = np.where(k - step > 0, k - step, 0.5 * k)
        if np.all((np.abs(new_k - k) <= step_tol * k) | degenerate):
            # The last step leaves an error of order step_tol**3; log(a0) at the new
            # shape follows from a 2nd-order expansion.
            dk = new_k - k
            log_a0 = np.log(a0) + dk * m1 + 0.5 * dk * dk * var
            k = new_k
            break
        k = np.where(degenerate, k, new_k)
    else:
        log_a0 = np.log(a0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scale = np.exp(top + (log_a0 - math.log(n)) / k)
    return np.where(degenerate, np.exp(top), scale), np.where(degenerate, np.inf, k)


def _block_mean_var(x: np.ndarray, by: int, bx: int, buf: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-patch mean and unbiased variance (MATLAB ``mean``, ``var``) of one map."""
    h, w = x.shape
    bh, bw = h // by, w // bx
    n = bh * bw
    mean = _block_sum(x, by, bx) / n
    d = np.subtract(x.reshape(by, bh, bx, bw), mean[:, None, :, None],
                    out=buf[0].reshape(by, bh, bx, bw))
    np.multiply(d, d, out=d)
    return mean, _block_sum(buf[0], by, bx) / (n - 1)


def _block_products(mscn: np.ndarray, by: int, bx: int, buf: np.ndarray) -> np.ndarray:
    """AGGD features of the 4 neighbour products of the MSCN map, circular per patch.

    Returns:
        ``(by, bx, 16)``: ``alpha, mean, beta_left, beta_right`` for each shift.
    """
    h, w = mscn.shape
    m4 = mscn.reshape(by, h // by, bx, w // bx)
    feats = []
    for dr, dc in _PRODUCT_SHIFTS:
        pair = np.ascontiguousarray(m4 * np.roll(m4, (dr, dc), axis=(1, 3))).reshape(h, w)
        alpha, bl, br = _block_aggd(pair, by, bx, buf)
        mean = (br - bl) * (scipy.special.gamma(2.0 / alpha) / scipy.special.gamma(1.0 / alpha))
        feats.extend([alpha, mean, bl, br])
    return np.stack(feats, axis=-1)


def _aggd_task(maps: list[np.ndarray], by: int, bx: int) -> list[np.ndarray]:
    """``[alpha, (beta_l + beta_r) / 2]`` of each map, each ``(by, bx)``."""
    buf = np.empty((2,) + maps[0].shape)
    out = []
    for m in maps:
        alpha, bl, br = _block_aggd(np.ascontiguousarray(m), by, bx, buf)
        out.extend([alpha, 0.5 * (bl + br)])
    return out


def _weibull_task(maps: list[np.ndarray], by: int, bx: int) -> list[np.ndarray]:
    """``[scale, shape]`` of each positive map, each ``(by, bx)``."""
    buf = np.empty((3,) + maps[0].shape)
    out = []
    for m in maps:
        scale, shape = _block_weibull(np.ascontiguousarray(m), by, bx, buf)
        out.extend([scale, shape])
    return out


def _run_split(fn: Callable[[list[np.ndarray], int, int], list[np.ndarray]],
               maps: list[np.ndarray], by: int, bx: int,
               pool: Executor | None) -> list[np.ndarray]:
    """Run ``fn`` on two halves of ``maps`` in ``pool`` and join the results in order."""
    if pool is None or len(maps) < 2:
        return fn(maps, by, bx)
    half = (len(maps) + 1) // 2
    first = pool.submit(fn, maps[:half], by, bx)
    second = fn(maps[half:], by, bx)
    return first.result() + second


# --------------------------------------------------------------------------- one scale
def _scale_features(opp: np.ndarray, rgb: np.ndarray, scale: int, block: int,
                    pool: Executor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 234 features of every patch at one scale.

    Args:
        opp: ``(3, H, W)`` opponent channels ``O1, O2, O3``.
        rgb: ``(3, H, W)`` R, G, B channels.
        scale: 1 or 2 (sets the derivative and log-Gabor scales).
        block: patch side at this scale.
        pool: optional ``concurrent.futures`` executor to share the work with.

    Returns:
        ``(features (by, bx, 234), sigma (H, W))`` where ``sigma`` is the local standard
        deviation of ``O3`` used by the MSCN normalisation (patch sharpness).
    """
    o3 = opp[2]
    h, w = o3.shape
    by, bx = h // block, w // block
    window = _gaussian_1d(5, 5.0 / 6.0)
    mu = _imfilter_replicate(o3, window)
    sigma = np.sqrt(np.abs(_imfilter_replicate(o3 * o3, window) - mu * mu))
    mscn = (o3 - mu) / (sigma + 1.0)

    g_sigma = _SIGMA_GAUSS_DERIVATIVE / scale ** _SCALE_FACTOR_GAUSS_DERIVATIVE
    spectra = scipy.fft.fft2(opp, axes=(-2, -1), workers=-1)
    grad = _conv2_gradient(opp, g_sigma, spectra)  # (3, H, W): Ix + 1i*Iy
    grad_mag = np.abs(grad) + _EPS

    log_rgb = np.log(rgb + _K_FOR_LOG)
    log_rgb -= log_rgb.mean(axis=(1, 2), keepdims=True)
    colour = [
        (log_rgb[0] + log_rgb[1] + log_rgb[2]) / math.sqrt(3.0),
        (log_rgb[0] + log_rgb[1] - 2.0 * log_rgb[2]) / math.sqrt(6.0),
        (log_rgb[0] - log_rgb[1]) / math.sqrt(2.0),
    ]

    bank, even, odd = _log_gabor_parts(
        h, w, _MIN_WAVELENGTH / scale ** _SCALE_FACTOR_LOG_GABOR)
    response = scipy.fft.ifft2(bank * spectra[2], axes=(-2, -1), workers=-1)
    # conv2(real(response), dx + 1i*dy): the spectrum of real(response) is F * even(LG)
    # and that of imag(response) is -1i * F * odd(LG) (F = fft2(O3) is Hermitian).
    g_spec = spectra[2] * _derivative_spectrum(g_sigma, (h, w))
    grad_re = scipy.fft.ifft2(g_spec * even, axes=(-2, -1), workers=-1)
    grad_im = -1j * scipy.fft.ifft2(g_spec * odd, axes=(-2, -1), workers=-1)
    _fix_borders(grad_re, response.real, g_sigma)
    _fix_borders(grad_im, response.imag, g_sigma)
    # Reference channel order per (scale, orientation): responses [re, im];
    # derivatives [x re, y re, x im, y im]; magnitudes [re, im].
    aggd_maps = [part for g in grad for part in (g.real, g.imag)]
    aggd_maps += [part for r in response for part in (r.real, r.imag)]
    aggd_maps += [part for gr, gi in zip(grad_re, grad_im, strict=True)
                  for part in (gr.real, gr.imag, gi.real, gi.imag)]
    weibull_maps = list(grad_mag)
    weibull_maps += [np.abs(g) + _EPS for pair in zip(grad_re, grad_im, strict=True)
                     for g in pair]

    buf = np.empty((2, h, w))
    mscn_alpha, mscn_bl, mscn_br = _block_aggd(mscn, by, bx, buf)
    products = _block_products(mscn, by, bx, buf)
    colour_stats = []
    for c in colour:
        colour_stats.extend(_block_mean_var(c, by, bx, buf))
    weibull = _run_split(_weibull_task, weibull_maps, by, bx, pool)
    aggd = _run_split(_aggd_task, aggd_maps, by, bx, pool)

    out = np.concatenate([
        np.stack([mscn_alpha, 0.5 * (mscn_bl + mscn_br)], axis=-1),
        products,
        np.stack(weibull[:6], axis=-1),
        np.stack(colour_stats, axis=-1),
        np.stack(aggd, axis=-1),
        np.stack(weibull[6:], axis=-1),
    ], axis=-1)
    assert out.shape[-1] == FEATURES_PER_SCALE
    return out, sigma


def _downsample(maps: np.ndarray) -> np.ndarray:
    """``imfilter(m, fspecial('gaussian', 6, 0.9), 'replicate')`` then ``(1:2:end)``."""
    size = math.ceil(6 * _SIGMA_DOWNSAMPLE)
    filtered = _imfilter_replicate(maps, _gaussian_1d(size, _SIGMA_DOWNSAMPLE))
    return np.ascontiguousarray(filtered[..., ::2, ::2])


# --------------------------------------------------------------------------- public
def image_features(rgb: np.ndarray, block: int = BLOCK_SIZE
                   ) -> tuple[np.ndarray, np.ndarray]:
    """IL-NIQE features of every patch of an already resized image.

    Args:
        rgb: ``(H, W, 3)`` float64 image with integer values in ``[0, 255]`` (the output
            of :func:`resize_uint8`); cropped to whole ``block`` patches.
        block: patch side at the first scale (even).

    Returns:
        ``(features, sharpness)``: ``(rows, cols, 468)`` float64 features of the patch
        grid and ``(rows, cols)`` mean local contrast of each patch (the sharpness used
        to select pristine patches).

    Raises:
        ValueError: the image holds fewer than one patch.
    """
    h, w = rgb.shape[:2]
    by, bx = h // block, w // block
    if by < 1 or bx < 1:
        raise ValueError(f"IL-NIQE needs at least {block}x{block} pixels, got {w}x{h}")
    chans = np.ascontiguousarray(
        np.asarray(rgb, dtype=np.float64)[: by * block, : bx * block].transpose(2, 0, 1))
    r, g, b = chans
    opp = np.stack([c[0] * r + c[1] * g + c[2] * b for c in _OPPONENT])
    feats = []
    sharpness = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        for scale in (1, 2):
            f, sigma = _scale_features(opp, chans, scale, block // scale, pool)
            feats.append(f)
            if scale == 1:
                sharpness = _block_sum(sigma, by, bx) / (block * block)
                opp = _downsample(opp)
                chans = _downsample(chans)
    return np.concatenate(feats, axis=-1), sharpness
