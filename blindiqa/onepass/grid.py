"""Feature maps on one grid: bringing taps of different strides together, and windows.

Pure tensor functions; :mod:`blindiqa.onepass.encoder` runs the network, this module only
resamples and pools what it returns.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: The 3x3 binomial filter (1 2 1)^T (1 2 1) / 16 used to halve a map's resolution.
_BINOMIAL = torch.tensor([1.0, 2.0, 1.0])


def blur_halve(x: torch.Tensor) -> torch.Tensor:
    """Blur ``(N, C, h, w)`` with the 3x3 binomial filter and keep every second cell.

    The filter is centred where a stride-2 "same" convolution of an even-sized map
    centres its output (cells ``2i .. 2i + 2``), so the result lines up with the next
    stage of the network. Sizes must be even; the output is ``(N, C, h / 2, w / 2)``.
    """
    c = x.shape[1]
    k = torch.outer(_BINOMIAL, _BINOMIAL).to(x) / 16.0
    x = F.pad(x, (0, 1, 0, 1), mode="replicate")
    return F.conv2d(x, k.expand(c, 1, 3, 3), stride=2, groups=c)


def to_grid(fmap: torch.Tensor, stride: int, grid_stride: int) -> torch.Tensor:
    """Bring a feature map of ``stride`` pixels per cell to ``grid_stride``.

    Finer maps are blurred and halved as often as needed; coarser ones have each cell
    repeated. Both strides are powers of two.
    """
    if stride == grid_stride:
        return fmap
    if stride < grid_stride:
        for _ in range(int(round(math.log2(grid_stride // stride)))):
            fmap = blur_halve(fmap)
        return fmap
    r = stride // grid_stride
    return fmap.repeat_interleave(r, dim=2).repeat_interleave(r, dim=3)


def window_kernel(side: int, shape: str) -> torch.Tensor:
    """The ``(side, side)`` weights of a window (summing to one), float32."""
    if shape == "box":
        w = torch.ones(side)
    elif shape == "gaussian":
        ax = torch.arange(side, dtype=torch.float64) - (side - 1) / 2
        w = torch.exp(-(ax**2) / (2 * (side / 4) ** 2)).float()
    else:
        raise ValueError(f"unknown window shape {shape!r}")
    k = torch.outer(w, w)
    return k / k.sum()


def window_mean(x: torch.Tensor, side: int, stride: int, shape: str = "box") -> torch.Tensor:
    """Weighted mean of ``(N, C, h, w)`` over every window of ``side`` cells that fits,
    moved by ``stride`` cells: ``(N, C, rows, cols)``."""
    if shape == "box":
        return F.avg_pool2d(x, side, stride)
    c = x.shape[1]
    k = window_kernel(side, shape).to(x)
    return F.conv2d(x, k.expand(c, 1, side, side), stride=stride, groups=c)


def window_count(cells: int, side: int, stride: int) -> int:
    """Windows of ``side`` cells at ``stride`` along ``cells`` cells (0 if none fits)."""
    return 0 if cells < side else (cells - side) // stride + 1
