"""The training log: one CSV row per optimisation step."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from blindiqa.io.atomic import atomic_write

#: Columns of ``log.csv``.
LOG_FIELDS: tuple[str, ...] = ("step", "epoch", "loss", "lr", "crops_per_s", "data_s",
                               "step_s")


def read_log(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a CSV log (empty when the file does not exist)."""
    p = Path(path)
    if not p.is_file():
        return []
    with p.open(newline="") as f:
        return list(csv.DictReader(f))


def truncate_log(path: str | os.PathLike, last_step: int) -> None:
    """Drop the rows after ``last_step`` (steps a killed run logged past its checkpoint)."""
    p = Path(path)
    if not p.is_file():
        return
    with p.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or list(LOG_FIELDS)
        rows = [r for r in reader if int(r["step"]) <= last_step]
    with atomic_write(p, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


class CsvLog:
    """Append rows to a CSV file, flushing each one (a killed run keeps its log).

    Args:
        path: the file; a header is written when it is new or empty.
        fields: the columns.
    """

    def __init__(self, path: str | os.PathLike, fields: Sequence[str] = LOG_FIELDS) -> None:
        self.path = Path(path)
        self.fields = tuple(fields)
        new = not self.path.is_file() or self.path.stat().st_size == 0
        self._file = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=self.fields)
        if new:
            self._writer.writeheader()
            self._file.flush()

    def write(self, **row: Any) -> None:
        """Append one row (floats with 6 significant digits)."""
        self._writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                               for k, v in row.items()})
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
