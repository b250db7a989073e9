"""``blindiqa bench``: SRCC / PLCC / KRCC of models on labelled datasets."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from blindiqa.cli.common import (
    add_model_options,
    add_quiet_option,
    add_workers_option,
    examples,
    fail,
    positive_int,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def dataset_arg(text: str) -> tuple[str, Path]:
    """Parse ``NAME=ROOT`` (argparse type): a file-name-safe name and a folder."""
    name, sep, root = text.partition("=")
    name, root = name.strip(), root.strip()
    if not sep or not name or not root:
        raise argparse.ArgumentTypeError(f"expected NAME=ROOT, got {text!r}")
    if not _NAME.match(name):
        raise argparse.ArgumentTypeError(
            f"dataset name {name!r} may only use letters, digits and . _ + -")
    return name, Path(root)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="benchmark models against MOS on labelled datasets",
        description="Score every image of each dataset with each model and report |SRCC|, "
                    "PLCC (after the 4-parameter logistic fit) and |KRCC| against the MOS. "
                    "Writes DIR/scores/, DIR/plots/, DIR/results.csv and DIR/results.md. "
                    "By default (--resume) a rerun into the same DIR reuses the scores "
                    "already there and scores only the rest (resume after Ctrl-C or a "
                    "crash); --overwrite deletes DIR's earlier outputs first and starts "
                    "afresh.",
        epilog="Dataset layouts are detected from ROOT: generic (images/ + mos.csv with "
               "image,mos[,mos_std]), clive (ChallengeDB_release), koniq, spaq, flive, "
               "cid2013, biq2021 (their official layouts).\n" + examples(
                   "blindiqa bench --model default --dataset clive=data/clive-dev --out bench/",
                   "blindiqa bench --model default --model niqe --dataset clive=data/clive-dev "
                   "--dataset biq=data/biq2021-dev --out bench/"))
    add_model_options(p, multiple=True)
    p.add_argument("--dataset", action="append", required=True, type=dataset_arg,
                   metavar="NAME=ROOT", help="a dataset folder and the name to report it "
                                             "under; repeat for several")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_workers_option(p)
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="score only the first N images of each dataset")
    p.add_argument("--no-plots", action="store_true", help="do not draw the scatter plots")
    add_quiet_option(p, "no per-pair lines")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", dest="overwrite", action="store_false",
                       help="reuse the scores already in DIR and score only the rest (the "
                            "default)")
    again.add_argument("--overwrite", dest="overwrite", action="store_true",
                       help="delete DIR's earlier outputs (results.csv, results.md, "
                            "scores/*__*.csv|json, plots/*__*.png) and start afresh")
    p.set_defaults(func=run, overwrite=False)


def run(args: argparse.Namespace) -> int:
    from blindiqa.bench.runner import read_results, results_markdown, run_bench

    options = {"params": args.params} if getattr(args, "params", None) else {}
    try:
        results = run_bench(args.model, args.dataset, args.out, device=args.device,
                            workers=args.workers, limit=args.limit, quiet=args.quiet,
                            plots=not args.no_plots, load_options=options,
                            overwrite=args.overwrite)
    except ValueError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}")
    table = results_markdown(read_results(Path(args.out) / "results.csv") or results)
    sys.stdout.write(table)
    empty = [f"{r.model} / {r.dataset}" for r in results if r.n == 0]
    if empty:
        return fail(f"no image could be scored for {', '.join(empty)}", code=1)
    return 0
