"""Compression distortions of KADID-10k (Lin, Hosu, Saupe, QoMEX 2019): types 9-10.

JPEG2000 and JPEG go through Pillow, image by image on the CPU, with the images rounded
to 8 bits first (as KADID-10k, which wrote 8-bit files with MATLAB's ``imwrite``); the
result goes back to the input's device and dtype.

JPEG2000 needs Pillow's OpenJPEG support (``PIL.features.check("jpg_2000")``). Where it
is missing, :func:`jpeg2000` falls back to :func:`jpeg2000_torch`, a torch simulation
of JPEG2000's artefacts: a 5-level CDF 9/7 wavelet transform (JPEG2000's irreversible
wavelet) of the YCbCr image, keeping only as many of the largest coefficients as the
compression ratio allows, then the inverse transform. It gives the same kind of
blur and ringing at a similar PSNR, not the codec's exact output.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image, features

from blindiqa.distortions import _common

#: Whether this Pillow can write JPEG2000.
HAS_JPEG2000 = bool(features.check("jpg_2000"))

#: Size of an (almost) empty OpenJPEG codestream: added to the byte budget so that the
#: compression ratio applies to the image data and not to the headers.
_J2K_HEADER_BYTES = 180


def _to_pil(images: torch.Tensor) -> list[Image.Image]:
    u8 = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    return [Image.fromarray(np.ascontiguousarray(a), "RGB") for a in u8.numpy()]


def _from_pil(pils: list[Image.Image], like: torch.Tensor) -> torch.Tensor:
    arr = np.stack([np.asarray(p.convert("RGB")) for p in pils])
    out = torch.from_numpy(arr).permute(0, 3, 1, 2).to(device=like.device, dtype=like.dtype)
    return out / 255.0


def _roundtrip(im: Image.Image, fmt: str, **options: object) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    buf.seek(0)
    with Image.open(buf) as decoded:
        decoded.load()
        return decoded.convert("RGB")


def jpeg(images: torch.Tensor, quality: int,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """JPEG compression (KADID-10k #10) at IJG ``quality`` (1-95), 4:2:0 chroma.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        quality: JPEG quality (KADID-10k: 43, 36, 24, 7, 4).
        generator: unused (deterministic).
    """
    pils = [_roundtrip(p, "JPEG", quality=int(quality), subsampling="4:2:0")
            for p in _to_pil(images)]
    return _from_pil(pils, images)


def jpeg2000(images: torch.Tensor, ratio: float,
             generator: torch.Generator | None = None,
             backend: str = "auto") -> torch.Tensor:
    """JPEG2000 compression (KADID-10k #9) at compression ratio ``ratio`` (24-bit = 1).

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        ratio: compression ratio (KADID-10k: 16, 32, 45, 120, 400).
        generator: unused (deterministic).
        backend: ``"pillow"`` (OpenJPEG, irreversible 9/7 wavelet, one quality layer, raw
            codestream; the byte budget is ``3 H W / ratio`` plus 180 bytes for the
            headers, which OpenJPEG counts in the budget and which would otherwise eat
            the whole budget of small images),
            ``"torch"`` (:func:`jpeg2000_torch`) or ``"auto"`` (Pillow when available).

    Raises:
        ValueError: unknown backend, or ``"pillow"`` without JPEG2000 support in Pillow.
    """
    if backend not in ("auto", "pillow", "torch"):
        raise ValueError(f"backend must be 'auto', 'pillow' or 'torch', got {backend!r}")
    if backend == "torch" or (backend == "auto" and not HAS_JPEG2000):
        return jpeg2000_torch(images, ratio)
    if not HAS_JPEG2000:
        raise ValueError("this Pillow has no JPEG2000 (OpenJPEG) support; use backend='torch'")
    n, _, h, w = images.shape
    raw = 3 * h * w
    rate = raw / (raw / float(ratio) + _J2K_HEADER_BYTES)
    pils = [_roundtrip(p, "JPEG2000", quality_mode="rates", quality_layers=[rate],
                       irreversible=True, no_jp2=True) for p in _to_pil(images)]
    return _from_pil(pils, images)


# CDF 9/7 lifting constants (Daubechies & Sweldens 1998; JPEG2000 Part 1, Annex F).
_ALPHA, _BETA, _GAMMA, _DELTA = -1.586134342, -0.052980118, 0.882911076, 0.443506852
_K = 1.149604398
_LEVELS = 5
#: Bits one kept coefficient is taken to cost; chosen so that the fallback's PSNR is
#: within 0.4 dB of OpenJPEG's (Pillow backend) at KADID-10k's ratios 16-400, mean over
#: 512 x 384 crops of three Kodak and two BSD100 images (within 0.9 dB on 128 x 128).
_BITS_PER_COEFF = 13.0


def _lift(x: torch.Tensor) -> torch.Tensor:
    """One level of the forward CDF 9/7 along the last dim (even length): ``[low, high]``."""
    s, d = x[..., 0::2], x[..., 1::2]

    def right(v: torch.Tensor) -> torch.Tensor:  # v[i + 1], symmetric at the end
        return torch.cat((v[..., 1:], v[..., -1:]), dim=-1)

    def left(v: torch.Tensor) -> torch.Tensor:  # v[i - 1], symmetric at the start
        return torch.cat((v[..., :1], v[..., :-1]), dim=-1)

    d = d + _ALPHA * (s + right(s))
    s = s + _BETA * (left(d) + d)
    d = d + _GAMMA * (s + right(s))
    s = s + _DELTA * (left(d) + d)
    return torch.cat((s * _K, d / _K), dim=-1)


def _unlift(y: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_lift`."""
    half = y.shape[-1] // 2
    s, d = y[..., :half] / _K, y[..., half:] * _K

    def right(v: torch.Tensor) -> torch.Tensor:
        return torch.cat((v[..., 1:], v[..., -1:]), dim=-1)

    def left(v: torch.Tensor) -> torch.Tensor:
        return torch.cat((v[..., :1], v[..., :-1]), dim=-1)

    s = s - _DELTA * (left(d) + d)
    d = d - _GAMMA * (s + right(s))
    s = s - _BETA * (left(d) + d)
    d = d - _ALPHA * (s + right(s))
    return torch.stack((s, d), dim=-1).flatten(-2)


def _dwt2(x: torch.Tensor, levels: int) -> torch.Tensor:
    y = x.clone()
    h, w = x.shape[-2:]
    for _ in range(levels):
        sub = y[..., :h, :w]
        sub = _lift(sub)
        sub = _lift(sub.transpose(-1, -2)).transpose(-1, -2)
        y[..., :h, :w] = sub
        h, w = h // 2, w // 2
    return y


def _idwt2(y: torch.Tensor, levels: int) -> torch.Tensor:
    x = y.clone()
    h, w = y.shape[-2:]
    sizes = [(h >> k, w >> k) for k in range(levels)]
    for h_k, w_k in reversed(sizes):
        sub = x[..., :h_k, :w_k]
        sub = _unlift(sub.transpose(-1, -2)).transpose(-1, -2)
        sub = _unlift(sub)
        x[..., :h_k, :w_k] = sub
    return x


def jpeg2000_torch(images: torch.Tensor, ratio: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Torch stand-in for JPEG2000 at compression ratio ``ratio`` (see the module doc).

    The image (YCbCr, JPEG2000's irreversible colour transform) is padded to a multiple
    of 32, transformed with a 5-level CDF 9/7 wavelet, and only the ``24 H W / (13 ratio)``
    largest-magnitude coefficients per image are kept (chroma counted at half weight).

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        ratio: compression ratio.
        generator: unused (deterministic).
    """
    n, _, h, w = images.shape
    x = images.to(torch.float64) if images.dtype == torch.float64 else images.float()
    m = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                      [0.5, -0.418688, -0.081312]], dtype=x.dtype, device=x.device)
    ycc = torch.einsum("ij,njhw->nihw", m, x - 0.5)
    step = 2**_LEVELS
    ph, pw = math.ceil(h / step) * step, math.ceil(w / step) * step
    ycc = _common.pad_replicate(ycc, 0, pw - w, 0, ph - h)
    coeffs = _dwt2(ycc, _LEVELS)
    weight = torch.tensor([1.0, 0.5, 0.5], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    score = (coeffs.abs() * weight).reshape(n, -1)
    keep = int(min(score.shape[1], max(1, round(24 * h * w / (_BITS_PER_COEFF * ratio)))))
    thresh = score.kthvalue(score.shape[1] - keep + 1, dim=1, keepdim=True).values
    kept = torch.where(score >= thresh, coeffs.reshape(n, -1), 0.0).view_as(coeffs)
    rec = _idwt2(kept, _LEVELS)[..., :h, :w]
    rgb = torch.einsum("ij,njhw->nihw", torch.linalg.inv(m.cpu()).to(m), rec) + 0.5
    return (rgb.clamp(0, 1) * 255).round().div(255).to(images.dtype)
