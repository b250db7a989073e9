"""Cutting an image into a regular grid of square patches."""

from __future__ import annotations

import torch


def grid_shape(height: int, width: int, size: int, stride: int) -> tuple[int, int]:
    """Rows and columns of patches of ``size`` at ``stride`` that fit inside the image."""
    if height < size or width < size:
        return (0, 0)
    return ((height - size) // stride + 1, (width - size) // stride + 1)


def extract_patches(image: torch.Tensor, size: int = 96, stride: int = 48) -> torch.Tensor:
    """All ``size`` x ``size`` patches at ``stride``, row by row from the top left.

    Args:
        image: ``(C, H, W)`` tensor.
        size: patch side in pixels.
        stride: step between patches (``stride == size`` gives non-overlapping patches).

    Returns:
        ``(rows * cols, C, size, size)``; see :func:`grid_shape` for rows and cols.

    Raises:
        ValueError: the image is smaller than one patch.
    """
    if image.ndim != 3:
        raise ValueError(f"expected a (C, H, W) image, got shape {tuple(image.shape)}")
    c, h, w = image.shape
    if h < size or w < size:
        raise ValueError(f"image is {w}x{h} pixels; the minimum size is {size}x{size}")
    p = image.unfold(1, size, stride).unfold(2, size, stride)  # C, rows, cols, s, s
    return p.permute(1, 2, 0, 3, 4).reshape(-1, c, size, size)
