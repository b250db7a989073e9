"""Cutting an image into a regular grid of square patches."""

from __future__ import annotations

import torch

#: The paper's patch geometry: 96-px square patches (crops) at a stride of 48 px.
PATCH_SIZE = 96
PATCH_STRIDE = 48
#: The smallest patch side: five stride-2 stages take 32 px to one feature cell.
MIN_PATCH_SIZE = 32


def patch_geometry_ok(size: int, stride: int) -> bool:
    """The one rule for a patch geometry: a side of at least :data:`MIN_PATCH_SIZE` and a
    stride of at least 1."""
    return int(size) >= MIN_PATCH_SIZE and int(stride) >= 1


def check_patch_geometry(size: int, stride: int) -> None:
    """Raise ``ValueError`` where ``size`` and ``stride`` break :func:`patch_geometry_ok`."""
    if not patch_geometry_ok(size, stride):
        raise ValueError(f"patch_size must be at least {MIN_PATCH_SIZE} and stride must be "
                         f"at least 1, got {size} and {stride}")


def grid_shape(height: int, width: int, size: int, stride: int) -> tuple[int, int]:
    """Rows and columns of patches of ``size`` at ``stride`` that fit inside the image."""
    if height < size or width < size:
        return (0, 0)
    return ((height - size) // stride + 1, (width - size) // stride + 1)


def extract_patches(image: torch.Tensor, size: int = PATCH_SIZE,
                    stride: int = PATCH_STRIDE) -> torch.Tensor:
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
