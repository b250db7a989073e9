"""Sharpness and contrast distortions of KADID-10k (Lin, Hosu, Saupe, QoMEX 2019): 24-25.

High sharpen (over-sharpening by unsharp masking) and contrast change (a tone curve).
"""

from __future__ import annotations

import torch

from blindiqa.distortions import _common
from blindiqa.distortions.brightness import tone_curve
from blindiqa.distortions.colorspace import lab_to_rgb, rgb_to_lab


def high_sharpen(images: torch.Tensor, amount: float,
                 generator: torch.Generator | None = None, radius: float = 3.0
                 ) -> torch.Tensor:
    """High sharpen (KADID-10k #24): unsharp masking of the CIELAB lightness.

    As KADID-10k's ``imsharpenHi`` (MATLAB ``imsharpen(I, 'Radius', 3, 'Amount', a)``):
    ``L + amount * (L - G_radius * L)``, with ``G_radius`` a Gaussian of standard deviation
    ``radius`` pixels; the chroma is unchanged. Produces halos along edges.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        amount: sharpening strength.
        generator: unused (deterministic).
        radius: Gaussian standard deviation in pixels.
    """
    lab = rgb_to_lab(images)
    lightness = lab[:, :1]
    sharp = lightness + amount * (lightness - _common.gaussian_blur(lightness, radius))
    return lab_to_rgb(torch.cat((sharp.clamp(0.0, 100.0), lab[:, 1:]), dim=1))


def contrast_curve(images: torch.Tensor, c: float) -> torch.Tensor:
    """The contrast tone curve: monotone cubic through ``(0, 0)``, ``(0.25, 0.25 - c/4)``,
    ``(0.5, 0.5)``, ``(0.75, 0.75 + c/4)``, ``(1, 1)``.

    ``c = 0`` is the identity; ``c > 0`` raises the mid-tone slope to ``1 + c`` (more
    contrast), ``-1 < c < 0`` lowers it (less contrast). Black and white stay in place,
    as with KADID-10k's ``imcontrastc`` (which uses knots at 0.3 and 0.7 and a
    non-monotone spline).
    """
    q = c / 4.0
    return tone_curve(images, (0.0, 0.25, 0.5, 0.75, 1.0),
                      (0.0, 0.25 - q, 0.5, 0.75 + q, 1.0))


def contrast_change(images: torch.Tensor, amount: tuple[float, float],
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Contrast change (KADID-10k #25): more or less contrast through a tone curve.

    KADID-10k's levels go from more contrast (+0.3) to less contrast (-0.6), which is not
    ordered by strength; we draw the direction per image (p = 1/2 each) and order both
    directions by strength: ``amount = (increase, decrease)`` gives
    :func:`contrast_curve` with ``c = increase`` or ``c = -decrease``.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        amount: ``(increase, decrease)`` curve parameters, both >= 0.
        generator: draws one direction per image.
    """
    up, down = amount
    signs = _common.random_signs(images.shape[0], generator, images).flatten()
    out = torch.empty_like(images)
    more = torch.nonzero(signs > 0).flatten()
    less = torch.nonzero(signs < 0).flatten()
    if more.numel():
        out[more] = contrast_curve(images[more], up)
    if less.numel():
        out[less] = contrast_curve(images[less], -down)
    return out
