"""Drawing local quality maps over images with Pillow (no plotting library needed)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

# Anchor colours of a dark-to-bright sequential map (good = dark blue, bad = yellow/red).
_ANCHORS = np.array([
    [0.05, 0.05, 0.35],
    [0.10, 0.40, 0.75],
    [0.15, 0.70, 0.60],
    [0.95, 0.85, 0.20],
    [0.90, 0.20, 0.10],
])


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 by piecewise-linear interpolation of the anchors."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0, 1) * (len(_ANCHORS) - 1)
    lo = np.floor(v).astype(int).clip(0, len(_ANCHORS) - 2)
    t = (v - lo)[..., None]
    rgb = _ANCHORS[lo] * (1 - t) + _ANCHORS[lo + 1] * t
    return (rgb * 255 + 0.5).astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """A ``(3, H, W)`` tensor in [0, 1] as an RGB PIL image."""
    arr = (image.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(arr)


def render_quality_map(image: torch.Tensor, qmap: np.ndarray, score: float | None = None,
                       max_side: int = 768, alpha: float = 0.5) -> Image.Image:
    """The image with its per-patch distances laid over it, and a colour bar.

    The map's cells are spread evenly over the image and interpolated between cell
    centres, so the colour at a pixel is the quality of the patches around it. The colour
    bar runs from the image's smallest distance (best) to its largest (worst).

    Args:
        image: ``(3, H, W)`` in [0, 1].
        qmap: ``(rows, cols)`` distances on the patch grid.
        score: the image's score, written in the caption.
        max_side: the drawing is scaled so that its longer side is at most this.
        alpha: opacity of the map.
    """
    base = tensor_to_pil(image)
    w, h = base.size
    scale = min(1.0, max_side / max(w, h))
    if scale < 1:
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
        base = base.resize((w, h), Image.LANCZOS)
    qmap = np.asarray(qmap, dtype=np.float64)
    lo, hi = float(np.min(qmap)), float(np.max(qmap))
    norm = (qmap - lo) / (hi - lo) if hi > lo else np.zeros_like(qmap)
    field = Image.fromarray(norm.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR)
    overlay = Image.fromarray(colormap(np.asarray(field)))
    return _with_colour_bar(Image.blend(base, overlay, alpha), lo, hi, score)


def _with_colour_bar(img: Image.Image, lo: float, hi: float, score: float | None) -> Image.Image:
    w, h = img.size
    bar_w, pad, cap = 18, 90, 28
    canvas = Image.new("RGB", (w + bar_w + pad + 10, h + cap), "white")
    canvas.paste(img, (0, cap))
    grad = colormap(np.linspace(1, 0, h))[:, None, :].repeat(bar_w, axis=1)
    canvas.paste(Image.fromarray(grad), (w + 8, cap))
    d = ImageDraw.Draw(canvas)
    f = _font(12)
    d.text((w + bar_w + 12, cap), f"{hi:.5g} worse", fill="black", font=f)
    d.text((w + bar_w + 12, cap + h - 14), f"{lo:.5g} better", fill="black", font=f)
    title = "local distance to pristine"
    if score is not None:
        title = f"score {score:.4g} (lower is better) - {title}"
    d.text((4, 6), title, fill="black", font=_font(14))
    return canvas
