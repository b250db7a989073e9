"""The result rows of ``blindiqa score``: CSV or JSON lines, written whole or appended.

Columns: ``path, score, quality, error, width, height`` (:data:`COLUMNS`), followed by
the six ``reason_*`` columns (:data:`REASON_COLUMNS`) in a file of ``blindiqa score
--reasons``; files written before ``width`` and ``height`` existed
(:data:`LEGACY_COLUMNS`) are still read, and appended to in their own columns. A file
is written either atomically (a temporary file renamed into place at the end) or, for
resumable runs, by appending one complete row per ``write`` system call, so that a
process killed at any moment leaves whole rows followed by at most one partial row,
which :func:`read_rows` drops (and :class:`RowWriter` truncates before it appends
again).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from blindiqa.io.atomic import atomic_write

#: The columns, in order.
COLUMNS: tuple[str, ...] = ("path", "score", "quality", "error", "width", "height")
#: The columns of row files written before ``width`` and ``height`` (read and resumed).
LEGACY_COLUMNS: tuple[str, ...] = COLUMNS[:4]
#: The further columns of ``blindiqa score --reasons``: each family's estimated strength
#: (0-5) in the order of :data:`blindiqa.reasons.FAMILIES`.
REASON_COLUMNS: tuple[str, ...] = ("reason_blur", "reason_noise", "reason_compression",
                                   "reason_exposure", "reason_colour", "reason_spatial")
#: The columns of a ``blindiqa score --reasons`` file.
REASONS_FILE_COLUMNS: tuple[str, ...] = COLUMNS + REASON_COLUMNS
#: The ``--out`` extensions of JSON lines (either of their usual names) ...
JSONL_EXTENSIONS: tuple[str, ...] = (".jsonl", ".ndjson")
#: ... and of every row file type (any other is refused).
OUT_EXTENSIONS: tuple[str, ...] = (".csv", *JSONL_EXTENSIONS)


class RowFileError(ValueError):
    """A row file cannot be read, or is not a blindiqa row file."""


@dataclass(frozen=True)
class Row:
    """One result row.

    Attributes:
        path: the input's name (as given, or the folder as given joined with the path
            below it).
        score: the distance (lower is better), or None where it failed.
        quality: the 0-100 quality (higher is better), or None.
        error: why it failed, or None.
        width: the image's width in pixels as viewed, or None (not decoded, or a row
            file without the column).
        height: its height, likewise.
        extra: the further columns after the standard ones, as ``(name, text)`` pairs in
            file order: the ``reason_*`` columns of ``blindiqa score --reasons`` (written
            by :func:`format_row` when its ``columns`` name them), those ``blindiqa
            bursts`` wrote (``burst``, ``burst_size``, ``burst_best``) or any a tool
            added.
    """

    path: str
    score: float | None = None
    quality: float | None = None
    error: str | None = None
    width: int | None = None
    height: int | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, column: str) -> str | None:
        """The text of an extra column, or None where the row has none."""
        return dict(self.extra).get(column)


def reason_cells(reasons: Mapping[str, float] | Iterable[tuple[str, float]] | None,
                 ) -> tuple[tuple[str, str], ...]:
    """Each family's strength as a row's ``reason_<family>`` cell (two decimals), for
    :attr:`Row.extra`; none where ``reasons`` is None (scored without ``--reasons``).

    Args:
        reasons: ``{family: strength}`` or ``(family, strength)`` pairs, or None.
    """
    if reasons is None:
        return ()
    pairs = reasons.items() if isinstance(reasons, Mapping) else reasons
    return tuple((f"reason_{family}", f"{value:.2f}") for family, value in pairs)


def is_jsonl(path: str | os.PathLike) -> bool:
    """Whether a row file name means JSON lines (else CSV)."""
    return os.fspath(path).lower().endswith(JSONL_EXTENSIONS)


def safe_text(text: str, encoding: str = "utf-8") -> str:
    """``text`` as ``encoding`` can write it.

    A file name that is not valid UTF-8 reaches Python with surrogate escapes; its bytes
    are written as ``\\xNN`` escapes (any other character the encoding lacks as a
    backslash escape), so writing a row never fails.
    """
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    try:
        text = os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.encode(encoding, "backslashreplace").decode(encoding)


def _quality_text(q: float | None) -> float | None:
    return None if q is None else round(q, 2)


def format_header(jsonl: bool, columns: tuple[str, ...] = COLUMNS) -> str:
    """The first line of a CSV row file (``""`` for JSON lines)."""
    return "" if jsonl else ",".join(columns) + "\n"


def _json_value(text: str | None) -> float | str | None:
    """An extra column's text as JSON writes it: a number where it is one, null where
    empty."""
    if text in (None, ""):
        return None
    try:
        return float(text)
    except ValueError:
        return text


def format_row(row: Row, jsonl: bool, encoding: str = "utf-8",
               columns: tuple[str, ...] = COLUMNS) -> str:
    """One row as one line (with its newline), in ``columns`` (:data:`COLUMNS`,
    :data:`LEGACY_COLUMNS` or :data:`REASONS_FILE_COLUMNS`; a further column's value is
    the row's ``extra`` of that name, empty where it has none)."""
    name = safe_text(row.path, encoding)
    error = safe_text(row.error, encoding) if row.error else row.error
    values = {"path": name, "score": row.score, "quality": _quality_text(row.quality),
              "error": error, "width": row.width, "height": row.height}
    extra = {c: safe_text(t, encoding) for c, t in row.extra if c in columns}
    if jsonl:
        return json.dumps({c: values[c] if c in values else _json_value(extra.get(c))
                           for c in columns}) + "\n"
    cells = {c: extra.get(c, "") if c not in values else "" if values[c] is None
             else repr(values[c]) for c in columns}
    cells["path"], cells["error"] = name, error or ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([cells[c] for c in columns])
    return buf.getvalue()


def sort_rows(rows: Iterable[Row], lower_better: bool = True) -> list[Row]:
    """Best first, failed rows last; ties keep their order."""
    rows = list(rows)
    scored = [r for r in rows if r.score is not None]
    scored.sort(key=lambda r: r.score if lower_better else -r.score)
    return scored + [r for r in rows if r.score is None]


def _number(text: str, what: str, where: str) -> float | None:
    if text in ("", None):
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        raise RowFileError(f"{where}: {what} {text!r} is not a number") from None


def _pixels(text: str | None, what: str, where: str) -> int | None:
    if text in ("", None):
        return None
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise RowFileError(f"{where}: {what} {text!r} is not a whole number") from None
    if value < 0:
        raise RowFileError(f"{where}: {what} {value} is negative")
    return value


def _parse(lines: list[str], jsonl: bool, name: str) -> list[Row]:
    rows = []
    if jsonl:
        for n, line in enumerate(lines, 1):
            where = f"{name}, line {n}"
            try:
                d = json.loads(line)
                extra = tuple((k, "" if v is None else str(v)) for k, v in d.items()
                              if k not in COLUMNS)
                rows.append(Row(str(d["path"]), d.get("score"), d.get("quality"),
                                d.get("error"), _pixels(d.get("width"), "width", where),
                                _pixels(d.get("height"), "height", where), extra))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise RowFileError(f"{where}: not a result row ({exc})") from None
        return rows
    if not lines:
        return rows
    reader = csv.reader(lines)
    header = tuple(next(reader))
    standard = _standard_columns(header)
    if standard is None:
        raise RowFileError(f"{name}: the columns are {','.join(header)}, expected "
                           f"{','.join(COLUMNS)} (written by another blindiqa version?)")
    extra_names = header[len(standard):]
    for n, fields in enumerate(reader, 2):
        if len(fields) != len(header):
            raise RowFileError(f"{name}, line {n}: {len(fields)} fields, expected "
                               f"{len(header)}")
        where = f"{name}, line {n}"
        size = ((_pixels(fields[4], "width", where), _pixels(fields[5], "height", where))
                if standard == COLUMNS else (None, None))
        extra = tuple(zip(extra_names, fields[len(standard):], strict=True))
        rows.append(Row(fields[0], _number(fields[1], "score", where),
                        _number(fields[2], "quality", where), fields[3] or None, *size,
                        extra))
    return rows


def _standard_columns(header: tuple[str, ...]) -> tuple[str, ...] | None:
    """:data:`COLUMNS` or :data:`LEGACY_COLUMNS` where ``header`` starts with them and any
    further column has a new, distinct name (e.g. those ``blindiqa bursts`` adds); else
    None."""
    for standard in (COLUMNS, LEGACY_COLUMNS):
        rest = header[len(standard):]
        if header[:len(standard)] == standard and not set(rest) & set(COLUMNS) \
                and len(set(rest)) == len(rest) and all(rest):
            return standard
    return None


def _complete_lines(path: Path) -> tuple[list[str], int, bool]:
    """The complete lines of a row file, the byte length they take, and whether a
    partial last line followed them."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    try:
        text = data[:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowFileError(f"{path}: not a UTF-8 row file ({exc})") from None
    return text.splitlines(keepends=True), end, end < len(data)


def _complete_length(path: Path, chunk: int = 1 << 16) -> tuple[int, int]:
    """The byte length of a file's complete lines and its size, reading only its tail
    back to the last newline (not the whole file, which may hold millions of rows)."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        pos = size
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            last = fh.read(pos - start).rfind(b"\n")
            if last >= 0:
                return start + last + 1, size
            pos = start
    return 0, size


def read_rows(path: str | os.PathLike, allow_partial: bool = True) -> list[Row]:
    """The rows of a row file (CSV or JSON lines, by extension).

    Args:
        path: the file.
        allow_partial: drop a partial last line (a run killed while writing); False
            makes it an error.

    Raises:
        RowFileError: the file cannot be read or is not a row file.
    """
    p = Path(path)
    try:
        lines, _, partial = _complete_lines(p)
    except OSError as exc:
        raise RowFileError(f"cannot read {p}: {exc.strerror or exc}") from None
    if partial and not allow_partial:
        raise RowFileError(f"{p} ends in a partial row (its run was interrupted); resume "
                           "that run with --resume first")
    return _parse(lines, is_jsonl(p), str(p))


def file_columns(path: str | os.PathLike) -> tuple[str, ...]:
    """The columns an existing row file was written with: :data:`COLUMNS`,
    :data:`REASONS_FILE_COLUMNS` (``--reasons``), or :data:`LEGACY_COLUMNS` for a file
    without ``width`` and ``height``; :data:`COLUMNS` for a missing or empty file (or
    one holding only a partial row).

    Raises:
        RowFileError: the first line is not a row file's.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            first = fh.readline()
    except FileNotFoundError:
        return COLUMNS
    except OSError as exc:
        raise RowFileError(f"cannot read {p}: {exc.strerror or exc}") from None
    if not first.endswith(b"\n"):
        return COLUMNS
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowFileError(f"{p}: not a UTF-8 row file ({exc})") from None
    if is_jsonl(p):
        row = _parse([text], True, str(p))[0]  # a row, or the error saying why not
        header = COLUMNS if "width" in json.loads(text) else LEGACY_COLUMNS
        header += tuple(name for name, _ in row.extra)
    else:
        header = tuple(next(csv.reader([text])))
        _parse([text], False, str(p))  # raises: unknown columns
    if header not in (COLUMNS, LEGACY_COLUMNS, REASONS_FILE_COLUMNS):
        further = header[len(_standard_columns(header) or ()):]
        raise RowFileError(f"{p} has the further columns {','.join(further)} (written by "
                           "`blindiqa bursts`?); rows are appended only to a file of "
                           "`blindiqa score`'s own columns")
    return header


class RowWriter:
    """Rows to CSV or JSON lines: to stdout, atomically to a file, or appended.

    Args:
        out: the file, or None for stdout.
        append: append to ``out`` (creating it), one row per system call, after
            dropping a partial last row; else write a temporary file renamed into place
            by :meth:`close` (the target appears only once every row is written).
        sort: keep the rows and write them best first at :meth:`close`.
        lower_better: the model's direction, for ``sort``.
        reasons: also write the :data:`REASON_COLUMNS` (from each row's ``extra``).

    Attributes:
        columns: the columns written: :data:`COLUMNS` (:data:`REASONS_FILE_COLUMNS` with
            ``reasons``), or, appending to a file written before ``width`` and
            ``height`` existed, that file's :data:`LEGACY_COLUMNS` (so that every row of
            a file has the same columns).

    Raises:
        RowFileError: appending to a file whose reason columns are not what
            ``reasons`` asks (a file of ``--reasons`` resumed without it, or the
            reverse).
    """

    def __init__(self, out: str | os.PathLike | None, *, append: bool = False,
                 sort: bool = False, lower_better: bool = True, reasons: bool = False
                 ) -> None:
        self.path = Path(out) if out is not None else None
        self.jsonl = self.path is not None and is_jsonl(self.path)
        self.sort, self.lower_better = sort, lower_better
        self.columns = REASONS_FILE_COLUMNS if reasons else COLUMNS
        self._kept: list[Row] = []
        self._atomic: AbstractContextManager[IO[bytes]] | None = None
        self.tmp: str | None = None
        self._fd: int | None = None
        self.fh: TextIO | IO[bytes] | None = None
        if self.path is None:
            if append:
                raise ValueError("appending needs an output file")
            self.fh = sys.stdout
            self.encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
            self._emit(format_header(False, self.columns))
            return
        self.encoding = "utf-8"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if append:
            self._open_append()
        else:  # the one atomic writer, held open until close()
            self._atomic = atomic_write(self.path, "wb")
            self.fh = self._atomic.__enter__()
            self.tmp = self.fh.name  # where the rows go until close() renames the file
            self._emit(format_header(self.jsonl, self.columns))

    def _open_append(self) -> None:
        assert self.path is not None
        if self.path.exists():
            end, size = _complete_length(self.path)
            if end < size:  # a partial last row: drop it
                os.truncate(self.path, end)
            fresh = end == 0
            if not fresh:
                self.columns = _append_columns(self.path, self.columns)
        else:
            fresh = True
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if fresh:
            self._emit(format_header(self.jsonl, self.columns))

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self._atomic is not None:
            self.fh.write(text.encode(self.encoding))
            return
        if self._fd is None:
            assert self.fh is not None
            self.fh.write(text)
            self.fh.flush()
            return
        data = text.encode(self.encoding)
        while data:  # one call for a row in practice; a short write continues
            n = os.write(self._fd, data)
            data = data[n:]

    def write(self, row: Row) -> None:
        """Write (or, with ``sort``, keep) one row."""
        if self.sort:
            self._kept.append(row)
        else:
            self._emit(format_row(row, self.jsonl, self.encoding, self.columns))

    def write_all(self, rows: Iterable[Row]) -> None:
        """Write ``rows`` and close: the file is put in place only where every row was
        written (an error drops an atomic file and is raised)."""
        ok = False
        try:
            for row in rows:
                self.write(row)
            ok = True
        finally:
            self.close(keep=ok)

    def close(self, keep: bool = True) -> None:
        """Finish: write kept rows, and put an atomic file in place (``keep``) or drop it."""
        failure: BaseException | None = None
        try:
            if keep and self._kept:
                for row in sort_rows(self._kept, self.lower_better):
                    self._emit(format_row(row, self.jsonl, self.encoding, self.columns))
        except BaseException as exc:  # e.g. a full disk: drop the temporary file
            failure = exc
            raise
        finally:
            self._kept = []
            if self._fd is not None:
                if keep and failure is None:
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
            if self._atomic is not None:
                atomic, self._atomic, self.tmp = self._atomic, None, None
                if keep and failure is None:
                    atomic.__exit__(None, None, None)  # synced and renamed into place
                else:
                    dropped = failure or _DroppedError()
                    atomic.__exit__(type(dropped), dropped, None)  # removed


def _append_columns(path: Path, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The columns to append to ``path`` in: its own, where they agree with ``wanted``
    on the reason columns (a legacy file keeps its legacy columns)."""
    have = file_columns(path)
    with_reasons = wanted == REASONS_FILE_COLUMNS
    if (have == REASONS_FILE_COLUMNS) != with_reasons:
        said = "has" if have == REASONS_FILE_COLUMNS else "lacks"
        hint = "with" if have == REASONS_FILE_COLUMNS else "without"
        raise RowFileError(f"{path} {said} the reason_* columns; resume it {hint} "
                           "--reasons, or write a new file")
    return have


class _DroppedError(Exception):
    """Closes an atomic file without keeping it."""


def iter_manifest(path: str | os.PathLike) -> Iterator[str]:
    """The paths listed in a manifest file, one per line, read lazily.

    Blank lines and lines starting with ``#`` are skipped; a line is otherwise taken as
    it is (spaces included, only the line ending removed). ``-`` reads standard input.

    Raises:
        OSError: the file cannot be read.
    """
    fh = sys.stdin if os.fspath(path) == "-" else open(path, encoding="utf-8",  # noqa: SIM115
                                                        errors="surrogateescape")
    try:
        for line in fh:
            line = line.rstrip("\r\n")
            if line and not line.startswith("#"):
                yield line
    finally:
        if fh is not sys.stdin:
            fh.close()
