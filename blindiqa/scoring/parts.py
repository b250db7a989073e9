"""A folder of result parts: rows written to ``part-00000.parquet``, ``part-00001.parquet``
... (or ``.csv``), a new part every ``rows_per_part`` rows, each with its sidecar.

This is how ``blindiqa score --engine ray`` writes its ``--out`` folder: one part for
up to :data:`DEFAULT_ROWS_PER_PART` rows, so that a few hundred photos make one file.
Each part appears whole (written to a temporary file and renamed), with its sidecar
(``part-00000.parquet.json``, :mod:`blindiqa.scoring.sidecar`) written after it, so that
``blindiqa merge DIR/*.parquet`` checks that one model made every row.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from blindiqa.scoring.parquet_rows import write_parquet_rows
from blindiqa.scoring.rows import Row, RowWriter
from blindiqa.scoring.sidecar import Provenance, sidecar_path, write_sidecar

__all__ = ["DEFAULT_ROWS_PER_PART", "PART_FORMATS", "PartWriter", "part_files"]

#: Rows per part unless told otherwise.
DEFAULT_ROWS_PER_PART = 100_000
#: The formats a part can have (its extension without the dot).
PART_FORMATS: tuple[str, ...] = ("parquet", "csv")


def part_files(folder: str | os.PathLike) -> list[Path]:
    """The parts in ``folder`` (any format) and their sidecars, sorted by name."""
    suffixes = tuple(f".{f}" for f in PART_FORMATS)
    return sorted(p for p in Path(folder).iterdir()
                  if p.name.endswith(suffixes)
                  or p.name.endswith(tuple(s + ".json" for s in suffixes)))


def clear_parts(folder: str | os.PathLike) -> None:
    """Remove the result parts (and their sidecars) an earlier run left in ``folder``
    (none where it does not exist)."""
    if not Path(folder).is_dir():
        return
    for part in part_files(folder):
        part.unlink() if part.is_file() else shutil.rmtree(part)


class PartWriter:
    """Rows into numbered parts in a folder.

    Args:
        folder: where the parts go (created when missing).
        fmt: ``"parquet"`` or ``"csv"`` (the blindiqa CSV of ``blindiqa score --out``).
        rows_per_part: rows per part; the last part has the rest.
        prefix: the parts' name before the number.

    Attributes:
        provenance: written as each part's sidecar when set (before the part is
            written; None writes none).
        written: the parts written so far.

    Raises:
        ValueError: an unknown format or ``rows_per_part`` below 1.
    """

    def __init__(self, folder: str | os.PathLike, fmt: str = "parquet", *,
                 rows_per_part: int = DEFAULT_ROWS_PER_PART, prefix: str = "part") -> None:
        if fmt not in PART_FORMATS:
            raise ValueError(f"unknown part format {fmt!r}; use one of "
                             f"{', '.join(PART_FORMATS)}")
        if rows_per_part < 1:
            raise ValueError(f"rows_per_part must be at least 1, got {rows_per_part}")
        self.folder, self.fmt, self.prefix = Path(folder), fmt, prefix
        self.rows_per_part = rows_per_part
        self.provenance: Provenance | None = None
        self.written: list[Path] = []
        self._rows: list[Row] = []

    def write(self, row: Row) -> None:
        """Add one row; a part is written once it holds ``rows_per_part`` rows."""
        self._rows.append(row)
        if len(self._rows) >= self.rows_per_part:
            self._flush()

    def _flush(self) -> None:
        rows, self._rows = self._rows, []
        target = self.folder / f"{self.prefix}-{len(self.written):05d}.{self.fmt}"
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.fmt == "parquet":
            write_parquet_rows(target, rows)
        else:
            RowWriter(target).write_all(rows)
        if self.provenance is not None:
            write_sidecar(target, self.provenance)
        else:  # a sidecar left from an earlier run would lie about these rows
            sidecar_path(target).unlink(missing_ok=True)
        self.written.append(target)

    def close(self) -> list[Path]:
        """Write the last part (if any row is left); returns every part written."""
        if self._rows:
            self._flush()
        return list(self.written)
