"""A 0-100 quality scale for distances, from a reference corpus of ordinary photos.

Distances have no fixed scale: 2.3 from one model and 2.3 from another mean different
things. Without any opinion score, a model's distance is placed in the distribution of
the distances it gives to a reference corpus of ordinary photos::

    quality(d) = 100 x (share of reference photos whose distance is worse than d)

"Worse" is a larger distance for a lower-is-better model. A photo at quality 80 scores
better than 80 % of the reference photos; 50 is a typical photo of the corpus; 0 means
worse than every one of them, 100 better than every one. The map is monotone
(non-increasing in the distance), so any rank correlation (SRCC, KRCC) with opinion
scores is unchanged. It is *not* a mean opinion score: it says where a photo ranks among
the reference photos under this model, not how people would rate it, and its resolution
is one reference photo (100 / count).

The corpus's sorted distances are stored in the model bundle (tensor
``quality_scale.reference``, metadata ``quality_scale``), so the scale travels with
the model it belongs to.

A window's distance (a cell of ``model.quality_map``) is not a photo's distance, so local
values get a scale of their own, the :class:`WindowScale`: the same rule over the windows
of the same corpus (tensor ``quality_scale.windows``: evenly spaced quantiles of all the
corpus's window distances; metadata ``window_scale``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Bundle tensor holding the sorted reference distances.
TENSOR = "quality_scale.reference"
#: Bundle metadata key describing the reference corpus.
META = "quality_scale"
#: Bundle tensor holding the quantiles of the reference corpus's window distances.
WINDOW_TENSOR = "quality_scale.windows"
#: Bundle metadata key describing the window scale.
WINDOW_META = "window_scale"
#: How many evenly spaced quantiles (0 %, 0.1 %, ..., 100 %) a window scale keeps.
QUANTILES = 1001


@dataclass(frozen=True)
class QualityScale:
    """The distances a model gives to a reference corpus, as a 0-100 scale.

    Attributes:
        reference: the reference distances, sorted ascending (float64, finite).
        corpus: what the reference corpus is (name, where it comes from).
        lower_better: the model's direction (a larger distance is worse when True).
    """

    reference: np.ndarray
    corpus: str
    lower_better: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ref = np.sort(np.asarray(self.reference, dtype=np.float64).reshape(-1))
        if ref.size == 0:
            raise ValueError("a quality scale needs at least one reference distance")
        if not np.isfinite(ref).all():
            raise ValueError("the reference distances of a quality scale must be finite")
        object.__setattr__(self, "reference", ref)

    @property
    def count(self) -> int:
        """The number of reference photos."""
        return int(self.reference.size)

    @classmethod
    def fit(cls, distances: Any, corpus: str, lower_better: bool = True) -> QualityScale:
        """The scale of the given reference distances (non-finite ones are left out).

        Raises:
            ValueError: no finite distance.
        """
        d = np.asarray(distances, dtype=np.float64).reshape(-1)
        return cls(d[np.isfinite(d)], corpus, lower_better)

    def __call__(self, distances: Any) -> np.ndarray:
        """Quality (0-100, float64) of each distance; NaN stays NaN.

        Args:
            distances: a number, array or tensor of distances from the same model.

        Returns:
            An array of the same shape (0-d for a number).
        """
        d = np.asarray(distances.detach().cpu() if isinstance(distances, torch.Tensor)
                       else distances, dtype=np.float64)
        ref = self.reference
        if self.lower_better:  # worse = strictly larger
            worse = ref.size - np.searchsorted(ref, d, side="right")
        else:  # worse = strictly smaller
            worse = np.searchsorted(ref, d, side="left")
        q = 100.0 * worse / ref.size
        return np.where(np.isnan(d), np.nan, q)

    def quantiles(self, qualities: Any) -> np.ndarray:
        """The distance at each quality level (the inverse map, e.g. for a map's colour
        bar): the distance below which ``quality``% of the reference lies worse."""
        q = np.clip(np.asarray(qualities, dtype=np.float64), 0.0, 100.0)
        share_better = (100.0 - q) / 100.0 if self.lower_better else q / 100.0
        return np.quantile(self.reference, share_better)

    # ----------------------------------------------------------------- bundles
    def to_bundle(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The tensors and the metadata entry that store this scale in a bundle."""
        meta = {"corpus": self.corpus, "count": self.count,
                "lower_better": self.lower_better, **self.extra}
        return {TENSOR: torch.from_numpy(self.reference.copy())}, {META: meta}

    @classmethod
    def from_bundle(cls, tensors: Mapping[str, torch.Tensor],
                    metadata: Mapping[str, Any]) -> QualityScale | None:
        """The scale stored in a bundle, or None where it has none.

        Raises:
            ValueError: the stored scale is inconsistent.
        """
        stored = _stored(tensors, metadata, TENSOR, META, "count",
                         "quality scale", "reference distances")
        if stored is None:
            return None
        ref, corpus, lower_better, meta = stored
        return cls(ref, corpus, lower_better, extra=meta)


@dataclass(frozen=True)
class WindowScale(QualityScale):
    """The window distances of a reference corpus, as a 0-100 scale for local values.

    ``quality(d) = 100 x`` the share of the corpus's windows (cells of
    ``model.quality_map``) whose distance is worse than ``d``. Instead of every window
    (hundreds of thousands) it keeps ``QUANTILES`` evenly spaced quantiles of them, so
    the share is exact to 100 / (quantiles - 1) (0.1 with the default 1001).

    Attributes:
        reference: the quantiles of the window distances, sorted ascending.
        corpus: what the reference corpus is.
        lower_better: the model's direction.
        windows: how many window distances the quantiles summarise.
        photos: how many photos those windows came from.
    """

    windows: int = 0
    photos: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.photos < 1 or self.windows < max(self.photos, 1):
            raise ValueError(f"a window scale needs at least one photo and at least as many "
                             f"windows as photos, got {self.windows} windows of "
                             f"{self.photos} photos")

    @classmethod
    def from_maps(cls, maps: Iterable[Any], corpus: str, lower_better: bool = True,
                  quantiles: int = QUANTILES) -> WindowScale:
        """The scale of the windows of the given quality maps (one per reference photo).

        Non-finite cells are left out. With at most ``quantiles`` windows in all, every
        window distance is kept.

        Args:
            maps: each reference photo's quality map (array or tensor, any shape).
            corpus: what the reference corpus is.
            lower_better: the model's direction.
            quantiles: how many evenly spaced quantiles to keep (at least 2).

        Raises:
            ValueError: no finite window distance, or ``quantiles < 2``.
        """
        if quantiles < 2:
            raise ValueError(f"a window scale keeps at least 2 quantiles, got {quantiles}")
        parts, photos = [], 0
        for qmap in maps:
            d = np.asarray(qmap.detach().cpu() if isinstance(qmap, torch.Tensor) else qmap,
                           dtype=np.float64).reshape(-1)
            parts.append(d[np.isfinite(d)])
            photos += 1
        values = np.concatenate(parts) if parts else np.zeros(0)
        if values.size == 0:
            raise ValueError("a window scale needs at least one finite window distance")
        ref = values if values.size <= quantiles else np.quantile(
            values, np.linspace(0.0, 1.0, quantiles))
        return cls(ref, corpus, lower_better, windows=int(values.size), photos=photos)

    @property
    def count(self) -> int:
        """The number of stored quantiles (see :attr:`windows` for the windows)."""
        return int(self.reference.size)

    def to_bundle(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The tensors and the metadata entry that store this scale in a bundle."""
        meta = {"corpus": self.corpus, "quantiles": self.count, "windows": self.windows,
                "photos": self.photos, "lower_better": self.lower_better, **self.extra}
        return {WINDOW_TENSOR: torch.from_numpy(self.reference.copy())}, {WINDOW_META: meta}

    @classmethod
    def from_bundle(cls, tensors: Mapping[str, torch.Tensor],
                    metadata: Mapping[str, Any]) -> WindowScale | None:
        """The window scale stored in a bundle, or None where it has none.

        Raises:
            ValueError: the stored scale is inconsistent.
        """
        stored = _stored(tensors, metadata, WINDOW_TENSOR, WINDOW_META, "quantiles",
                         "window scale", "quantiles")
        if stored is None:
            return None
        ref, corpus, lower_better, meta = stored
        try:
            windows, photos = int(meta.pop("windows")), int(meta.pop("photos"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("window scale: the metadata lacks the numbers of windows and "
                             "photos") from exc
        return cls(ref, corpus, lower_better, extra=meta, windows=windows, photos=photos)


def _stored(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, Any], tensor: str,
            entry: str, count: str, what: str, values: str,
            ) -> tuple[np.ndarray, str, bool, dict[str, Any]] | None:
    """A scale as a bundle stores it: its reference values, corpus, direction and the
    rest of its metadata entry; None where the bundle has no tensor ``tensor``.

    Raises:
        ValueError: the metadata's ``count`` disagrees with the values stored (the
            message names the scale, ``what``, and its ``values``).
    """
    if tensor not in tensors:
        return None
    meta = dict(metadata.get(entry) or {})
    ref = tensors[tensor].detach().cpu().double().numpy()
    said = meta.pop(count, ref.size)
    if said != ref.size:
        raise ValueError(f"{what}: {ref.size} {values} stored, the metadata says {said}")
    corpus = str(meta.pop("corpus", "unknown corpus"))
    return ref, corpus, bool(meta.pop("lower_better", True)), meta


def read_quality_scale(path: str | os.PathLike) -> QualityScale | None:
    """The scale stored in a model bundle file (None for another kind of file, e.g. an
    official ``.mat`` parameter file, or a bundle without one)."""
    from blindiqa.models.bundle import load_bundle

    if Path(path).suffix.lower() != ".safetensors":
        return None
    return QualityScale.from_bundle(*load_bundle(path))


def read_scales(path: str | os.PathLike) -> tuple[QualityScale | None, WindowScale | None]:
    """The photo and window scales stored in a model bundle file (reading it once; None
    for another kind of file, e.g. an official ``.mat`` parameter file, or a bundle
    without that scale)."""
    from blindiqa.models.bundle import load_bundle

    if Path(path).suffix.lower() != ".safetensors":
        return None, None
    tensors, metadata = load_bundle(path)
    return (QualityScale.from_bundle(tensors, metadata),
            WindowScale.from_bundle(tensors, metadata))


def with_quality_scale(src: str | os.PathLike, scale: QualityScale,
                       out: str | os.PathLike, windows: WindowScale | None = None) -> None:
    """Write a copy of the bundle ``src`` that carries ``scale`` and ``windows`` (replacing
    any scales it had; without ``windows`` a window scale it had is dropped, since it
    belonged to another fit); every other tensor and metadata entry is kept as it is, so
    scores do not change.

    Raises:
        BundleError: ``src`` is not a valid bundle.
    """
    from blindiqa.models.bundle import load_bundle, save_bundle

    tensors, metadata = load_bundle(src)
    tensors.pop(WINDOW_TENSOR, None)
    metadata.pop(WINDOW_META, None)
    extra_tensors, extra_meta = scale.to_bundle()
    if windows is not None:
        window_tensors, window_meta = windows.to_bundle()
        extra_tensors, extra_meta = {**extra_tensors, **window_tensors}, {**extra_meta,
                                                                          **window_meta}
    save_bundle(out, {**tensors, **extra_tensors}, {**metadata, **extra_meta})
