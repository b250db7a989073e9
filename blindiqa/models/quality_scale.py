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
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Bundle tensor holding the sorted reference distances.
TENSOR = "quality_scale.reference"
#: Bundle metadata key describing the reference corpus.
META = "quality_scale"


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
        if TENSOR not in tensors:
            return None
        meta = dict(metadata.get(META) or {})
        ref = tensors[TENSOR].detach().cpu().double().numpy()
        if meta.get("count", ref.size) != ref.size:
            raise ValueError(f"quality scale: {ref.size} reference distances stored, "
                             f"the metadata says {meta.get('count')}")
        corpus = str(meta.pop("corpus", "unknown corpus"))
        lower_better = bool(meta.pop("lower_better", True))
        meta.pop("count", None)
        return cls(ref, corpus, lower_better, extra=meta)


def read_quality_scale(path: str | os.PathLike) -> QualityScale | None:
    """The scale stored in a model bundle file (None for another kind of file, e.g. an
    official ``.mat`` parameter file, or a bundle without one)."""
    from blindiqa.models.bundle import load_bundle

    if Path(path).suffix.lower() != ".safetensors":
        return None
    return QualityScale.from_bundle(*load_bundle(path))


def with_quality_scale(src: str | os.PathLike, scale: QualityScale,
                       out: str | os.PathLike) -> None:
    """Write a copy of the bundle ``src`` that carries ``scale`` (replacing any scale it
    had); every other tensor and metadata entry is kept as it is, so scores do not change.

    Raises:
        BundleError: ``src`` is not a valid bundle.
    """
    from blindiqa.models.bundle import load_bundle, save_bundle

    tensors, metadata = load_bundle(src)
    extra_tensors, extra_meta = scale.to_bundle()
    save_bundle(out, {**tensors, **extra_tensors}, {**metadata, **extra_meta})
