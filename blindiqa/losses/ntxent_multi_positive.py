"""CONTRIQUE's multi-positive NT-Xent loss over distortion classes.

Madhusudana, Birkbeck, Wang, Adsumilli, Bovik, "Image Quality Assessment using
Contrastive Learning", IEEE TIP 2022 (CONTRIQUE). Every sample carries a class label
(for synthetic data: 126 classes, the 25 KADID-10k types x 5 levels plus the pristine
class 0); all other samples of the same class are positives of an anchor, all other
samples are in the denominator:

    loss_i = log sum_{a != i} exp(s_ia / tau) - mean_{p in P(i)} s_ip / tau,

with ``s`` the cosine similarity and ``P(i) = {p != i : label_p = label_i}``; the loss is
averaged over the anchors that have at least one positive (in CONTRIQUE's use the two
views of an image always share a label, so every anchor has one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: The temperature of CONTRIQUE.
DEFAULT_TAU = 0.1

#: Synthetic classes of CONTRIQUE: 25 types x 5 levels + pristine.
DEFAULT_NUM_CLASSES = 126


def _check_inputs(z: torch.Tensor, labels: torch.Tensor, tau: float,
                  num_classes: int | None) -> None:
    if not isinstance(z, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise ValueError("z and labels must be tensors")
    if z.ndim != 2 or z.shape[0] < 2 or z.shape[1] < 1:
        raise ValueError(f"z must be (N >= 2, d >= 1), got {tuple(z.shape)}")
    if labels.shape != (z.shape[0],):
        raise ValueError(
            f"labels must have shape ({z.shape[0]},) to match z, got {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer class indices, got {labels.dtype}")
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    if num_classes is not None and labels.numel() and (
            int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1}, got range "
            f"[{int(labels.min())}, {int(labels.max())}]"
        )


def positive_mask(labels: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` bool: ``[i, j]`` is true where ``i != j`` and the labels are equal."""
    same = labels[:, None] == labels[None, :]
    return same & ~torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)


def ntxent_multi_positive(z: torch.Tensor, labels: torch.Tensor, tau: float = DEFAULT_TAU,
                          num_classes: int | None = DEFAULT_NUM_CLASSES) -> torch.Tensor:
    """Multi-positive NT-Xent of CONTRIQUE.

    Args:
        z: ``(N, d)`` features (any scale; they are L2-normalised here).
        labels: ``(N,)`` integer class of every sample.
        tau: temperature (CONTRIQUE: 0.1).
        num_classes: labels must lie in ``0..num_classes - 1`` (None: not checked).

    Returns:
        A scalar float32 tensor, the mean of ``loss_i`` over anchors with a positive.

    Raises:
        ValueError: bad shapes or labels, ``tau <= 0``, or no sample has a positive.
    """
    _check_inputs(z, labels, tau, num_classes)
    zn = F.normalize(z.float(), dim=1)
    sim = zn @ zn.T / tau
    n = sim.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=sim.device)
    pos = positive_mask(labels.to(sim.device))
    n_pos = pos.sum(dim=1)
    has_pos = n_pos > 0
    if not bool(has_pos.any()):
        raise ValueError("no sample has a positive (every label occurs once)")
    log_denominator = torch.logsumexp(sim.masked_fill(eye, float("-inf")), dim=1)
    mean_pos = (sim * pos).sum(dim=1) / n_pos.clamp_min(1)
    return (log_denominator - mean_pos)[has_pos].mean()


class NTXentMultiPositiveLoss(nn.Module):
    """CONTRIQUE's multi-positive NT-Xent (Madhusudana et al., TIP 2022).

    Args:
        tau: temperature.
        num_classes: number of classes (labels are checked against it; None: unchecked).
        gather_distributed: under ``torch.distributed``, gather the features and labels
            of all processes (with gradients) so that every process sees the global batch
            as negatives, as CONTRIQUE does.

    Example:
        >>> loss_fn = NTXentMultiPositiveLoss()
        >>> loss = loss_fn(torch.randn(8, 128), torch.tensor([0, 0, 3, 3, 5, 5, 0, 0]))
    """

    def __init__(self, tau: float = DEFAULT_TAU, num_classes: int | None = DEFAULT_NUM_CLASSES,
                 gather_distributed: bool = True) -> None:
        super().__init__()
        if not tau > 0:
            raise ValueError(f"tau must be positive, got {tau}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.tau = float(tau)
        self.num_classes = num_classes
        self.gather_distributed = bool(gather_distributed)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Loss of features ``z`` (N, d) with class ``labels`` (N,)."""
        if self.gather_distributed:
            z, labels = _gather(z, labels)
        return ntxent_multi_positive(z, labels, self.tau, self.num_classes)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, num_classes={self.num_classes}"


def _gather(z: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate ``z`` (differentiably) and ``labels`` over all processes."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return z, labels
    from torch.distributed.nn.functional import all_gather

    zs = all_gather(z.contiguous())
    ls = [torch.empty_like(labels) for _ in range(dist.get_world_size())]
    dist.all_gather(ls, labels.contiguous())
    return torch.cat(zs, dim=0), torch.cat(ls, dim=0)
