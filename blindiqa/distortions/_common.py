"""Shared helpers of the distortion functions: validation, random draws, filtering.

Every random draw of :mod:`blindiqa.distortions` goes through :func:`rand`, :func:`randn`
or :func:`randint`, which take the caller's ``torch.Generator``. Draws are made on the
generator's device (CPU when no generator is given) and then moved to the images'
device, so a CPU generator gives the same distortion on CPU and CUDA inputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Side of the KADID-10k images (512 x 384); spatial sizes that KADID-10k gives in pixels
#: for *patches* (colour block, non-eccentricity patch) are scaled with the image area
#: relative to this size.
KADID_AREA = 512 * 384

#: Smallest height and width accepted by :func:`check_images`.
MIN_SIDE = 32


def check_images(images: object) -> torch.Tensor:
    """Validate a batch of images.

    Args:
        images: the candidate batch.

    Returns:
        The same tensor.

    Raises:
        ValueError: not a floating-point ``torch.Tensor`` of shape ``(N, 3, H, W)`` with
            ``N >= 1`` and ``H, W >= MIN_SIDE``.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be a floating-point tensor in [0, 1], got {images.dtype}")
    n, _, h, w = images.shape
    if n < 1 or h < MIN_SIDE or w < MIN_SIDE:
        raise ValueError(
            f"images must have N >= 1 and H, W >= {MIN_SIDE}, got {tuple(images.shape)}"
        )
    return images


def work_dtype(dtype: torch.dtype) -> torch.dtype:
    """Dtype the distortions compute in: float64 stays, everything else is float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def rand(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor
         ) -> torch.Tensor:
    """Uniform ``[0, 1)`` draws with ``generator``, on ``like``'s device and dtype."""
    out = torch.rand(shape, generator=generator, device=_gen_device(generator),
                     dtype=like.dtype)
    return out.to(like.device)


def randn(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor
          ) -> torch.Tensor:
    """Standard normal draws with ``generator``, on ``like``'s device and dtype."""
    out = torch.randn(shape, generator=generator, device=_gen_device(generator),
                      dtype=like.dtype)
    return out.to(like.device)


def randint(high: int | torch.Tensor, shape: tuple[int, ...],
            generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Integers uniform in ``[0, high)`` (``high`` may be a tensor broadcast to ``shape``).

    Drawn as ``floor(u * high)`` from uniform float64 draws so that a per-element
    ``high`` is possible; returned as int64 on ``device``.
    """
    u = torch.rand(shape, generator=generator, device=_gen_device(generator),
                   dtype=torch.float64).to(device)
    high_t = torch.as_tensor(high, dtype=torch.float64, device=device)
    return torch.minimum((u * high_t).floor(), high_t - 1).clamp_min(0).long()


def random_signs(n: int, generator: torch.Generator | None, like: torch.Tensor
                 ) -> torch.Tensor:
    """``n`` signs, +1 or -1 with probability 1/2 each, shaped ``(n, 1, 1, 1)``."""
    u = rand((n,), generator, like)
    return torch.where(u < 0.5, -1.0, 1.0).to(like.dtype).view(n, 1, 1, 1)


def patch_scale(height: int, width: int) -> float:
    """``sqrt(H * W / (512 * 384))``: how much bigger than a KADID-10k image this is."""
    return math.sqrt(height * width / KADID_AREA)


def gaussian_kernel1d(sigma: float, like: torch.Tensor, truncate: float = 3.0) -> torch.Tensor:
    """Normalised 1-D Gaussian of standard deviation ``sigma``, radius ``ceil(truncate*sigma)``."""
    radius = max(1, math.ceil(truncate * sigma))
    t = torch.arange(-radius, radius + 1, dtype=like.dtype, device=like.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def pad_replicate(x: torch.Tensor, left: int, right: int, top: int, bottom: int
                  ) -> torch.Tensor:
    """Replicate-pad the last two dimensions of a 4-D float ``x`` (any padding size)."""
    if left == right == top == bottom == 0:
        return x
    return F.pad(x, (left, right, top, bottom), mode="replicate")


def _depthwise(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Filter channel ``j`` of ``x`` (N, C, H, W) with ``kernels[(n*C + j)]`` (N*C, kh, kw).

    Replicate borders, output the size of the input (odd kernel sizes).
    """
    n, c, h, w = x.shape
    kh, kw = kernels.shape[-2:]
    y = pad_replicate(x.reshape(1, n * c, h, w), kw // 2, kw // 2, kh // 2, kh // 2)
    weight = kernels.to(x).reshape(n * c, 1, kh, kw)
    return F.conv2d(y, weight, groups=n * c).reshape(n, c, h, w)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of every channel of ``x`` (N, C, H, W), replicate borders."""
    if sigma <= 0:
        return x
    k = gaussian_kernel1d(sigma, x)
    m = x.shape[0] * x.shape[1]
    y = _depthwise(x, k.view(1, 1, -1).expand(m, 1, -1))
    return _depthwise(y, k.view(1, -1, 1).expand(m, -1, 1))


def conv_same(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Filter every channel of ``x`` (N, C, H, W) with one odd-sized 2-D ``kernel``."""
    m = x.shape[0] * x.shape[1]
    return _depthwise(x, kernel.unsqueeze(0).expand(m, -1, -1))


def conv_per_image(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Filter image ``i`` of ``x`` (N, C, H, W) with ``kernels[i]`` (N, kh, kw), odd sizes."""
    return _depthwise(x, kernels.repeat_interleave(x.shape[1], dim=0))
