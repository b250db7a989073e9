"""``blindiqa merge``: join the row files of sharded runs, checking nothing is missing or
doubled."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from blindiqa.cli.common import fail
from blindiqa.io.rows import OUT_EXTENSIONS, Row, RowFileError, RowWriter, read_rows


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge", help="join the row files of sharded runs",
        description="Join the CSV / JSON-lines files of `blindiqa score --shard i/N` runs into "
                    "one, refusing a file that ends in a partial row, rows that appear twice "
                    "and (with --manifest) inputs that have no row.")
    p.add_argument("parts", nargs="+", metavar="PART", help="row files (.csv, .jsonl)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the merged file (.csv, .jsonl or .ndjson)")
    p.add_argument("--manifest", metavar="FILE",
                   help="the manifest the shards were run on: every input it names must have "
                        "exactly one row, and rows are written in its order")
    p.add_argument("--sort", action="store_true",
                   help="write the rows best first (lowest score), failed ones last")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=run)


def _expected(manifest: str) -> list[str]:
    """The input names a manifest stands for, in order."""
    from blindiqa.cli.score import input_args, iter_inputs

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


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    out = Path(args.out)
    if out.suffix.lower() not in OUT_EXTENSIONS:
        return fail(f"--out {args.out}: unknown file type {out.suffix or '(no extension)'}; "
                    f"the extension must be one of {', '.join(OUT_EXTENSIONS)}")
    if out.exists() and not args.overwrite:
        return fail(f"--out {args.out} exists; give --overwrite to replace it")
    try:
        parts = [read_rows(p, allow_partial=False) for p in args.parts]
        expected = _expected(args.manifest) if args.manifest else None
    except RowFileError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot read --manifest {args.manifest}: {exc.strerror or exc}")
    rows, problems = merge_rows(parts, expected)
    if problems:
        for problem in problems:
            print(f"blindiqa: error: {problem}", file=sys.stderr)
        return 1
    writer = RowWriter(out, sort=args.sort)
    ok = False
    try:
        for row in rows:
            writer.write(row)
        ok = True
    finally:
        writer.close(keep=ok)
    if not args.quiet:
        failed = sum(row.score is None for row in rows)
        checked = "every manifest input once" if expected is not None else "no row doubled"
        print(f"merged {len(rows)} rows ({failed} failed) from {len(parts)} file(s) into "
              f"{out}; checked: {checked}", file=sys.stderr)
    return 0
