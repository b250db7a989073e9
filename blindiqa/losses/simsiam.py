"""SimSiam: the positives-only loss of authentic fine-tuning, and its predictor.

Babu, Kannan, Soundararajan, "No Reference Opinion Unaware Quality Assessment of
Authentically Distorted Images", WACV 2023 (Stage 2), after Chen & He, "Exploring Simple
Siamese Representation Learning", CVPR 2021. The two crops of one authentically
distorted photo (one from each half of the image) share their distortion, so they are
positives; there are no negatives. With encoder outputs ``z1, z2`` and predictor outputs
``p1 = h(z1), p2 = h(z2)``::

    L_pos = 1/2 D(p1, sg(z2)) + 1/2 D(p2, sg(z1)),    D(p, z) = -mean_i cos(p_i, z_i)

where ``sg`` is the stop-gradient. The predictor of the paper is
``Linear(2048, 512) - BN - ReLU - Linear(512, 2048)`` on ResNet-50's 2048-d pooled output;
:class:`SimSiamPredictor` takes any width (hidden = width / 4 by default).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _check_pair(p: torch.Tensor, z: torch.Tensor) -> None:
    if not isinstance(p, torch.Tensor) or not isinstance(z, torch.Tensor):
        raise ValueError("p and z must be tensors")
    if p.ndim != 2 or p.shape != z.shape:
        raise ValueError(f"p and z must have the same shape (N, d), got {tuple(p.shape)} and "
                         f"{tuple(z.shape)}")
    if p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"need N >= 1 and d >= 1, got {tuple(p.shape)}")


def negative_cosine(p: torch.Tensor, z: torch.Tensor, stop_gradient: bool = True) -> torch.Tensor:
    """``D(p, z) = -mean_i cos(p_i, z_i)``, with the stop-gradient on ``z``.

    Args:
        p: ``(N, d)`` predictor outputs.
        z: ``(N, d)`` encoder outputs of the other views (row ``i`` pairs with ``p[i]``).
        stop_gradient: detach ``z`` (SimSiam's ``sg``; turning it off makes the loss
            collapse, which is what the stop-gradient prevents).

    Returns:
        A scalar float32 tensor in ``[-1, 1]``.

    Raises:
        ValueError: shapes differ or are not ``(N >= 1, d >= 1)``.
    """
    _check_pair(p, z)
    if stop_gradient:
        z = z.detach()
    return -F.cosine_similarity(p.float(), z.float(), dim=1).mean()


def simsiam_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor
                 ) -> torch.Tensor:
    """The symmetric SimSiam loss ``1/2 D(p1, sg(z2)) + 1/2 D(p2, sg(z1))``.

    Args:
        p1, p2: ``(N, d)`` predictor outputs of the half-1 and half-2 crops.
        z1, z2: ``(N, d)`` encoder outputs of the same crops (row ``i`` of every tensor is
            photo ``i``).

    Returns:
        A scalar float32 tensor in ``[-1, 1]`` (``-1``: predictions aligned with the
        other view).
    """
    for a, b in ((p1, z2), (p2, z1), (p1, p2)):
        _check_pair(a, b)
    return 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)


def feature_std(z: torch.Tensor) -> torch.Tensor:
    """Collapse check of SimSiam: the per-dimension std of the L2-normalised features,
    averaged over the dimensions.

    Chen & He (CVPR 2021, Fig. 2): for features spread over the unit sphere the value is
    about ``1 / sqrt(d)``; a collapsed representation (all outputs equal) gives 0.

    Args:
        z: ``(N >= 2, d)`` features.

    Returns:
        A scalar float32 tensor (no gradient).
    """
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"need (N >= 2, d) features, got {tuple(z.shape)}")
    with torch.no_grad():
        return F.normalize(z.float(), dim=1).std(dim=0).mean()


class SimSiamPredictor(nn.Module):
    """The predictor ``h``: ``Linear(d, hidden) - BN - ReLU - Linear(hidden, d)``.

    Args:
        dim: width of the encoder output (ResNet-50: 2048; EfficientNet-Lite head: 1280).
        hidden: width of the bottleneck (default ``dim // 4``: 512 for 2048, as in the
            paper).
    """

    def __init__(self, dim: int = 2048, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden if hidden is not None else max(1, dim // 4)
        if dim < 1 or hidden < 1:
            raise ValueError(f"dim and hidden must be positive, got {dim} and {hidden}")
        self.dim, self.hidden = int(dim), int(hidden)
        self.layers = nn.Sequential(
            nn.Linear(dim, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, dim),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, dim) -> (N, dim)``."""
        return self.layers(z)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, hidden={self.hidden}"
