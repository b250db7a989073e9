"""Blur distortions of KADID-10k (Lin, Hosu, Saupe, QoMEX 2019): types 1-3.

All functions take ``images`` of shape ``(N, 3, H, W)`` in ``[0, 1]`` and return a tensor of
the same shape (not yet clipped; :func:`blindiqa.distortions.apply_distortion` clips).
Borders are replicated, as MATLAB's ``imfilter(..., 'replicate')``.
"""

from __future__ import annotations

import math

import torch

from blindiqa.distortions import _common


def gaussian_blur(images: torch.Tensor, sigma: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian blur (KADID-10k #1), standard deviation ``sigma`` pixels.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        sigma: standard deviation in pixels.
        generator: unused (deterministic).
    """
    return _common.gaussian_blur(images, sigma)


def disk_kernel(radius: float, like: torch.Tensor, supersample: int = 16) -> torch.Tensor:
    """Anti-aliased disk (pillbox) kernel, like MATLAB's ``fspecial('disk', radius)``.

    Each tap is the fraction of its pixel square covered by the disk, estimated on a
    ``supersample x supersample`` grid of sub-pixel points.
    """
    r = math.ceil(radius - 0.5)
    offs = (torch.arange(supersample, dtype=torch.float64) + 0.5) / supersample - 0.5
    centres = torch.arange(-r, r + 1, dtype=torch.float64)
    pos = (centres[:, None] + offs[None, :]).reshape(-1)  # (2r+1)*s sample positions
    inside = (pos[:, None] ** 2 + pos[None, :] ** 2) <= radius**2
    n = 2 * r + 1
    cover = inside.double().view(n, supersample, n, supersample).mean(dim=(1, 3))
    return (cover / cover.sum()).to(device=like.device, dtype=like.dtype)


def lens_blur(images: torch.Tensor, radius: float,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Lens (defocus) blur (KADID-10k #2): convolution with a disk of ``radius`` pixels.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        radius: disk radius in pixels.
        generator: unused (deterministic).
    """
    return _common.conv_same(images, disk_kernel(radius, images))


def motion_kernels(length: float, angles: torch.Tensor) -> torch.Tensor:
    """Anti-aliased line kernels of ``length`` pixels at ``angles`` (radians), ``(N, k, k)``.

    Like MATLAB's ``fspecial('motion', length, angle)``: a tap's weight is
    ``max(0, 1 - d)`` with ``d`` the distance of the tap centre to the centred segment of
    length ``length - 1`` (a one-pixel-wide line), normalised to sum 1.
    """
    half = (length - 1) / 2.0
    r = max(1, math.ceil(half))
    t = torch.arange(-r, r + 1, dtype=angles.dtype, device=angles.device)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    c = torch.cos(angles).view(-1, 1, 1)
    s = torch.sin(angles).view(-1, 1, 1)
    along = (xx * c + yy * s).clamp(-half, half)  # projection onto the segment, clipped
    dist = torch.sqrt((xx - along * c) ** 2 + (yy - along * s) ** 2)
    w = (1.0 - dist).clamp_min(0.0)
    return w / w.sum(dim=(1, 2), keepdim=True)


def motion_blur(images: torch.Tensor, length: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Motion blur (KADID-10k #3): a line of ``length`` pixels at a random angle per image.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        length: length of the motion in pixels.
        generator: draws one angle per image, uniform in ``[0, pi)``.
    """
    n = images.shape[0]
    angles = _common.rand((n,), generator, images.new_empty(0, dtype=torch.float64)) * math.pi
    return _common.conv_per_image(images, motion_kernels(length, angles))
