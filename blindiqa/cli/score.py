"""``blindiqa score``: score image files and folders."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TextIO

from tqdm import tqdm

from blindiqa.cli.common import add_model_options, fail, load_model, show_progress
from blindiqa.io.files import iter_image_files
from blindiqa.scoring import ScoreRecord, score_files


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score images (lower is better)",
                       description="Score image files and folders (folders recursively). "
                                   "Scores are distances to pristine quality: lower is better.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add_model_options(p)
    p.add_argument("--out", metavar="FILE", help="write FILE.csv or FILE.jsonl (default: CSV "
                                                 "on stdout)")
    p.add_argument("--maps", metavar="DIR", help="write a PNG of each image's local quality "
                                                 "map to DIR")
    p.add_argument("--batch-size", type=int, default=8, metavar="N",
                   help="images decoded ahead and scored per step; scores never depend on it "
                        "(default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="decoding processes (0 = in the main process; default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=run)


class _Writer:
    """Rows to CSV or JSON lines, into a temporary file renamed into place at the end."""

    def __init__(self, out: str | None) -> None:
        self.path = Path(out) if out else None
        self.jsonl = bool(out) and out.lower().endswith((".jsonl", ".ndjson"))
        self.tmp: str | None = None
        if self.path is None:
            self.fh: TextIO = sys.stdout
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            self.fh = open(fd, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close())
        if not self.jsonl:
            self.csv = csv.writer(self.fh, lineterminator="\n")
            self.csv.writerow(["path", "score", "error"])

    def write(self, rec: ScoreRecord) -> None:
        if self.jsonl:
            self.fh.write(json.dumps({"path": rec.name, "score": rec.score,
                                      "error": rec.error}) + "\n")
        else:
            self.csv.writerow([rec.name, "" if rec.score is None else repr(rec.score),
                               rec.error or ""])
        self.fh.flush()

    def close(self, keep: bool = True) -> None:
        if self.path is None:
            return
        self.fh.close()
        if keep:
            os.replace(self.tmp, self.path)
        elif self.tmp and os.path.exists(self.tmp):
            os.unlink(self.tmp)


def _map_path(maps_dir: Path, rec: ScoreRecord) -> Path:
    rel = PurePosixPath(rec.name)
    if rel.is_absolute() or ".." in rel.parts:
        rel = PurePosixPath(rec.path.name)
    return maps_dir / f"{rel}.png"


def _records(args: argparse.Namespace, model) -> Iterator[ScoreRecord]:
    items = iter_image_files(args.paths)
    yield from score_files(model, items, workers=args.workers, with_maps=bool(args.maps),
                          prefetch=args.batch_size)


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        return fail("--batch-size must be at least 1")
    if args.workers < 0:
        return fail("--workers must be 0 or more")
    try:
        model = load_model(args.model, args)
    except ValueError as exc:
        return fail(str(exc))
    writer = _Writer(args.out)
    maps_dir = Path(args.maps) if args.maps else None
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

                target = _map_path(maps_dir, rec)
                target.parent.mkdir(parents=True, exist_ok=True)
                render_quality_map(rec.image, rec.quality_map, score=rec.score).save(target)
        ok = True
    finally:
        writer.close(keep=ok)
    if n_ok + n_bad == 0:
        return fail("no images found in " + ", ".join(args.paths), code=1)
    if not args.quiet:
        mean = f"{total / n_ok:.4f}" if n_ok else "n/a"
        print(f"scored {n_ok}, failed {n_bad}, mean score {mean} "
              f"(model {model.name}; lower is better)", file=sys.stderr)
    return 0 if n_bad == 0 else 1
