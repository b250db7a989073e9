"""Merging the row files of sharded runs (``blindiqa merge``): the rows joined in the
manifest's order where there is one, with what is doubled or missing, and the merged
provenance of the parts' sidecars."""

from __future__ import annotations

from collections import Counter

from blindiqa.scoring.inputs import walk_inputs
from blindiqa.scoring.parquet_rows import is_parquet, read_parquet_rows
from blindiqa.scoring.rows import REASON_COLUMNS, Row, read_rows
from blindiqa.scoring.sidecar import Provenance, combine, read_sidecar

__all__ = ["expected_names", "has_reasons", "merge_rows", "part_provenance", "read_part"]


def expected_names(manifest: str) -> list[str]:
    """The input names a manifest stands for, in order (its folders walked as
    ``blindiqa score --manifest`` walks them).

    Raises:
        OSError: the manifest cannot be read.
    """
    with walk_inputs([], manifest, warn_empty=False) as inputs:
        return [name for _, name in inputs]


def _describe(names: Counter, what: str, limit: int = 5) -> str:
    shown = ", ".join(sorted(names)[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{sum(names.values())} {what}: {shown}{more}"


def merge_rows(parts: list[list[Row]], expected: list[str] | None = None
               ) -> tuple[list[Row], list[str]]:
    """Join row lists, in ``expected`` order where given.

    Returns:
        The rows, and the problems found (rows doubled, inputs without a row, rows of
        inputs the manifest does not name); an empty list when there are none.
    """
    rows = [row for part in parts for row in part]
    have = Counter(row.path for row in rows)
    problems = []
    if expected is None:
        doubled = Counter({k: v - 1 for k, v in have.items() if v > 1})
        if doubled:
            problems.append(_describe(doubled, "row(s) doubled"))
        return rows, problems
    want = Counter(expected)
    for diff, what in ((have - want, "row(s) doubled or not in the manifest"),
                       (want - have, "input(s) without a row")):
        if diff:
            problems.append(_describe(diff, what))
    if problems:
        return rows, problems
    order = {}
    for k, name in enumerate(expected):
        order.setdefault(name, k)
    return sorted(rows, key=lambda r: order[r.path]), problems  # stable for repeats


def has_reasons(part: list[Row]) -> bool:
    """Whether a part's rows carry the reason_* columns (``blindiqa score --reasons``)."""
    return bool(part) and all(set(REASON_COLUMNS) <= {c for c, _ in r.extra} for r in part)


def read_part(path: str) -> list[Row]:
    """The rows of one part: Parquet by its extension, else CSV or JSON lines (a partial
    last row refused).

    Raises:
        RowFileError: the part cannot be read or is not a row file.
        ImportError: a Parquet part without pyarrow installed (the message names the
            extra).
    """
    if is_parquet(path):
        return read_parquet_rows(path)
    return read_rows(path, allow_partial=False)


def part_provenance(parts: list[str]) -> tuple[Provenance | None, list[str], list[str]]:
    """The provenance of the merged rows, from the parts' sidecars.

    Returns:
        The merged provenance (None where no part has a sidecar), the disagreements
        (one message per field, naming the parts) and the parts without a sidecar.

    Raises:
        SidecarError: a part's sidecar cannot be read.
    """
    named, missing = [], []
    for part in parts:
        prov = read_sidecar(part)
        if prov is None:
            missing.append(part)
        else:
            named.append((part, prov))
    if not named:
        return None, [], missing
    merged, problems = combine(named)
    return merged, problems, missing
