"""``blindiqa fit-scale``: give a model bundle its 0-100 quality scales.

The model scores a reference corpus of ordinary photos (no opinion scores); the sorted
distances go into a copy of the bundle, and ``quality`` then says which share of those
photos score worse (see :mod:`blindiqa.models.quality_scale`). The windows of the same
photos' quality maps give the window scale that colours the maps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blindiqa.cli.common import add_quiet_option, add_workers_option, examples, fail
from blindiqa.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    description = ("Write a copy of MODEL_FILE whose `quality` is 100 x the share of the "
                   "REFERENCE photos (ordinary ones, no labels) it scores worse, and whose "
                   "quality maps are coloured by the share of the photos' windows that are "
                   "worse. Scores do not change.")
    p = sub.add_parser("fit-scale", help="add a 0-100 quality scale to a model file",
                       description=description,
                       epilog=examples("blindiqa fit-scale my_model.safetensors photos/ "
                                       "--out my_model_scaled.safetensors"))
    p.add_argument("model", metavar="MODEL_FILE", help="a model bundle (.safetensors)")
    p.add_argument("reference", nargs="+", metavar="REFERENCE",
                   help="folders or files of ordinary photos (no labels needed)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the new bundle (may be MODEL_FILE itself with --overwrite)")
    p.add_argument("--corpus", metavar="TEXT",
                   help="how to describe the reference corpus in the bundle (default: the "
                        "reference paths and the number of photos)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_workers_option(p)
    add_quiet_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from blindiqa.models.bundle import BundleError
    from blindiqa.models.load import load_file
    from blindiqa.models.quality_scale import QualityScale, WindowScale, with_quality_scale
    from blindiqa.scoring.inputs import iter_inputs
    from blindiqa.scoring.local import reference_distances

    if Path(args.out).exists() and not args.overwrite:
        return fail(f"--out {args.out} exists; give --overwrite to replace it")
    try:
        model = load_file(args.model)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    items = list(iter_inputs(args.reference))
    if not items:
        return fail("no images found in " + ", ".join(args.reference), code=1)
    with Progress(len(items), "reference", enabled=not args.quiet) as bar:
        scores, maps, failed = reference_distances(model, items, workers=args.workers,
                                                   progress=bar)
    if not scores:
        return fail("no reference photo could be scored", code=1)
    corpus = args.corpus or f"{', '.join(args.reference)} ({len(scores)} photos)"
    scale = QualityScale.fit(scores, corpus, lower_better=model.lower_better)
    try:
        windows = WindowScale.from_maps(maps, corpus, lower_better=model.lower_better)
    except ValueError as exc:  # no finite window distance
        return fail(f"no window scale: {exc}", code=1)
    try:
        with_quality_scale(args.model, scale, args.out, windows=windows)
    except (BundleError, OSError) as exc:
        return fail(f"cannot write {args.out}: {exc}")
    if not args.quiet:
        q, w = scale.reference, windows.reference
        print(f"quality scale of {len(scores)} reference photos ({failed} failed) written "
              f"to {args.out}; distances: median {q[len(q) // 2]:.4g}, "
              f"5%-95% {q[int(0.05 * (len(q) - 1))]:.4g}-{q[int(0.95 * (len(q) - 1))]:.4g}; "
              f"window scale of {windows.windows} windows: median "
              f"{np.quantile(w, 0.5):.4g}, 5%-95% {np.quantile(w, 0.05):.4g}-"
              f"{np.quantile(w, 0.95):.4g}",
              file=sys.stderr)
    return 0
