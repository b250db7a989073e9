"""Local sharpness: the standard deviation of an image under a small Gaussian window (as
in NIQE, Mittal et al. 2013).

Both scoring paths choose the pristine parts of their corpus by it: the crops path sums
it over each crop (:func:`blindiqa.crops.selection.patch_sharpness`), the one-pass path
pools it over each window (:func:`blindiqa.onepass.windows.pixel_cells`). So it lives
here, below both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_window(size: int = 7, sigma: float = 7 / 6) -> torch.Tensor:
    """A normalised 2-D Gaussian window (float64)."""
    ax = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(ax**2) / (2 * sigma**2))
    w = torch.outer(g, g)
    return w / w.sum()


def local_std(gray: torch.Tensor, size: int = 7, sigma: float = 7 / 6) -> torch.Tensor:
    """Local standard deviation map of a ``(H, W)`` image under a Gaussian window."""
    w = gaussian_window(size, sigma).to(gray)[None, None]
    x = gray[None, None]
    pad = size // 2
    xp = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    mu = F.conv2d(xp, w)
    mu2 = F.conv2d(xp * xp, w)
    return (mu2 - mu * mu).clamp_min(0).sqrt()[0, 0]
