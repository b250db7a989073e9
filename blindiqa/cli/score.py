"""``blindiqa score``: score image files and folders."""

from __future__ import annotations

import argparse
import os
import posixpath
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from blindiqa.cli.choices import DECODE_TIMEOUT as DEFAULT_TIMEOUT
from blindiqa.cli.common import (
    add_map_opacity_option,
    add_model_options,
    add_quiet_option,
    add_workers_option,
    examples,
    fail,
    load_model,
    positive_int,
)
from blindiqa.cli.score_ray import add_ray_options
from blindiqa.io.atomic import atomic_write
from blindiqa.io.lock import OutputLockedError, acquire, release
from blindiqa.progress import Progress
from blindiqa.scoring.rows import (
    OUT_EXTENSIONS,
    Row,
    RowFileError,
    RowWriter,
    iter_manifest,
    read_rows,
    reason_cells,
)
from blindiqa.scoring.sidecar import (
    Provenance,
    SidecarError,
    describe,
    differences,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

if TYPE_CHECKING:
    from blindiqa.scoring.local import ScoreRecord

#: How a ``..`` in an image's display name is written in its ``--maps`` file path.
_UP = "__"


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
    from blindiqa.viz.checks import parse_map_range

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


class _Writer(RowWriter):
    """:class:`~blindiqa.scoring.rows.RowWriter` taking score records."""

    def write(self, rec: ScoreRecord) -> None:  # type: ignore[override]
        super().write(Row(rec.name, rec.score, rec.quality, rec.error, rec.width, rec.height,
                          reason_cells(rec.reasons)))


def _save_png_atomic(image, target: Path) -> None:
    """Save a PIL image as PNG via a temporary file renamed into place."""
    with atomic_write(target, "wb") as fh:
        image.save(fh, format="PNG")


def _silence_stdout() -> None:
    """Point stdout at ``/dev/null`` so that Python's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def check_outputs(out: str | None, maps: str | None, overwrite: bool,
                  resume: bool = False) -> str | None:
    """Why the outputs may not be written (None where they may).

    Args:
        out: the ``--out`` file.
        maps: the ``--maps`` folder.
        overwrite: ``--overwrite`` was given.
        resume: ``--resume`` was given (an existing ``--out`` is then appended to).
    """
    if out:
        p = Path(out)
        if p.is_dir():
            return f"--out {out} is a directory; give a file name (.csv or .jsonl)"
        if p.suffix.lower() not in OUT_EXTENSIONS:
            return (f"--out {out}: unknown file type {p.suffix or '(no extension)'}; the "
                    f"extension must be one of {', '.join(OUT_EXTENSIONS)}")
        if p.exists() and not overwrite and not resume:
            return f"--out {out} exists; give --overwrite to replace it"
    if maps:
        m = Path(maps)
        if m.exists() and not m.is_dir():
            return f"--maps {maps} exists and is not a directory"
        if m.is_dir() and not overwrite and not resume and any(m.iterdir()):
            return f"--maps {maps} is not empty; give --overwrite to write into it"
    return None


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


def input_args(paths: Sequence[str], manifest: str | None) -> Iterator[str]:
    """The input arguments: ``paths``, then the lines of ``manifest`` (read lazily)."""
    yield from paths
    if manifest:
        yield from iter_manifest(manifest)


def count_images(args: Iterable[str]) -> int:
    """How many inputs the arguments name, walking folders without keeping the paths."""
    from blindiqa.io.files import iter_image_files

    return sum(1 for _ in iter_image_files(args))


def shard_size(total: int, shard: tuple[int, int] | None) -> int:
    """How many of ``total`` inputs shard ``(i, N)`` holds."""
    if shard is None:
        return total
    i, n = shard
    return max(0, (total - i + n - 1) // n)


def select(items: Iterable[tuple[Path, str]], shard: tuple[int, int] | None,
           skip: Counter | None = None) -> Iterator[tuple[Path, str]]:
    """The items of shard ``(i, N)`` (all without one), less those named in ``skip``
    (each name as many times as it is counted there)."""
    for k, (path, name) in enumerate(items):
        if shard is not None and k % shard[1] != shard[0]:
            continue
        if skip and skip[name] > 0:
            skip[name] -= 1
            continue
        yield path, name


def maps_base(paths: Iterable[str]) -> str:
    """The folder that the ``--maps`` layout mirrors: the deepest folder above every input.

    A folder argument counts as itself, a file argument as its folder, each as typed
    (posix-style). One folder gives ``photos/x.jpg -> MAPS/x.jpg.png``; ``dupA`` and
    ``dupB`` give ``MAPS/dupA/x.jpg.png`` and ``MAPS/dupB/x.jpg.png``. Inputs with no
    folder in common (one absolute, one relative) give ``""``.

    Args:
        paths: the path arguments, as given (read once, lazily).
    """
    from blindiqa.io.files import folder_prefix

    base: str | None = None
    for p in paths:
        folder = folder_prefix(p) if Path(p).is_dir() else posixpath.dirname(folder_prefix(p))
        try:
            base = posixpath.commonpath([folder] if base is None else [base, folder])
        except ValueError:  # absolute and relative inputs mixed
            return ""
    return base or ""


def _map_path(maps_dir: Path, rec: ScoreRecord, base: str = "") -> Path:
    """Where the quality map of ``rec`` goes: inside ``maps_dir``, whatever its name.

    The display name relative to ``base`` (see :func:`maps_base`), with a leading root
    dropped and each ``..`` written ``__``, so that no name leads out of ``maps_dir`` and
    two images with distinct names get distinct maps.
    """
    rel = PurePosixPath(rec.name)
    if base and rel.is_relative_to(base):  # else (a name typed another way): keep it whole
        rel = rel.relative_to(base)
    parts = [_UP if part == ".." else part for part in rel.parts if part != rel.anchor]
    *folders, name = parts or [rec.path.name]
    return maps_dir.joinpath(*folders, f"{name}.png")


def iter_inputs(paths: Iterable[str], warn_empty: bool = True,
                ) -> Iterator[tuple[Path, str]]:
    """:func:`~blindiqa.io.files.iter_image_files` with full names, warning of empty folders.

    Args:
        paths: the path arguments, as given.
        warn_empty: write ``blindiqa: warning: no images found in DIR/`` to stderr for
            each folder argument holding no image (the walk goes on with the others).
    """
    from tqdm import tqdm

    from blindiqa.io.files import folder_prefix, iter_image_files

    for raw in paths:
        found = False
        for item in iter_image_files([raw], full_names=True):
            found = True
            yield item
        if not found and warn_empty:  # only a folder can yield nothing
            tqdm.write(f"blindiqa: warning: no images found in {folder_prefix(raw)}/",
                       file=sys.stderr)


def _previous_rows(args: argparse.Namespace) -> list[Row]:
    """The complete rows an earlier run left in ``--out`` (``--resume``)."""
    if not (args.resume and Path(args.out).exists()):
        return []
    return read_rows(args.out)


def resume_problem(out: str | os.PathLike, prov: Provenance) -> str | None:
    """Why ``prov``'s run may not append to the rows in ``out`` (None where it may).

    The sidecar of ``out`` must name the same model, bundle, version, ``max_side`` and
    shard; a file without a sidecar (written before sidecars existed) is appended to with
    a warning, as nothing says what made its rows.
    """
    try:
        before = read_sidecar(out)
    except SidecarError as exc:
        return str(exc)
    if before is None:
        print(f"blindiqa: warning: {out} has no sidecar ({sidecar_path(out).name}): "
              "cannot check that the same model made its rows", file=sys.stderr)
        return None
    fields = differences(before, prov) + (["shard"] if before.shard != prov.shard else [])
    if not fields:
        return None
    said = ", ".join(f"{f} {describe(before, f)} (this run: {describe(prov, f)})"
                     for f in fields)
    return (f"{sidecar_path(out)} says another run made the rows of {out}: {said}; resume "
            "with the same model and options, or score into a new --out")


def _selected(args: argparse.Namespace, skip: Counter | None = None,
              ) -> Iterator[tuple[Path, str]]:
    """The inputs this run scores: PATHS and the manifest, walked, in ``--shard``, less
    ``skip``."""
    # a lone empty folder gets the error at the end, not a warning as well
    many = len(args.paths) + bool(args.manifest) > 1
    items = iter_inputs(input_args(args.paths, args.manifest), warn_empty=many)
    return select(items, args.shard, skip)


def score_files(*args, **kwargs) -> Iterator[ScoreRecord]:
    """:func:`blindiqa.scoring.score_files`, imported on the first call (it imports torch,
    which ``blindiqa score --help`` must not)."""
    from blindiqa.scoring.local import score_files as _score_files

    return _score_files(*args, **kwargs)


def _records(args: argparse.Namespace, model, skip: Counter | None = None,
             ) -> Iterator[ScoreRecord]:
    yield from score_files(model, _selected(args, skip), workers=args.workers,
                           with_maps=bool(args.maps), with_reasons=args.reasons,
                           prefetch=args.batch_size,
                           decode_timeout=args.decode_timeout)


def _buffer_manifest(args: argparse.Namespace) -> None:
    """A manifest on stdin is read twice (count, then score): keep its lines."""
    if args.manifest == "-":
        args.paths = [*args.paths, *iter_manifest("-")]
        args.manifest = None


class _Tally:
    """Counts and the mean score and quality of the rows of a run (with ``--resume``,
    of the rows already in ``--out`` as well)."""

    def __init__(self) -> None:
        self.ok = self.bad = 0
        self.total = self.quality = 0.0
        self.n_quality = 0
        self.before = 0  # rows already in --out when the run started (--resume) ...
        self.before_ok = self.before_bad = 0  # ... scored and failed

    def add(self, score: float | None, quality: float | None) -> None:
        if score is None:
            self.bad += 1
            return
        self.ok += 1
        self.total += score
        if quality is not None:
            self.quality += quality
            self.n_quality += 1

    def add_previous(self, rows: Sequence[Row]) -> None:
        """Count the rows an earlier run left in ``--out`` (``--resume``)."""
        for row in rows:
            self.add(row.score, row.quality)
        self.before += len(rows)
        self.before_ok, self.before_bad = self.ok, self.bad

    def summary(self, model, out: str | None = None, resume: bool = False) -> str:
        """The final line: this run's counts (and, with ``resume``, how many rows ``out``
        already held), then the means over every row of the output."""
        mean = f"{self.total / self.ok:.4f}" if self.ok else "n/a"
        quality = (f", mean quality {self.quality / self.n_quality:.1f}/100"
                   if self.n_quality else "")
        if not resume:
            return (f"scored {self.ok}, failed {self.bad}, mean score {mean}{quality} "
                    f"(model {model.name}; lower score is better)")
        ok, bad = self.ok - self.before_ok, self.bad - self.before_bad
        return (f"scored {ok}, failed {bad}, {self.before} already in {out}; over all "
                f"{self.ok + self.bad} rows: mean score {mean}{quality} "
                f"(model {model.name}; lower score is better)")


def _run_ray(args: argparse.Namespace) -> int:
    """``--engine ray``: the same inputs (and shard), scored by Ray actors."""
    from blindiqa.cli.score_ray import run_ray_cli

    try:
        _buffer_manifest(args)
        return run_ray_cli(args, _selected(args))
    except OSError as exc:
        return fail(f"cannot read --manifest {args.manifest}: {exc.strerror or exc}")


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.manifest:  # argparse's usage error, as for no argument
        args.parser.error("the following arguments are required: PATH (or --manifest)")
    if args.engine == "ray" and not args.reasons:
        return _run_ray(args)
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
    try:
        _buffer_manifest(args)
        previous = _previous_rows(args)
        total = shard_size(count_images(input_args(args.paths, args.manifest)), args.shard)
    except RowFileError as exc:
        return fail(f"cannot resume: {exc}")
    except OSError as exc:
        return fail(f"cannot read --manifest {args.manifest}: {exc.strerror or exc}")
    try:
        model = load_model(args.model, args)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    if args.reasons and model.reasons_problem() is not None:
        return fail(f"--reasons: {model.reasons_problem()}")
    prov = None
    if args.out:
        from blindiqa.scoring.provenance import provenance_of

        try:
            prov = provenance_of(model, args.shard)
        except OSError as exc:
            return fail(f"cannot read the model's bundle: {exc.strerror or exc}")
        problem = resume_problem(args.out, prov) if previous else None
        if problem:
            return fail(f"cannot resume: {problem}")
    try:
        writer = _Writer(args.out, append=args.resume, sort=args.sort,
                         lower_better=model.lower_better, reasons=args.reasons)
        if prov is not None and args.resume:  # now: a run killed later leaves it too
            write_sidecar(args.out, prov)
    except RowFileError as exc:
        return fail(f"cannot resume: {exc}")
    except OSError as exc:
        return fail(f"cannot write {args.out}: {exc.strerror or exc}")
    maps_dir = Path(args.maps) if args.maps else None
    base = maps_base(input_args(args.paths, args.manifest)) if maps_dir is not None else ""
    tally = _Tally()
    tally.add_previous(previous)
    skip = Counter(row.path for row in previous)
    ok = False
    progress = Progress(total, "scoring", enabled=not args.quiet, initial=len(previous))
    try:
        for rec in _records(args, model, skip):
            writer.write(rec)
            progress.update()
            tally.add(rec.score, rec.quality)
            if rec.score is None:
                continue
            if maps_dir is not None and rec.quality_map is not None:
                from blindiqa.viz import render_quality_map

                target = _map_path(maps_dir, rec, base)
                target.parent.mkdir(parents=True, exist_ok=True)
                _save_png_atomic(render_quality_map(
                    rec.image, rec.quality_map, score=rec.score, alpha=args.map_opacity,
                    scale=model.quality_scale, map_range=args.map_range,
                    window_scale=model.window_scale, beside=args.map_beside), target)
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
    if prov is not None and not args.resume:
        try:
            write_sidecar(args.out, prov)
        except OSError as exc:
            return fail(f"cannot write {sidecar_path(args.out)}: {exc.strerror or exc}")
    if tally.ok + tally.bad == 0:
        what = ", ".join([*args.paths, *([args.manifest] if args.manifest else [])])
        return fail(f"no images found in {what}", code=1)
    if not args.quiet:
        print(tally.summary(model, args.out, args.resume), file=sys.stderr)
    return 0 if tally.bad == 0 else 1
