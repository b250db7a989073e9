"""Colour distortions of KADID-10k (Lin, Hosu, Saupe, QoMEX 2019): types 4-8.

Colour diffusion, colour shift, colour quantisation, colour saturation 1 (HSV) and
colour saturation 2 (CIELAB). All functions take ``images`` of shape ``(N, 3, H, W)`` in
``[0, 1]`` and return the same shape (clipping is left to ``apply_distortion``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from blindiqa.distortions import _common
from blindiqa.distortions.colorspace import lab_to_rgb, luma, rgb_to_lab

#: Pixels the colour-quantisation palette is computed from (a regular subsample).
_PALETTE_PIXELS = 25_000


def color_diffusion(images: torch.Tensor, amount: float,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour diffusion (KADID-10k #4): blur the chroma and scale it.

    As KADID-10k's ``imcolordiffuse``: in CIELAB, a* and b* are blurred with a Gaussian
    of standard deviation ``1.5 * amount + 2`` pixels and multiplied by ``amount``.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        amount: diffusion amount (KADID-10k: 1, 3, 6, 8, 12).
        generator: unused (deterministic).
    """
    lab = rgb_to_lab(images)
    ab = _common.gaussian_blur(lab[:, 1:], 1.5 * amount + 2.0) * amount
    return lab_to_rgb(torch.cat((lab[:, :1], ab), dim=1))


def _edge_weight(images: torch.Tensor) -> torch.Tensor:
    """Where colour shift is visible: blurred gradient magnitude, stretched to ``[0, 1]``.

    Gradient magnitude of the luma (central differences), Gaussian blur (sigma 4), min-max
    normalised, floored at 0.1, then stretched between its 1st and 99th percentiles (per
    image), as KADID-10k's ``imcolorshift``.
    """
    g = luma(images)
    gy = torch.gradient(g, dim=2)[0]
    gx = torch.gradient(g, dim=3)[0]
    e = _common.gaussian_blur(torch.sqrt(gx**2 + gy**2), 4.0)
    n = e.shape[0]
    flat = e.reshape(n, -1)
    lo = flat.min(dim=1, keepdim=True).values
    hi = flat.max(dim=1, keepdim=True).values
    flat = ((flat - lo) / (hi - lo).clamp_min(1e-12)).clamp(0.1, 1.0)
    m = flat.shape[1]
    p_lo = flat.kthvalue(max(1, round(0.01 * m)), dim=1, keepdim=True).values
    p_hi = flat.kthvalue(max(1, round(0.99 * m)), dim=1, keepdim=True).values
    flat = ((flat - p_lo) / (p_hi - p_lo).clamp_min(1e-12)).clamp(0.0, 1.0)
    return flat.view_as(e)


def shift_images(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Translate image ``i`` of ``x`` (N, C, H, W) by integer ``(dy[i], dx[i])``, replicate."""
    n, c, h, w = x.shape
    rows = (torch.arange(h, device=x.device).view(1, h) - dy.view(n, 1)).clamp(0, h - 1)
    cols = (torch.arange(w, device=x.device).view(1, w) - dx.view(n, 1)).clamp(0, w - 1)
    b = torch.arange(n, device=x.device).view(n, 1, 1)
    moved = x.permute(0, 2, 3, 1)[b, rows.view(n, h, 1), cols.view(n, 1, w)]
    return moved.permute(0, 3, 1, 2)


def color_shift(images: torch.Tensor, amount: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour shift (KADID-10k #5): the green channel is displaced near edges.

    As KADID-10k's ``imcolorshift``: the green channel is translated by ``amount`` pixels
    in a random direction (drawn per image, rounded to whole pixels) and blended with the
    original green channel using the edge weight of :func:`_edge_weight`, so the colour
    fringes appear along edges. One change: the weight is the maximum of the edge weight
    and the edge weight translated with the channel, so the displaced copy of an edge is
    blended in as well. With KADID-10k's weight alone, a shift longer than the weight's
    width (about 8 pixels) moves the copy to where the weight is low, and the fringes get
    *weaker* from 8 to 12 pixels.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        amount: length of the shift in pixels.
        generator: draws one direction per image, uniform on the circle.
    """
    n = images.shape[0]
    theta = _common.rand((n,), generator, images.new_empty(0, dtype=torch.float64))
    theta = theta * 2 * math.pi
    dy = torch.round(amount * torch.sin(theta)).long()
    dx = torch.round(amount * torch.cos(theta)).long()
    e = _edge_weight(images)
    e = torch.maximum(e, shift_images(e, dy, dx))
    green = images[:, 1:2]
    shifted = shift_images(green, dy, dx)
    out = images.clone()
    out[:, 1:2] = shifted * e + green * (1 - e)
    return out


def color_quantization(images: torch.Tensor, colors: int,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour quantisation with dithering (KADID-10k #6).

    KADID-10k uses MATLAB ``rgb2ind(I, n)``: a minimum-variance palette of ``n`` colours
    with Floyd-Steinberg dithering. We use Pillow's median-cut palette (computed on a
    regular subsample of at most about 25,000 pixels) and Floyd-Steinberg dithering,
    image by image on the CPU (error diffusion is sequential, a poor fit for tensors);
    the result goes back to the input's device.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        colors: palette size.
        generator: unused (deterministic).
    """
    u8 = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    outs = []
    h, w = images.shape[-2:]
    step = max(1, math.ceil(math.sqrt(h * w / _PALETTE_PIXELS)))
    for arr in u8.numpy():
        im = Image.fromarray(np.ascontiguousarray(arr), "RGB")
        # Pillow dithers only when mapping onto a given palette: build the palette first,
        # from every step-th pixel of every step-th row (median cut is slow on big images).
        sample = Image.fromarray(np.ascontiguousarray(arr[::step, ::step]), "RGB")
        palette = sample.quantize(colors=int(colors), method=Image.Quantize.MEDIANCUT,
                                  dither=Image.Dither.NONE)
        q = im.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).convert("RGB")
        outs.append(torch.from_numpy(np.asarray(q).copy()))
    out = torch.stack(outs).permute(0, 3, 1, 2).to(device=images.device, dtype=images.dtype)
    return out / 255.0


def color_saturation_hsv(images: torch.Tensor, factor: float,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour saturation 1 (KADID-10k #7): multiply the HSV saturation by ``factor``.

    With value and hue fixed, every channel is ``V (1 - S k)`` with ``k`` depending on the
    hue only, so scaling ``S`` is exactly ``V - factor (V - channel)``. ``factor < 1``
    desaturates, 0 gives grey, a negative factor pushes colours to the opposite hue.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        factor: saturation multiplier.
        generator: unused (deterministic).
    """
    v = images.amax(dim=1, keepdim=True)
    return v - factor * (v - images)


def color_saturation_lab(images: torch.Tensor, factor: float,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour saturation 2 (KADID-10k #8): multiply CIELAB a* and b* by ``factor``.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        factor: chroma multiplier (> 1 over-saturates; out-of-gamut colours are clipped).
        generator: unused (deterministic).
    """
    lab = rgb_to_lab(images)
    return lab_to_rgb(torch.cat((lab[:, :1], lab[:, 1:] * factor), dim=1))
