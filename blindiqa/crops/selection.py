"""Choosing the sharp, colourful crops (patches) of pristine images (method.md, "Completely
blind scoring"; sharpness as in NIQE, Mittal et al. 2013; colourfulness after Hasler &
Suesstrunk 2003)."""

from __future__ import annotations

import torch

from blindiqa.crops.grid import PATCH_SIZE, extract_patches
from blindiqa.sharpness import local_std

_LUMA = (0.299, 0.587, 0.114)


def patch_sharpness(image: torch.Tensor, size: int = PATCH_SIZE) -> torch.Tensor:
    """Sharpness of each non-overlapping patch: the sum of its local-std map.

    Args:
        image: ``(3, H, W)`` in [0, 1].

    Returns:
        ``(P,)`` float64, patches in :func:`extract_patches` order (stride = size).
    """
    w = torch.tensor(_LUMA, dtype=torch.float64).view(3, 1, 1)
    gray = (image.double() * w).sum(0)
    sigma = local_std(gray)
    return extract_patches(sigma[None], size, size).sum(dim=(1, 2, 3))


def colourfulness(patches: torch.Tensor) -> torch.Tensor:
    """Colourfulness of ``(P, 3, h, w)`` patches:
    ``sqrt(std(rg)^2 + std(yb)^2) + sqrt(mean(rg)^2 + mean(yb)^2)``, rg = |R-G|,
    yb = |(R+G)/2 - B| (population std)."""
    p = patches.double()
    r, g, b = p[:, 0], p[:, 1], p[:, 2]
    rg = (r - g).abs().flatten(1)
    yb = ((r + g) / 2 - b).abs().flatten(1)
    std = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mean = (rg.mean(1) ** 2 + yb.mean(1) ** 2).sqrt()
    return std + mean


def select_pristine_patches(image: torch.Tensor, size: int = PATCH_SIZE, sharpness: float = 0.75,
                            colour: float = 0.8) -> torch.Tensor:
    """The pristine patches of one image: non-overlapping patches whose sharpness exceeds
    ``sharpness`` x the image's maximum, then of those the ones whose colourfulness
    exceeds ``colour`` x the maximum among them.

    Returns:
        ``(K, 3, size, size)``; empty (K = 0) for an image smaller than one patch.
    """
    if image.shape[-1] < size or image.shape[-2] < size:
        return image.new_zeros((0, 3, size, size))
    patches = extract_patches(image, size, size)
    sharp = patch_sharpness(image, size)
    keep = sharp > sharpness * sharp.max()
    if not keep.any():  # a flat image: nothing passes a strict threshold of zero
        return patches[:0]
    sel = patches[keep]
    col = colourfulness(sel)
    return sel[col > colour * col.max()] if col.max() > 0 else sel
