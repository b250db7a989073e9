"""``blindiqa bursts``: group the near-duplicate shots of a score file and mark the best.

Also home of the options that ``blindiqa cull --best-of-burst`` and ``blindiqa report
--bursts`` share (:func:`add_burst_options`, :func:`burst_settings`). The grouping itself
is :mod:`blindiqa.bursts` (numpy and Pillow), imported inside the functions so that the
parser stays light.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blindiqa.cli.common import add_score_file_options, examples, fail, read_score_file
from blindiqa.io.atomic import write_text_atomic
from blindiqa.scoring.rows import COLUMNS, OUT_EXTENSIONS, format_row, is_jsonl

if TYPE_CHECKING:
    from blindiqa.scoring.rows import Row

#: Copies of :mod:`blindiqa.bursts`' defaults (that module imports numpy lazily, but the
#: parser should not import it at all); ``tests/cli/test_bursts_command.py`` checks them.
DEFAULT_SECONDS = 2.0
DEFAULT_MAX_DISTANCE = 0.2
JOIN_BY = ("either", "both", "time", "features")
#: The columns added to the score file's.
BURST_COLUMNS = ("burst", "burst_size", "burst_best")


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def add_burst_options(p: argparse.ArgumentParser) -> None:
    """``--burst-seconds``, ``--burst-distance`` and ``--burst-by``."""
    p.add_argument("--burst-seconds", type=_non_negative_float, metavar="S",
                   help="shots whose EXIF capture times are at most S seconds apart belong "
                        f"to one burst (default: {DEFAULT_SECONDS:g})")
    p.add_argument("--burst-distance", type=_non_negative_float, metavar="D",
                   help="shots whose content descriptors (a 16x16 colour thumbnail) are at "
                        "most D apart (cosine distance, 0-2) belong to one burst (default: "
                        f"{DEFAULT_MAX_DISTANCE:g})")
    p.add_argument("--burst-by", choices=JOIN_BY,
                   help="what joins two consecutive shots: their capture times or their "
                        "content (either, the default); both (content alone where a "
                        "capture time is missing); or only one of them")


def burst_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`blindiqa.bursts.group_files` from the options
    (their defaults where not given)."""
    return {"seconds": _given(args.burst_seconds, DEFAULT_SECONDS),
            "max_distance": _given(args.burst_distance, DEFAULT_MAX_DISTANCE),
            "join_by": _given(args.burst_by, JOIN_BY[0])}


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


def given_burst_options(args: argparse.Namespace) -> list[str]:
    """The ``--burst-*`` options given on the command line (for commands where they
    only apply with another option: an error names them rather than ignoring them)."""
    names = {"burst_seconds": "--burst-seconds", "burst_distance": "--burst-distance",
             "burst_by": "--burst-by"}
    return [flag for dest, flag in names.items() if getattr(args, dest) is not None]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bursts", help="group near-duplicate shots of a score file and mark the best of each",
        description="Read a score file written by `blindiqa score`, group the shots that "
                    "belong together (a burst: consecutive shots whose EXIF capture times "
                    "are a few seconds apart, or whose content is nearly the same) and "
                    "write the rows in shooting order with three more columns: burst (1, "
                    "2, ... in shooting order), burst_size and burst_best (1 for the shot "
                    "of highest quality in its burst, else 0). Shots are ordered by capture "
                    "time when every one has one, else by file name. See docs/bursts.md.",
        epilog=examples("blindiqa bursts scores.csv --out grouped.csv",
                        "blindiqa bursts scores.csv --out grouped.csv --burst-seconds 1",
                        "blindiqa bursts scores.csv --out grouped.jsonl --burst-by features"))
    add_score_file_options(p)
    p.add_argument("--out", metavar="FILE",
                   help="the grouped rows (.csv or .jsonl; default: CSV on stdout)")
    add_burst_options(p)
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=run, parser=p)


def carried_columns(rows: Sequence[Row]) -> tuple[str, ...]:
    """The further columns of the score file (e.g. ``reason_*`` of ``score --reasons``)
    that every row has, in file order, carried into the grouped file; burst columns of
    a file grouped before are left out (they are written anew)."""
    if not rows:
        return ()
    common = set.intersection(*(set(name for name, _ in r.extra) for r in rows))
    return tuple(name for name, _ in rows[0].extra
                 if name in common and name not in BURST_COLUMNS)


def format_grouped(rows: Sequence[Row], bursts: Sequence[int], best: Sequence[bool],
                   jsonl: bool) -> str:
    """The rows with their burst columns (after any further columns every row has), as
    the text of a CSV or JSON lines file."""
    from blindiqa.bursts import burst_sizes

    sizes = burst_sizes(bursts)
    columns = (*COLUMNS, *carried_columns(rows))  # format_row writes the carried ones
    out = io.StringIO()
    if not jsonl:
        out.write(",".join((*columns, *BURST_COLUMNS)) + "\n")
    for row, burst, size, top in zip(rows, bursts, sizes, best, strict=True):
        line = format_row(row, jsonl, columns=columns)
        if jsonl:
            data = json.loads(line)
            data.update(burst=burst, burst_size=size, burst_best=int(top))
            out.write(json.dumps(data) + "\n")
        else:
            cells = io.StringIO()
            csv.writer(cells, lineterminator="\n").writerow([burst, size, int(top)])
            out.write(line.rstrip("\n") + "," + cells.getvalue())
    return out.getvalue()


def run(args: argparse.Namespace) -> int:
    from blindiqa.bursts import best_of_bursts, goodness, group_files

    if args.out and not args.out.lower().endswith(OUT_EXTENSIONS):
        return fail(f"--out must end in {', '.join(OUT_EXTENSIONS)}, got {args.out}")
    try:
        rows, root = read_score_file(args.scores, args.root)
        bursts = group_files([root / r.path for r in rows], [r.path for r in rows],
                             **burst_settings(args))
    except ValueError as exc:
        return fail(str(exc))
    best = best_of_bursts(bursts, goodness(rows))
    order = sorted(range(len(rows)), key=lambda i: (bursts[i], i))
    text = format_grouped([rows[i] for i in order], [bursts[i] for i in order],
                          [best[i] for i in order], jsonl=bool(args.out) and is_jsonl(args.out))
    if args.out:
        try:
            write_text_atomic(Path(args.out), text)
        except OSError as exc:
            return fail(f"cannot write {args.out}: {exc.strerror or exc}")
    else:
        sys.stdout.write(text)
    if not args.quiet:
        n = len(set(bursts))
        multi = len({b for b in bursts if bursts.count(b) > 1})
        print(f"{len(rows)} photo(s) in {n} burst(s), {multi} of more than one shot"
              + (f": {args.out}" if args.out else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    from blindiqa.cli.common import run_command

    sys.exit(run_command("bursts", register))
