"""``blindiqa rate``: star ratings in XMP sidecars, from a score file."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from blindiqa.cli.common import (
    add_score_file_options,
    examples,
    fail,
    read_score_file,
    row_problems,
)
from blindiqa.io.xmp import (
    SIDECAR_NAMINGS,
    MissingXmpExtraError,
    XmpError,
    read_rating,
    require_pyexiv2,
    sidecar_path,
    write_rating,
)
from blindiqa.scoring.rows import Row
from blindiqa.stars import DEFAULT_THRESHOLDS, parse_thresholds, stars


def _thresholds(text: str) -> tuple[float, float, float, float]:
    """argparse type: ``--stars-at T2,T3,T4,T5``."""
    try:
        return parse_thresholds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    default = ",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS)
    p = sub.add_parser(
        "rate", help="write star ratings (XMP sidecars) from a score file",
        description="Write a 1-5 star rating (xmp:Rating) into an XMP sidecar beside each "
                    "photo of a score file written by `blindiqa score`, from its 0-100 "
                    "quality, for darktable, digiKam and other photo managers. Photos are "
                    "never modified; an existing sidecar keeps all its other fields. Rows "
                    "with an error or without a quality get no rating. Needs the extra "
                    "blindiqa[xmp] (pyexiv2). Exit code 0 when every row got a rating, 1 "
                    "when some did not, 2 on bad usage.",
        epilog=examples("blindiqa rate scores.csv",
                        "blindiqa rate scores.csv --stars-at 30,50,70,90 --dry-run",
                        "blindiqa rate scores.csv --sidecar-name stem"))
    add_score_file_options(p)
    p.add_argument("--stars-at", type=_thresholds, default=DEFAULT_THRESHOLDS,
                   metavar="T2,T3,T4,T5",
                   help="the qualities at which 2, 3, 4 and 5 stars start; below T2 is 1 "
                        f"star (default: {default}, about a fifth of ordinary photos each)")
    p.add_argument("--sidecar-name", choices=SIDECAR_NAMINGS, default="full",
                   help="full: photo.jpg.xmp (darktable, digiKam); stem: photo.xmp "
                        "(Lightroom for raw files, Capture One, digiKam's 'compatible' "
                        "option) (default: %(default)s)")
    p.add_argument("--keep-rated", action="store_true",
                   help="leave sidecars that already have a rating (e.g. one given by hand) "
                        "as they are")
    p.add_argument("--dry-run", action="store_true",
                   help="print 'stars,sidecar' for each photo and write nothing")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=run, parser=p)


@dataclass
class Tally:
    """What a run did: ratings given, sidecars kept, and rows without a rating."""

    stars: Counter = field(default_factory=Counter)
    created: int = 0
    merged: int = 0
    kept: int = 0
    unrated: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, row: Row, reason: str) -> None:
        self.unrated.append((row.path, reason))

    def summary(self, dry_run: bool) -> str:
        """Lines for stderr: ratings per star, sidecars, then rows without a rating."""
        rated = sum(self.stars.values())
        per = ", ".join(f"{n}: {self.stars[n]}" for n in range(1, 6))
        verb = "would write" if dry_run else "wrote"
        lines = [f"rated {rated} photo(s) (stars {per}); {verb} "
                 f"{self.created} new sidecar(s), merged into {self.merged} existing"
                 + (f"; kept {self.kept} already rated" if self.kept else "")]
        return "\n".join(lines + row_problems("no rating for", self.unrated))


def rate_row(row: Row, args: argparse.Namespace, root: Path, seen: dict[Path, str],
             tally: Tally) -> None:
    """Give one row its rating (or say in ``tally`` why not)."""
    if row.error:
        return tally.skip(row, f"scoring failed: {row.error}")
    if row.quality is None:
        return tally.skip(row, "no quality: the model has no quality scale "
                               "(see blindiqa fit-scale)")
    photo = root / row.path
    if not photo.is_file():
        return tally.skip(row, f"photo not found: {photo}")
    sidecar = sidecar_path(photo, args.sidecar_name)
    key = sidecar.resolve()
    if key == photo.resolve():
        return tally.skip(row, "photo is its own sidecar name (an .xmp file)")
    if key in seen:
        return tally.skip(row, f"sidecar taken: {sidecar} belongs to {seen[key]}")
    seen[key] = row.path
    n = stars(row.quality, args.stars_at)
    try:
        if args.keep_rated and read_rating(sidecar) is not None:
            tally.kept += 1
            return None
        exists = sidecar.exists()
        if args.dry_run:
            print(f"{n},{sidecar}")
        else:
            write_rating(sidecar, n)
    except XmpError as exc:
        return tally.skip(row, f"sidecar not written: {exc}")
    tally.stars[n] += 1
    if exists:
        tally.merged += 1
    else:
        tally.created += 1
    return None


def run(args: argparse.Namespace) -> int:
    try:
        require_pyexiv2()
    except MissingXmpExtraError as exc:
        return fail(str(exc))
    try:
        rows, root = read_score_file(args.scores, args.root)
    except ValueError as exc:
        return fail(str(exc))
    tally, seen = Tally(), {}
    for row in rows:
        rate_row(row, args, root, seen, tally)
    if not args.quiet:
        print(tally.summary(args.dry_run), file=sys.stderr)
    return 1 if tally.unrated else 0


if __name__ == "__main__":
    from blindiqa.cli.common import run_command

    sys.exit(run_command("rate", register))
