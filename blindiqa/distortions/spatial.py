"""Spatial distortions of KADID-10k (Lin, Hosu, Saupe, QoMEX 2019): types 19-23.

Jitter, non-eccentricity patch, pixelate, quantisation and colour block. Sizes that
KADID-10k gives in pixels for its 512 x 384 images (the 16-pixel patches, the 32-pixel
colour blocks) are scaled by ``sqrt(H W / (512 * 384))`` (never below 4 pixels), so that
the fraction of the image they cover does not depend on its size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from blindiqa.distortions import _common


def jitter(images: torch.Tensor, amount: float,
           generator: torch.Generator | None = None, iterations: int = 5) -> torch.Tensor:
    """Jitter (KADID-10k #19): pixels scattered by small random displacements.

    As KADID-10k's ``imjitter`` (``imscatter`` five times): each of ``iterations`` passes
    resamples the image (bicubic, replicate borders) at positions displaced by
    independent Gaussian offsets of standard deviation ``amount`` pixels per pixel and
    axis; values are clipped to ``[0, 1]`` after every pass so that bicubic overshoot does
    not build up.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        amount: displacement standard deviation in pixels (KADID-10k: 0.05 ... 1).
        generator: draws the displacement fields.
        iterations: number of passes.
    """
    n, _, h, w = images.shape
    ys = torch.linspace(-1, 1, h, dtype=images.dtype, device=images.device)
    xs = torch.linspace(-1, 1, w, dtype=images.dtype, device=images.device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    base = torch.stack((gx, gy), dim=-1).unsqueeze(0)  # (1, H, W, 2), x first
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)],
                         dtype=images.dtype, device=images.device)
    out = images
    for _ in range(iterations):
        offsets = _common.randn((n, h, w, 2), generator, images) * amount
        grid = base + offsets * scale
        out = F.grid_sample(out, grid, mode="bicubic", padding_mode="border",
                            align_corners=True).clamp(0.0, 1.0)
    return out


def _gather_patches(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Index tensors selecting a ``size x size`` patch at ``(top[i], left[i])`` of image i."""
    n = x.shape[0]
    ar = torch.arange(size, device=x.device)
    b = torch.arange(n, device=x.device).view(n, 1, 1)
    rows = (top.view(n, 1) + ar).view(n, size, 1)
    cols = (left.view(n, 1) + ar).view(n, 1, size)
    return b, rows, cols


def non_eccentricity_patch(images: torch.Tensor, count: int,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Non-eccentricity patch (KADID-10k #20): small patches copied to nearby places.

    As KADID-10k's ``imnoneccentricity``: ``count`` times, a 16 x 16 patch (scaled with the
    image, see the module doc) is taken at a random place at least 16 pixels from the
    border and pasted back displaced by up to +-8 pixels in each direction. Patches are
    processed one after another (a later one may copy an earlier one), each for the
    whole batch at once, with positions drawn per image.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        count: number of patches.
        generator: draws the positions and displacements.
    """
    n, _, h, w = images.shape
    s = _common.patch_scale(h, w)
    size = max(4, round(16 * s))
    radius = max(4, round(16 * s))
    size = min(size, h // 4, w // 4)
    radius = min(radius, (h - size) // 2, (w - size) // 2)
    work = images.permute(0, 2, 3, 1).clone()  # (N, H, W, 3)
    fdt = images.new_empty(0, dtype=torch.float64)
    for _ in range(int(count)):
        top = _common.randint(h - size - 2 * radius + 1, (n,), generator, images.device) + radius
        left = _common.randint(w - size - 2 * radius + 1, (n,), generator, images.device) + radius
        jitter_ = ((_common.rand((n, 2), generator, fdt) - 0.5) * radius).round().long()
        dst_top = (top + jitter_[:, 0]).clamp(0, h - size)
        dst_left = (left + jitter_[:, 1]).clamp(0, w - size)
        b, r, c = _gather_patches(work, top, left, size)
        patch = work[b, r, c]
        b, r, c = _gather_patches(work, dst_top, dst_left, size)
        work[b, r, c] = patch
    return work.permute(0, 3, 1, 2)


def pixelate(images: torch.Tensor, strength: float,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Pixelate (KADID-10k #21): nearest-neighbour down- and up-sampling.

    As KADID-10k's ``impixelate``: the image is resized by ``z = 0.95 - strength^0.6``
    and back to its size, both with nearest-neighbour interpolation (pixel centres
    aligned, as MATLAB's ``imresize``).

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        strength: KADID-10k's strength (0.01 ... 0.5).
        generator: unused (deterministic).
    """
    h, w = images.shape[-2:]
    z = 0.95 - strength**0.6
    small = F.interpolate(images, size=(max(1, int(h * z)), max(1, int(w * z))),
                          mode="nearest-exact")
    return F.interpolate(small, size=(h, w), mode="nearest-exact")


#: Histogram bins of :func:`quantization` (8-bit values fall exactly on them).
_BINS = 256


def _class_of_bins(hist: torch.Tensor, k: int, iterations: int = 20
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """1-D k-means (Lloyd-Max) on a histogram.

    ``hist`` is ``(N, B)`` counts of the bin values ``j / (B - 1)``. The ``k`` levels start
    at the quantiles ``(i + 0.5) / k`` and are refined by Lloyd iterations; minimising
    the within-class variance is what multi-level Otsu thresholding (MATLAB
    ``multithresh``, on a 256-bin histogram) does. Class sums come from cumulative sums
    over the sorted bins, so the result is deterministic on every device.

    Returns:
        ``(classes, centres)``: the class (0..k-1) of every bin, ``(N, B)`` int64, and the
        class means, ``(N, k)`` float64, ascending.
    """
    n, bins = hist.shape
    values = torch.linspace(0, 1, bins, dtype=torch.float64, device=hist.device)
    h = hist.double()
    c_count = torch.cat((h.new_zeros(n, 1), h.cumsum(dim=1)), dim=1)
    c_sum = torch.cat((h.new_zeros(n, 1), (h * values).cumsum(dim=1)), dim=1)
    total = c_count[:, -1:]
    targets = (torch.arange(k, dtype=torch.float64, device=hist.device) + 0.5) / k * total
    first = torch.searchsorted(c_count[:, 1:].contiguous(), targets.contiguous())
    centres = values[first.clamp(max=bins - 1)]
    lo = torch.zeros(n, 1, dtype=torch.long, device=hist.device)
    hi = torch.full((n, 1), bins, dtype=torch.long, device=hist.device)
    for _ in range(iterations):
        bounds = ((centres[:, 1:] + centres[:, :-1]) / 2).contiguous()
        cuts = torch.searchsorted(values.expand(n, -1).contiguous(), bounds, right=True)
        start, end = torch.cat((lo, cuts), dim=1), torch.cat((cuts, hi), dim=1)
        count = c_count.gather(1, end) - c_count.gather(1, start)
        mean = (c_sum.gather(1, end) - c_sum.gather(1, start)) / count.clamp_min(1)
        centres = torch.where(count > 0, mean, centres).sort(dim=1).values
    bounds = ((centres[:, 1:] + centres[:, :-1]) / 2).contiguous()
    classes = torch.searchsorted(bounds, values.expand(n, -1).contiguous(), right=True)
    return classes, centres


def quantization(images: torch.Tensor, thresholds: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Quantisation (KADID-10k #22): every RGB value mapped to one of few levels.

    KADID-10k's ``imnoisequantize`` takes ``thresholds`` multi-level Otsu thresholds of
    the whole RGB image (MATLAB ``multithresh``). We compute the equivalent optimum,
    ``thresholds + 1`` levels minimising the within-class variance (1-D k-means on the
    256-bin histogram of all three channels, per image), and map every value to the mean
    of its class.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        thresholds: number of thresholds (levels - 1), KADID-10k: 20, 16, 13, 10, 7.
        generator: unused (deterministic).
    """
    n = images.shape[0]
    bins = (images.reshape(n, -1).clamp(0, 1) * (_BINS - 1)).round().long()
    offsets = torch.arange(n, device=images.device).view(n, 1) * _BINS
    hist = torch.bincount((bins + offsets).flatten(), minlength=n * _BINS).view(n, _BINS)
    classes, centres = _class_of_bins(hist, int(thresholds) + 1)
    lut = centres.gather(1, classes).to(images.dtype)  # (N, bins): value of every bin
    return lut.gather(1, bins).view_as(images)


def color_block(images: torch.Tensor, count: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour block (KADID-10k #23): ``count`` flat squares of random colours.

    As KADID-10k's ``imcolorblock``: 32 x 32 blocks (scaled with the image, see the module
    doc) of a uniformly random RGB colour at uniformly random places, drawn per image.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        count: number of blocks.
        generator: draws the colours and positions.
    """
    n, _, h, w = images.shape
    size = min(max(4, round(32 * _common.patch_scale(h, w))), h, w)
    work = images.permute(0, 2, 3, 1).clone()
    for _ in range(int(count)):
        colour = _common.rand((n, 3), generator, images)
        top = _common.randint(h - size + 1, (n,), generator, images.device)
        left = _common.randint(w - size + 1, (n,), generator, images.device)
        b, r, c = _gather_patches(work, top, left, size)
        work[b, r, c] = colour.view(n, 1, 1, 3).expand(n, size, size, 3)
    return work.permute(0, 3, 1, 2)
