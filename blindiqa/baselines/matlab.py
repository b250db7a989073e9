"""MATLAB-compatible image primitives (float64 numpy), written for exactness.

The classic NSS baselines (NIQE, IL-NIQE) were defined by their MATLAB code, so their
scores depend on the exact behaviour of a few MATLAB functions. This module provides
our own implementations of them:

* :func:`rgb2gray_uint8` -- ``rgb2gray`` on a ``uint8`` image (weighted sum, rounded
  half away from zero, saturated to ``uint8``).
* :func:`imresize` -- ``imresize(..., 'bicubic')``: the Keys cubic kernel (a = -0.5),
  the kernel widened by ``1/scale`` when shrinking with antialiasing, symmetric
  (mirror) boundary handling, output size ``ceil(scale * size)`` and the dimension with
  the smaller scale resized first. It works on float images and returns float64 (no
  rounding, as MATLAB does for ``double`` input).
* :func:`fspecial_gaussian` -- ``fspecial('gaussian', size, sigma)``.
* :func:`nanmean`, :func:`nancov`, :func:`pinv` -- the statistics toolbox functions
  the NSS models use to fit and compare multivariate Gaussians.

Everything is vectorised: a resize is two sparse matrix products whose rows hold the
MATLAB interpolation weights.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.sparse

__all__ = ["RGB2GRAY_WEIGHTS", "cubic", "fspecial_gaussian", "gray_levels", "imresize",
           "imresize_weights", "matlab_round", "nancov", "nanmean", "pinv",
           "resize_matrix", "rgb2gray_uint8"]

#: Weights MATLAB's ``rgb2gray`` applies to R, G and B.
RGB2GRAY_WEIGHTS: tuple[float, float, float] = (
    0.298936021293776, 0.587043074451121, 0.114020904255103,
)

_CUBIC_WIDTH = 4.0


def matlab_round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero, as MATLAB's ``round`` does (numpy rounds half to even).

    Args:
        x: any float array.

    Returns:
        The rounded values (same dtype as ``x``).
    """
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def rgb2gray_uint8(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of a ``uint8`` RGB image.

    Args:
        rgb: ``(H, W, 3)`` uint8 array.

    Returns:
        ``(H, W)`` uint8 array: ``round(0.2989 R + 0.5870 G + 0.1140 B)`` computed in
        float64 with MATLAB's coefficients and rounding.

    Raises:
        ValueError: the array is not ``(H, W, 3)`` uint8.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(
            f"rgb2gray_uint8 needs an (H, W, 3) uint8 array, got {rgb.dtype} {rgb.shape}"
        )
    return gray_levels(rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]).astype(np.uint8)


def gray_levels(r: np.ndarray, g: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
                scratch: np.ndarray | None = None) -> np.ndarray:
    """``rgb2gray`` of uint8 channel values, returned as float64 gray levels 0..255.

    Args:
        r: red channel, integer values 0..255 (any numeric dtype).
        g: green channel.
        b: blue channel.
        out: optional float64 array of the channels' shape for the result.
        scratch: optional float64 array of the channels' shape to compute in.

    Returns:
        float64 array of the rounded (half away from zero), saturated gray levels
        (``out`` when given).
    """
    wr, wg, wb = RGB2GRAY_WEIGHTS
    gray = np.multiply(np.asarray(r, dtype=np.float64), wr, out=out)
    gray += np.multiply(np.asarray(g, dtype=np.float64), wg, out=scratch)
    gray += np.multiply(np.asarray(b, dtype=np.float64), wb, out=scratch)
    gray += 0.5
    np.floor(gray, out=gray)
    return np.clip(gray, 0.0, 255.0, out=gray)


def fspecial_gaussian(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', [size size], sigma)``: a normalised 2-D Gaussian.

    Args:
        size: side of the square window.
        sigma: standard deviation in pixels.

    Returns:
        ``(size, size)`` float64 window summing to 1.
    """
    half = (size - 1) / 2.0
    ax = np.arange(-half, half + 1.0)
    arg = -(ax[:, None] ** 2 + ax[None, :] ** 2) / (2.0 * sigma * sigma)
    h = np.exp(arg)
    h[h < np.finfo(np.float64).eps * h.max()] = 0.0
    return h / h.sum()


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``bicubic``).

    Args:
        x: distances in pixels.

    Returns:
        Kernel values, zero for ``|x| > 2``.
    """
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1.0)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1.0) & (ax <= 2.0))
    return inner + outer


def _mirror_index(idx: np.ndarray, length: int) -> np.ndarray:
    """MATLAB's symmetric padding of 1-based indices: ``[1..n, n..1]`` repeated."""
    period = 2 * length
    m = np.mod(idx - 1, period)
    return np.where(m < length, m, period - 1 - m)  # 0-based


def imresize_weights(in_length: int, out_length: int, scale: float,
                     antialiasing: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Interpolation weights and source indices of one dimension, as MATLAB computes them.

    Args:
        in_length: input size along the dimension.
        out_length: output size along the dimension.
        scale: the scale factor (output / input, or the one the user gave).
        antialiasing: widen the kernel by ``1/scale`` when shrinking.

    Returns:
        ``(weights, indices)``, both ``(out_length, taps)``: output ``i`` is
        ``sum_k weights[i, k] * input[indices[i, k]]`` (0-based, mirrored indices).
        Rows of ``weights`` sum to 1.
    """
    if antialiasing and scale < 1.0:
        width = _CUBIC_WIDTH / scale

        def kernel(d: np.ndarray) -> np.ndarray:
            return scale * cubic(scale * d)
    else:
        width = _CUBIC_WIDTH
        kernel = cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    w = kernel(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    keep = np.any(w != 0, axis=0)
    w, idx = w[:, keep], idx[:, keep]
    return w, _mirror_index(idx.astype(np.int64), in_length)


@lru_cache(maxsize=64)
def resize_matrix(in_length: int, out_length: int, scale: float,
                  antialiasing: bool = True) -> scipy.sparse.csr_matrix:
    """The ``(out_length, in_length)`` sparse matrix of one dimension's resize.

    ``resize_matrix(...) @ x`` resizes ``x`` along its first axis exactly as
    :func:`imresize` does (each output value is the same sum, in the same order, of the
    same products, whatever the other columns of ``x``, so a resize can be computed on
    column bands of an image).

    Args:
        in_length: input size along the dimension.
        out_length: output size along the dimension.
        scale: the scale factor (see :func:`imresize_weights`).
        antialiasing: widen the kernel by ``1/scale`` when shrinking.

    Returns:
        A cached CSR matrix (do not modify it).
    """
    w, idx = imresize_weights(in_length, out_length, scale, antialiasing)
    rows = np.repeat(np.arange(out_length), w.shape[1])
    mat = scipy.sparse.csr_matrix(
        (w.ravel(), (rows, idx.ravel())), shape=(out_length, in_length)
    )
    mat.sum_duplicates()
    return mat


def _resize_dim(img: np.ndarray, axis: int, out_length: int, scale: float,
                antialiasing: bool) -> np.ndarray:
    if out_length == img.shape[axis] and scale == 1.0:
        # Scale 1 evaluates the kernel at whole-pixel offsets only (1 at 0, exactly 0
        # elsewhere): the matrix is the identity and the pass would only copy.
        return img
    mat = resize_matrix(img.shape[axis], out_length, float(scale), antialiasing)
    moved = np.moveaxis(img, axis, 0)
    flat = moved.reshape(moved.shape[0], -1)
    out = np.asarray(mat @ flat).reshape((out_length,) + moved.shape[1:])
    return np.moveaxis(out, 0, axis)


def imresize(img: np.ndarray, scale: float | None = None,
             output_shape: tuple[int, int] | None = None,
             antialiasing: bool = True) -> np.ndarray:
    """MATLAB ``imresize(img, scale)`` / ``imresize(img, [rows cols])``, bicubic.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` array; computed in float64 (integer input is
            not rounded back, unlike MATLAB on ``uint8``).
        scale: one scale factor for both dimensions; the output size is
            ``ceil(scale * size)``.
        output_shape: ``(rows, cols)`` instead of ``scale``; each dimension then uses
            the scale ``out / in``.
        antialiasing: low-pass when shrinking (MATLAB's default ``true``).

    Returns:
        The resized float64 array.

    Raises:
        ValueError: neither or both of ``scale`` and ``output_shape`` given, a
            non-positive scale or size, or an array that is not 2-D or 3-D.
    """
    x = np.asarray(img, dtype=np.float64)
    if x.ndim not in (2, 3):
        raise ValueError(f"imresize needs a 2-D or 3-D array, got shape {x.shape}")
    if (scale is None) == (output_shape is None):
        raise ValueError("give exactly one of scale and output_shape")
    in_shape = x.shape[:2]
    if scale is not None:
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        scales = (float(scale), float(scale))
        out_shape = tuple(int(math.ceil(scale * n)) for n in in_shape)
    else:
        out_shape = tuple(int(n) for n in output_shape)
        if len(out_shape) != 2 or min(out_shape) <= 0:
            raise ValueError(f"output_shape must be two positive sizes, got {output_shape}")
        scales = (out_shape[0] / in_shape[0], out_shape[1] / in_shape[1])
    order = (0, 1) if scales[0] <= scales[1] else (1, 0)
    original = x
    for axis in order:
        x = _resize_dim(x, axis, out_shape[axis], scales[axis], antialiasing)
    return x.copy() if x is original else x


def nanmean(x: np.ndarray) -> np.ndarray:
    """MATLAB ``nanmean(X)``: column means ignoring NaN (NaN for an all-NaN column).

    Args:
        x: ``(n, d)`` array of ``n`` observations.

    Returns:
        ``(d,)`` float64 means.
    """
    x = np.asarray(x, dtype=np.float64)
    ok = ~np.isnan(x)
    count = ok.sum(axis=0)
    total = np.where(ok, x, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def nancov(x: np.ndarray) -> np.ndarray:
    """MATLAB ``nancov(X)``: covariance of the rows without any NaN, normalised by N-1.

    Args:
        x: ``(n, d)`` array of ``n`` observations.

    Returns:
        ``(d, d)`` float64 covariance; all zeros when one complete row remains
        (MATLAB normalises by N there) and all NaN when none does.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"nancov needs an (n, d) array, got shape {x.shape}")
    rows = x[~np.isnan(x).any(axis=1)]
    n, d = rows.shape[0], x.shape[1]
    if n == 0:
        return np.full((d, d), np.nan)
    centred = rows - rows.sum(axis=0) / n
    return centred.T @ centred / max(n - 1, 1)


def pinv(a: np.ndarray) -> np.ndarray:
    """MATLAB ``pinv(A)``: SVD pseudo-inverse with tolerance ``max(size(A)) * norm(A) * eps``.

    Args:
        a: a 2-D float array (NaN or infinite entries give an all-NaN result, as
            MATLAB does).

    Returns:
        The pseudo-inverse, float64, shape ``a.T.shape``.
    """
    a = np.asarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        return np.full(a.T.shape, np.nan)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    if s.size == 0:
        return np.zeros(a.T.shape)
    tol = max(a.shape) * s[0] * np.finfo(np.float64).eps
    keep = s > tol
    return (vt[keep].T / s[keep]) @ u[:, keep].T
