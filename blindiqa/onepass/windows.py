"""Window descriptors from grid features, their activity, and the pristine selection.

A *window* of the grid plays the part a crop plays in the crops path's scorer: its
descriptor is the weighted mean of the grid cells it covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from blindiqa.onepass.config import OnePassConfig
from blindiqa.onepass.grid import window_count, window_mean
from blindiqa.sharpness import local_std

_LUMA = (0.299, 0.587, 0.114)


@dataclass
class Windows:
    """The windows of one image.

    Attributes:
        features: ``(P, D)`` float64 descriptors, row by row.
        activity: ``(P,)`` float64: the mean over channels of the features' standard
            deviation inside the window (how much the window's content varies).
        shape: ``(rows, cols)`` of the window grid (``rows * cols == P``).
        side: the window side in cells.
    """

    features: torch.Tensor
    activity: torch.Tensor
    shape: tuple[int, int]
    side: int


def window_side(config: OnePassConfig, rows: int, cols: int) -> int:
    """The window side (cells) for a grid, clipped to the grid (a small image still gets
    one window; :attr:`OnePassConfig.min_side` refuses smaller ones)."""
    return max(1, min(config.window_cells(rows, cols), rows, cols))


def group_l2(features: torch.Tensor, dims: list[int]) -> torch.Tensor:
    """Scale each tap's part (``dims`` channels each) of ``(P, D)`` to unit length."""
    parts = features.split(dims, dim=1)
    return torch.cat([p / p.norm(dim=1, keepdim=True).clamp_min(1e-12) for p in parts], dim=1)


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(x, 0))`` whose gradient is zero, not infinite, where ``x <= 0`` (a
    channel that is zero over a whole window: ReLU6 maps often are); the values equal
    ``x.clamp_min(0).sqrt()``."""
    pos = x > 0
    return torch.where(pos, torch.where(pos, x, torch.ones_like(x)).sqrt(),
                       torch.zeros_like(x))


def windows(grid: torch.Tensor, config: OnePassConfig, dims: list[int]) -> Windows:
    """The window descriptors of grid features ``(D, rows, cols)`` (float32, or float64
    where the grid is: a float64 encoder, as the gradient check runs it).

    Differentiable with respect to ``grid``; the window side and grid are fixed by the
    grid's size, so nothing here is piecewise constant in the pixels."""
    d, rows, cols = grid.shape
    side = window_side(config, rows, cols)
    step, shape = config.window_stride, config.window_shape
    x = grid[None] if grid.dtype == torch.float64 else grid[None].float()
    mean = window_mean(x, side, step, shape)[0]  # D, r, c
    second = window_mean(x * x, side, step, shape)[0]
    std = safe_sqrt(second - mean * mean)
    r, c = mean.shape[-2:]
    feats = mean.reshape(d, -1).T.double()
    if config.group_norm == "l2":
        feats = group_l2(feats, dims)
    activity = std.mean(0).reshape(-1).double()
    return Windows(feats, activity, (r, c), side)


def activity_weights(activity: torch.Tensor) -> torch.Tensor:
    """Pooling weights: a sigmoid of the z-scored activity (flat windows count less)."""
    sd = activity.std() if activity.numel() > 1 else activity.new_zeros(())
    if not float(sd.detach()) > 0:
        return torch.ones_like(activity)
    return torch.sigmoid((activity - activity.mean()) / sd)


def pixel_cells(image: torch.Tensor, grid_stride: int) -> torch.Tensor:
    """Per-cell pixel statistics behind the paper's pristine criteria.

    Args:
        image: ``(3, H, W)`` in [0, 1].
        grid_stride: pixels per cell.

    Returns:
        ``(5, H // g, W // g)`` float64: the mean local standard deviation of the
        luminance (NIQE's 7x7 Gaussian window), and the means of ``rg``, ``yb``,
        ``rg^2`` and ``yb^2`` (rg = abs(R - G), yb = abs((R + G) / 2 - B)).
    """
    g = grid_stride
    rows, cols = image.shape[-2] // g, image.shape[-1] // g
    img = image[:, : rows * g, : cols * g].double()
    gray = (img * torch.tensor(_LUMA, dtype=torch.float64).view(3, 1, 1)).sum(0)
    r, gr, b = img[0], img[1], img[2]
    rg = (r - gr).abs()
    yb = ((r + gr) / 2 - b).abs()
    planes = torch.stack([local_std(gray), rg, yb, rg * rg, yb * yb])[None]
    return F.avg_pool2d(planes, g)[0]


def pixel_window_stats(cells: torch.Tensor, config: OnePassConfig, side: int
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sharpness and colourfulness of each window (the paper's pristine criteria, on the
    windows of the feature grid): the mean local standard deviation of the luminance,
    and Hasler & Suesstrunk's ``sqrt(var(rg) + var(yb)) + sqrt(mean(rg)^2 + mean(yb)^2)``.

    Args:
        cells: the output of :func:`pixel_cells`.
        config: the window settings.
        side: the window side in cells (see :func:`window_side`).

    Returns:
        ``(sharpness, colourfulness)``, each ``(P,)`` float64 in window order.
    """
    win = window_mean(cells[None], side, config.window_stride, config.window_shape)[0]
    sharp = win[0].reshape(-1)
    var = (win[3] - win[1] ** 2).clamp_min(0) + (win[4] - win[2] ** 2).clamp_min(0)
    colour = var.sqrt() + (win[1] ** 2 + win[2] ** 2).sqrt()
    return sharp, colour.reshape(-1)


def select_pristine(cells: torch.Tensor | None, wins: Windows, config: OnePassConfig,
                    sharpness: float = 0.75, colour: float = 0.8) -> torch.Tensor:
    """Boolean mask ``(P,)`` of the windows of a pristine image that enter the model.

    Args:
        cells: the image's :func:`pixel_cells` (not needed for ``"activity"``).
        wins: its windows.
        config: the selection rule.
        sharpness, colour: the thresholds of ``"sharpness-colour"``.

    ``"sharpness-colour"`` keeps windows sharper than ``sharpness`` x the image's
    sharpest, then those more colourful than ``colour`` x the most colourful of them
    (method.md); ``"activity"`` keeps windows whose feature activity exceeds the image's
    mean.
    """
    if config.selection == "activity":
        return wins.activity > wins.activity.mean()
    if cells is None:
        raise ValueError("the sharpness-colour selection needs the pixel cells")
    sharp, col = pixel_window_stats(cells, config, wins.side)
    if sharp.shape[0] != wins.features.shape[0]:
        raise ValueError("pixel windows and feature windows disagree in number")
    keep = sharp > sharpness * sharp.max()
    if not keep.any():
        return keep
    cmax = col[keep].max()
    return keep & (col > colour * cmax) if cmax > 0 else keep


def expected_windows(config: OnePassConfig, height: int, width: int) -> tuple[int, int]:
    """``(rows, cols)`` of the window grid of an image of ``height`` x ``width``."""
    g = config.grid_stride
    rows, cols = height // g, width // g
    side = window_side(config, rows, cols)
    return (window_count(rows, side, config.window_stride),
            window_count(cols, side, config.window_stride))
