"""Brightness distortions of KADID-10k (Lin, Hosu, Saupe, QoMEX 2019): types 16-18.

Brighten, darken and mean shift, plus the tone-curve helpers they (and contrast change)
use. KADID-10k's ``curves(x, c)`` passes MATLAB's ``spline`` through ``(0, 0)``,
``(0.5, c)``, ``(1, 1)``, which for three points is the parabola of :func:`curve3`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.interpolate import PchipInterpolator

from blindiqa.distortions import _common
from blindiqa.distortions.colorspace import lab_to_rgb, rgb_to_lab


def curve3(x: torch.Tensor, mid: float) -> torch.Tensor:
    """The parabola through ``(0, 0)``, ``(0.5, mid)``, ``(1, 1)``, clipped to ``[0, 1]``."""
    a = 2.0 - 4.0 * mid
    b = 4.0 * mid - 1.0
    return ((a * x + b) * x).clamp(0.0, 1.0)


def tone_curve(x: torch.Tensor, knots_x: Sequence[float], knots_y: Sequence[float]
               ) -> torch.Tensor:
    """Monotone cubic (PCHIP) curve through the knots, applied to every value of ``x``.

    The piecewise-cubic coefficients come from SciPy (float64) and are evaluated in torch
    on ``x``'s device; values outside the knots' range are clipped to it first.
    """
    pchip = PchipInterpolator(np.asarray(knots_x, float), np.asarray(knots_y, float))
    coef = torch.tensor(pchip.c, dtype=x.dtype, device=x.device)  # (4, pieces)
    kx = torch.tensor(knots_x, dtype=x.dtype, device=x.device)
    xc = x.clamp(float(knots_x[0]), float(knots_x[-1])).contiguous()
    idx = torch.bucketize(xc, kx[1:-1], right=True)
    t = xc - kx.take(idx)
    y = coef[0].take(idx)
    for row in coef[1:]:
        y = y * t + row.take(idx)
    return y


def brighten(images: torch.Tensor, amount: float,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Brighten (KADID-10k #16), as KADID-10k's ``imbrighten``.

    The curve :func:`curve3` with midpoint ``0.5 + amount / 2`` is applied to the RGB
    values and, separately, to CIELAB lightness; the result is
    ``(2 * rgb_version + lab_version) / 3``. Large amounts clip the highlights.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        amount: brightening amount (KADID-10k: 0.1 ... 1.1).
        generator: unused (deterministic).
    """
    mid = 0.5 + amount / 2.0
    lab = rgb_to_lab(images)
    lightness = curve3(lab[:, :1] / 100.0, mid) * 100.0
    via_lab = lab_to_rgb(torch.cat((lightness, lab[:, 1:]), dim=1)).clamp(0, 1)
    return (2.0 * curve3(images, mid) + via_lab) / 3.0


def darken(images: torch.Tensor, amount: float,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Darken (KADID-10k #17): the curve :func:`curve3` with midpoint ``0.5 - amount / 2``.

    Applied to the RGB values, as KADID-10k's ``imdarken``; large amounts crush the
    shadows to black.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        amount: darkening amount (KADID-10k: 0.05 ... 0.8).
        generator: unused (deterministic).
    """
    return curve3(images, 0.5 - amount / 2.0)


def mean_shift(images: torch.Tensor, shift: float,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean shift (KADID-10k #18): add ``+shift`` or ``-shift`` to every value.

    KADID-10k's levels run from +0.15 through 0 to -0.15, which is not ordered by
    strength; we order by ``|shift|`` and draw the sign per image (p = 1/2 each).

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        shift: magnitude of the shift.
        generator: draws one sign per image.
    """
    signs = _common.random_signs(images.shape[0], generator, images)
    return images + signs * shift
