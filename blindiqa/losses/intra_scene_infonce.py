"""Intra-scene InfoNCE of synthetic contrastive pre-training.

Babu, Kannan, Soundararajan, "No Reference Opinion Unaware Quality Assessment of
Authentically Distorted Images", WACV 2023 (Stage 1). A *scene* holds ``k`` versions of
one picture (the pristine image and ``k - 1`` distortions of it); every version gives two
crops, one from each half of the image. For version ``i`` the anchor is its half-1 crop,
the positive its half-2 crop, and the negatives are the half-2 crops of the *other*
versions of the same scene: same content, other distortion. The features are
L2-normalised and compared by cosine similarity divided by a temperature ``tau``. The loss
is averaged over versions and scenes, plus the symmetric term with the halves swapped (the
official code sums the two terms; so do we).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: The temperature of the paper.
DEFAULT_TAU = 0.1


def _check_views(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> None:
    if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor):
        raise ValueError("z1 and z2 must be tensors")
    if z1.ndim != 3 or z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape (scenes, k, d), got {tuple(z1.shape)} and "
            f"{tuple(z2.shape)}"
        )
    if z1.shape[0] < 1 or z1.shape[1] < 2 or z1.shape[2] < 1:
        raise ValueError(
            f"need at least 1 scene, k >= 2 versions per scene and d >= 1, got "
            f"{tuple(z1.shape)}"
        )
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")


def cosine_logits(anchors: torch.Tensor, candidates: torch.Tensor, tau: float) -> torch.Tensor:
    """Cosine similarities / ``tau`` of every anchor with every candidate of its scene.

    Args:
        anchors: ``(scenes, k, d)``.
        candidates: ``(scenes, k, d)``.
        tau: temperature.

    Returns:
        ``(scenes, k, k)``: entry ``[s, i, j]`` compares anchor ``i`` with candidate ``j``
        of scene ``s``.
    """
    a = F.normalize(anchors.float(), dim=-1)
    c = F.normalize(candidates.float(), dim=-1)
    return torch.bmm(a, c.transpose(1, 2)) / tau


def one_way_infonce(anchors: torch.Tensor, candidates: torch.Tensor, tau: float) -> torch.Tensor:
    """InfoNCE with positive ``candidates[s, i]`` for ``anchors[s, i]`` and negatives the
    other candidates of scene ``s``, averaged over all anchors.

    Returns:
        A scalar tensor.
    """
    logits = cosine_logits(anchors, candidates, tau)
    scenes, k, _ = logits.shape
    target = torch.arange(k, device=logits.device).repeat(scenes)
    return F.cross_entropy(logits.reshape(scenes * k, k), target)


def intra_scene_infonce(z1: torch.Tensor, z2: torch.Tensor, tau: float = DEFAULT_TAU,
                        symmetric: bool = True) -> torch.Tensor:
    """The intra-scene InfoNCE loss.

    Args:
        z1: ``(scenes, k, d)`` features of the half-1 crops.
        z2: ``(scenes, k, d)`` features of the half-2 crops (``z2[s, i]`` is the same
            image as ``z1[s, i]``).
        tau: temperature (the paper: 0.1).
        symmetric: add the term with the halves swapped (anchors from half 2).

    Returns:
        A scalar float32 tensor: ``mean_{s,i} -log(exp(c(z1_si, z2_si)/tau) /
        sum_j exp(c(z1_si, z2_sj)/tau))`` plus, if ``symmetric``, the same with ``z1`` and
        ``z2`` exchanged.

    Raises:
        ValueError: shapes differ or are not ``(scenes >= 1, k >= 2, d >= 1)``, or
            ``tau <= 0``.
    """
    _check_views(z1, z2, tau)
    loss = one_way_infonce(z1, z2, tau)
    if symmetric:
        loss = loss + one_way_infonce(z2, z1, tau)
    return loss


class IntraSceneInfoNCELoss(nn.Module):
    """Intra-scene InfoNCE (Babu et al., WACV 2023), see :func:`intra_scene_infonce`.

    Args:
        tau: temperature.
        symmetric: add the term with the halves swapped.

    Example:
        >>> loss_fn = IntraSceneInfoNCELoss()
        >>> z1, z2 = torch.randn(16, 4, 2048), torch.randn(16, 4, 2048)
        >>> loss = loss_fn(z1, z2)
    """

    def __init__(self, tau: float = DEFAULT_TAU, symmetric: bool = True) -> None:
        super().__init__()
        if not tau > 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.tau = float(tau)
        self.symmetric = bool(symmetric)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """Loss of half-1 features ``z1`` and half-2 features ``z2``, both (scenes, k, d)."""
        return intra_scene_infonce(z1, z2, self.tau, self.symmetric)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, symmetric={self.symmetric}"
