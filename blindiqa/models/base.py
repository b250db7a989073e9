"""The interface every blindiqa scorer implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from blindiqa.io.decode import to_tensor, to_tensor_list
from blindiqa.models.quality_scale import QualityScale, WindowScale


@dataclass(frozen=True)
class ModelInfo:
    """A scorer's metadata: what ``blindiqa models`` prints about it, and what its
    :meth:`QualityModel.info` returns. The registry's ``ModelEntry`` holds one of these
    beside how to build the scorer.

    Attributes:
        name: registry name or file name.
        feature_dim: length of the feature vector the Gaussian is fitted to.
        weights: where the weights / parameters come from.
        description: one line about the model.
        paper: the paper to cite (empty where there is none).
    """

    name: str
    feature_dim: int
    weights: str
    description: str = ""
    paper: str = ""

    @property
    def lower_better(self) -> bool:
        """True where a smaller score is better: every scorer is a
        :class:`QualityModel`, which says it once (:attr:`QualityModel.lower_better`)."""
        return QualityModel.lower_better


class QualityModel(nn.Module, ABC):
    """Base class of all completely blind scorers.

    Subclasses implement :meth:`score_tensor` and :meth:`quality_map_tensor` on one
    canonical image (a ``(3, H, W)`` float32 tensor in ``[0, 1]``); this class handles
    every input kind, validation and batching, so the score of an image never depends
    on the other images it is scored with.
    """

    #: True where a smaller score means better quality (a distance from pristine
    #: quality). The one place a scorer's direction is stored; :class:`ModelInfo` (and so
    #: the registry's ``ModelEntry``) reads it from here.
    lower_better: bool = True

    #: True where :meth:`score_loss_tensor` gives a score autograd differentiates with
    #: respect to the pixels (``blindiqa.create_metric(..., as_loss=True)``).
    differentiable: bool = False

    @property
    def higher_is_better(self) -> bool:
        """True where a larger score means better quality: ``not lower_better``."""
        return not self.lower_better

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        #: The 0-100 quality scale of this model's scores (None where it has none).
        self.quality_scale: QualityScale | None = None
        #: The 0-100 scale of this model's local values (the cells of
        #: :meth:`quality_map`), fitted on the windows of the same corpus; None where it
        #: has none. Quality maps are coloured by it.
        self.window_scale: WindowScale | None = None
        #: The bundle (or parameter) file this model was loaded from, None where there
        #: is none; its SHA-256 goes in the sidecar of the rows it scores.
        self.bundle_path: Path | None = None

    # ----------------------------------------------------------------- to implement
    @property
    @abstractmethod
    def min_size(self) -> int:
        """Smallest height and width (pixels) this scorer accepts."""

    @abstractmethod
    def score_tensor(self, image: torch.Tensor) -> float:
        """Score one canonical image (already validated, at least ``min_size``)."""

    @abstractmethod
    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        """Per-patch distances of one canonical image as a 2-D float64 array."""

    def score_and_map_tensor(self, image: torch.Tensor) -> tuple[float, np.ndarray]:
        """Score and quality map of one canonical image; subclasses that can compute both
        from one pass override this."""
        return self.score_tensor(image), self.quality_map_tensor(image)

    def score_loss_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """The score of one ``(3, H, W)`` image as a 0-d tensor differentiable with
        respect to ``image``; only scorers whose :attr:`differentiable` is True have one.

        Raises:
            ValueError: this scorer is not differentiable.
        """
        raise ValueError(f"model {self.name} is not differentiable")

    def reasons_problem(self) -> str | None:
        """Why :meth:`reasons` does not work for this model, or None where it does (a
        reasons probe reads its features); a subclass with a probe overrides this."""
        return (f"model {self.name} has no reasons probe; reasons are given by the "
                "shipped default model (and bundles of its engine settings)")

    @property
    def has_reasons(self) -> bool:
        """Whether :meth:`reasons` works for this model."""
        return self.reasons_problem() is None

    def reasons_tensor(self, image: torch.Tensor) -> dict[str, float]:
        """Each family's estimated distortion strength (0-5) of one canonical image.

        Raises:
            ValueError: the model has no reasons probe.
        """
        raise ValueError(self.reasons_problem() or f"{type(self).__name__} does not "
                         "implement reasons_tensor")

    def analyse_tensor(self, image: torch.Tensor, with_map: bool = False,
                       with_reasons: bool = False
                       ) -> tuple[float, np.ndarray | None, dict[str, float] | None]:
        """Score, and as asked the quality map and the reasons, of one canonical image;
        subclasses that compute all from one encoder pass override this."""
        if with_map:
            score, qmap = self.score_and_map_tensor(image)
        else:
            score, qmap = self.score_tensor(image), None
        reasons = self.reasons_tensor(image) if with_reasons else None
        return score, qmap, reasons

    @abstractmethod
    def info(self) -> ModelInfo:
        """A description of this scorer for listings."""

    # ----------------------------------------------------------------- public API
    @property
    def decode_max_side(self) -> int:
        """The long side this model scales images down to, which a file's decoder may
        reduce a large JPEG towards (see :func:`blindiqa.io.decode.decode_image`); 0,
        the default: files are decoded at full size."""
        return 0

    @property
    def device(self) -> torch.device:
        for t in list(self.parameters()) + list(self.buffers()):
            return t.device
        return torch.device("cpu")

    def check_size(self, image: torch.Tensor) -> None:
        """Raise ``ValueError`` where the image is smaller than :attr:`min_size`."""
        h, w = int(image.shape[-2]), int(image.shape[-1])
        m = self.min_size
        if h < m or w < m:
            raise ValueError(
                f"image is {w}x{h} pixels; {self.name} needs at least {m}x{m} pixels"
            )

    @torch.inference_mode()
    def score(self, images: Any) -> torch.Tensor:
        """Score one or many images.

        Args:
            images: a path, a PIL image, a numpy array (HWC, uint8 or float in [0, 1]), a
                tensor ``(C, H, W)`` or ``(N, C, H, W)`` in [0, 1], or a list mixing these
                (sizes may differ).

        Returns:
            A float64 tensor of shape ``(N,)``. Lower is better (a distance from
            pristine quality).

        Raises:
            ValueError: an input is invalid or smaller than :attr:`min_size`.
        """
        tensors = self._checked_tensors(images)
        return torch.tensor([self.score_tensor(t) for t in tensors], dtype=torch.float64)

    def _checked_tensors(self, images: Any) -> list[torch.Tensor]:
        """``images`` as canonical tensors, each at least :attr:`min_size`.

        Raises:
            ValueError: an input is invalid or too small (naming its index in a list).
        """
        tensors = to_tensor_list(images, max_side=self.decode_max_side)
        for i, t in enumerate(tensors):
            try:
                self.check_size(t)
            except ValueError as exc:
                if len(tensors) == 1:
                    raise
                raise ValueError(f"image {i}: {exc}") from exc
        return tensors

    @torch.inference_mode()
    def quality_map(self, image: Any) -> torch.Tensor:
        """Local quality: the distance of each window (patch) to the pristine model, in
        the units of :meth:`score` (lower is better).

        Whether the image's score is a mean of these values depends on the model: for
        ``default`` (one-pass engine, ``patch`` distance) it is their activity-weighted
        mean and for ``ilniqe`` their plain mean, so local values and the score are
        comparable; for ``contentsep``, ``niqe`` and ``mean``-distance bundles the score
        is the distance of the windows' mean feature, which is never larger than the
        mean of these values (see ``docs/maps.md``).

        Args:
            image: one image, any kind :meth:`score` accepts.

        Returns:
            A float64 tensor of shape ``(rows, cols)`` of the window grid (on the CPU;
            NaN where a model has no value for a window, e.g. NIQE on a flat block).

        Raises:
            ValueError: the input is invalid or smaller than :attr:`min_size`.
        """
        t = to_tensor(image, max_side=self.decode_max_side)
        self.check_size(t)
        qmap = self.quality_map_tensor(t)
        if isinstance(qmap, torch.Tensor):
            return qmap.detach().to("cpu", torch.float64)
        return torch.from_numpy(np.array(qmap, dtype=np.float64))

    @torch.inference_mode()
    def reasons(self, images: Any) -> dict[str, torch.Tensor]:
        """Why the images score as they do: how strongly each family of distortion
        (``blur``, ``noise``, ``compression``, ``exposure``, ``colour``, ``spatial``)
        seems present, by a small probe trained on synthetic distortions of pristine
        photos (see ``docs/reasons.md`` for its accuracy and where it fails).

        Args:
            images: as for :meth:`score`.

        Returns:
            family -> float64 tensor ``(N,)`` of estimated strengths, 0 (absent) to 5
            (as strong as the strongest synthetic level).

        Raises:
            ValueError: an input is invalid or too small, or the model has no reasons
                probe.
        """
        problem = self.reasons_problem()
        if problem is not None:  # before decoding anything
            raise ValueError(problem)
        rows = [self.reasons_tensor(t) for t in self._checked_tensors(images)]
        return {f: torch.tensor([r[f] for r in rows], dtype=torch.float64) for f in rows[0]}

    def quality_from_score(self, scores: Any) -> torch.Tensor:
        """Scores of this model on the 0-100 quality scale (higher is better).

        ``quality = 100 x`` the share of the model's reference photos that score worse
        (see :mod:`blindiqa.models.quality_scale`); monotone, so rank correlations are
        those of the scores. Returns a tensor, as :meth:`quality` and :meth:`score` do
        (and as torchmetrics / pyiqa metrics do), whatever the input's kind.

        Args:
            scores: a number, sequence, array or tensor of this model's scores (or map
                values).

        Returns:
            A float64 CPU tensor of the input's shape: 0-d for a plain number (``float()``
            or ``.item()`` gives the Python float); NaN stays NaN.

        Raises:
            ValueError: the model has no quality scale (a bundle fitted without one;
                add one with ``blindiqa fit-scale``).
        """
        return torch.from_numpy(np.asarray(self._scale()(scores), dtype=np.float64))

    def _scale(self) -> QualityScale:
        """The quality scale; ``ValueError`` where the model has none."""
        if self.quality_scale is None:
            raise ValueError(f"model {self.name} has no quality scale; add one with "
                             "`blindiqa fit-scale MODEL_FILE REFERENCE_DIR --out FILE`")
        return self.quality_scale

    @torch.inference_mode()
    def quality(self, images: Any) -> torch.Tensor:
        """Quality of one or many images on the 0-100 scale (higher is better).

        Args:
            images: as for :meth:`score`.

        Returns:
            A float64 tensor of shape ``(N,)``.

        Raises:
            ValueError: an input is invalid, or the model has no quality scale.
        """
        scale = self._scale()  # before scoring: no work for a model without a scale
        return torch.from_numpy(scale(self.score(images)))

    def forward(self, images: Any) -> torch.Tensor:
        return self.score(images)

    def __repr__(self) -> str:
        """One line instead of nn.Module's listing of every layer: the kind (class), name,
        direction, feature size and the subclass's :meth:`extra_repr`."""
        fields = [f"name={self.name!r}", f"lower_better={self.lower_better}",
                  f"feature_dim={self.info().feature_dim}", self.extra_repr()]
        return f"{type(self).__name__}({', '.join(f for f in fields if f)})"
