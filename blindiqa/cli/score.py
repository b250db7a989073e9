"""``blindiqa score``: score image files and folders."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from blindiqa.cli.choices import DECODE_TIMEOUT as DEFAULT_TIMEOUT
from blindiqa.cli.common import (
    add_map_opacity_option,
    add_model_options,
    add_quiet_option,
    add_workers_option,
    examples,
    fail,
    load_scorer,
    no_images,
    positive_int,
)
from blindiqa.cli.score_ray import add_ray_options, run_ray_cli
from blindiqa.io.lock import OutputLockedError, acquire, release
from blindiqa.progress import Progress
from blindiqa.scoring.outputs import RecordWriter, Tally, check_outputs, resume_problem
from blindiqa.scoring.provenance import provenance_of
from blindiqa.scoring.rows import RowFileError
from blindiqa.scoring.sidecar import sidecar_path, write_sidecar
from blindiqa.viz.checks import parse_map_range

if TYPE_CHECKING:
    from blindiqa.models.base import QualityModel
    from blindiqa.scoring.inputs import Inputs
    from blindiqa.scoring.outputs import RecordWriter, Tally


def shard_spec(text: str) -> tuple[int, int]:
    """argparse type: ``i/N`` with ``0 <= i < N``."""
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shard i/N: {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"shard {text}: need 0 <= i < N")
    return i, n


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _map_range(text: str) -> tuple[float, float]:
    """argparse type: ``LO,HI`` for ``--map-range``."""
    try:
        return parse_map_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score images (lower is better)",
                       description="Score image files and folders (folders recursively). "
                                   "Scores are distances to pristine quality: lower is "
                                   "better; quality (0-100) is higher-is-better.",
                       epilog=examples(
                           "blindiqa score photo.jpg",
                           "blindiqa score photos/ --out scores.csv --sort",
                           "blindiqa score photos/ --model niqe --out niqe.jsonl",
                           "blindiqa score --manifest files.txt --out scores.csv --resume",
                           "blindiqa score photos/ --out part-0.csv --shard 0/4",
                           "blindiqa score photos/ --engine ray --concurrency 2 --out rayout/",
                           "blindiqa score photos/ --out scores.csv --maps maps/ "
                           "--map-opacity 0.35 --map-beside",
                           "blindiqa score photos/ --reasons --out scores.csv"))
    p.add_argument("paths", nargs="*", metavar="PATH", help="image files or folders")
    p.add_argument("--manifest", metavar="FILE",
                   help="also score the files and folders listed in FILE, one per line "
                        "(blank lines and lines starting with # are skipped; - = stdin)")
    add_model_options(p)
    p.add_argument("--out", metavar="FILE", help="write FILE.csv, or JSON lines to FILE.jsonl "
                                                 "or FILE.ndjson (another extension is an "
                                                 "error; default: CSV on stdout); written to "
                                                 "a temporary file renamed into place at the "
                                                 "end, so FILE is never left half-written")
    p.add_argument("--shard", type=shard_spec, metavar="i/N",
                   help="score only shard i of N (0 <= i < N): the inputs numbered i, i+N, "
                        "i+2N ... in the order they are found, the same in every run")
    p.add_argument("--resume", action="store_true",
                   help="append to --out, skipping the inputs it already has a row for "
                        "(rows are appended one by one, so a run killed at any moment "
                        "resumes with nothing lost or doubled)")
    p.add_argument("--sort", action="store_true",
                   help="write the rows best first (failed ones last) instead of in input "
                        "order; keeps every row in memory until the end")
    p.add_argument("--reasons", action="store_true",
                   help="add the columns reason_blur, reason_noise, reason_compression, "
                        "reason_exposure, reason_colour and reason_spatial: how strongly "
                        "each family of distortion seems present, 0 (absent) to 5 (strong), "
                        "by a probe trained on synthetic distortions, from the same encoder "
                        "pass (default model only; see docs/reasons.md for its accuracy)")
    p.add_argument("--maps", metavar="DIR", help="write a PNG of each image's local quality "
                                                 "map to DIR, laid out as the images are "
                                                 "below the folder all inputs share "
                                                 "(photos/a/x.jpg -> DIR/a/x.jpg.png)")
    p.add_argument("--map-range", type=_map_range, metavar="LO,HI",
                   help="colour --maps by distance on this fixed range (default: by the "
                        "model's 0-100 local quality scale where it has one; see "
                        "docs/maps.md)")
    add_map_opacity_option(p, "the --maps colours")
    p.add_argument("--map-beside", action="store_true",
                   help="draw each --maps picture as the plain photo with its map beside "
                        "it, instead of the map over the photo alone")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out FILE and write into a non-empty --maps "
                        "DIR (refused otherwise, exit code 2)")
    p.add_argument("--batch-size", type=positive_int, default=8, metavar="N",
                   help="images decoded ahead and scored per step; scores never depend on it "
                        "(default: %(default)s)")
    add_workers_option(p)
    p.add_argument("--decode-timeout", type=positive_float, default=DEFAULT_TIMEOUT,
                   metavar="S", help="seconds a worker may take to decode one file "
                                     "(default: %(default)g)")
    add_quiet_option(p)
    add_ray_options(p)
    p.set_defaults(func=run, parser=p)


def _silence_stdout() -> None:
    """Point stdout at ``/dev/null`` so that Python's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def check_options(args: argparse.Namespace) -> str | None:
    """Why the options do not go together (None where they do)."""
    if args.resume and not args.out:
        return "--resume needs --out FILE (the file to append to)"
    if args.resume and args.overwrite:
        return "--resume and --overwrite contradict each other; give one"
    if args.reasons and args.engine == "ray":
        return "--reasons is not available with --engine ray; score with the local engine"
    if args.resume and args.sort:
        return ("--sort cannot be combined with --resume (rows are appended as they come); "
                "sort when merging: blindiqa merge PART... --sort --out FILE")
    return check_outputs(args.out, args.maps, args.overwrite, args.resume)


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.manifest:  # argparse's usage error, as for no argument
        args.parser.error("the following arguments are required: PATH (or --manifest)")
    if args.engine == "ray" and not args.reasons:
        return run_ray_cli(args)
    problem = check_options(args)
    if problem:
        return fail(problem)
    try:  # held until the run ends, so that a second run cannot write --out meanwhile
        lock = acquire(args.out) if args.out else None
    except OutputLockedError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write {args.out}: {exc.strerror or exc}")
    try:
        return _run_locked(args)
    finally:
        if lock is not None:
            release(lock, args.out)


def _run_locked(args: argparse.Namespace) -> int:
    """The local run, once the options are checked and ``--out`` is locked."""
    from blindiqa.scoring.inputs import previous_rows, walk_inputs

    try:
        previous = previous_rows(args.out, args.resume)
        inputs = walk_inputs(args.paths, args.manifest, shard=args.shard,
                             skip=Counter(row.path for row in previous))
    except RowFileError as exc:
        return fail(f"cannot resume: {exc}")
    except OSError as exc:
        return fail(f"cannot read --manifest {args.manifest}: {exc.strerror or exc}")
    with inputs:
        try:
            model = load_scorer(args)
        except (ValueError, OSError) as exc:
            return fail(str(exc))
        prov = None
        if args.out:
            try:
                prov = provenance_of(model, args.shard)
            except OSError as exc:
                return fail(f"cannot read the model's bundle: {exc.strerror or exc}")
            problem = resume_problem(args.out, prov) if previous else None
            if problem:
                return fail(f"cannot resume: {problem}")
        try:
            writer = RecordWriter(args.out, append=args.resume, sort=args.sort,
                                  lower_better=model.lower_better, reasons=args.reasons)
            if prov is not None and args.resume:  # now: a run killed later leaves it too
                write_sidecar(args.out, prov)
        except RowFileError as exc:
            return fail(f"cannot resume: {exc}")
        except OSError as exc:
            return fail(f"cannot write {args.out}: {exc.strerror or exc}")
        tally = Tally()
        tally.add_previous(previous)
        code = _score(args, model, inputs, writer, tally)
    if code is not None:
        return code
    if prov is not None and not args.resume:
        try:
            write_sidecar(args.out, prov)
        except OSError as exc:
            return fail(f"cannot write {sidecar_path(args.out)}: {exc.strerror or exc}")
    if tally.rows == 0:
        return no_images(args)
    if not args.quiet:
        print(tally.summary(model.name, args.out, args.resume), file=sys.stderr)
    return 0 if tally.bad == 0 else 1


def _score(args: argparse.Namespace, model: QualityModel, inputs: Inputs,
           writer: RecordWriter, tally: Tally) -> int | None:
    """Score the inputs into ``writer``; the exit status where writing failed, else None."""
    from blindiqa.scoring.local import MapOptions, score_into

    maps = None if not args.maps else MapOptions(
        Path(args.maps), inputs.maps_base, opacity=args.map_opacity,
        value_range=args.map_range, beside=args.map_beside)
    ok = False
    progress = Progress(inputs.count + tally.before, "scoring", enabled=not args.quiet,
                        initial=tally.before)
    try:
        score_into(model, inputs, writer, tally, maps=maps, progress=progress,
                   with_reasons=args.reasons, workers=args.workers,
                   prefetch=args.batch_size, decode_timeout=args.decode_timeout)
        ok = True
    except BrokenPipeError:
        if writer.path is not None:
            return fail(f"cannot write {args.out}: Broken pipe")
        _silence_stdout()  # `blindiqa score DIR | head`: the reader has gone
        return 141  # 128 + SIGPIPE, as a command killed by the broken pipe
    except OSError as exc:  # a full disk, a read-only folder ...: no half-written output
        where = exc.filename or args.out or "the output"
        return fail(f"cannot write {where}: {exc.strerror or exc}")
    finally:
        progress.close()
        writer.close(keep=ok)
    return None
