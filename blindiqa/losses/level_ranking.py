"""Opinion-unaware ranking of distortion levels, and consistency between crops.

In the spirit of QualiCLIP (Agnolucci, Galteri, Bertini, "Quality-Aware Image-Text
Alignment for Opinion-Unaware Image Quality Assessment", arXiv 2403.11176, 2024), whose
losses need no opinion score, applied to our 25 KADID-10k distortion types:

* **ranking**: the same part of the same scene at consecutive levels of one distortion
  (level 0 = the pristine image) must be ordered: ``s(level l + 1) >= s(level l) +
  margin`` for a badness score ``s`` (:func:`level_ranking_loss`);
* **consistency**: two parts of one image at the same level should get the same score
  (:func:`level_consistency_loss`).

The badness score of the head (:func:`badness`) is the squared distance of an embedding
to the centre of the pristine embeddings, per dimension: what the blind score measures.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def badness(z: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``mean_d (z - centre)^2`` of embeddings ``(..., d)``: ``(...)``."""
    if z.shape[-1] != centre.shape[-1]:
        raise ValueError(f"embeddings are {z.shape[-1]}-d, the centre {centre.shape[-1]}-d")
    return (z - centre).pow(2).mean(dim=-1)


def level_ranking_loss(scores: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """Hinge loss on consecutive levels: ``mean relu(margin - (s[..., l + 1] - s[..., l]))``.

    Args:
        scores: ``(..., L)`` badness scores of the same part at levels ``0 .. L - 1``
            (``L >= 2``), increasing level along the last axis.
        margin: the required gap (in the score's units; scale-free scores need a margin
            relative to their spread, see :class:`LevelRankingLoss`).

    Returns:
        A scalar tensor.
    """
    if scores.ndim < 1 or scores.shape[-1] < 2:
        raise ValueError(f"need scores at >= 2 levels along the last axis, got "
                         f"{tuple(scores.shape)}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    return F.relu(margin - scores.diff(dim=-1)).mean()


def level_consistency_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``mean (s_a - s_b)^2 / mean((s_a + s_b) / 2)^2``: two parts of the same images at the
    same levels; scale-free (a head cannot lower it by shrinking its embedding)."""
    if a.shape != b.shape or a.numel() < 1:
        raise ValueError(f"need two equal, non-empty score tensors, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    scale = ((a + b) / 2).pow(2).mean().detach().clamp_min(1e-12)
    return (a - b).pow(2).mean() / scale


class LevelRankingLoss(nn.Module):
    """Level ranking plus ``consistency_weight`` x consistency on badness scores.

    The margin is relative: ``margin`` x the mean badness of the batch (detached), so
    the loss does not depend on the embedding's scale.

    Args:
        margin: relative margin between consecutive levels.
        consistency_weight: weight of :func:`level_consistency_loss`.
    """

    def __init__(self, margin: float = 0.05, consistency_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0 or consistency_weight < 0:
            raise ValueError(f"margin and consistency_weight must be >= 0, got {margin} and "
                             f"{consistency_weight}")
        self.margin, self.consistency_weight = float(margin), float(consistency_weight)

    def forward(self, s1: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
        """Loss of the badness scores ``(..., L)`` of two parts of the same images at
        levels ``0 .. L - 1``."""
        scale = ((s1 + s2) / 2).mean().detach().clamp_min(1e-12)
        loss = 0.5 * (level_ranking_loss(s1 / scale, self.margin)
                      + level_ranking_loss(s2 / scale, self.margin))
        if self.consistency_weight:
            loss = loss + self.consistency_weight * level_consistency_loss(s1, s2)
        return loss

    def extra_repr(self) -> str:
        return f"margin={self.margin}, consistency_weight={self.consistency_weight}"
