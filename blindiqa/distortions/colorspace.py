"""Colour-space conversions used by the distortions (batched, any device).

sRGB <-> CIELAB (D65 white, as MATLAB's ``rgb2lab``/``lab2rgb`` that KADID-10k used),
RGB <-> YCbCr (ITU-R BT.601 studio swing, as MATLAB's ``rgb2ycbcr`` on doubles) and the
BT.601 luma. All functions take and return ``(N, 3, H, W)`` tensors (luma: ``(N, 1, H, W)``);
RGB is in ``[0, 1]``; results of the inverse conversions are *not* clipped.
"""

from __future__ import annotations

import torch

# sRGB (linear, D65) -> XYZ, IEC 61966-2-1.
_RGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_DELTA = 6.0 / 29.0

# MATLAB rgb2ycbcr for double input: offsets and matrix scaled to [0, 1].
_YCBCR_OFFSET = (16.0 / 255.0, 128.0 / 255.0, 128.0 / 255.0)
_RGB_TO_YCBCR = (
    (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0),
    (-37.797 / 255.0, -74.203 / 255.0, 112.0 / 255.0),
    (112.0 / 255.0, -93.786 / 255.0, -18.214 / 255.0),
)


def _matrix(rows: tuple[tuple[float, ...], ...], like: torch.Tensor, invert: bool = False
            ) -> torch.Tensor:
    m = torch.tensor(rows, dtype=torch.float64)
    if invert:
        m = torch.linalg.inv(m)
    return m.to(device=like.device, dtype=like.dtype)


def _apply(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", m, x)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma ``0.2989 R + 0.5870 G + 0.1140 B`` (MATLAB ``rgb2gray``), ``(N, 1, H, W)``."""
    w = torch.tensor([0.2989, 0.5870, 0.1140], dtype=rgb.dtype, device=rgb.device)
    return (rgb * w.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB transfer curve."""
    return torch.where(rgb <= 0.04045, rgb / 12.92,
                       ((rgb.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve (linear values are clipped to ``[0, 1]`` first)."""
    lin = lin.clamp(0.0, 1.0)
    return torch.where(lin <= 0.0031308, lin * 12.92,
                       1.055 * lin.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in ``[0, 1]`` to CIELAB (L in ``[0, 100]``), D65 white."""
    xyz = _apply(_matrix(_RGB_TO_XYZ, rgb), srgb_to_linear(rgb))
    white = torch.tensor(_WHITE_D65, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    t = xyz / white
    f = torch.where(t > _DELTA**3, t.clamp_min(_DELTA**3) ** (1.0 / 3.0),
                    t / (3 * _DELTA**2) + 4.0 / 29.0)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIELAB (D65) to sRGB; out-of-gamut colours are clipped in linear light."""
    fy = (lab[:, 0] + 16.0) / 116.0
    fx = fy + lab[:, 1] / 500.0
    fz = fy - lab[:, 2] / 200.0
    f = torch.stack((fx, fy, fz), dim=1)
    t = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4.0 / 29.0))
    white = torch.tensor(_WHITE_D65, dtype=lab.dtype, device=lab.device).view(1, 3, 1, 1)
    xyz = t * white
    return linear_to_srgb(_apply(_matrix(_RGB_TO_XYZ, lab, invert=True), xyz))


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in ``[0, 1]`` to BT.601 studio-swing YCbCr in ``[0, 1]`` units."""
    off = torch.tensor(_YCBCR_OFFSET, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return _apply(_matrix(_RGB_TO_YCBCR, rgb), rgb) + off


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (not clipped)."""
    off = torch.tensor(_YCBCR_OFFSET, dtype=ycc.dtype, device=ycc.device).view(1, 3, 1, 1)
    return _apply(_matrix(_RGB_TO_YCBCR, ycc, invert=True), ycc - off)
