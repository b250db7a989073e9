"""``create_metric``: a scorer as a metric module over tensor batches, or as a loss.

The interface follows the shape of pyiqa's ``create_metric`` and torchmetrics'
attributes: a :class:`torch.nn.Module` whose ``forward`` takes a float batch
``(B, 3, H, W)`` in [0, 1] and returns ``(B,)`` scores, and which says which way is
better (``lower_better``, ``higher_is_better``) and what values it gives
(``score_range``). The scores are those of :meth:`QualityModel.score` on the same
pixels: the metric calls it.

With ``as_loss=True`` the score is computed with autograd on (the one-pass engine's
models only, see :attr:`QualityModel.differentiable`), and ``forward`` returns the
weighted mean (or sum, or the ``(B,)`` scores) as a loss to minimise: every model here
is a distance, lower is better. See ``docs/metric.md`` for what the loss rewards and how
it can be gamed.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
from torch import nn

from blindiqa.io.decode import check_image_batch
from blindiqa.models.base import QualityModel
from blindiqa.models.load import load
from blindiqa.models.registry import list_models

#: The reductions of the loss, as ``torch.nn`` losses name them.
REDUCTIONS = ("mean", "sum", "none")


def list_metrics(as_loss: bool = False) -> list[str]:
    """Names :func:`create_metric` accepts, sorted (every registered scorer).

    Args:
        as_loss: list only the scorers that work with ``as_loss=True``.
    """
    return [e.name for e in list_models() if e.differentiable or not as_loss]


def _loss_names() -> str:
    names = list_metrics(as_loss=True)
    return ", ".join(names) if names else "none"


def _compute_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating parameter (float32 where it has none)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


class QualityMetric(nn.Module):
    """A blind scorer as a metric (or loss) over batches of tensors.

    Build it with :func:`create_metric`. Its parameters are frozen and it stays in eval
    mode (``train()`` changes nothing), so it can sit inside a training module.

    Args:
        model: the scorer.
        as_loss: compute scores with autograd and return a reduced loss.
        loss_weight: the factor of the loss (``as_loss`` only).
        loss_reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the ``(B,)``
            weighted scores), ``as_loss`` only.

    Attributes:
        name: the model's name (``metric_name`` too, as pyiqa calls it).
        lower_better: True: every scorer here is a distance from pristine quality.
        higher_is_better: ``not lower_better`` (torchmetrics' name).
        score_range: ``(0.0, inf)``: the distances' range.
    """

    def __init__(self, model: QualityModel, as_loss: bool = False, loss_weight: float = 1.0,
                 loss_reduction: str = "mean") -> None:
        super().__init__()
        if loss_reduction not in REDUCTIONS:
            raise ValueError(f"unknown loss_reduction {loss_reduction!r}; use one of "
                             f"{', '.join(REDUCTIONS)}")
        if not math.isfinite(loss_weight):
            raise ValueError(f"loss_weight must be a finite number, got {loss_weight}")
        if as_loss and not model.differentiable:
            raise ValueError(
                f"model {model.name!r} is not differentiable (its features are not computed "
                f"with torch operations); as_loss=True works with: {_loss_names()} "
                "(and model files of the one-pass engine)")
        self.model = model.eval().requires_grad_(False)
        self.as_loss = as_loss
        self.loss_weight = float(loss_weight)
        self.loss_reduction = loss_reduction

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def metric_name(self) -> str:
        return self.model.name

    @property
    def lower_better(self) -> bool:
        return self.model.lower_better

    @property
    def higher_is_better(self) -> bool:
        return not self.model.lower_better

    @property
    def score_range(self) -> tuple[float, float]:
        return (0.0, math.inf)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def train(self, mode: bool = True) -> QualityMetric:
        """Keep the scorer in eval mode whatever ``mode`` is asked for."""
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Score a batch.

        Args:
            images: float ``(B, 3, H, W)`` in [0, 1], on any device; each image is scored
                on its own (its score never depends on the rest of the batch).

        Returns:
            Without ``as_loss``: the ``(B,)`` float64 scores, equal to
            ``model.score(images)``, on the images' device. With ``as_loss``:
            ``loss_weight`` times their mean (0-d), sum (0-d) or the scores themselves
            (``"none"``), differentiable with respect to ``images``.

        Raises:
            ValueError: a bad shape, dtype or range, or an image too small for the model.
        """
        check_image_batch(images)
        if not self.as_loss:
            with torch.no_grad():
                return self.model.score(images).to(images.device)
        scores = torch.stack([self._score_one(images, i) for i in range(images.shape[0])])
        scores = self.loss_weight * scores.to(images.device)
        if self.loss_reduction == "mean":
            return scores.mean()
        if self.loss_reduction == "sum":
            return scores.sum()
        return scores

    def _score_one(self, images: torch.Tensor, i: int) -> torch.Tensor:
        """The differentiable score of image ``i``, moved to the model's device and dtype
        (the gradient flows back to the input's)."""
        image = images[i].to(self.model.device, _compute_dtype(self.model))
        try:
            return self.model.score_loss_tensor(image)
        except ValueError as exc:
            if images.shape[0] == 1:
                raise
            raise ValueError(f"image {i}: {exc}") from exc

    def extra_repr(self) -> str:
        loss = (f", as_loss=True, loss_weight={self.loss_weight}, "
                f"loss_reduction={self.loss_reduction!r}" if self.as_loss else "")
        return f"name={self.name!r}, lower_better={self.lower_better}{loss}"


def create_metric(name: str | os.PathLike = "default", device: str | torch.device | None = None,
                  as_loss: bool = False, loss_weight: float = 1.0,
                  loss_reduction: str = "mean", **options: Any) -> QualityMetric:
    """A blind scorer as a metric module over tensor batches (pyiqa's ``create_metric``).

    >>> metric = blindiqa.create_metric("default")
    >>> metric(torch.rand(2, 3, 256, 256))           # (2,) scores, lower is better
    >>> loss_fn = blindiqa.create_metric(as_loss=True)
    >>> loss_fn(restored).backward()                 # the mean score as a loss

    Args:
        name: a registered name (:func:`list_metrics`) or a model file.
        device: where the model runs (default CPU); inputs on other devices are copied
            there and the results returned on the input's device.
        as_loss: differentiable scores, reduced to a loss (see :class:`QualityMetric`).
        loss_weight: the factor of the loss.
        loss_reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        **options: model options, as for :func:`blindiqa.load`.

    Raises:
        ValueError: an unknown name, an unavailable device, a bad option, or
            ``as_loss=True`` for a model that is not differentiable (NIQE, IL-NIQE and
            the crops path's ``contentsep``: the message names those that are).
    """
    return QualityMetric(load(name, device=device, **options), as_loss=as_loss,
                         loss_weight=loss_weight, loss_reduction=loss_reduction)


__all__ = ["REDUCTIONS", "QualityMetric", "create_metric", "list_metrics"]
