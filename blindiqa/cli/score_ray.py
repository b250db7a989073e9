"""``blindiqa score --engine ray``: the options, their checks and the messages; the run
is :func:`blindiqa.scoring.ray.score_to_parts` (Ray is imported lazily).

``blindiqa score`` adds the options with :func:`add_ray_options` and, when
``args.engine == "ray"``, returns ``run_ray_cli(args)``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from blindiqa.cli.common import fail, model_options, no_images, positive_int
from blindiqa.distributed.cluster import import_ray
from blindiqa.distributed.quiet import new_log_path, stderr_to_file
from blindiqa.scoring.parts import DEFAULT_ROWS_PER_PART, clear_parts

if TYPE_CHECKING:  # pragma: no cover - typing only
    from blindiqa.scoring.outputs import Tally

__all__ = ["add_ray_options", "run_ray_cli"]


def add_ray_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine``, ``--concurrency``, ``--num-gpus-per-worker``, ``--ray-address``,
    ``--ray-format``, ``--rows-per-part`` and ``--verbose`` to ``blindiqa score``'s
    parser."""
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="local: this machine (default); ray: a pool of Ray actors, "
                             "one model each, on the cluster of --ray-address; --out is "
                             "then a folder of Parquet (or CSV) parts, each with its "
                             "sidecar")
    parser.add_argument("--concurrency", type=positive_int, default=1, metavar="C",
                        help="--engine ray: actors, each with its own model "
                             "(default: %(default)s)")
    parser.add_argument("--num-gpus-per-worker", type=float, default=0, metavar="G",
                        help="--engine ray: GPUs per actor (a fraction shares one); above "
                             "0 the model runs on cuda (default: %(default)s)")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="--engine ray: the cluster to join, e.g. ray://head:10001 or "
                             "auto (default: $RAY_ADDRESS, else a local Ray instance)")
    parser.add_argument("--ray-format", choices=["parquet", "csv"], default="parquet",
                        help="--engine ray: the format of the parts in --out DIR "
                             "(default: %(default)s)")
    parser.add_argument("--rows-per-part", type=positive_int, default=DEFAULT_ROWS_PER_PART,
                        metavar="N",
                        help="--engine ray: rows per part file, part-00000.parquet, "
                             "part-00001.parquet ... (default: %(default)s)")
    parser.add_argument("--verbose", action="store_true",
                        help="--engine ray: show Ray's own logs (worker output, Ray Data "
                             "progress and plans); by default only its errors")


#: ``blindiqa score`` options the Ray engine does not take.
_LOCAL_ONLY = (("maps", "--maps"), ("resume", "--resume"), ("sort", "--sort"))


def _problem(args: argparse.Namespace) -> str | None:
    """Why the options do not go with ``--engine ray`` (None where they do)."""
    if not getattr(args, "paths", None) and not getattr(args, "manifest", None):
        return "give at least one PATH or --manifest FILE"
    for attr, flag in _LOCAL_ONLY:
        if getattr(args, attr, None):
            return f"{flag} is not available with --engine ray"
    if not args.out:
        return "--engine ray needs --out DIR (the folder for the result parts)"
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return f"--out {args.out} exists and is not a folder (--engine ray writes parts)"
    if out.is_dir() and any(out.iterdir()) and not getattr(args, "overwrite", False):
        return f"--out {args.out} is not empty; give --overwrite to replace its parts"
    if args.num_gpus_per_worker < 0:
        return "--num-gpus-per-worker must be 0 or more"
    return None


def run_ray_cli(args: argparse.Namespace) -> int:
    """``blindiqa score --engine ray``: score the inputs on Ray, write parts to ``--out``.

    Args:
        args: the namespace of ``blindiqa score`` (``paths``, ``manifest``, ``shard``,
            ``model``, ``params``, ``device``, ``max_side``, ``batch_size``, ``out``,
            ``overwrite``, ``quiet``, ``maps``, ``resume``, ``sort`` and the options of
            :func:`add_ray_options`).

    Returns:
        0 when every input was scored, 1 when some failed or none was found, 2 for
        options that do not go together or a missing Ray.
    """
    from blindiqa.scoring.inputs import walk_inputs
    from blindiqa.scoring.ray import RayRunError, score_to_parts

    problem = _problem(args)
    if problem:
        return fail(problem)
    try:
        import_ray()
    except ImportError as exc:
        return fail(str(exc))
    try:
        with walk_inputs(args.paths, args.manifest, shard=args.shard) as inputs:
            items = list(inputs)
    except OSError as exc:
        return fail(f"cannot read --manifest {args.manifest}: {exc.strerror or exc}")
    if not items:
        return no_images(args)
    clear_parts(args.out)
    verbose = getattr(args, "verbose", False)
    log = None if verbose else new_log_path()

    def run(console: TextIO) -> str | tuple[Tally, list[Path]]:
        try:
            return score_to_parts(
                items, args.model, args.out, fmt=args.ray_format,
                rows_per_part=args.rows_per_part, address=args.ray_address, verbose=verbose,
                concurrency=args.concurrency, num_gpus_per_worker=args.num_gpus_per_worker,
                device=args.device, batch_size=args.batch_size, shard=args.shard,
                progress_file=console, show_progress=not args.quiet, **model_options(args))
        except RayRunError as exc:
            return str(exc)

    if log is None:
        return _finish(args, run(sys.stderr), None)
    with stderr_to_file(log) as console:
        result = run(console)
    return _finish(args, result, log)


def _finish(args: argparse.Namespace, result: str | tuple[Tally, list[Path]],
            log: Path | None) -> int:
    """Report the run's result; the exit status. ``log`` holds what Ray wrote to the
    standard error (None with ``--verbose``): removed after a success (or when empty),
    named after a failure."""
    if isinstance(result, str):
        if log is not None and log.stat().st_size:
            result += f" (Ray's messages: {log})"
        elif log is not None:
            log.unlink()
        return fail(result)
    if log is not None:
        log.unlink(missing_ok=True)
    tally, parts = result
    if not args.quiet:
        print(f"{tally.summary(args.model)}; {len(parts)} part(s) in "
              f"{args.out.rstrip(os.sep)}{os.sep}", file=sys.stderr)
    return 0 if tally.bad == 0 else 1
