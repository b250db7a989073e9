"""Noise distortions of KADID-10k (Lin, Hosu, Saupe, QoMEX 2019): types 11-15.

White noise, white noise in the YCbCr components, impulse (salt and pepper) noise,
multiplicative (speckle) noise and denoising artefacts. All random draws use the given
``torch.Generator``; each image of a batch gets its own noise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from blindiqa.distortions import _common
from blindiqa.distortions.colorspace import rgb_to_ycbcr, ycbcr_to_rgb


def white_noise(images: torch.Tensor, variance: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive white Gaussian noise (KADID-10k #11) of ``variance``, per RGB value.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        variance: noise variance (KADID-10k: 0.001 ... 0.01).
        generator: draws the noise.
    """
    return images + math.sqrt(variance) * _common.randn(tuple(images.shape), generator, images)


def white_noise_color_component(images: torch.Tensor, variance: float,
                                generator: torch.Generator | None = None) -> torch.Tensor:
    """White noise in a colour component (KADID-10k #12).

    As KADID-10k's ``imnoisecolorcomp``: Gaussian noise of ``variance`` is added to the
    Y, Cb and Cr planes of the BT.601 studio-swing YCbCr image, which is converted back to
    RGB; the chroma noise comes out amplified and coloured.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        variance: noise variance in YCbCr units (KADID-10k: 0.0001 ... 0.003).
        generator: draws the noise.
    """
    ycc = rgb_to_ycbcr(images)
    noise = math.sqrt(variance) * _common.randn(tuple(images.shape), generator, images)
    return ycbcr_to_rgb(ycc + noise)


def impulse_noise(images: torch.Tensor, density: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Salt-and-pepper noise (KADID-10k #13), as MATLAB ``imnoise(I, 'salt & pepper', d)``.

    Each RGB value independently becomes 0 with probability ``density / 2`` and 1 with
    probability ``density / 2``.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        density: fraction of values replaced.
        generator: draws the noise.
    """
    u = _common.rand(tuple(images.shape), generator, images)
    out = torch.where(u < density / 2, torch.zeros_like(images), images)
    return torch.where((u >= density / 2) & (u < density), torch.ones_like(images), out)


def multiplicative_noise(images: torch.Tensor, variance: float,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Multiplicative (speckle) noise (KADID-10k #14): ``x + n x``.

    As MATLAB ``imnoise(I, 'speckle', v)``: ``n`` is uniform, zero-mean, of ``variance``.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        variance: variance of ``n``.
        generator: draws the noise.
    """
    u = _common.rand(tuple(images.shape), generator, images)
    return images * (1.0 + (u - 0.5) * math.sqrt(12.0 * variance))


def dct_matrix(size: int, like: torch.Tensor) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``(size, size)`` (rows are the basis functions)."""
    k = torch.arange(size, dtype=torch.float64).view(-1, 1)
    i = torch.arange(size, dtype=torch.float64).view(1, -1)
    m = torch.cos(math.pi * (2 * i + 1) * k / (2 * size)) * math.sqrt(2.0 / size)
    m[0] /= math.sqrt(2.0)
    return m.to(device=like.device, dtype=like.dtype)


#: Orthonormal colour transform of the DCT denoiser (mean, red-blue, green-magenta).
_OPPONENT = (
    (1 / math.sqrt(3), 1 / math.sqrt(3), 1 / math.sqrt(3)),
    (1 / math.sqrt(2), 0.0, -1 / math.sqrt(2)),
    (1 / math.sqrt(6), -2 / math.sqrt(6), 1 / math.sqrt(6)),
)


def dct_denoise(images: torch.Tensor, sigma: float, patch: int = 8, stride: int = 4,
                threshold: float = 3.0) -> torch.Tensor:
    """Sliding-window DCT denoising (Yu & Sapiro, IPOL 2011), batched.

    The image is turned into an orthonormal opponent colour space; every ``patch x patch``
    window (step ``stride``) of every channel is DCT-transformed, its AC coefficients
    below ``threshold * sigma`` are set to zero, and the inverse transforms are averaged
    where windows overlap.

    Args:
        images: ``(N, 3, H, W)``.
        sigma: standard deviation of the noise to remove.
        patch: window side.
        stride: window step (1 is best and slowest; 4 averages 4 estimates per pixel).
        threshold: hard threshold in units of ``sigma``.
    """
    n, c, h, w = images.shape
    opp = torch.tensor(_OPPONENT, dtype=images.dtype, device=images.device)
    x = torch.einsum("ij,njhw->nihw", opp, images)
    ph = (-(h - patch) % stride) + patch - 1
    pw = (-(w - patch) % stride) + patch - 1
    x = _common.pad_replicate(x, pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    hp, wp = x.shape[-2:]
    d = dct_matrix(patch, images)
    basis = torch.kron(d, d)  # (p*p, p*p), acts on row-major flattened windows
    cols = F.unfold(x.reshape(n * c, 1, hp, wp), patch, stride=stride)  # (nc, p*p, L)
    coef = basis @ cols
    keep = coef.abs() >= threshold * sigma
    keep[:, 0] = True
    rec = basis.T @ (coef * keep)
    out = F.fold(rec, (hp, wp), patch, stride=stride)
    weight = F.fold(torch.ones_like(rec[:1]), (hp, wp), patch, stride=stride)
    out = (out / weight).reshape(n, c, hp, wp)
    out = out[..., ph // 2:ph // 2 + h, pw // 2:pw // 2 + w]
    return torch.einsum("ji,njhw->nihw", opp, out)


def denoise(images: torch.Tensor, variance: float,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Denoising artefacts (KADID-10k #15): white noise, then a denoiser.

    KADID-10k adds white Gaussian noise and removes it with DnCNN, which leaves smoothed,
    "painted" textures and some blotchy residual noise. We add white Gaussian noise of
    ``variance`` (clipped to ``[0, 1]``) and remove it with :func:`dct_denoise`
    (8 x 8 sliding-window DCT hard thresholding at 3 sigma, window step 4: the first stage
    of BM3D without the block matching), which costs two small matrix products per
    window and leaves the same kind of artefacts: flattened texture, ringing near edges
    and blotchy low-frequency residual noise.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        variance: variance of the added noise.
        generator: draws the noise.
    """
    sigma = math.sqrt(variance)
    noisy = (images + sigma * _common.randn(tuple(images.shape), generator, images)).clamp(0, 1)
    return dct_denoise(noisy, sigma)
