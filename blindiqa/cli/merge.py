"""``blindiqa merge``: join the row files of sharded runs, checking nothing is missing or
doubled."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from blindiqa.cli.common import examples, fail
from blindiqa.scoring.parquet_rows import is_parquet, read_parquet_rows
from blindiqa.scoring.rows import (
    OUT_EXTENSIONS,
    REASON_COLUMNS,
    Row,
    RowFileError,
    RowWriter,
    read_rows,
)
from blindiqa.scoring.sidecar import (
    Provenance,
    SidecarError,
    combine,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge", help="join the row files of sharded runs",
        description="Join the CSV / JSON-lines files of `blindiqa score --shard i/N` runs, and "
                    "the Parquet (or CSV) parts of `blindiqa score --engine ray`, into one, "
                    "refusing a file that ends in a partial row, rows that appear twice, "
                    "(with --manifest) inputs that have no row, and parts whose sidecars "
                    "(PART.json) name another model, bundle, version or max_side. The "
                    "merged file gets a sidecar too, and the reason_* columns where every "
                    "part has them (`blindiqa score --reasons`).",
        epilog=examples("blindiqa merge part-*.csv --out scores.csv",
                        "blindiqa merge part-*.csv --out scores.csv --manifest files.txt",
                        "blindiqa merge rayout/*.parquet --out scores.csv"))
    p.add_argument("parts", nargs="+", metavar="PART",
                   help="row files (.csv, .jsonl, .ndjson, or .parquet, which needs pyarrow: "
                        'pip install "blindiqa[ray]")')
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the merged file (.csv, .jsonl or .ndjson)")
    p.add_argument("--manifest", metavar="FILE",
                   help="the manifest the shards were run on: every input it names must have "
                        "exactly one row, and rows are written in its order")
    p.add_argument("--sort", action="store_true",
                   help="write the rows best first (lowest score), failed ones last")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="merge parts whose sidecars disagree (the merged sidecar then has "
                        "null for each field they disagree on and lists those fields)")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=run)


def _expected(manifest: str) -> list[str]:
    """The input names a manifest stands for, in order."""
    from blindiqa.scoring.inputs import input_args, iter_inputs

    return [name for _, name in iter_inputs(input_args([], manifest), warn_empty=False)]


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


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    out = Path(args.out)
    if out.suffix.lower() not in OUT_EXTENSIONS:
        return fail(f"--out {args.out}: unknown file type {out.suffix or '(no extension)'}; "
                    f"the extension must be one of {', '.join(OUT_EXTENSIONS)}")
    if out.exists() and not args.overwrite:
        return fail(f"--out {args.out} exists; give --overwrite to replace it")
    try:
        parts = [read_part(p) for p in args.parts]
        expected = _expected(args.manifest) if args.manifest else None
        prov, disagree, unsigned = part_provenance(args.parts)
    except (RowFileError, SidecarError, ImportError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot read --manifest {args.manifest}: {exc.strerror or exc}")
    for part in unsigned:
        print(f"blindiqa: warning: {part} has no sidecar ({sidecar_path(part).name}): "
              "cannot check that the same model made its rows", file=sys.stderr)
    if disagree:
        level = "warning" if args.allow_mismatch else "error"
        for problem in disagree:
            print(f"blindiqa: {level}: the parts disagree on {problem}", file=sys.stderr)
        if not args.allow_mismatch:
            print("blindiqa: error: not merged; give --allow-mismatch to merge them anyway",
                  file=sys.stderr)
            return 1
    rows, problems = merge_rows(parts, expected)
    if problems:
        for problem in problems:
            print(f"blindiqa: error: {problem}", file=sys.stderr)
        return 1
    reasons = [has_reasons(part) for part in parts if part]
    if any(reasons) and not all(reasons):
        print("blindiqa: warning: only some parts have the reason_* columns (scored with "
              "--reasons); the merged file has none", file=sys.stderr)
    writer = RowWriter(out, sort=args.sort, reasons=bool(reasons) and all(reasons))
    writer.write_all(rows)
    try:
        if prov is not None:
            write_sidecar(out, prov)
        else:  # no part says what made it: a sidecar left from an older file would lie
            sidecar_path(out).unlink(missing_ok=True)
    except OSError as exc:
        return fail(f"cannot write {sidecar_path(out)}: {exc.strerror or exc}")
    if not args.quiet:
        failed = sum(row.score is None for row in rows)
        checked = "every manifest input once" if expected is not None else "no row doubled"
        print(f"merged {len(rows)} rows ({failed} failed) from {len(parts)} file(s) into "
              f"{out}; checked: {checked}", file=sys.stderr)
    return 0
