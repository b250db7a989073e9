"""Scored records to report rows: a thumbnail and a quality map per image, as they stream.

Each image's pictures are written as soon as its record arrives and the decoded pixels are
dropped, so a report over thousands of photos holds only the rows (a few hundred bytes
each) in memory. Pictures get numbered names (``thumbs/000042.jpg``), never the photo's
own name, so any file name (``<``, quotes, bytes that are not UTF-8) is safe in a link.
"""

from __future__ import annotations

import io
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from blindiqa.io.atomic import write_bytes_atomic
from blindiqa.models.quality_scale import QualityScale, WindowScale
from blindiqa.scoring.local import ScoreRecord
from blindiqa.scoring.rows import safe_text
from blindiqa.viz.checks import MAP_OPACITY

#: Sub-folders of the report folder holding the pictures.
THUMBS, MAPS = "thumbs", "maps"
#: The names this module gives its pictures (anything else in the folders is left alone).
_PICTURE = re.compile(r"^\d{6,}\.jpg$")


@dataclass(frozen=True)
class ReportRow:
    """One image of the report.

    Attributes:
        index: the position in input order (0-based).
        name: the display name, as text any page can hold (see :func:`display_name`).
        score: the score (lower is better), or None where it failed.
        quality: the 0-100 quality (higher is better), or None where it failed or the
            model has no quality scale.
        error: why it failed, or None.
        thumb: the thumbnail, relative to the report folder (posix), or None.
        map: the quality-map picture (the photo with its map beside it), relative to the
            report folder (posix), or None.
        original: a link to the original file from the report folder (a relative URL,
            percent-encoded), or None where there is none.
        width, height: the image's size in pixels as viewed, or None.
        burst: the burst it belongs to (1, 2, ... in shooting order; see
            :mod:`blindiqa.bursts`), or None where the report groups no bursts.
        burst_size: how many shots that burst holds, or None.
        burst_best: whether it is the best shot of its burst.
        reasons: each family's estimated distortion strength (0-5) as ``(family,
            strength)`` pairs, or None where the report was made without ``--reasons``
            (or the image failed).
    """

    index: int
    name: str
    score: float | None = None
    quality: float | None = None
    error: str | None = None
    thumb: str | None = None
    map: str | None = None
    original: str | None = None
    width: int | None = None
    height: int | None = None
    burst: int | None = None
    burst_size: int | None = None
    burst_best: bool = False
    reasons: tuple[tuple[str, float], ...] | None = None


def display_name(text: str) -> str:
    """``text`` as valid Unicode: bytes of a file name that is not UTF-8 (which reach
    Python as surrogate escapes) are written ``\\xNN``, as in the score files."""
    return safe_text(text)


def _save_jpeg(image: Image.Image, target: Path, quality: int) -> None:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=True)
    write_bytes_atomic(target, buf.getvalue())


def make_row(rec: ScoreRecord, index: int, out_dir: Path, *, scale: QualityScale | None = None,
             window_scale: WindowScale | None = None, map_opacity: float = MAP_OPACITY,
             thumb_side: int = 256) -> ReportRow:
    """The row of one record, writing its thumbnail and quality map into ``out_dir``.

    The map picture shows the plain photo on the left and the map over it on the right,
    so the map never hides the photo.

    Args:
        rec: a record from :func:`blindiqa.scoring.score_files` with ``with_maps=True``.
        index: its position in input order (names its pictures).
        out_dir: the report folder.
        scale: the model's quality scale (the title's quality; the map's colours where
            there is no window scale), if any.
        window_scale: the model's window scale (the map's colours), if any.
        map_opacity: the map's opacity over the photo, 0 to 1.
        thumb_side: the thumbnail's longer side in pixels.
    """
    thumb = qmap = None
    if rec.error is None and rec.image is not None:
        from blindiqa.viz import render_quality_map, tensor_to_pil

        picture = tensor_to_pil(rec.image)
        picture.thumbnail((thumb_side, thumb_side), Image.LANCZOS)
        thumb = f"{THUMBS}/{index:06d}.jpg"
        _save_jpeg(picture, out_dir / thumb, quality=85)
        if rec.quality_map is not None:
            qmap = f"{MAPS}/{index:06d}.jpg"
            drawing = render_quality_map(rec.image, rec.quality_map, score=rec.score,
                                         alpha=map_opacity, scale=scale,
                                         window_scale=window_scale, beside=True)
            _save_jpeg(drawing, out_dir / qmap, quality=90)
    return ReportRow(index=index, name=display_name(rec.name), score=rec.score,
                     quality=rec.quality, error=None if rec.error is None
                     else display_name(rec.error), thumb=thumb, map=qmap,
                     original=original_link(rec.path, out_dir),
                     width=rec.width, height=rec.height,
                     reasons=None if rec.reasons is None else tuple(rec.reasons.items()))


def original_link(path: str | os.PathLike, out_dir: str | os.PathLike) -> str | None:
    """A relative URL from the report folder to the original file (percent-encoded, so
    a name with spaces, ``#`` or ``?`` links right), or None where there is none (e.g.
    on another drive)."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir))
    except ValueError:
        return None
    # the bytes of a name that is not UTF-8 (surrogate escapes) are percent-encoded as
    # they are on disk, so the link still finds the file
    return urllib.parse.quote(rel.replace(os.sep, "/"), safe="/", errors="surrogateescape")


def collect_rows(records: Iterable[ScoreRecord], out_dir: str | os.PathLike, *,
                 scale: QualityScale | None = None, window_scale: WindowScale | None = None,
                 map_opacity: float = MAP_OPACITY, thumb_side: int = 256,
                 on_row: Callable[[ReportRow], None] | None = None) -> list[ReportRow]:
    """Rows of all records in input order, writing the pictures as the records stream.

    Pictures of an earlier report in the same folder that this one does not use are
    removed, so the folder holds exactly what the page shows.

    Args:
        records: scored records (with maps), consumed lazily.
        out_dir: the report folder (created when missing).
        scale: the model's quality scale, if any.
        window_scale: the model's window scale (the maps' colours), if any.
        map_opacity: the maps' opacity over the photo, 0 to 1.
        thumb_side: the thumbnail's longer side in pixels.
        on_row: called after each row (progress).
    """
    out = Path(out_dir)
    for sub in (THUMBS, MAPS):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rows: list[ReportRow] = []
    for index, rec in enumerate(records):
        row = make_row(rec, index, out, scale=scale, window_scale=window_scale,
                       map_opacity=map_opacity, thumb_side=thumb_side)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    _remove_stale(out, {p for r in rows for p in (r.thumb, r.map) if p})
    return rows


def _remove_stale(out: Path, used: set[str]) -> None:
    for sub in (THUMBS, MAPS):
        for entry in (out / sub).iterdir():
            if _PICTURE.match(entry.name) and f"{sub}/{entry.name}" not in used:
                entry.unlink()
