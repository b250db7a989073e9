"""``blindiqa cull``: photos of a score file into ``OUT/keep/`` and ``OUT/reject/``.

Test hook: ``BLINDIQA_CULL_STOP_AFTER=N`` makes the run stop for good (print a line on
stderr and wait, to be killed) once the ``N``-th photo's destination is written, before a
moved source is removed, so that a test can kill it at a known point.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blindiqa.cli.bursts import add_burst_options, burst_settings, given_burst_options
from blindiqa.cli.common import (
    add_score_file_options,
    examples,
    fail,
    read_score_file,
    row_problems,
)
from blindiqa.cull import Rule, decide, parse_percent, relative_names
from blindiqa.io.lock import OutputLockedError, output_lock
from blindiqa.io.place import DestinationTakenError, place, same_content
from blindiqa.io.xmp import SIDECAR_NAMINGS, sidecar_path
from blindiqa.scoring.rows import Row

#: The folders under ``--out``, for kept and rejected photos.
FOLDERS = {True: "keep", False: "reject"}
#: See the module docstring.
STOP_AFTER_ENV = "BLINDIQA_CULL_STOP_AFTER"


def _percent(text: str) -> float:
    """argparse type: ``30%`` or ``30``."""
    try:
        return parse_percent(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cull", help="sort photos into keep/ and reject/ folders from a score file",
        description="Sort the photos of a score file written by `blindiqa score` into "
                    "OUT/keep/ and OUT/reject/ by their 0-100 quality (higher is better), "
                    "keeping their folder structure. Photos are hard-linked by default "
                    "(copied where OUT is on another file system), copied with --copy, "
                    "moved only with --move; nothing is ever deleted or overwritten. A "
                    "run that was interrupted can be run again: photos already in place "
                    "count as done. Rows with an error or without a quality go to neither "
                    "folder. With --best-of-burst only the best shot of each burst (see "
                    "`blindiqa bursts`) can be kept: the others are rejected, and the rule, "
                    "if any, is applied to the best shots. A file written by `blindiqa "
                    "bursts` is used as it was grouped there; the shots of a plain score "
                    "file are grouped here, with the --burst-* options. Exit code 0 when "
                    "every row was placed, 1 when some were skipped, 2 on bad usage.",
        epilog=examples("blindiqa cull scores.csv --out culled --min-quality 40 --dry-run",
                        "blindiqa cull scores.csv --out culled --keep-top 30%",
                        "blindiqa cull scores.csv --out culled --best-of-burst",
                        "blindiqa cull grouped.csv --out culled --best-of-burst   # from "
                        "`blindiqa bursts`",
                        "blindiqa cull scores.csv --out culled --best-of-burst --min-quality 40",
                        "blindiqa cull scores.csv --out culled --reject-bottom 20% --move"))
    add_score_file_options(p)
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the folder that gets keep/ and reject/ (created when missing)")
    rule = p.add_mutually_exclusive_group()
    rule.add_argument("--min-quality", type=_percent, metavar="Q",
                      help="keep photos with quality >= Q, reject the others")
    rule.add_argument("--keep-top", type=_percent, metavar="P%",
                      help="keep the best P %% of the photos with a quality, reject the "
                           "others")
    rule.add_argument("--reject-bottom", type=_percent, metavar="P%",
                      help="reject the worst P %% of the photos with a quality, keep the "
                           "others")
    p.add_argument("--best-of-burst", action="store_true",
                   help="reject every shot of a burst but its best; with a rule, keep the "
                        "best shots that pass it (a rule or this is needed)")
    add_burst_options(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--copy", action="store_true",
                     help="copy the photos (default: hard links, which take no space)")
    how.add_argument("--move", action="store_true",
                     help="move the photos out of their folders")
    p.add_argument("--dry-run", action="store_true",
                   help="print 'keep|reject,source,destination' for each photo and touch "
                        "nothing")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=run, parser=p)


def rule_of(args: argparse.Namespace) -> Rule | None:
    """The rule chosen on the command line, or None (only with ``--best-of-burst``)."""
    for kind in ("min-quality", "keep-top", "reject-bottom"):
        value = getattr(args, kind.replace("-", "_"))
        if value is not None:
            return Rule(kind, value)
    return None


def marked_best(rows: list[Row]) -> list[bool] | None:
    """The ``burst_best`` column of a file from ``blindiqa bursts`` (1 = the best of its
    burst), or None where a row lacks it (a plain score file: group the photos then).

    Raises:
        ValueError: a ``burst_best`` that is neither 0 nor 1.
    """
    marks = [row.get("burst_best") for row in rows]
    if any(m is None for m in marks):
        return None
    bad = sorted({m for m in marks if m not in ("0", "1")})
    if bad:
        raise ValueError(f"burst_best must be 0 or 1, found {', '.join(map(repr, bad))}")
    return [m == "1" for m in marks]


def keep_or_reject(found: list[tuple[Row, Path]], rule: Rule | None,
                   bursts: dict[str, Any] | None) -> list[bool]:
    """Keep (True) or reject each candidate: by ``rule``; with ``bursts`` (the settings
    of :func:`blindiqa.bursts.group_files`) only the best shot of each burst, the rule
    then applied among those."""
    qualities = [row.quality for row, _ in found]
    if bursts is None:
        assert rule is not None
        return decide(qualities, rule)
    best = marked_best([row for row, _ in found])
    if best is None:
        from blindiqa.bursts import best_of_bursts, goodness, group_files

        groups = group_files([photo for _, photo in found], [row.path for row, _ in found],
                             **bursts)
        best = best_of_bursts(groups, goodness([row for row, _ in found]))
    if rule is None:
        return best
    chosen = [i for i, b in enumerate(best) if b]
    passed = decide([qualities[i] for i in chosen], rule)
    keep = {i for i, ok in zip(chosen, passed, strict=True) if ok}
    return [i in keep for i in range(len(found))]


@dataclass
class Tally:
    """What a run did: per folder, how each photo was placed; and the rows skipped."""

    placed: dict[bool, Counter] = field(
        default_factory=lambda: {True: Counter(), False: Counter()})
    skipped: list[tuple[str, str]] = field(default_factory=list)
    sidecars: Counter = field(default_factory=Counter)
    sidecar_problems: list[str] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append((path, reason))

    def summary(self, dry_run: bool) -> str:
        """Lines for stderr: kept, rejected, already done, then the rows skipped."""
        lines = []
        for keep, verb in ((True, "kept"), (False, "rejected")):
            done = self.placed[keep]
            n = sum(done.values())
            if dry_run:
                lines.append(f"would have {verb} {n} photo(s)")
                continue
            parts = [f"{done[how]} {how}" for how in ("linked", "copied", "moved")
                     if done[how]]
            if done["done"]:
                parts.append(f"{done['done']} already done by an earlier run")
            lines.append(f"{verb} {n} photo(s)" + (f" ({', '.join(parts)})" if parts else ""))
        if self.sidecars:
            lines.append("their XMP sidecars: " + ", ".join(
                f"{n} {how}" for how, n in sorted(self.sidecars.items())))
        lines += [f"  sidecar left where it is: {why}" for why in self.sidecar_problems]
        return "\n".join(lines + row_problems("skipped", self.skipped))


def candidates(rows: list[Row], root: Path, out: Path,
               tally: Tally) -> list[tuple[Row, Path]]:
    """The rows that can be culled, with their photo; the others go to ``tally``."""
    found: list[tuple[Row, Path]] = []
    seen: set[str] = set()
    out_abs = os.path.abspath(out)
    for row in rows:
        if row.error:
            tally.skip(row.path, f"scoring failed: {row.error}")
            continue
        if row.quality is None:
            tally.skip(row.path, "no quality: the model has no quality scale "
                                 "(see blindiqa fit-scale)")
            continue
        photo = root / row.path
        key = os.path.abspath(photo)
        if key in seen:
            tally.skip(row.path, "listed twice: an earlier row names the same photo")
            continue
        if os.path.commonpath([key, out_abs]) == out_abs:
            tally.skip(row.path, f"inside --out: {out}")
            continue
        seen.add(key)
        found.append((row, photo))
    return found


def _stopper() -> Callable[[], None] | None:
    """The test hook's ``on_written`` (see the module docstring), or None."""
    stop_after = int(os.environ.get(STOP_AFTER_ENV) or 0)
    if stop_after <= 0:
        return None
    written = [0]

    def on_written() -> None:
        written[0] += 1
        if written[0] == stop_after:
            print(f"blindiqa cull: stopped after {stop_after} photo(s) ({STOP_AFTER_ENV})",
                  file=sys.stderr, flush=True)
            threading.Event().wait()  # until killed

    return on_written


def carry_sidecars(src: Path, dst: Path, mode: str, tally: Tally) -> None:
    """Take a photo's XMP sidecars (``x.jpg.xmp`` and ``x.xmp``, see
    :func:`blindiqa.io.xmp.sidecar_path`) along to its new place, so that a photo manager
    opening the keep folder finds its ratings, labels and edits: copied (a hard link
    would let an edit of one change the other), moved with ``--move``. Crash-safe and
    never overwriting, as photos are (:func:`blindiqa.io.place.place`)."""
    how = "move" if mode == "move" else "copy"
    for naming in SIDECAR_NAMINGS:
        side, side_dst = sidecar_path(src, naming), sidecar_path(dst, naming)
        if not (os.path.lexists(side) or (how == "move" and os.path.lexists(side_dst))):
            continue
        try:
            tally.sidecars[place(side, side_dst, how)] += 1
        except FileNotFoundError:
            continue  # a stem sidecar that another photo of the same stem took along
        except DestinationTakenError:
            tally.sidecar_problems.append(f"{side}: {side_dst} holds another sidecar")
        except OSError as exc:
            tally.sidecar_problems.append(f"{side}: cannot {how}: {exc.strerror or exc}")


def cull(plan: list[tuple[bool, Row, Path, Path, Path]], mode: str, tally: Tally) -> None:
    """Place each photo: ``(keep, row, source, destination, the other folder's name)``,
    with its XMP sidecars (:func:`carry_sidecars`)."""
    on_written = _stopper()
    for keep, row, src, dst, other in plan:
        try:
            if os.path.lexists(other) and (not src.exists() or same_content(src, other)):
                tally.skip(row.path, f"already in {FOLDERS[not keep]}/: culled by an "
                                     "earlier run with another rule")
                continue
            how = place(src, dst, mode, on_written)
        except FileNotFoundError:
            tally.skip(row.path, f"photo not found: {src}")
            continue
        except DestinationTakenError:
            tally.skip(row.path, f"destination holds another file: {dst}")
            continue
        except OSError as exc:
            tally.skip(row.path, f"cannot {mode}: {exc.strerror or exc}")
            continue
        tally.placed[keep][how] += 1
        carry_sidecars(src, dst, mode, tally)


def run(args: argparse.Namespace) -> int:
    try:
        rows, root = read_score_file(args.scores, args.root)
    except ValueError as exc:
        return fail(str(exc))
    rule = rule_of(args)
    if given_burst_options(args) and not args.best_of_burst:
        args.parser.error(f"{', '.join(given_burst_options(args))} apply only with "
                          "--best-of-burst")
    if rule is None and not args.best_of_burst:
        args.parser.error("one of the arguments --min-quality --keep-top --reject-bottom "
                          "--best-of-burst is required")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return fail(f"--out {args.out} is not a folder")
    mode = "move" if args.move else "copy" if args.copy else "link"
    tally = Tally()
    found = candidates(rows, root, out, tally)
    plan = []
    if found:
        try:
            keeps = keep_or_reject(found, rule,
                                   burst_settings(args) if args.best_of_burst else None)
        except ValueError as exc:
            return fail(str(exc))
        _, names = relative_names([photo for _, photo in found])
        for keep, (row, photo), name in zip(keeps, found, names, strict=True):
            plan.append((keep, row, photo, out / FOLDERS[keep] / name,
                         out / FOLDERS[not keep] / name))
    if args.dry_run:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        for keep, _row, src, dst, _other in plan:
            writer.writerow([FOLDERS[keep], src, dst])
            tally.placed[keep]["planned"] += 1
    else:
        try:
            with output_lock(out):
                cull(plan, mode, tally)
        except OutputLockedError as exc:
            return fail(str(exc))
    if not args.quiet:
        print(tally.summary(args.dry_run), file=sys.stderr)
    return 1 if tally.skipped else 0


if __name__ == "__main__":
    from blindiqa.cli.common import run_command

    sys.exit(run_command("cull", register))
