"""The output side of a scoring run, beside its row files (:mod:`~blindiqa.scoring.rows`):
whether the outputs may be written, the rows of score records, the quality maps' layout
and the tally behind the final summary line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from blindiqa.io.atomic import atomic_write
from blindiqa.scoring.rows import OUT_EXTENSIONS, Row, RowWriter, reason_cells
from blindiqa.scoring.sidecar import (
    Provenance,
    SidecarError,
    describe,
    differences,
    read_sidecar,
    sidecar_path,
)

if TYPE_CHECKING:
    from PIL import Image

    from blindiqa.scoring.local import ScoreRecord

__all__ = ["RecordWriter", "Tally", "check_outputs", "map_path", "record_row",
           "resume_problem", "save_png"]

#: How a ``..`` in an image's display name is written in its ``--maps`` file path.
UP = "__"


def check_outputs(out: str | None, maps: str | None, overwrite: bool,
                  resume: bool = False) -> str | None:
    """Why the outputs may not be written (None where they may).

    Args:
        out: the row file (``--out``).
        maps: the folder of quality maps (``--maps``).
        overwrite: an existing ``out`` may be replaced, a non-empty ``maps`` written into.
        resume: an existing ``out`` is appended to.
    """
    if out:
        p = Path(out)
        if p.is_dir():
            return f"--out {out} is a directory; give a file name (.csv or .jsonl)"
        if p.suffix.lower() not in OUT_EXTENSIONS:
            return (f"--out {out}: unknown file type {p.suffix or '(no extension)'}; the "
                    f"extension must be one of {', '.join(OUT_EXTENSIONS)}")
        if p.exists() and not overwrite and not resume:
            return f"--out {out} exists; give --overwrite to replace it"
    if maps:
        m = Path(maps)
        if m.exists() and not m.is_dir():
            return f"--maps {maps} exists and is not a directory"
        if m.is_dir() and not overwrite and not resume and any(m.iterdir()):
            return f"--maps {maps} is not empty; give --overwrite to write into it"
    return None


def resume_problem(out: str | os.PathLike, prov: Provenance) -> str | None:
    """Why ``prov``'s run may not append to the rows in ``out`` (None where it may).

    The sidecar of ``out`` must name the same model, bundle, version, ``max_side`` and
    shard; a file without a sidecar (written before sidecars existed) is appended to with
    a warning, as nothing says what made its rows.
    """
    try:
        before = read_sidecar(out)
    except SidecarError as exc:
        return str(exc)
    if before is None:
        print(f"blindiqa: warning: {out} has no sidecar ({sidecar_path(out).name}): "
              "cannot check that the same model made its rows", file=sys.stderr)
        return None
    fields = differences(before, prov) + (["shard"] if before.shard != prov.shard else [])
    if not fields:
        return None
    said = ", ".join(f"{f} {describe(before, f)} (this run: {describe(prov, f)})"
                     for f in fields)
    return (f"{sidecar_path(out)} says another run made the rows of {out}: {said}; resume "
            "with the same model and options, or score into a new --out")


def record_row(rec: ScoreRecord) -> Row:
    """The output row of a score record."""
    return Row(rec.name, rec.score, rec.quality, rec.error, rec.width, rec.height,
               reason_cells(rec.reasons))


class RecordWriter(RowWriter):
    """:class:`~blindiqa.scoring.rows.RowWriter` taking score records."""

    def write(self, rec: ScoreRecord) -> None:  # type: ignore[override]
        super().write(record_row(rec))


def map_path(maps_dir: Path, rec: ScoreRecord, base: str = "") -> Path:
    """Where the quality map of ``rec`` goes: inside ``maps_dir``, whatever its name.

    The display name relative to ``base`` (the folder the layout mirrors,
    :attr:`Inputs.maps_base <blindiqa.scoring.inputs.Inputs>`: one folder gives
    ``photos/x.jpg -> MAPS/x.jpg.png``, ``dupA`` and ``dupB`` give ``MAPS/dupA/x.jpg.png``
    and ``MAPS/dupB/x.jpg.png``), with a leading root dropped and each ``..`` written
    ``__``, so that no name leads out of ``maps_dir`` and two images with distinct names
    get distinct maps.
    """
    rel = PurePosixPath(rec.name)
    if base and rel.is_relative_to(base):  # else (a name typed another way): keep it whole
        rel = rel.relative_to(base)
    parts = [UP if part == ".." else part for part in rel.parts if part != rel.anchor]
    *folders, name = parts or [rec.path.name]
    return maps_dir.joinpath(*folders, f"{name}.png")


def save_png(image: Image.Image, target: Path) -> None:
    """Save a PIL image as PNG via a temporary file renamed into place (its folders made)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target, "wb") as fh:
        image.save(fh, format="PNG")


class Tally:
    """Counts and the mean score and quality of the rows of a run (with ``--resume``,
    of the rows already in the output as well)."""

    def __init__(self) -> None:
        self.ok = self.bad = 0
        self.total = self.quality = 0.0
        self.n_quality = 0
        self.before = 0  # rows already in the output when the run started (--resume) ...
        self.before_ok = self.before_bad = 0  # ... scored and failed

    def add(self, score: float | None, quality: float | None = None) -> None:
        """Count one row (``score`` None: a failed one)."""
        if score is None:
            self.bad += 1
            return
        self.ok += 1
        self.total += score
        if quality is not None:
            self.quality += quality
            self.n_quality += 1

    def add_previous(self, rows: Sequence[Row]) -> None:
        """Count the rows an earlier run left in the output (``--resume``)."""
        for row in rows:
            self.add(row.score, row.quality)
        self.before += len(rows)
        self.before_ok, self.before_bad = self.ok, self.bad

    @property
    def rows(self) -> int:
        """Every row counted, scored or failed, earlier runs' included."""
        return self.ok + self.bad

    def summary(self, model: str, out: str | None = None, resume: bool = False) -> str:
        """The final line: this run's counts (and, with ``resume``, how many rows ``out``
        already held), then the means over every row of the output."""
        mean = f"{self.total / self.ok:.4f}" if self.ok else "n/a"
        quality = (f", mean quality {self.quality / self.n_quality:.1f}/100"
                   if self.n_quality else "")
        means = f"mean score {mean}{quality} (model {model}; lower score is better)"
        if not resume:
            return f"scored {self.ok}, failed {self.bad}, {means}"
        ok, bad = self.ok - self.before_ok, self.bad - self.before_bad
        return (f"scored {ok}, failed {bad}, {self.before} already in {out}; over all "
                f"{self.rows} rows: {means}")
