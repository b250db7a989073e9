"""``blindiqa report``: a static HTML report of scored photos to look at."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blindiqa.cli.bursts import add_burst_options, burst_settings, given_burst_options
from blindiqa.cli.common import (
    add_map_opacity_option,
    add_model_options,
    add_quiet_option,
    add_workers_option,
    examples,
    fail,
    load_scorer,
    non_negative_int,
    positive_int,
)
from blindiqa.cli.demo import check_out_dir
from blindiqa.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    description = ("Score image files and folders (recursively) and write DIR/index.html, "
                   "a page that opens from disk: a sortable gallery with score, quality and "
                   "error, each photo beside its quality map on click, a histogram of the "
                   "quality, the worst and best images (pictures in DIR/thumbs and DIR/maps).")
    p = sub.add_parser("report", help="write an HTML report: gallery, quality maps, histogram",
                       description=description,
                       epilog=examples("blindiqa report photos/ --out report/",
                                       "blindiqa report photos/ --out report/ --bursts",
                                       "blindiqa report photos/ --out report/ --reasons",
                                       "blindiqa report photos/ --model niqe --out report-niqe/",
                                       "blindiqa report photos/ --out report/ --map-opacity 0.7"))
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add_model_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="the report folder")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty --out DIR (refused otherwise, exit code 2)")
    p.add_argument("--title", default="blindiqa report", help="the page's title")
    p.add_argument("--extremes", type=non_negative_int, default=20, metavar="N",
                   help="how many worst and best images to list apart (default: %(default)s)")
    add_map_opacity_option(p, "each quality map (drawn beside the plain photo)")
    p.add_argument("--thumb-side", type=positive_int, default=256, metavar="PX",
                   help="the thumbnails' longer side (default: %(default)s)")
    p.add_argument("--bursts", action="store_true",
                   help="group near-duplicate shots into bursts (see `blindiqa bursts`): "
                        "each card shows its burst, the best of each is marked, and the "
                        "gallery can be sorted by burst")
    add_burst_options(p)
    p.add_argument("--reasons", action="store_true",
                   help="show on each card which families of distortion (blur, noise, "
                        "compression, exposure, colour, spatial) seem present and how "
                        "strongly, and add the reason_* columns to scores.csv (default "
                        "model only; see docs/reasons.md)")
    add_workers_option(p)
    add_quiet_option(p)
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from blindiqa.report import write_report
    from blindiqa.scoring.inputs import iter_inputs
    from blindiqa.scoring.local import score_files

    problem = check_out_dir(Path(args.out), args.overwrite)
    if problem:
        return fail(problem)
    if given_burst_options(args) and not args.bursts:
        args.parser.error(f"{', '.join(given_burst_options(args))} apply only with --bursts")
    # listed first, so that the progress knows the total
    items = list(iter_inputs(args.paths, warn_empty=len(args.paths) > 1))
    if not items:
        return fail("no images found in " + ", ".join(args.paths), code=1)
    try:
        model = load_scorer(args)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    bursts = None
    if args.bursts:
        from blindiqa.bursts import group_files

        try:
            bursts = group_files([path for path, _ in items], [name for _, name in items],
                                 **burst_settings(args))
        except ValueError as exc:
            return fail(str(exc))
    records = score_files(model, items, workers=args.workers, with_maps=True,
                          with_reasons=args.reasons)
    try:
        with Progress(len(items), "report", enabled=not args.quiet) as progress:
            rows = write_report(records, args.out, model_name=model.name,
                                scale=model.quality_scale, window_scale=model.window_scale,
                                map_opacity=args.map_opacity, title=args.title,
                                n_extremes=args.extremes, thumb_side=args.thumb_side,
                                bursts=bursts,
                                on_row=lambda _row: progress.update())
    except OSError as exc:  # a full disk, a read-only folder ...
        return fail(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}")
    n_bad = sum(r.score is None for r in rows)
    if not args.quiet:
        print(f"report of {len(rows)} images ({n_bad} not scored, model {model.name}): "
              f"{Path(args.out) / 'index.html'}", file=sys.stderr)
    return 0 if n_bad == 0 else 1
