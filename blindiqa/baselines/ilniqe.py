"""IL-NIQE: the Integrated Local NIQE (Zhang, Zhang, Bovik, IEEE TIP 2015).

Our implementation of the official MATLAB IL-NIQE (``computequality.m`` for scoring,
the template-learning script for :func:`fit`):

1. the image (uint8 levels ``round(255 x)``) is resized to 524x524 with MATLAB's
   bicubic ``imresize`` and cut into 84x84 patches (a 6x6 grid, 504x504 used);
2. each patch gets 468 features (234 at each of two scales, see
   :mod:`blindiqa.baselines._ilniqe_features`): MSCN and neighbour-product AGGD
   fits, gradient statistics (Weibull fits of magnitudes, AGGD fits of the
   derivatives), log-Gabor response statistics and log-opponent colour statistics;
3. infinite features become 10000, the features are projected on the pristine PCA
   basis (``principleVectors``, 430 dimensions) after subtracting
   ``meanOfSampleData``; a Gaussian is fitted to the image's patches (``nanmean``,
   ``nancov``, NaN replaced by 2000) and each patch ``i`` gets
   ``d_i = sqrt((f_i - mu_p) pinv((S_p + S_d) / 2) (f_i - mu_p)^T)``, a patch with
   undefined features taking the image mean ``mu_d`` for ``f_i``;
4. the score is the mean of the ``d_i``; :meth:`ILNIQE.quality_map_tensor` returns them
   on the patch grid.

The template model (``mu``, ``cov``, ``meanOfSampleData``, ``principleVectors``) is the
official ``templateModel.mat`` or one fitted with :func:`fit`: the patches of each
pristine image whose sharpness (mean local contrast) exceeds 0.78 of that image's
sharpest patch are pooled, PCA keeps ``floor(0.92 * 468) = 430`` components, and the
Gaussian of the projected patches is stored.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from blindiqa.baselines import params as param_files
from blindiqa.baselines._ilniqe_features import (
    BLOCK_SIZE,
    NORMALIZED_SIZE,
    NUM_FEATURES,
    image_features,
    resize_uint8,
    resize_unit_image,
    unit_to_levels,
)
from blindiqa.baselines.matlab import pinv
from blindiqa.gaussian.share import FitShare
from blindiqa.gaussian.stats import GaussianStats
from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.models.bundle import save_bundle
from blindiqa.models.quality_scale import read_scales
from blindiqa.models.registry import ModelEntry
from blindiqa.version import __version__

__all__ = ["ILNIQE", "INF_CONST", "MIN_SIZE", "NAN_CONST", "NUM_FEATURES",
           "PCA_RESERVED_RATIO", "SHARPNESS_THRESHOLD", "TemplateModel", "create_ilniqe",
           "fit", "fit_finish", "fit_plan", "fit_share", "load_template", "patch_distances",
           "patch_features", "pca_basis", "pca_from_stats", "select_patches",
           "tensor_to_levels"]

log = logging.getLogger(__name__)

#: Replacement of infinite features and of undefined Gaussian statistics (official).
INF_CONST = 10000.0
NAN_CONST = 2000.0
#: Template learning: keep patches sharper than this fraction of the image's sharpest.
SHARPNESS_THRESHOLD = 0.78
#: Template learning: fraction of the feature dimensions kept by the PCA.
PCA_RESERVED_RATIO = 0.92
#: Smallest input side accepted (one patch at the original resolution).
MIN_SIZE = BLOCK_SIZE

SHIPPED_PARAMS = Path(__file__).resolve().parent.parent / "weights" / "ilniqe.safetensors"
_KIND = "ilniqe"
_TENSOR_NAMES = ("mu", "cov", "mean_of_sample_data", "principle_vectors")


# --------------------------------------------------------------------------- template
class TemplateModel:
    """The pristine IL-NIQE template: PCA basis and Gaussian of projected patches.

    Args:
        mu: ``(k,)`` mean of the projected pristine patches.
        cov: ``(k, k)`` their covariance.
        mean_of_sample_data: ``(468,)`` mean feature vector subtracted before projecting.
        principle_vectors: ``(468, k)`` PCA basis (columns).
        source: where it comes from (for error messages).

    Raises:
        ValueError: inconsistent shapes or non-finite values.
    """

    def __init__(self, mu: Any, cov: Any, mean_of_sample_data: Any, principle_vectors: Any,
                 source: str = "template") -> None:
        self.mu = np.asarray(mu, dtype=np.float64).reshape(-1)
        self.cov = np.asarray(cov, dtype=np.float64)
        self.mean = np.asarray(mean_of_sample_data, dtype=np.float64).reshape(-1)
        self.basis = np.asarray(principle_vectors, dtype=np.float64)
        k = self.mu.size
        if (self.mean.shape != (NUM_FEATURES,) or self.basis.shape != (NUM_FEATURES, k)
                or self.cov.shape != (k, k) or k == 0):
            raise ValueError(
                f"{source}: an IL-NIQE template needs mu (k,), cov (k, k), "
                f"meanOfSampleData ({NUM_FEATURES},) and principleVectors "
                f"({NUM_FEATURES}, k); got {self.mu.shape}, {self.cov.shape}, "
                f"{self.mean.shape}, {self.basis.shape}"
            )
        for name, arr in (("mu", self.mu), ("cov", self.cov), ("meanOfSampleData", self.mean),
                          ("principleVectors", self.basis)):
            if not np.isfinite(arr).all():
                raise ValueError(f"{source}: {name} contains NaN or infinite values")

    @property
    def dim(self) -> int:
        """Number of PCA dimensions."""
        return self.mu.size

    def tensors(self, dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
        """The four arrays as named tensors (bundle layout)."""
        arrays = (self.mu, self.cov, self.mean, self.basis)
        return {name: torch.from_numpy(np.ascontiguousarray(a)).to(dtype)
                for name, a in zip(_TENSOR_NAMES, arrays, strict=True)}


def _template_from_mat(path: Path) -> TemplateModel:
    source = str(path)
    data = param_files.load_mat(path, "IL-NIQE template")
    if "templateModel" not in data:
        raise ValueError(f"{source}: no templateModel in the file")
    tm = data["templateModel"]
    if tm.dtype == object and tm.size == 4:  # the official cell {mu, cov, mean, PV}
        parts = [np.asarray(tm.flat[i]) for i in range(4)]
    elif tm.dtype.names is not None:  # a struct with named fields
        fields = {name.lower(): name for name in tm.dtype.names}
        wanted = ("mu", "cov", "meanofsampledata", "principlevectors")
        missing = [w for w in wanted if w not in fields]
        if missing:
            raise ValueError(f"{source}: templateModel lacks the fields {missing}")
        parts = [np.asarray(tm[fields[w]].flat[0]) for w in wanted]
    else:
        raise ValueError(f"{source}: templateModel is neither a 4-cell nor a struct")
    try:
        return TemplateModel(*(p.astype(np.float64) for p in parts), source=source)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from exc


def _template_from_tensors(tensors: dict[str, torch.Tensor], source: str) -> TemplateModel:
    missing = [n for n in _TENSOR_NAMES if n not in tensors]
    if missing:
        raise ValueError(f"{source}: IL-NIQE bundle lacks the tensors {missing}")
    return TemplateModel(*(tensors[n].double().numpy() for n in _TENSOR_NAMES), source=source)


def load_template(path: str | os.PathLike) -> tuple[TemplateModel, dict[str, Any]]:
    """Read an IL-NIQE template from a file.

    Args:
        path: the official MATLAB ``templateModel.mat`` (a cell ``{mu, cov,
            meanOfSampleData, principleVectors}`` or a struct with those fields) or a
            blindiqa IL-NIQE bundle (``.safetensors``).

    Returns:
        ``(template, metadata)``; for a ``.mat`` the metadata is just the source.

    Raises:
        ValueError: missing or unreadable file, unknown format, wrong shapes,
            non-finite values, or a bundle of another kind.
    """
    p = param_files.existing_file(path, "IL-NIQE template")
    suffix = p.suffix.lower()
    if suffix == ".mat":
        return _template_from_mat(p), {"source": p.name}
    if suffix == ".safetensors":
        tensors, meta = param_files.load_kind_bundle(p, _KIND, "an IL-NIQE")
        return _template_from_tensors(tensors, str(p)), meta
    raise ValueError(f"{p}: unknown IL-NIQE template format {suffix!r}; use the official "
                     ".mat or a .safetensors model file")


# --------------------------------------------------------------------------- features
def tensor_to_levels(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """The uint8 levels IL-NIQE sees, ``round(255 x)``, as an ``(H, W, 3)`` float64 array.

    Args:
        image: ``(3, H, W)`` (or ``(1, H, W)``, replicated) float tensor/array in
            ``[0, 1]``.

    Returns:
        ``(H, W, 3)`` float64 array of integers 0..255.

    Raises:
        ValueError: not a ``(3, H, W)`` or ``(1, H, W)`` image.
    """
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if arr.ndim != 3 or arr.shape[0] not in (1, 3):
        raise ValueError(f"expected a (3, H, W) image, got shape {arr.shape}")
    levels = unit_to_levels(arr)
    if levels.shape[0] == 1:
        levels = np.repeat(levels, 3, axis=0)
    return np.ascontiguousarray(levels.transpose(1, 2, 0))


def patch_features(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IL-NIQE features of the patches of an image of uint8 levels.

    Args:
        levels: ``(H, W, 3)`` integer levels 0..255 (any size; resized to 524x524).

    Returns:
        ``(features, sharpness)``: ``(6, 6, 468)`` float64 features of the patch grid
        and ``(6, 6)`` sharpness of each patch.
    """
    return image_features(resize_uint8(levels, NORMALIZED_SIZE), BLOCK_SIZE)


def patch_distances(template: TemplateModel, features: np.ndarray) -> np.ndarray:
    """The official per-patch distances to the pristine template.

    The linear algebra runs in float64 torch, whose thread pool copes far better than
    a multi-threaded OpenBLAS with these small matrices on a busy machine.

    Args:
        template: the pristine template.
        features: ``(n, 468)`` patch features (NaN and infinite values allowed).

    Returns:
        ``(n,)`` float64 distances; their mean is the IL-NIQE score.
    """
    f = torch.tensor(np.asarray(features, dtype=np.float64))
    f[torch.isinf(f)] = INF_CONST
    undefined = torch.isnan(f).any(dim=1)
    proj = (f - torch.from_numpy(template.mean)) @ torch.from_numpy(template.basis)
    # MATLAB: a NaN feature makes the whole projection NaN; nanmean / nancov then use
    # the complete rows (nancov normalises by N - 1, and is 0 for a single row).
    complete = proj[~undefined]
    n, k = complete.shape
    if n == 0:
        mu_d = torch.full((k,), NAN_CONST, dtype=torch.float64)
        cov_d = torch.full((k, k), NAN_CONST, dtype=torch.float64)
    else:
        mu_d = complete.sum(dim=0) / n
        centred = complete - mu_d
        cov_d = centred.T @ centred / max(n - 1, 1)
    proj[undefined] = mu_d
    diff = proj - torch.from_numpy(template.mu)
    pooled = (torch.from_numpy(template.cov) + cov_d) / 2.0
    return np.sqrt(np.maximum(_quadratic_forms(pooled, diff), 0.0))


def _quadratic_forms(pooled: torch.Tensor, diff: torch.Tensor) -> np.ndarray:
    """``diff_i pinv(pooled) diff_i^T`` for each row of ``diff``.

    The pooled covariance is positive definite whenever the template's is, and then a
    Cholesky solve gives MATLAB's ``pinv`` result to rounding (about 1e-11 relative
    here) at a fraction of the cost of an SVD; otherwise the MATLAB-style SVD
    pseudo-inverse is used.
    """
    factor, info = torch.linalg.cholesky_ex(pooled)
    if int(info) == 0:
        solved = torch.cholesky_solve(diff.T, factor)
        return (diff * solved.T).sum(dim=1).numpy()
    inv = torch.from_numpy(pinv(pooled.numpy()))
    return ((diff @ inv) * diff).sum(dim=1).numpy()


# --------------------------------------------------------------------------- the model
class ILNIQE(QualityModel):
    """IL-NIQE scorer: MATLAB-exact features and per-patch distances to a template.

    Args:
        template: the pristine template (official or fitted).
        name: the model's name in listings.
        weights: where the template comes from (for :meth:`info`).
    """

    def __init__(self, template: TemplateModel, name: str = "ilniqe", weights: str = "") -> None:
        super().__init__(name)
        self.template = template
        self.weights = weights

    @property
    def min_size(self) -> int:
        return MIN_SIZE

    def features(self, image: torch.Tensor) -> np.ndarray:
        """``(6, 6, 468)`` patch features of one canonical ``(3, H, W)`` image.

        Equal to ``patch_features(tensor_to_levels(image))[0]``, without the
        full-resolution float64 copy of the image (:func:`resize_unit_image`).
        """
        self.check_size(image)
        arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else image
        arr = np.asarray(arr)
        if arr.ndim != 3 or arr.shape[0] not in (1, 3):
            raise ValueError(f"expected a (3, H, W) image, got shape {arr.shape}")
        feats, _ = image_features(resize_unit_image(arr, NORMALIZED_SIZE), BLOCK_SIZE)
        return feats

    def score_tensor(self, image: torch.Tensor) -> float:
        return float(self.quality_map_tensor(image).mean())

    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        """Distance of each 84x84 patch (of the 524x524 resized image) to the template.

        These are the official per-patch distances, whose mean is the score; a patch
        with undefined features gets the distance of the image's mean feature vector.

        Returns:
            ``(6, 6)`` float64 array over the patch grid (row-major).
        """
        feats = self.features(image)
        rows, cols = feats.shape[:2]
        return patch_distances(self.template, feats.reshape(rows * cols, -1)).reshape(rows, cols)

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            feature_dim=NUM_FEATURES,
            weights=self.weights,
            description="IL-NIQE (Zhang et al. 2015): 468 NSS, gradient, log-Gabor and "
                        "colour features of 84x84 patches, PCA to "
                        f"{self.template.dim}, mean per-patch distance to a template",
        )


def create_ilniqe(params: str | os.PathLike | None = None) -> ILNIQE:
    """Build an IL-NIQE scorer.

    Args:
        params: a template file (the official ``templateModel.mat`` or an IL-NIQE
            ``.safetensors`` bundle, see :func:`load_template`); ``None`` uses the
            shipped ``blindiqa/weights/ilniqe.safetensors`` (fitted on our pristine
            images).

    Returns:
        The scorer.

    Raises:
        ValueError: the file cannot be used.
    """
    path, weights = param_files.shipped_or_given(
        params, SHIPPED_PARAMS,
        "the shipped IL-NIQE template {path} is missing; regenerate it with "
        "benchmarks/fit_shipped_ilniqe.py or pass params=")
    template, _ = load_template(path)
    model = ILNIQE(template, name="ilniqe", weights=weights)
    model.quality_scale, model.window_scale = read_scales(path)
    model.bundle_path = Path(path)
    return model


def _load_bundle_model(tensors: dict[str, torch.Tensor], metadata: dict[str, Any],
                       name: str = "ilniqe", **options: Any) -> ILNIQE:
    param_files.reject_options(options, "an IL-NIQE")
    return ILNIQE(_template_from_tensors(tensors, name), name=name, weights=name)


# --------------------------------------------------------------------------- fitting
def _image_paths(dirs: Iterable[str | os.PathLike]) -> list[tuple[Path, str]]:
    """``(path, "folder/name")`` of each pristine image (see
    :func:`~blindiqa.baselines.params.pristine_images`)."""
    return [(path, f"{folder}/{name}") for path, folder, name in param_files.pristine_images(dirs)]


def select_patches(features: np.ndarray, sharpness: np.ndarray,
                   threshold: float = SHARPNESS_THRESHOLD) -> np.ndarray:
    """Indices of the pristine patches used for template learning.

    A patch is kept when its sharpness exceeds ``threshold`` times the image's sharpest
    patch and all its features are finite (the official script drops patches with
    infinite features; NaN ones would poison the PCA, so they are dropped too).

    Args:
        features: ``(n, 468)`` patch features of one image.
        sharpness: ``(n,)`` patch sharpness.
        threshold: fraction of the sharpest patch.

    Returns:
        int64 indices.
    """
    s = np.asarray(sharpness, dtype=np.float64).reshape(-1)
    finite = np.isfinite(features).all(axis=1)
    return np.flatnonzero((s > threshold * s.max()) & finite)


def pca_from_stats(stats: GaussianStats, reserved_ratio: float = PCA_RESERVED_RATIO
                   ) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the official ``MyPCA`` from the samples' sufficient statistics.

    Args:
        stats: count, sum and sum of outer products of the ``(n, d)`` samples.
        reserved_ratio: keep ``floor(min(n, d) * reserved_ratio)`` directions.

    Returns:
        ``(mean (d,), basis (d, k))`` with orthonormal columns in decreasing order of
        variance (each column's sign fixed so that its largest entry is positive).
    """
    k = int(math.floor(min(stats.count, stats.dim) * reserved_ratio))
    eigval, eigvec = torch.linalg.eigh(stats.scatter)
    order = np.argsort(eigval.numpy())[::-1][:k]
    basis = eigvec.numpy()[:, order]
    signs = np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(k)])
    return stats.mean.numpy(), basis * np.where(signs == 0, 1.0, signs)


def pca_basis(data: np.ndarray, reserved_ratio: float = PCA_RESERVED_RATIO
              ) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the official ``MyPCA``: mean and the leading principal directions.

    Args:
        data: ``(n, d)`` samples.
        reserved_ratio: keep ``floor(min(n, d) * reserved_ratio)`` directions.

    Returns:
        As :func:`pca_from_stats`.
    """
    return pca_from_stats(GaussianStats.from_features(torch.from_numpy(
        np.asarray(data, dtype=np.float64))), reserved_ratio)


def fit_plan(dirs: Sequence[str | os.PathLike]) -> list[tuple[Path, str]]:
    """The images a fit reads, in order: ``(path, "folder/name")``.

    Raises:
        ValueError: a file or folder does not exist.
    """
    return _image_paths(dirs)


def fit_share(plan: Sequence[tuple[Path, str]], indices: Iterable[int], *,
              sharpness_threshold: float = SHARPNESS_THRESHOLD,
              progress: bool = False) -> FitShare:
    """Reduce the images ``plan[i]`` for ``i`` in ``indices`` to template statistics.

    Each image is resized to 524x524 and gives the features of its 36 patches; the
    sharp, finite ones (:func:`select_patches`) are added to a :class:`GaussianStats`
    (count, sum and sum of outer products), from which the PCA and the template follow
    (:func:`fit_finish`), so shares of any images merge into the statistics of all.

    Returns:
        The share: statistics, used and skipped images, patches seen.
    """
    from blindiqa.io.decode import decode_image

    share = FitShare(GaussianStats.empty(NUM_FEATURES))
    for i in indices:
        path, label = plan[i]
        try:
            image = decode_image(path)
            levels = tensor_to_levels(image)
            if min(levels.shape[:2]) < MIN_SIZE:
                raise ValueError(f"smaller than {MIN_SIZE}x{MIN_SIZE} pixels")
            feats, sharpness = patch_features(levels)
        except ValueError as exc:
            log.warning("skipping %s: %s", path, exc)
            share.skipped.append((i, str(exc)))
            continue
        feats = feats.reshape(-1, NUM_FEATURES)
        keep = select_patches(feats, sharpness, sharpness_threshold)
        share.stats = share.stats + GaussianStats.from_features(torch.from_numpy(
            np.ascontiguousarray(feats[keep], dtype=np.float64)))
        share.units += feats.shape[0]
        share.used.append(i)
        if progress:
            log.info("%s: %d of %d patches kept", label, keep.size, feats.shape[0])
    return share


def fit_finish(plan: Sequence[tuple[Path, str]], share: FitShare, out: str | os.PathLike,
               dirs: Sequence[str | os.PathLike], *,
               sharpness_threshold: float = SHARPNESS_THRESHOLD,
               reserved_ratio: float = PCA_RESERVED_RATIO,
               dtype: str = "float64") -> dict[str, Any]:
    """Finish a fit from the share of all its images and save the template.

    The PCA is that of the pooled patches (:func:`pca_from_stats`); the projected
    patches' mean is zero (they are centred on their own mean) and their covariance is
    ``basis^T scatter basis / (n - 1)``, what ``nanmean`` / ``nancov`` of the
    projections give (every selected patch is finite).

    Returns:
        The metadata written into the bundle.

    Raises:
        ValueError: no usable image, or fewer patches than feature dimensions.
    """
    stats: GaussianStats = share.stats
    if not share.used:
        raise ValueError(f"no usable pristine image under {[str(d) for d in dirs]}")
    if stats.count <= NUM_FEATURES:
        raise ValueError(f"only {stats.count} pristine patches were selected; at least "
                         f"{NUM_FEATURES + 1} are needed for the PCA")
    mean, basis = pca_from_stats(stats, reserved_ratio)
    cov = basis.T @ stats.scatter.numpy() @ basis / (stats.count - 1)
    template = TemplateModel(np.zeros(basis.shape[1]), (cov + cov.T) / 2, mean, basis,
                             source=str(out))
    per_dir: dict[str, int] = {}
    names_hash = hashlib.sha256()
    for i in share.used:
        folder = Path(plan[i][1]).parent.as_posix()
        per_dir[folder] = per_dir.get(folder, 0) + 1
        names_hash.update(f"{plan[i][1]}\n".encode())
    metadata: dict[str, Any] = {
        "kind": _KIND,
        "name": "ilniqe",
        "method": "IL-NIQE (Zhang, Zhang, Bovik, IEEE TIP 2015), official template "
                  "learning procedure, blindiqa implementation",
        "feature_dim": NUM_FEATURES,
        "pca_dim": template.dim,
        "normalized_size": NORMALIZED_SIZE,
        "block_size": BLOCK_SIZE,
        "scales": 2,
        "sharpness_threshold": sharpness_threshold,
        "pca_reserved_ratio": reserved_ratio,
        "dtype": dtype,
        "images": len(share.used),
        "images_per_folder": per_dir,
        "images_skipped": [plan[i][1] for i, _ in share.skipped],
        "image_list_sha256": names_hash.hexdigest(),
        "patches_total": share.units,
        "patches_selected": stats.count,
        "blindiqa_version": __version__,
    }
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    save_bundle(out, template.tensors(torch_dtype), metadata)
    return metadata


def fit(dirs: Sequence[str | os.PathLike], out: str | os.PathLike, *,
        sharpness_threshold: float = SHARPNESS_THRESHOLD,
        reserved_ratio: float = PCA_RESERVED_RATIO, dtype: str = "float64",
        progress: bool = False) -> dict[str, Any]:
    """Learn an IL-NIQE template from pristine images (official procedure) and save it.

    Every image under ``dirs`` (folders walked recursively) is resized to 524x524 and
    gives the features of its 36 patches; the sharp, finite patches
    (:func:`select_patches`) of all images are pooled, their PCA (:func:`pca_basis`,
    ``floor(0.92 * 468) = 430`` directions) is computed, and the mean and covariance
    (``nanmean``, ``nancov``) of the projected patches complete the template, saved as
    an IL-NIQE bundle (``kind: "ilniqe"``) with its provenance. The pool is kept as
    mergeable sums (:func:`fit_share`, :func:`fit_finish`), so a fit split over
    workers (:mod:`blindiqa.distributed.fit`) gives the same template.

    Args:
        dirs: image files or folders of pristine images.
        out: output ``.safetensors`` path.
        sharpness_threshold: patch selection threshold (0.78 officially).
        reserved_ratio: PCA ratio (0.92 officially).
        dtype: ``"float64"`` or ``"float32"`` storage of the template.
        progress: log one line per image.

    Returns:
        The metadata written into the bundle.

    Raises:
        ValueError: no usable image, or fewer patches than feature dimensions.
    """
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    plan = fit_plan(dirs)
    share = fit_share(plan, range(len(plan)), sharpness_threshold=sharpness_threshold,
                      progress=progress)
    return fit_finish(plan, share, out, dirs, sharpness_threshold=sharpness_threshold,
                      reserved_ratio=reserved_ratio, dtype=dtype)


# --------------------------------------------------------------------------- registry
param_files.register_baseline(ModelEntry(
    info=ModelInfo(
        name="ilniqe",
        feature_dim=NUM_FEATURES,
        weights="blindiqa/weights/ilniqe.safetensors (fitted on data/pristine); params= for "
                "the official templateModel.mat or another .safetensors template",
        description="IL-NIQE: 468 features of 84x84 patches, PCA, per-patch distances, "
                    "MATLAB-exact",
        paper="Zhang, Zhang, Bovik, 'A feature-enriched completely blind image quality "
              "evaluator', IEEE Transactions on Image Processing 24(8), 2015",
    ),
    factory=create_ilniqe,
    fit=fit,
    options=("params",),
), _KIND, _load_bundle_model)
