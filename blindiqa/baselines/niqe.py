"""NIQE: the Natural Image Quality Evaluator (Mittal, Soundararajan, Bovik, IEEE SPL 2013).

Our implementation of the official MATLAB ``niqe.m`` / ``computequality.m`` /
``estimatemodelparam.m``, vectorised over all blocks of an image:

1. the image becomes MATLAB ``rgb2gray`` gray levels (float64, 0..255) and is cropped to
   a whole number of 96x96 blocks (top-left kept);
2. at two scales (the second is ``imresize(I, 0.5)``, bicubic with antialiasing) the MSCN
   coefficients are computed on the whole image and cut into blocks (96x96, then
   48x48); each block gives 18 features: an AGGD fit of its MSCN values
   (shape, mean scale) and AGGD fits of the products with the four neighbours
   (horizontal, vertical, two diagonals; circularly shifted *within* the block:
   shape, mean, left and right scales) -- 36 features per block;
3. a multivariate Gaussian (``nanmean``, ``nancov``) is fitted to the image's block
   features and compared with the pristine one:
   ``sqrt((mu_p - mu_d) pinv((S_p + S_d) / 2) (mu_p - mu_d)^T)``.

The pristine model is fitted (:func:`fit`) on the blocks of pristine images whose
sharpness (mean local standard deviation at scale 1) exceeds 0.75 of the sharpest block
of the same image.

Scores are NaN where MATLAB's are (e.g. a perfectly flat image, whose MSCN coefficients
are all zero).

Agreement with MATLAB: on images without perfectly flat 7x7 regions the scores agree
to rounding error (1e-13 relative). Inside flat regions the MSCN coefficient is
mathematically zero and ours is exactly zero; MATLAB's separable ``imfilter`` (kernels
taken from an SVD) leaves +-1 ulp noise there, and its *sign* decides whether those
pixels count as left or right samples of the AGGD fits. That noise cannot be
reproduced portably, so images with large flat areas differ from MATLAB by up to
~0.6 % (on the calibration set: 0.05 %, 0 %, 0.04 %, 0.56 %, 0.35 %).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from blindiqa.baselines.matlab import gray_levels, imresize, nancov, nanmean, pinv
from blindiqa.baselines.nss import (
    CHUNK_ELEMENTS,
    aggd_from_moments,
    aggd_mean_factor,
    aggd_moments,
    mscn_bands,
)
from blindiqa.baselines.params import (
    existing_file,
    load_kind_bundle,
    load_mat,
    pristine_images,
    register_baseline,
    reject_options,
    shipped_or_given,
)
from blindiqa.gaussian.nanstats import NanGaussianStats
from blindiqa.gaussian.share import FitShare
from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.models.bundle import save_bundle
from blindiqa.models.quality_scale import read_scales
from blindiqa.models.registry import ModelEntry
from blindiqa.version import __version__

__all__ = ["BLOCK_SIZE", "FEATURE_DIM", "NIQE", "SHARPNESS_THRESHOLD", "block_features",
           "create_niqe", "fit", "fit_finish", "fit_plan", "fit_share", "image_features",
           "load_niqe_params", "mvg_distance", "select_sharp_blocks", "tensor_to_gray"]

log = logging.getLogger(__name__)

#: Side of the square blocks at the first scale (the official value).
BLOCK_SIZE = 96
#: Keep a pristine block when its sharpness exceeds this fraction of the image's maximum.
SHARPNESS_THRESHOLD = 0.75
#: Features per scale and in all.
FEATURES_PER_SCALE = 18
FEATURE_DIM = 2 * FEATURES_PER_SCALE
#: Neighbour offsets (rows, cols) of the paired products, as MATLAB's circshift shifts.
_SHIFTS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))

SHIPPED_PARAMS = Path(__file__).resolve().parent.parent / "weights" / "niqe.safetensors"
_KIND = "niqe"
#: Values per band of rows in the MSCN computation (its buffers stay in cache).
_BAND_ELEMENTS = 1 << 16


# --------------------------------------------------------------------------- features
def tensor_to_gray(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """The gray levels NIQE sees: ``rgb2gray(uint8(round(255 x)))`` as float64.

    Computed in bands of rows so that the float64 temporaries stay in cache (a 12-Mpixel
    photo would otherwise make nine full-size float64 copies); the values are the same
    element by element.

    Args:
        image: ``(3, H, W)`` or ``(1, H, W)`` float tensor/array in ``[0, 1]``.

    Returns:
        ``(H, W)`` float64 array of integers 0..255.
    """
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if arr.ndim != 3 or arr.shape[0] not in (1, 3):
        raise ValueError(f"expected a (3, H, W) image, got shape {arr.shape}")
    c, h, w = arr.shape
    out = np.empty((h, w))
    rows = min(h, max(1, CHUNK_ELEMENTS // max(w, 1)))
    levels = np.empty((c, rows, w))  # one band, reused
    scratch = np.empty((rows, w))
    for r0 in range(0, h, rows):
        n = min(rows, h - r0)
        lv = levels[:, :n]
        for k in range(c):  # round(255 x) saturated, as uint8(round(255 x))
            np.multiply(arr[k, r0:r0 + n], 255.0, dtype=np.float64, out=lv[k])
        np.floor(np.add(lv, 0.5, out=lv), out=lv)
        np.clip(lv, 0.0, 255.0, out=lv)
        if c == 1:
            out[r0:r0 + n] = lv[0]
        else:
            gray_levels(lv[0], lv[1], lv[2], out=out[r0:r0 + n], scratch=scratch[:n])
    return out


def _blocks(x: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Cut ``(R*bh, C*bw)`` into ``(R*C, bh, bw)`` blocks, row-major block order."""
    rows, cols = x.shape[0] // bh, x.shape[1] // bw
    return x.reshape(rows, bh, cols, bw).transpose(0, 2, 1, 3).reshape(rows * cols, bh, bw)


def _mscn_blocks(x: np.ndarray, bs: int, sharpness: bool = True
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """MSCN coefficients of ``x`` (a whole number of blocks) cut into blocks, and the
    sharpness of each block; computed in bands of rows (:func:`mscn_bands`).

    Returns:
        ``((R*C, bs, bs) coefficients, (R*C,) mean local standard deviation)``, equal to
        ``_blocks(mscn(x)[0])`` and ``_blocks(mscn(x)[1]).mean(axis=(1, 2))``; the
        latter is None unless asked for.
    """
    rows, cols = x.shape[0] // bs, x.shape[1] // bs
    # Bands of at most _BAND_ELEMENTS values (cache-sized) where possible: a divisor of
    # the block side, of at least 16 rows (the filter reads 3 more on each side).
    divisors = [d for d in range(min(bs, 16), bs + 1) if bs % d == 0]
    fitting = [d for d in divisors if d * x.shape[1] <= _BAND_ELEMENTS]
    band = max(fitting) if fitting else divisors[0]
    blocks = np.empty((rows * cols, bs, bs))
    sharp = np.empty(rows * cols) if sharpness else None
    sigma_row = np.empty((bs, x.shape[1]))
    for r0, coeffs, sigma in mscn_bands(x, band):
        k, off = (r0 // bs) * cols, r0 % bs
        blocks[k:k + cols, off:off + band] = coeffs.reshape(band, cols, bs).transpose(1, 0, 2)
        if sharp is None:
            continue
        sigma_row[off:off + band] = sigma
        if off + band == bs:
            # A contiguous copy, as _blocks makes of a whole image, so that the mean
            # sums in the same order.
            s = np.ascontiguousarray(sigma_row.reshape(bs, cols, bs).transpose(1, 0, 2))
            sharp[k:k + cols] = s.mean(axis=(1, 2))
    return blocks, sharp


def _neighbour_products(group: np.ndarray, shift: tuple[int, int], out: np.ndarray
                        ) -> np.ndarray:
    """``group * np.roll(group, shift, axis=(1, 2))`` written into ``out`` (no copies).

    Each value is the same product of the same two values as with ``np.roll``; the
    four wrapped regions are multiplied directly.

    Args:
        group: ``(k, h, w)`` blocks.
        shift: ``(rows, cols)`` circular shift within each block.
        out: ``(k, h, w)`` array to write into.

    Returns:
        ``out``.
    """
    h, w = group.shape[1:]
    dr, dc = shift[0] % h, shift[1] % w
    for rows_out, rows_in in ((slice(dr, h), slice(0, h - dr)), (slice(0, dr), slice(h - dr, h))):
        for cols_out, cols_in in ((slice(dc, w), slice(0, w - dc)),
                                  (slice(0, dc), slice(w - dc, w))):
            np.multiply(group[:, rows_out, cols_out], group[:, rows_in, cols_in],
                        out=out[:, rows_out, cols_out])
    return out


def block_features(blocks: np.ndarray) -> np.ndarray:
    """The 18 NIQE features of each MSCN block (official ``computefeature.m``).

    Args:
        blocks: ``(n, h, w)`` MSCN coefficients of ``n`` blocks.

    Returns:
        ``(n, 18)`` float64: ``[alpha, (bl + br) / 2]`` of the MSCN AGGD fit, then for
        each neighbour product (horizontal, vertical, main and anti diagonal)
        ``[alpha, (br - bl) Gamma(2/alpha) / Gamma(1/alpha), bl, br]``.
    """
    b = np.ascontiguousarray(blocks, dtype=np.float64)
    n, h, w = b.shape
    m = h * w
    kinds = 1 + len(_SHIFTS)
    moments = np.empty((kinds, 5, n))
    step = max(1, CHUNK_ELEMENTS // m)
    buf = np.empty((min(step, n), h, w))
    scratch = np.empty((2, min(step, n), m))  # reused: no allocation per group
    for i in range(0, n, step):  # cache-sized groups of blocks, vectorised within
        group = b[i:i + step]
        k = group.shape[0]
        moments[0, :, i:i + k] = aggd_moments(group.reshape(k, m), scratch)
        for j, shift in enumerate(_SHIFTS, start=1):
            prod = _neighbour_products(group, shift, buf[:k])
            moments[j, :, i:i + k] = aggd_moments(prod.reshape(k, m), scratch)
    alpha, bl, br = aggd_from_moments(moments.transpose(1, 0, 2), m)
    cols = [alpha[0], (bl[0] + br[0]) / 2.0]
    for j in range(1, kinds):
        mean = (br[j] - bl[j]) * aggd_mean_factor(alpha[j])
        cols += [alpha[j], mean, bl[j], br[j]]
    return np.stack(cols, axis=1)


def image_features(gray: np.ndarray, block_size: int = BLOCK_SIZE
                   ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """NIQE features and sharpness of every block of a gray image.

    Args:
        gray: ``(H, W)`` float gray levels on the 0..255 scale, ``H, W >= block_size``.
        block_size: block side at the first scale (even; 96 officially).

    Returns:
        ``(features, sharpness, grid)``: ``(R*C, 36)`` features, ``(R*C,)`` sharpness
        (mean local standard deviation of each block at scale 1) and ``grid = (R, C)``;
        blocks are in row-major order.

    Raises:
        ValueError: the image is smaller than one block.
    """
    x = np.asarray(gray, dtype=np.float64)
    rows, cols = x.shape[0] // block_size, x.shape[1] // block_size
    if rows == 0 or cols == 0:
        raise ValueError(
            f"image is {x.shape[1]}x{x.shape[0]} pixels; NIQE needs at least "
            f"{block_size}x{block_size} pixels"
        )
    x = x[: rows * block_size, : cols * block_size]
    feats = []
    sharpness = np.empty(0)
    for scale in (1, 2):
        bs = block_size // scale
        blocks, block_sharpness = _mscn_blocks(x, bs, sharpness=scale == 1)
        feats.append(block_features(blocks))
        if scale == 1:
            sharpness = block_sharpness
            del blocks
            x = imresize(x, 0.5)
    return np.concatenate(feats, axis=1), sharpness, (rows, cols)


def select_sharp_blocks(sharpness: np.ndarray, threshold: float = SHARPNESS_THRESHOLD
                        ) -> np.ndarray:
    """Indices of the blocks with ``sharpness > threshold * max(sharpness)``.

    Args:
        sharpness: ``(n,)`` block sharpness of one image.
        threshold: fraction of the image's sharpest block.

    Returns:
        int64 indices into the blocks.
    """
    s = np.asarray(sharpness, dtype=np.float64)
    return np.flatnonzero(s > threshold * s.max())


def _inverse_pooled(cov_p: np.ndarray, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu_d = nanmean(feats)
    cov_d = nancov(feats)
    return mu_d, pinv((cov_p + cov_d) / 2.0)


def mvg_distance(mu_p: np.ndarray, cov_p: np.ndarray, feats: np.ndarray) -> float:
    """NIQE's distance between the pristine Gaussian and the one fitted to ``feats``.

    Args:
        mu_p: ``(d,)`` pristine mean.
        cov_p: ``(d, d)`` pristine covariance.
        feats: ``(n, d)`` block features of the test image (NaN rows allowed).

    Returns:
        ``sqrt((mu_p - mu_d) pinv((cov_p + cov_d) / 2) (mu_p - mu_d)^T)``.
    """
    mu_d, inv = _inverse_pooled(cov_p, feats)
    diff = mu_p - mu_d
    return float(np.sqrt(diff @ inv @ diff))


# --------------------------------------------------------------------------- parameters
def _validate_params(mu: Any, cov: Any, source: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    cov = np.asarray(cov, dtype=np.float64)
    if mu.shape != (FEATURE_DIM,) or cov.shape != (FEATURE_DIM, FEATURE_DIM):
        raise ValueError(
            f"{source}: NIQE parameters must be a mean of {FEATURE_DIM} values and a "
            f"{FEATURE_DIM}x{FEATURE_DIM} covariance, got {mu.shape} and {cov.shape}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(cov).all()):
        raise ValueError(f"{source}: NIQE parameters contain NaN or infinite values")
    return mu, cov


def _pick(mapping: Any, names: Sequence[str], source: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping[name]
    raise ValueError(f"{source}: no {' / '.join(names)} in the file")


_MU_KEYS = ("mu_pris_param", "mu_prisparam")
_COV_KEYS = ("cov_pris_param", "cov_prisparam")


def load_niqe_params(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read a pristine NIQE model from a file.

    Args:
        path: ``.npz`` (``mu_pris_param``, ``cov_pris_param``), MATLAB ``.mat``
            (``mu_prisparam``, ``cov_prisparam``, as the official
            ``modelparameters.mat``) or a blindiqa NIQE bundle (``.safetensors``).

    Returns:
        ``(mu, cov, metadata)``: ``(36,)`` and ``(36, 36)`` float64, and the bundle
        metadata (for ``.npz`` / ``.mat`` just the source).

    Raises:
        ValueError: missing or unreadable file, unknown format, missing keys, wrong
            shapes or non-finite values, or a bundle of another kind.
    """
    p = existing_file(path, "NIQE parameter")
    suffix = p.suffix.lower()
    source = str(p)
    meta: dict[str, Any] = {"source": p.name}
    if suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as data:
                mu = _pick(data, _MU_KEYS, source)
                cov = _pick(data, _COV_KEYS, source)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{source}: not a readable .npz NIQE model: {exc}") from exc
    elif suffix == ".mat":
        data = load_mat(p, "NIQE model")
        mu = _pick(data, _MU_KEYS, source)
        cov = _pick(data, _COV_KEYS, source)
    elif suffix == ".safetensors":
        tensors, meta = load_kind_bundle(p, _KIND, "a NIQE")
        mu = _pick(tensors, _MU_KEYS, source).numpy()
        cov = _pick(tensors, _COV_KEYS, source).numpy()
    else:
        raise ValueError(
            f"{source}: unknown NIQE parameter format {suffix!r}; use .npz, .mat or a "
            ".safetensors model file"
        )
    mu, cov = _validate_params(mu, cov, source)
    return mu, cov, meta


# --------------------------------------------------------------------------- the model
class NIQE(QualityModel):
    """NIQE scorer: MATLAB-exact features and distance to a pristine Gaussian.

    Args:
        mu: ``(36,)`` pristine mean.
        cov: ``(36, 36)`` pristine covariance.
        name: the model's name in listings.
        weights: where the parameters come from (for :meth:`info`).
        block_size: block side at scale 1 (96 officially).
    """

    def __init__(self, mu: np.ndarray, cov: np.ndarray, name: str = "niqe",
                 weights: str = "", block_size: int = BLOCK_SIZE) -> None:
        super().__init__(name)
        self.mu_pris, self.cov_pris = _validate_params(mu, cov, name)
        if block_size < 2 or block_size % 2:
            raise ValueError(f"block_size must be an even number >= 2, got {block_size}")
        self.block_size = int(block_size)
        self.weights = weights

    @property
    def min_size(self) -> int:
        return self.block_size

    def features(self, image: torch.Tensor) -> tuple[np.ndarray, tuple[int, int]]:
        """Block features of one canonical image: ``((R*C, 36) array, (R, C))``."""
        self.check_size(image)
        feats, _, grid = image_features(tensor_to_gray(image), self.block_size)
        return feats, grid

    def score_tensor(self, image: torch.Tensor) -> float:
        feats, _ = self.features(image)
        return mvg_distance(self.mu_pris, self.cov_pris, feats)

    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        """Distance of each block's features to the pristine mean.

        Each block ``i`` gets ``sqrt((mu_p - f_i) M (mu_p - f_i)^T)`` with the same
        matrix ``M = pinv((S_p + S_d) / 2)`` as the image score, so the map and the
        score share one metric. Blocks with undefined features are NaN.

        Returns:
            ``(R, C)`` float64 array over the 96x96 block grid.
        """
        feats, grid = self.features(image)
        _, inv = _inverse_pooled(self.cov_pris, feats)
        diff = self.mu_pris[None, :] - feats
        with np.errstate(invalid="ignore"):
            d2 = np.einsum("nd,de,ne->n", diff, inv, diff)
            return np.sqrt(np.maximum(d2, 0.0)).reshape(grid)

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            feature_dim=FEATURE_DIM,
            weights=self.weights,
            description="NIQE (Mittal et al. 2013): 36 NSS features of 96x96 blocks at 2 "
                        "scales, Gaussian distance to a pristine model",
        )


def create_niqe(params: str | os.PathLike | None = None) -> NIQE:
    """Build a NIQE scorer.

    Args:
        params: a parameter file (``.npz``, ``.mat`` or a NIQE ``.safetensors``
            bundle, see :func:`load_niqe_params`); ``None`` uses the shipped
            ``blindiqa/weights/niqe.safetensors`` (fitted on our pristine images).

    Returns:
        The scorer.

    Raises:
        ValueError: the file cannot be used (see :func:`load_niqe_params`).
    """
    path, weights = shipped_or_given(
        params, SHIPPED_PARAMS,
        "the shipped NIQE parameters {path} are missing; regenerate them with "
        "benchmarks/fit_shipped_baselines.py or pass params=")
    mu, cov, meta = load_niqe_params(path)
    model = NIQE(mu, cov, name="niqe", weights=weights,
                 block_size=int(meta.get("block_size", BLOCK_SIZE)))
    model.quality_scale, model.window_scale = read_scales(path)
    model.bundle_path = Path(path)
    return model


def _load_bundle_model(tensors: dict[str, torch.Tensor], metadata: dict[str, Any],
                       name: str = "niqe", **options: Any) -> NIQE:
    reject_options(options, "a NIQE")
    mu = _pick(tensors, _MU_KEYS, name).numpy()
    cov = _pick(tensors, _COV_KEYS, name).numpy()
    return NIQE(mu, cov, name=name, weights=name,
                block_size=int(metadata.get("block_size", BLOCK_SIZE)))


# --------------------------------------------------------------------------- fitting
def fit_plan(dirs: Sequence[str | os.PathLike]) -> list[tuple[Path, str, str]]:
    """The images a fit reads, in order: ``(path, folder label, "label/name")``.

    Raises:
        ValueError: a file or folder does not exist.
    """
    return [(path, label, f"{label}/{rel}") for path, label, rel in pristine_images(dirs)]


def fit_share(plan: Sequence[tuple[Path, str, str]], indices: Iterable[int], *,
              block_size: int = BLOCK_SIZE, sharpness_threshold: float = SHARPNESS_THRESHOLD,
              progress: bool = False) -> FitShare:
    """Reduce the images ``plan[i]`` for ``i`` in ``indices`` to NIQE fit statistics.

    Each image gives its blocks' features; those sharper than ``sharpness_threshold`` of
    the image's sharpest block are added to :class:`NanGaussianStats` (per image, so a
    share of any images merges with the others into the statistics of all).

    Returns:
        The share: statistics, used and skipped images, blocks seen.
    """
    from blindiqa.io.decode import decode_image

    share = FitShare(NanGaussianStats.empty(FEATURE_DIM))
    for i in indices:
        path, _, name = plan[i]
        try:
            image = decode_image(path)
            feats, sharpness, _ = image_features(tensor_to_gray(image), block_size)
        except ValueError as exc:
            log.warning("skipping %s: %s", path, exc)
            share.skipped.append((i, str(exc)))
            continue
        keep = select_sharp_blocks(sharpness, sharpness_threshold)
        share.stats = share.stats + NanGaussianStats.from_features(feats[keep])
        share.units += feats.shape[0]
        share.used.append(i)
        if progress:
            log.info("%s: %d of %d blocks kept", name, keep.size, feats.shape[0])
    return share


def fit_finish(plan: Sequence[tuple[Path, str, str]], share: FitShare,
               out: str | os.PathLike, dirs: Sequence[str | os.PathLike], *,
               block_size: int = BLOCK_SIZE,
               sharpness_threshold: float = SHARPNESS_THRESHOLD) -> dict[str, Any]:
    """Finish a fit from the share of all its images: ``nanmean`` / ``nancov`` of the
    selected blocks, saved as a NIQE bundle with its provenance.

    Returns:
        The metadata written into the bundle.

    Raises:
        ValueError: no usable image, or fewer than 2 complete blocks.
    """
    stats: NanGaussianStats = share.stats
    if not share.used:
        raise ValueError(f"no usable pristine image of at least {block_size}x{block_size} "
                         f"pixels under {[str(d) for d in dirs]}")
    if stats.complete.count < 2:
        raise ValueError("fewer than 2 complete pristine blocks: cannot fit a covariance")
    per_dir: dict[str, int] = {}
    names_hash = hashlib.sha256()
    for i in share.used:
        per_dir[plan[i][1]] = per_dir.get(plan[i][1], 0) + 1
        names_hash.update(f"{plan[i][2]}\n".encode())
    metadata: dict[str, Any] = {
        "kind": _KIND,
        "name": "niqe",
        "method": "NIQE (Mittal, Soundararajan, Bovik, IEEE SPL 2013), official "
                  "estimatemodelparam procedure, blindiqa implementation",
        "feature_dim": FEATURE_DIM,
        "block_size": block_size,
        "block_overlap": 0,
        "scales": 2,
        "sharpness_threshold": sharpness_threshold,
        "images": len(share.used),
        "images_per_folder": per_dir,
        "images_skipped": [plan[i][2] for i, _ in share.skipped],
        "image_list_sha256": names_hash.hexdigest(),
        "blocks_total": share.units,
        "blocks_selected": stats.rows,
        "blocks_complete": stats.complete.count,
        "blindiqa_version": __version__,
    }
    save_bundle(out, {"mu_pris_param": torch.from_numpy(stats.nanmean()),
                      "cov_pris_param": torch.from_numpy(stats.nancov())}, metadata)
    return metadata


def fit(dirs: Sequence[str | os.PathLike], out: str | os.PathLike, *,
        block_size: int = BLOCK_SIZE, sharpness_threshold: float = SHARPNESS_THRESHOLD,
        progress: bool = False) -> dict[str, Any]:
    """Fit a pristine NIQE model (official ``estimatemodelparam.m``) and save it.

    Every image under ``dirs`` (folders are walked recursively) gives its 96x96 blocks'
    features; the blocks whose sharpness exceeds ``sharpness_threshold`` times the
    sharpest block of that image are pooled, and ``nanmean`` / ``nancov`` of the pool
    are saved as a NIQE bundle (``kind: "niqe"``) with its provenance. The pool is kept
    as mergeable sums (:func:`fit_share`, :func:`fit_finish`), so a fit split over
    workers (:mod:`blindiqa.distributed.fit`) gives the same model.

    Args:
        dirs: image files or folders of pristine images.
        out: output ``.safetensors`` path.
        block_size: block side (96 officially).
        sharpness_threshold: block selection threshold (0.75 officially).
        progress: log one line per image.

    Returns:
        The metadata written into the bundle.

    Raises:
        ValueError: no usable image (all missing, unreadable or smaller than a block),
            or no complete block to fit a covariance.
    """
    plan = fit_plan(dirs)
    share = fit_share(plan, range(len(plan)), block_size=block_size,
                      sharpness_threshold=sharpness_threshold, progress=progress)
    return fit_finish(plan, share, out, dirs, block_size=block_size,
                      sharpness_threshold=sharpness_threshold)


# --------------------------------------------------------------------------- registry
register_baseline(ModelEntry(
    info=ModelInfo(
        name="niqe",
        feature_dim=FEATURE_DIM,
        weights="blindiqa/weights/niqe.safetensors (fitted on data/pristine); params= for "
                "another .npz / .mat / .safetensors model",
        description="NIQE: 36 NSS features of 96x96 blocks, MATLAB-exact",
        paper="Mittal, Soundararajan, Bovik, 'Making a completely blind image quality "
              "analyzer', IEEE Signal Processing Letters 20(3), 2013",
    ),
    factory=create_niqe,
    fit=fit,
    options=("params",),
), _KIND, _load_bundle_model)
