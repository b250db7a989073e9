"""Contact sheet of all 25 KADID-10k distortion types x 5 levels on one image.

Rows are the types in KADID-10k order (Lin, Hosu, Saupe, QoMEX 2019), columns the levels
1..5 (after an optional column with the reference); each cell is captioned with its
parameter. Drawn with Pillow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from blindiqa.distortions.registry import DISTORTIONS, NUM_LEVELS, apply_distortion

_LABEL_MIN_W = 160
_HEADER_H = 30
_CAPTION_H = 18
_GAP = 4
_BG = (255, 255, 255)
_FG = (20, 20, 20)
_DIM = (100, 100, 100)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def prepare_tile(image: torch.Tensor, tile: int) -> torch.Tensor:
    """Centre-crop ``image`` (3, H, W) to 4:3 (3:4 if portrait) and resize to ``tile`` wide.

    Returns:
        ``(1, 3, h, w)`` float32 in ``[0, 1]`` with the longer side ``tile``.
    """
    _, h, w = image.shape
    if w >= h:
        cw, ch = min(w, round(h * 4 / 3)), min(h, round(w * 3 / 4))
        out_w, out_h = tile, round(tile * 3 / 4)
    else:
        cw, ch = min(w, round(h * 3 / 4)), min(h, round(w * 4 / 3))
        out_w, out_h = round(tile * 3 / 4), tile
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = image[:, top:top + ch, left:left + cw].float().unsqueeze(0)
    out = F.interpolate(crop, size=(out_h, out_w), mode="bilinear", antialias=True,
                        align_corners=False)
    return out.clamp(0, 1)


def _to_pil(x: torch.Tensor) -> Image.Image:
    arr = (x.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy() * 255).round()
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def _fmt(param: object) -> str:
    if isinstance(param, tuple):
        return "+" + "/-".join(_fmt(p) for p in param)
    if isinstance(param, float):
        return f"{param:g}"
    return str(param)


def make_sheet(image: torch.Tensor, out_path: str | os.PathLike,
               generator: torch.Generator | None = None, tile: int = 256,
               reference: bool = True) -> Path:
    """Draw every distortion type at every level on ``image`` and save a PNG.

    The image is centre-cropped to 4:3 and resized to ``tile`` pixels wide first; the
    distortions are applied at that size (so pixel-sized ones, such as blur and noise,
    look as they would on an image of that size).

    Args:
        image: ``(3, H, W)`` floating-point tensor in ``[0, 1]``.
        out_path: where to write the PNG (parent folders are created).
        generator: source of the random draws; default ``torch.Generator().manual_seed(0)``.
        tile: width of one cell in pixels (>= 64).
        reference: add a first column with the undistorted image.

    Returns:
        The path written.

    Raises:
        ValueError: ``image`` is not a ``(3, H, W)`` float tensor, or ``tile < 64``.
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a (3, H, W) tensor, got {shape}")
    if not image.is_floating_point():
        raise ValueError(f"image must be a floating-point tensor in [0, 1], got {image.dtype}")
    if tile < 64:
        raise ValueError(f"tile must be >= 64, got {tile}")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    x = prepare_tile(image, tile)
    th, tw = x.shape[-2:]
    cols = NUM_LEVELS + (1 if reference else 0)
    cell_w, cell_h = tw + _GAP, th + _CAPTION_H + _GAP
    big, small = _font(15), _font(12)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = 12 + max(
        [_LABEL_MIN_W]
        + [probe.textlength(f"{d.kadid_id}. {d.name}", font=big) for d in DISTORTIONS]
        + [probe.textlength(d.param, font=small) for d in DISTORTIONS]
    )
    label_w = int(label_w)
    sheet = Image.new("RGB", (label_w + cols * cell_w, _HEADER_H + len(DISTORTIONS) * cell_h),
                      _BG)
    draw = ImageDraw.Draw(sheet)
    headers = (["reference"] if reference else []) + [f"level {k}" for k in range(1, 6)]
    for j, text in enumerate(headers):
        draw.text((label_w + j * cell_w + 4, 8), text, fill=_FG, font=big)
    ref_pil = _to_pil(x)
    for i, dist in enumerate(DISTORTIONS):
        y0 = _HEADER_H + i * cell_h
        draw.text((6, y0 + 6), f"{dist.kadid_id}. {dist.name}", fill=_FG, font=big)
        draw.text((6, y0 + 28), dist.family, fill=_DIM, font=small)
        draw.text((6, y0 + 44), dist.param, fill=_DIM, font=small)
        if reference:
            sheet.paste(ref_pil, (label_w, y0))
        for k in range(1, NUM_LEVELS + 1):
            out = apply_distortion(x, dist.name, k, generator)
            x0 = label_w + (k - 1 + (1 if reference else 0)) * cell_w
            sheet.paste(_to_pil(out), (x0, y0))
            draw.text((x0 + 2, y0 + th + 2), f"L{k}: {_fmt(dist.levels[k - 1])}",
                      fill=_DIM, font=small)
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, format="PNG")
    return path
