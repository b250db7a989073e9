"""An image and its window descriptors -> the reasons probe's input.

The probe sees what the scoring pass already has: the window descriptors of the
one-pass engine (before any quality head), pooled over the image into their mean and
their standard deviation (``2 D`` numbers), and :data:`PIXEL_STATS` cheap statistics
of the image's pixels (the tone and colour that the descriptors, normalised per tap,
mostly do not keep). Pooling makes the input independent of the image's size and of
the number of windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Number of pixel statistics (:func:`pixel_stats`).
PIXEL_STATS = 16
#: The pixel statistics are computed on the image scaled to at most this long side.
STATS_SIDE = 256
_LUMA = (0.299, 0.587, 0.114)


def pooled_descriptors(window_features: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation over the windows of ``(P, D)`` descriptors.

    Args:
        window_features: ``(P, D)`` descriptors of one image (``P >= 1``).

    Returns:
        ``(2 D,)`` float32: the mean of each channel, then its standard deviation (0 for
        a single window).

    Raises:
        ValueError: not a non-empty 2-D tensor.
    """
    if window_features.ndim != 2 or window_features.shape[0] < 1:
        raise ValueError(f"expected (windows, channels) descriptors, got shape "
                         f"{tuple(window_features.shape)}")
    x = window_features.double()
    return torch.cat([x.mean(dim=0), x.std(dim=0, unbiased=False)]).float()


def pixel_stats(image: torch.Tensor) -> torch.Tensor:
    """:data:`PIXEL_STATS` statistics of a ``(3, H, W)`` image in ``[0, 1]``: the
    luminance's mean, standard deviation, 1st, 5th, 50th, 95th and 99th percentiles and
    shares below 0.02 and above 0.98; the mean of each channel; the mean and standard
    deviation of the chroma (max - min of the channels); the standard deviations of the
    opponent colours ``R - G`` and ``(R + G) / 2 - B``. Computed on the image scaled
    to a long side of at most :data:`STATS_SIDE` (antialiased).

    Raises:
        ValueError: not a ``(3, H, W)`` tensor.
    """
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) image, got shape {tuple(image.shape)}")
    x = image.float()
    h, w = x.shape[-2:]
    if max(h, w) > STATS_SIDE:
        s = STATS_SIDE / max(h, w)
        size = (max(1, round(h * s)), max(1, round(w * s)))
        x = F.interpolate(x[None], size=size, mode="bilinear", antialias=True,
                          align_corners=False)[0]
    x = x.clamp(0, 1).flatten(1)
    luma = (torch.tensor(_LUMA)[:, None] * x).sum(0)
    q = torch.quantile(luma, torch.tensor([0.01, 0.05, 0.5, 0.95, 0.99]))
    chroma = x.max(0).values - x.min(0).values
    rg, yb = x[0] - x[1], (x[0] + x[1]) / 2 - x[2]
    return torch.cat([
        torch.stack([luma.mean(), luma.std(unbiased=False)]), q,
        torch.stack([(luma < 0.02).float().mean(), (luma > 0.98).float().mean()]),
        x.mean(1),
        torch.stack([chroma.mean(), chroma.std(unbiased=False), rg.std(unbiased=False),
                     yb.std(unbiased=False)]),
    ]).float()


def probe_input(window_features: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """The probe's input of one image: :func:`pooled_descriptors` of its descriptors,
    then :func:`pixel_stats` of the image as the encoder saw it (after ``max_side``);
    ``(2 D + PIXEL_STATS,)`` float32."""
    return torch.cat([pooled_descriptors(window_features), pixel_stats(image)])
