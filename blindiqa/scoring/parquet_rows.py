"""Result rows in Parquet: the parts ``blindiqa score --engine ray`` writes, which
``blindiqa merge`` reads beside CSV and JSON lines.

A Parquet row file has the columns of :data:`~blindiqa.scoring.rows.COLUMNS` (``path`` and
``error`` strings, ``score`` and ``quality`` doubles, ``width`` and ``height`` 64-bit
integers, any of them null except ``path``). Parts written before ``width`` and
``height`` existed have only the first four columns; they are read with both null.
``quality`` is stored rounded to 2 decimals, as the text row files write it.

pyarrow is an optional dependency (part of ``pip install "blindiqa[ray]"``); it is
imported only when these functions run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blindiqa.io.atomic import atomic_write
from blindiqa.scoring.rows import COLUMNS, LEGACY_COLUMNS, Row, RowFileError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow

__all__ = ["PARQUET_EXTENSION", "import_pyarrow", "is_parquet", "read_parquet_rows",
           "rows_schema", "rows_table", "write_parquet_rows"]

#: The extension of Parquet row files.
PARQUET_EXTENSION = ".parquet"
#: What to install for Parquet row files.
_INSTALL = 'pip install "blindiqa[ray]" (or pip install pyarrow)'


def is_parquet(path: str | os.PathLike) -> bool:
    """Whether a row file name means Parquet."""
    return os.fspath(path).lower().endswith(PARQUET_EXTENSION)


def import_pyarrow() -> Any:
    """The ``pyarrow`` module (with ``pyarrow.parquet``).

    Raises:
        ImportError: pyarrow is not installed; the message names the extra.
    """
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401  (the part this module uses)
    except ImportError as exc:
        raise ImportError(f"Parquet row files need pyarrow: {_INSTALL}") from exc
    return pyarrow


def rows_schema() -> pyarrow.Schema:
    """The Arrow schema of a Parquet row file."""
    pa = import_pyarrow()
    return pa.schema([("path", pa.string()), ("score", pa.float64()),
                      ("quality", pa.float64()), ("error", pa.string()),
                      ("width", pa.int64()), ("height", pa.int64())])


def rows_table(rows: Iterable[Row]) -> pyarrow.Table:
    """The rows as an Arrow table of :func:`rows_schema` (``quality`` rounded to 2)."""
    pa = import_pyarrow()
    rows = list(rows)
    columns = {"path": [r.path for r in rows], "score": [r.score for r in rows],
               "quality": [None if r.quality is None else round(r.quality, 2) for r in rows],
               "error": [r.error for r in rows], "width": [r.width for r in rows],
               "height": [r.height for r in rows]}
    return pa.Table.from_pydict(columns, schema=rows_schema())


def write_parquet_rows(path: str | os.PathLike, rows: Iterable[Row]) -> Path:
    """Write the rows to one Parquet file, atomically (the file appears complete or not
    at all); returns its path."""
    import_pyarrow()
    import pyarrow.parquet as pq

    target = Path(path)
    with atomic_write(target, "wb") as fh:
        pq.write_table(rows_table(rows), fh)
    return target


def _texts(table: pyarrow.Table, name: str) -> list[str | None]:
    return [None if v is None else str(v) for v in table.column(name).to_pylist()]


def read_parquet_rows(path: str | os.PathLike) -> list[Row]:
    """The rows of a Parquet row file.

    Raises:
        RowFileError: the file cannot be read, is not Parquet, or lacks the columns
            (``path, score, quality, error``, and optionally ``width, height``).
        ImportError: pyarrow is not installed (the message names the extra).
    """
    pa = import_pyarrow()
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        table = pq.read_table(p)
    except (OSError, pa.ArrowException) as exc:  # missing, unreadable, not Parquet
        why = getattr(exc, "strerror", None) or exc
        raise RowFileError(f"cannot read {p} as Parquet: {why}") from None
    names = tuple(table.column_names)
    missing = [c for c in LEGACY_COLUMNS if c not in names]
    if missing:
        raise RowFileError(f"{p}: the columns are {','.join(names)}, expected "
                           f"{','.join(COLUMNS)} (not a blindiqa row file?)")
    n = table.num_rows
    try:
        paths = _texts(table, "path")
        scores = table.column("score").cast(pa.float64()).to_pylist()
        qualities = table.column("quality").cast(pa.float64()).to_pylist()
        errors = _texts(table, "error")
        sizes = [table.column(c).cast(pa.int64()).to_pylist() if c in names else [None] * n
                 for c in ("width", "height")]
    except pa.ArrowException as exc:
        raise RowFileError(f"{p}: a column has the wrong type ({exc})") from None
    rows = []
    for k in range(n):
        if paths[k] is None:
            raise RowFileError(f"{p}, row {k + 1}: no path")
        for what, size in zip(("width", "height"), (sizes[0][k], sizes[1][k]), strict=True):
            if size is not None and size < 0:
                raise RowFileError(f"{p}, row {k + 1}: {what} {size} is negative")
        rows.append(Row(paths[k], scores[k], qualities[k], errors[k] or None,
                        sizes[0][k], sizes[1][k]))
    return rows
