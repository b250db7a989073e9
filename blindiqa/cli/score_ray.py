"""``blindiqa score --engine ray``: the options and the run (Ray is imported lazily).

``blindiqa score`` adds the options with :func:`add_ray_options` and, when
``args.engine == "ray"``, returns ``run_ray_cli(args, items)`` with its input items.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from blindiqa.cli.common import fail, positive_int
from blindiqa.distributed.cluster import connect, import_ray
from blindiqa.distributed.quiet import new_log_path, stderr_to_file
from blindiqa.progress import Progress
from blindiqa.scoring.parts import DEFAULT_ROWS_PER_PART, PartWriter, part_files
from blindiqa.scoring.ray import (
    DEFAULT_BATCH,
    batch_provenance,
    batch_rows,
    score_with_ray,
)
from blindiqa.scoring.sidecar import Provenance, describe, differences

if TYPE_CHECKING:  # pragma: no cover - typing only
    import ray.data

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


def _clear_parts(folder: Path) -> None:
    """Remove the result parts (and their sidecars) an earlier run left in ``folder``
    (``--overwrite``)."""
    for part in part_files(folder):
        part.unlink() if part.is_file() else shutil.rmtree(part)


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "params", None):
        options["params"] = args.params
    if getattr(args, "max_side", None) is not None:
        options["max_side"] = args.max_side
    return options


class _Tally:
    """Scored and failed rows, and the sum of the scores."""

    def __init__(self) -> None:
        self.ok = self.bad = 0
        self.total = 0.0

    def add(self, score: float | None) -> None:
        if score is None:
            self.bad += 1
        else:
            self.ok, self.total = self.ok + 1, self.total + score

    def mean(self) -> str:
        return "n/a" if not self.ok else f"{self.total / self.ok:.4f}"


def _disagreement(first: Provenance, other: Provenance) -> str:
    """Why two actors' provenances differ, field by field."""
    return "; ".join(f"{name}: {describe(first, name)} and {describe(other, name)}"
                     for name in differences(first, other))


def _local_cpu_problem(args: argparse.Namespace, ray: Any) -> str | None:
    """Why a local Ray instance cannot hold the actors (None where it can).

    Each actor reserves one CPU; a fixed pool larger than the instance would wait for
    ever. A cluster joined by address may grow, so it is not checked.
    """
    if args.ray_address or os.environ.get("RAY_ADDRESS"):
        return None
    cpus = ray.cluster_resources().get("CPU", 0)
    if args.concurrency > cpus:
        return (f"--concurrency {args.concurrency} needs {args.concurrency} CPUs, the local "
                f"Ray instance has {cpus:g}; give --concurrency {max(1, int(cpus))} or less")
    return None


def _score_into(ds: ray.data.Dataset, writer: PartWriter, progress: Any, tally: _Tally,
                shard: tuple[int, int] | None) -> str | None:
    """Stream the scored rows into the parts, counting them; the disagreement of two
    actors' models where there is one (the run stops there), else None."""
    first: Provenance | None = None
    for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        for prov in batch_provenance(batch):
            if first is None:
                first = prov
                writer.provenance = replace(prov, shard=shard)
            elif differences(first, prov):
                return f"the Ray actors loaded different models ({_disagreement(first, prov)})"
        for row in batch_rows(batch):
            writer.write(row)
            tally.add(row.score)
        progress.update(batch.num_rows)
    return None


def run_ray_cli(args: argparse.Namespace, items: Iterable[tuple[Path, str]]) -> int:
    """``blindiqa score --engine ray``: score the inputs on Ray, write parts to ``--out``.

    Args:
        args: the namespace of ``blindiqa score`` (``paths``, ``manifest``, ``model``,
            ``params``, ``device``, ``max_side``, ``batch_size``, ``out``, ``overwrite``,
            ``quiet``, ``maps``, ``resume``, ``sort`` and the options of
            :func:`add_ray_options`).
        items: the ``(file, display name)`` pairs to score, already walked and sharded
            as the local engine does (read after the options are checked).

    Returns:
        0 when every input was scored, 1 when some failed or none was found, 2 for
        options that do not go together or a missing Ray.
    """
    problem = _problem(args)
    if problem:
        return fail(problem)
    try:
        import_ray()
    except ImportError as exc:
        return fail(str(exc))
    try:
        items = list(items)
    except OSError as exc:
        return fail(f"cannot read --manifest {args.manifest}: {exc.strerror or exc}")
    if not items:
        what = ", ".join([*args.paths, *([args.manifest] if args.manifest else [])])
        return fail(f"no images found in {what}", code=1)
    out = Path(args.out)
    if out.is_dir():
        _clear_parts(out)
    if getattr(args, "verbose", False):
        return _finish(args, _score(args, items, sys.stderr), None)
    log = new_log_path()
    with stderr_to_file(log) as console:
        result = _score(args, items, console)
    return _finish(args, result, log)


def _score(args: argparse.Namespace, items: list[tuple[Path, str]], console: TextIO
           ) -> str | tuple[_Tally, list[Path]]:
    """Score on Ray into the parts, the progress line on ``console``; the counts and the
    parts, or why it failed."""
    ray = import_ray()
    try:
        connect(args.ray_address, verbose=getattr(args, "verbose", False))
        problem = _local_cpu_problem(args, ray)
        if problem:
            return problem
        device = "cuda" if args.num_gpus_per_worker > 0 else getattr(args, "device", "cpu")
        ds = score_with_ray([(p, name) for p, name in items], args.model,
                            concurrency=args.concurrency,
                            num_gpus_per_worker=args.num_gpus_per_worker, device=device,
                            batch_size=getattr(args, "batch_size", DEFAULT_BATCH),
                            provenance=True, **_model_options(args))
        writer = PartWriter(args.out, args.ray_format, rows_per_part=getattr(
            args, "rows_per_part", DEFAULT_ROWS_PER_PART))
        tally = _Tally()
        with Progress(len(items), "scoring", enabled=not getattr(args, "quiet", False),
                      file=console) as progress:
            problem = _score_into(ds, writer, progress, tally, getattr(args, "shard", None))
        if problem:
            return problem
        return tally, writer.close()
    except OSError as exc:
        return f"cannot write {exc.filename or args.out}: {exc.strerror or exc}"
    except ray.exceptions.RayError as exc:  # a task or actor failed, a lost node ...
        return f"the Ray run failed: {type(exc).__name__}: {exc}"


def _finish(args: argparse.Namespace, result: str | tuple[_Tally, list[Path]],
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
    if not getattr(args, "quiet", False):
        print(f"scored {tally.ok}, failed {tally.bad}, mean score {tally.mean()} (model "
              f"{args.model}; lower score is better); {len(parts)} part(s) in "
              f"{args.out.rstrip(os.sep)}{os.sep}", file=sys.stderr)
    return 0 if tally.bad == 0 else 1
