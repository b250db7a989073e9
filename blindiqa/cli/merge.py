"""``blindiqa merge``: join the row files of sharded runs, checking nothing is missing or
doubled."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blindiqa.cli.common import examples, fail
from blindiqa.scoring.rows import OUT_EXTENSIONS, RowFileError, RowWriter
from blindiqa.scoring.sidecar import SidecarError, sidecar_path, write_sidecar


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


def run(args: argparse.Namespace) -> int:
    from blindiqa.scoring.merge import (
        expected_names,
        has_reasons,
        merge_rows,
        part_provenance,
        read_part,
    )

    out = Path(args.out)
    if out.suffix.lower() not in OUT_EXTENSIONS:
        return fail(f"--out {args.out}: unknown file type {out.suffix or '(no extension)'}; "
                    f"the extension must be one of {', '.join(OUT_EXTENSIONS)}")
    if out.exists() and not args.overwrite:
        return fail(f"--out {args.out} exists; give --overwrite to replace it")
    try:
        parts = [read_part(p) for p in args.parts]
        expected = expected_names(args.manifest) if args.manifest else None
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
