"""``blindiqa score``: score image files and folders."""

from __future__ import annotations

import argparse
import csv
import json
import os
import posixpath
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TextIO

from tqdm import tqdm

from blindiqa.cli.common import (
    add_model_options,
    fail,
    load_model,
    non_negative_int,
    positive_int,
    show_progress,
)
from blindiqa.io.files import folder_prefix, iter_image_files
from blindiqa.scoring import ScoreRecord, score_files

#: The ``--out`` extensions of JSON lines (either of their usual names) ...
JSONL_EXTENSIONS: tuple[str, ...] = (".jsonl", ".ndjson")
#: ... and of every ``--out`` file type (any other is refused).
OUT_EXTENSIONS: tuple[str, ...] = (".csv", *JSONL_EXTENSIONS)

#: How a ``..`` in an image's display name is written in its ``--maps`` file path.
_UP = "__"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score images (lower is better)",
                       description="Score image files and folders (folders recursively). "
                                   "Scores are distances to pristine quality: lower is better.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add_model_options(p)
    p.add_argument("--out", metavar="FILE", help="write FILE.csv, or JSON lines to FILE.jsonl "
                                                 "or FILE.ndjson (another extension is an "
                                                 "error; default: CSV on stdout); written to "
                                                 "a temporary file renamed into place at the "
                                                 "end, so FILE is never left half-written")
    p.add_argument("--maps", metavar="DIR", help="write a PNG of each image's local quality "
                                                 "map to DIR, laid out as the images are "
                                                 "below the folder all inputs share "
                                                 "(photos/a/x.jpg -> DIR/a/x.jpg.png)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out FILE and write into a non-empty --maps "
                        "DIR (refused otherwise, exit code 2)")
    p.add_argument("--batch-size", type=positive_int, default=8, metavar="N",
                   help="images decoded ahead and scored per step; scores never depend on it "
                        "(default: %(default)s)")
    p.add_argument("--workers", type=non_negative_int, default=1, metavar="N",
                   help="decoding processes (0 = in the main process; default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=run)


def _safe_text(text: str, encoding: str = "utf-8") -> str:
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


class _Writer:
    """Rows to CSV or JSON lines, into a temporary file renamed into place at the end.

    The target appears only once every row is written (and synced); after an error or
    Ctrl-C the temporary file is removed and an existing target is left as it was.
    """

    def __init__(self, out: str | None) -> None:
        self.path = Path(out) if out else None
        self.jsonl = bool(out) and out.lower().endswith(JSONL_EXTENSIONS)
        self.tmp: str | None = None
        if self.path is None:
            self.fh: TextIO = sys.stdout
            self.encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        else:
            self.encoding = "utf-8"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                            suffix=".tmp")
            self.fh = open(fd, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close())
        if not self.jsonl:
            self.csv = csv.writer(self.fh, lineterminator="\n")
            self.csv.writerow(["path", "score", "error"])

    def write(self, rec: ScoreRecord) -> None:
        name = _safe_text(rec.name, self.encoding)
        error = _safe_text(rec.error, self.encoding) if rec.error else rec.error
        if self.jsonl:
            self.fh.write(json.dumps({"path": name, "score": rec.score, "error": error}) + "\n")
        else:
            self.csv.writerow([name, "" if rec.score is None else repr(rec.score),
                               error or ""])
        self.fh.flush()

    def close(self, keep: bool = True) -> None:
        if self.path is None or self.tmp is None:
            return
        try:
            if keep:
                self.fh.flush()
                os.fsync(self.fh.fileno())
            self.fh.close()
            if keep:
                _default_permissions(self.tmp)
                os.replace(self.tmp, self.path)
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
            self.tmp = None


def _default_permissions(path: str) -> None:
    """Give a ``mkstemp`` file (mode 0600) the permissions a new file gets (umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _save_png_atomic(image, target: Path) -> None:
    """Save a PIL image as PNG via a temporary file renamed into place."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, format="PNG")
        _default_permissions(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _silence_stdout() -> None:
    """Point stdout at ``/dev/null`` so that Python's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def check_outputs(out: str | None, maps: str | None, overwrite: bool) -> str | None:
    """Why the outputs may not be written (None where they may).

    Args:
        out: the ``--out`` file.
        maps: the ``--maps`` folder.
        overwrite: ``--overwrite`` was given.
    """
    if out:
        p = Path(out)
        if p.is_dir():
            return f"--out {out} is a directory; give a file name (.csv or .jsonl)"
        if p.suffix.lower() not in OUT_EXTENSIONS:
            return (f"--out {out}: unknown file type {p.suffix or '(no extension)'}; the "
                    f"extension must be one of {', '.join(OUT_EXTENSIONS)}")
        if p.exists() and not overwrite:
            return f"--out {out} exists; give --overwrite to replace it"
    if maps:
        m = Path(maps)
        if m.exists() and not m.is_dir():
            return f"--maps {maps} exists and is not a directory"
        if m.is_dir() and not overwrite and any(m.iterdir()):
            return f"--maps {maps} is not empty; give --overwrite to write into it"
    return None


def maps_base(paths: Sequence[str]) -> str:
    """The folder that the ``--maps`` layout mirrors: the deepest folder above every input.

    A folder argument counts as itself, a file argument as its folder, each as typed
    (posix-style). One folder gives ``photos/x.jpg -> MAPS/x.jpg.png``; ``dupA`` and
    ``dupB`` give ``MAPS/dupA/x.jpg.png`` and ``MAPS/dupB/x.jpg.png``. Inputs with no
    folder in common (one absolute, one relative) give ``""``.

    Args:
        paths: the path arguments, as given.
    """
    folders = [folder_prefix(p) if Path(p).is_dir() else posixpath.dirname(folder_prefix(p))
               for p in paths]
    try:
        return posixpath.commonpath(folders)
    except ValueError:  # absolute and relative inputs mixed
        return ""


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


def iter_inputs(paths: Sequence[str], warn_empty: bool = True,
                ) -> Iterator[tuple[Path, str]]:
    """:func:`~blindiqa.io.files.iter_image_files` with full names, warning of empty folders.

    Args:
        paths: the path arguments, as given.
        warn_empty: write ``blindiqa: warning: no images found in DIR/`` to stderr for
            each folder argument holding no image (the walk goes on with the others).
    """
    for raw in paths:
        found = False
        for item in iter_image_files([raw], full_names=True):
            found = True
            yield item
        if not found and warn_empty:  # only a folder can yield nothing
            tqdm.write(f"blindiqa: warning: no images found in {folder_prefix(raw)}/",
                       file=sys.stderr)


def _records(args: argparse.Namespace, model) -> Iterator[ScoreRecord]:
    # a lone empty folder gets the error at the end, not a warning as well
    items = iter_inputs(args.paths, warn_empty=len(args.paths) > 1)
    yield from score_files(model, items, workers=args.workers, with_maps=bool(args.maps),
                          prefetch=args.batch_size)


def run(args: argparse.Namespace) -> int:
    problem = check_outputs(args.out, args.maps, args.overwrite)
    if problem:
        return fail(problem)
    try:
        model = load_model(args.model, args)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    try:
        writer = _Writer(args.out)
    except OSError as exc:
        return fail(f"cannot write {args.out}: {exc.strerror or exc}")
    maps_dir = Path(args.maps) if args.maps else None
    base = maps_base(args.paths) if maps_dir is not None else ""
    n_ok = n_bad = 0
    total = 0.0
    ok = False
    try:
        bar = tqdm(_records(args, model), disable=not show_progress(args), unit="img",
                   desc="scoring", file=sys.stderr)
        for rec in bar:
            writer.write(rec)
            if rec.score is None:
                n_bad += 1
                continue
            n_ok += 1
            total += rec.score
            if maps_dir is not None and rec.quality_map is not None:
                from blindiqa.viz import render_quality_map

                target = _map_path(maps_dir, rec, base)
                target.parent.mkdir(parents=True, exist_ok=True)
                _save_png_atomic(render_quality_map(rec.image, rec.quality_map,
                                                    score=rec.score), target)
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
        writer.close(keep=ok)
    if n_ok + n_bad == 0:
        return fail("no images found in " + ", ".join(args.paths), code=1)
    if not args.quiet:
        mean = f"{total / n_ok:.4f}" if n_ok else "n/a"
        print(f"scored {n_ok}, failed {n_bad}, mean score {mean} "
              f"(model {model.name}; lower is better)", file=sys.stderr)
    return 0 if n_bad == 0 else 1
