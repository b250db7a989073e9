"""A static HTML report of scored photos (``blindiqa report``).

The report folder holds ``index.html`` (self-contained: inline CSS, JS and SVG, no
network), ``scores.csv`` (the rows ``blindiqa score`` would write), ``thumbs/`` (a small
JPEG per image) and ``maps/`` (its quality map as JPEG), linked by relative paths so the
page opens from disk (``file://``); each card also links to its original file. Pictures are files
rather than base64 in the page so that a report over thousands of photos stays a page the
browser parses quickly, loading thumbnails lazily as they scroll into view.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from blindiqa.bursts import best_of_bursts, burst_sizes, goodness
from blindiqa.io.atomic import write_text_atomic
from blindiqa.models.quality_scale import QualityScale, WindowScale
from blindiqa.report.collect import ReportRow, collect_rows
from blindiqa.report.html import EXTREMES, SCORES_CSV, render_page
from blindiqa.scoring.local import ScoreRecord
from blindiqa.scoring.rows import (
    COLUMNS,
    REASONS_FILE_COLUMNS,
    Row,
    format_header,
    format_row,
    reason_cells,
)
from blindiqa.viz.checks import MAP_OPACITY, check_map_opacity

__all__ = ["ReportRow", "scale_note", "with_bursts", "write_report"]


def scale_note(scale: QualityScale | None) -> str | None:
    """What a quality scale's reference photos are, for the page (None without a scale)."""
    if scale is None:
        return None
    return f"{scale.count} photos: {scale.corpus}"


def write_report(records: Iterable[ScoreRecord], out_dir: str | os.PathLike, *,
                 model_name: str, scale: QualityScale | None = None,
                 window_scale: WindowScale | None = None, map_opacity: float = MAP_OPACITY,
                 title: str = "blindiqa report", n_extremes: int = EXTREMES,
                 thumb_side: int = 256, bursts: Sequence[int] | None = None,
                 on_row: Callable[[ReportRow], None] | None = None) -> list[ReportRow]:
    """Write the report of ``records`` into ``out_dir``.

    The pictures are written as the records stream; ``index.html`` last (atomically), so
    an interrupted run leaves no page pointing at missing pictures.

    Args:
        records: from :func:`blindiqa.scoring.score_files` with ``with_maps=True``.
        out_dir: the report folder (created when missing).
        model_name: the model that scored them (shown on the page).
        scale: the model's quality scale, or None.
        window_scale: the model's window scale (the maps' colours), or None.
        map_opacity: the maps' opacity over the photo (0 to 1); each map is drawn beside
            its plain photo.
        title: the page's title.
        n_extremes: how many worst and best images to list apart.
        thumb_side: the thumbnails' longer side in pixels.
        bursts: each record's burst (:func:`blindiqa.bursts.group_files`, in input
            order), or None: the cards then show their burst, and the best of each
            (highest quality, else lowest score) is marked.
        on_row: called after each image (progress).

    Returns:
        The rows, in input order.

    Raises:
        ValueError: ``bursts`` does not hold one burst per record.
    """
    check_map_opacity(map_opacity)  # before any picture is written
    rows = collect_rows(records, out_dir, scale=scale, window_scale=window_scale,
                        map_opacity=map_opacity, thumb_side=thumb_side, on_row=on_row)
    if bursts is not None:
        rows = with_bursts(rows, bursts)
    columns = REASONS_FILE_COLUMNS if any(r.reasons for r in rows) else COLUMNS
    table = format_header(False, columns) + "".join(
        format_row(Row(r.name, r.score, r.quality, r.error, r.width, r.height,
                       reason_cells(r.reasons)),
                   False, columns=columns)
        for r in rows)
    write_text_atomic(Path(out_dir) / SCORES_CSV, table)
    page = render_page(rows, model_name=model_name, scale_note=scale_note(scale), title=title,
                       n_extremes=n_extremes)
    write_text_atomic(Path(out_dir) / "index.html", page)
    return rows


def with_bursts(rows: Sequence[ReportRow], bursts: Sequence[int]) -> list[ReportRow]:
    """The rows with their burst, its size and whether each is the best of it.

    Raises:
        ValueError: not one burst per row.
    """
    if len(bursts) != len(rows):
        raise ValueError(f"{len(rows)} report rows but {len(bursts)} bursts")
    best = best_of_bursts(bursts, goodness(rows))
    return [dataclasses.replace(r, burst=b, burst_size=n, burst_best=top)
            for r, b, n, top in zip(rows, bursts, burst_sizes(bursts), best, strict=True)]
