"""Drawing local quality maps over images with Pillow (no plotting library needed).

A map is coloured on a *fixed* scale, so the same local value gets the same colour in
every map drawn on that scale:

* with a :class:`~blindiqa.models.quality_scale.WindowScale` (``model.window_scale``):
  by local quality, 0-100 (100 x the share of the reference corpus's *windows* whose
  distance is worse than the window's; 100 = best);
* with a :class:`~blindiqa.models.quality_scale.QualityScale` only: by the photo scale
  (100 x the share of the model's reference *photos* whose score is worse than the
  window's distance; windows spread wider than photo scores, so many land at 0 or 100);
* with ``map_range=(lo, hi)``: by distance on that range (values outside are clipped);
  it wins over both scales;
* with none of them: by distance from the image's own smallest to its largest value; the
  legend then says that colours cannot be compared between maps.

The colour map runs from dark blue (best) through teal and yellow to red (worst) in
every mode. The legend under the map says what the colour means. The map is laid over
the photo at an opacity of the caller's choice, or drawn beside the plain photo
(``beside=True``) so that it never hides it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from blindiqa.viz.checks import (  # noqa: F401 (re-exported: their old home)
    MAP_OPACITY,
    check_map_opacity,
    check_map_range,
    parse_map_range,
)

if TYPE_CHECKING:
    from blindiqa.models.quality_scale import QualityScale, WindowScale

# Anchor colours of a dark-to-bright sequential map (good = dark blue, bad = yellow/red).
_ANCHORS = np.array([
    [0.05, 0.05, 0.35],
    [0.10, 0.40, 0.75],
    [0.15, 0.70, 0.60],
    [0.95, 0.85, 0.20],
    [0.90, 0.20, 0.10],
])

#: Legend of a map coloured on a quality scale.
QUALITY_LEGEND = "local quality (0-100, share of reference photos scoring worse; 100 = best)"
#: Legend of a map coloured on a window scale.
WINDOW_LEGEND = ("local quality (0-100, share of the reference corpus's windows that are "
                 "worse; 100 = best)")
_COLOURS = "dark blue = best, red = worst"
_NAN_GREY = (128, 128, 128)
#: White pixels between the photo and its map when drawn side by side.
_GAP = 8


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (0 = best, 1 = worst) to RGB uint8 by piecewise-linear
    interpolation of the anchors (NaN counts as 0)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    v = np.clip(v, 0, 1) * (len(_ANCHORS) - 1)
    lo = np.floor(v).astype(int).clip(0, len(_ANCHORS) - 2)
    t = (v - lo)[..., None]
    rgb = _ANCHORS[lo] * (1 - t) + _ANCHORS[lo + 1] * t
    return (rgb * 255 + 0.5).astype(np.uint8)


def load_font(size: int) -> ImageFont.ImageFont:
    """Pillow's default font at ``size`` pixels (its fixed-size bitmap font before
    Pillow 10.1)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


#: Old private name, kept for :mod:`blindiqa.cli.demo` until it imports ``load_font``.
_font = load_font


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """A ``(3, H, W)`` tensor in [0, 1] as an RGB PIL image."""
    arr = (image.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(arr)


@dataclass(frozen=True)
class MapColouring:
    """How a map's values become colours.

    Attributes:
        badness: ``(rows, cols)`` float64 in [0, 1] (0 = best colour, 1 = worst); NaN
            where the map has no value.
        legend: what the colour means (one or more lines).
        ticks: ``(position, label)`` pairs for the colour bar, position 0 at the bottom
            and 1 at the top; the larger number is at the top.
        worst_at_top: True where the top of the colour bar is the worst colour.
    """

    badness: np.ndarray
    legend: str
    ticks: list[tuple[float, str]]
    worst_at_top: bool


def map_legend(scale: QualityScale | None = None,
               map_range: Sequence[float] | None = None,
               window_scale: WindowScale | None = None) -> str:
    """The legend of a map coloured with ``scale`` / ``map_range`` / ``window_scale``
    (see :func:`map_colouring`)."""
    if map_range is not None:
        lo, hi = check_map_range(map_range)
        return (f"local distance to pristine, fixed range {lo:.4g} to {hi:.4g} (lower is "
                f"better; values outside are clipped); {_COLOURS}")
    if window_scale is not None:
        return (f"{WINDOW_LEGEND}; {_COLOURS}\n"
                f"scale: {window_scale.windows:,} windows of {window_scale.photos} "
                f"reference photos ({window_scale.corpus})")
    if scale is not None:
        return (f"{QUALITY_LEGEND}; {_COLOURS}\n"
                f"scale: {scale.count} reference photos ({scale.corpus})")
    return ("local distance to pristine (lower is better), from this image's lowest to its "
            f"highest value; {_COLOURS}\nno fixed scale: colours cannot be compared "
            "between maps")


def _as_array(qmap: Any) -> np.ndarray:
    if isinstance(qmap, torch.Tensor):
        qmap = qmap.detach().cpu()
    arr = np.asarray(qmap, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"a quality map is a non-empty 2-D grid, got shape {arr.shape}")
    return arr


def map_colouring(qmap: Any, *, scale: QualityScale | None = None,
                  map_range: Sequence[float] | None = None,
                  window_scale: WindowScale | None = None) -> MapColouring:
    """Colour positions of a map's values on a fixed scale.

    ``map_range`` wins over ``window_scale``, which wins over ``scale``; with none of
    them, the image's own range is used.

    Args:
        qmap: ``(rows, cols)`` distances (array or tensor), NaN where undefined.
        scale: the model's photo quality scale: colour by the quality a *photo* at each
            window's distance would get (used where there is no ``window_scale``).
        map_range: ``(lo, hi)``: colour by distance on this fixed range.
        window_scale: the model's window scale: colour by local quality 0-100 among the
            reference corpus's windows.

    Raises:
        ValueError: ``qmap`` is not a 2-D grid, or ``map_range`` is invalid.
    """
    d = _as_array(qmap)
    legend = map_legend(scale, map_range, window_scale)
    local = window_scale if window_scale is not None else scale
    if map_range is not None:
        lo, hi = check_map_range(map_range)
    elif local is not None:
        quality = np.asarray(local(d), dtype=np.float64)
        ticks = [(q / 100, f"{q:.0f}" + {0: " worst", 100: " best"}.get(q, ""))
                 for q in (0, 25, 50, 75, 100)]
        return MapColouring(1.0 - quality / 100.0, legend, ticks, worst_at_top=False)
    else:
        finite = d[np.isfinite(d)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        badness = np.clip((d - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(d)
    badness = np.where(np.isnan(d), np.nan, badness)
    ticks = [(t, f"{lo + t * (hi - lo):.4g}" + {0: " better", 1: " worse"}.get(t, ""))
             for t in (0, 0.25, 0.5, 0.75, 1)]
    return MapColouring(badness, legend, ticks, worst_at_top=True)


def cell_colours(qmap: Any, *, scale: QualityScale | None = None,
                 map_range: Sequence[float] | None = None,
                 window_scale: WindowScale | None = None) -> np.ndarray:
    """The RGB colour (uint8, ``(rows, cols, 3)``) of each map cell, as
    :func:`render_quality_map` draws it at the cell centre; undefined cells are grey."""
    badness = map_colouring(qmap, scale=scale, map_range=map_range,
                            window_scale=window_scale).badness
    rgb = colormap(badness)
    rgb[np.isnan(badness)] = _NAN_GREY
    return rgb


def quality_text(quality: float) -> str:
    """A 0-100 quality with one decimal, rounded down: a quality below 100 never reads
    100 (99.56 is ``99.5``), one above 0 may read ``0.0``; NaN reads ``nan``.

    Args:
        quality: the quality.
    """
    if not math.isfinite(quality):
        return f"{quality:.1f}"
    # round() first so that 2.3 (22.999... tenths in binary) stays 2.3, not 2.2
    tenths = math.floor(round(quality * 10, 6)) / 10
    if quality < 100:
        tenths = min(tenths, 99.9)
    return f"{tenths:.1f}"


def render_quality_map(image: torch.Tensor, qmap: Any, score: float | None = None,
                       max_side: int = 768, alpha: float = MAP_OPACITY, *,
                       scale: QualityScale | None = None,
                       map_range: tuple[float, float] | None = None,
                       window_scale: WindowScale | None = None,
                       beside: bool = False) -> Image.Image:
    """The image with its local distances laid over it, a colour bar and a legend.

    The map's cells are spread evenly over the image and interpolated between cell
    centres, so the colour at a pixel is the quality of the windows around it. Colours
    are on a fixed scale (see :mod:`blindiqa.viz.maps`): by distance on ``map_range``
    where that is given, else by local quality on ``window_scale`` (the corpus's
    windows), else on ``scale`` (the corpus's photos), else on the image's own range
    (old behaviour; the legend says so). Cells with no value (NaN) are grey.

    Args:
        image: ``(3, H, W)`` in [0, 1].
        qmap: ``(rows, cols)`` distances on the window grid (array or tensor).
        score: the image's score, written in the title (with its quality where
            ``scale`` is given).
        max_side: the photo (and the map) is scaled so that its longer side is at most
            this.
        alpha: opacity of the map over the photo, 0 (photo only) to 1 (map only).
        scale: the model's quality scale (``model.quality_scale``), or None.
        map_range: ``(lo, hi)``, a fixed distance range for the colours, or None.
        window_scale: the model's window scale (``model.window_scale``), or None.
        beside: draw the plain photo on the left and the map (over the photo at
            ``alpha``) on the right, instead of the map over the photo alone.

    Raises:
        ValueError: ``map_range`` or ``alpha`` is invalid or ``qmap`` is not a 2-D grid.
    """
    alpha = check_map_opacity(alpha)
    col = map_colouring(qmap, scale=scale, map_range=map_range, window_scale=window_scale)
    base = tensor_to_pil(image)
    w, h = base.size
    shrink = min(1.0, max_side / max(w, h))
    if shrink < 1:
        w, h = max(1, round(w * shrink)), max(1, round(h * shrink))
        base = base.resize((w, h), Image.LANCZOS)
    missing = np.isnan(col.badness)
    filled = np.where(missing, 0.0, col.badness).astype(np.float32)
    field = Image.fromarray(filled, mode="F").resize((w, h), Image.BILINEAR)
    overlay = Image.fromarray(colormap(np.asarray(field)))
    if missing.any():
        mask = Image.fromarray((missing * 255).astype(np.uint8)).resize((w, h), Image.NEAREST)
        overlay.paste(_NAN_GREY, mask=mask)
    local = map_range is None and (scale is not None or window_scale is not None)
    title = "local quality" if local else "local distance to pristine"
    if score is not None:
        head = f"score {score:.4g} (lower is better)"
        if scale is not None and math.isfinite(score):
            head += f", quality {quality_text(float(scale(score)))}/100"
        title = f"{head} - {title}"
    drawn = Image.blend(base, overlay, alpha)
    if beside:
        pair = Image.new("RGB", (2 * w + _GAP, h), "white")
        pair.paste(base, (0, 0))
        pair.paste(drawn, (w + _GAP, 0))
        drawn = pair
        title = f"{title} (left: the photo, right: its map)"
    return _with_bar_and_legend(drawn, col, title)


def _with_bar_and_legend(img: Image.Image, col: MapColouring, title: str) -> Image.Image:
    w, h = img.size
    bar_w, label_w, cap, line = 18, 90, 28, 15
    small, big = load_font(12), load_font(14)
    legend = col.legend.splitlines()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max([probe.textlength(s, font=small) for s in legend]
                 + [probe.textlength(title, font=big)])
    width = max(w + bar_w + label_w + 10, int(text_w) + 10)
    canvas = Image.new("RGB", (width, cap + h + 6 + line * len(legend)), "white")
    canvas.paste(img, (0, cap))
    top_to_bottom = np.linspace(1, 0, h) if col.worst_at_top else np.linspace(0, 1, h)
    grad = colormap(top_to_bottom)[:, None, :].repeat(bar_w, axis=1)
    canvas.paste(Image.fromarray(grad), (w + 8, cap))
    d = ImageDraw.Draw(canvas)
    for pos, label in col.ticks:  # position 0 = bottom of the bar
        y = cap + round((1 - pos) * (h - 1))
        d.line([(w + 8 + bar_w, y), (w + 8 + bar_w + 3, y)], fill="black")
        d.text((w + bar_w + 14, min(max(cap, y - 7), cap + h - 14)), label, fill="black",
               font=small)
    d.text((4, 6), title, fill="black", font=big)
    for i, s in enumerate(legend):
        d.text((4, cap + h + 4 + i * line), s, fill="black", font=small)
    return canvas
