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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blindiqa.cli.common import fail, positive_int
from blindiqa.distributed.ray_score import DEFAULT_BATCH, connect, import_ray, score_with_ray

if TYPE_CHECKING:  # pragma: no cover - typing only
    import ray.data

__all__ = ["add_ray_options", "run_ray_cli"]


def add_ray_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine``, ``--concurrency``, ``--num-gpus-per-worker``, ``--ray-address``
    and ``--ray-format`` to ``blindiqa score``'s parser."""
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="local: this machine (default); ray: a pool of Ray actors, "
                             "one model each, on the cluster of --ray-address; --out is "
                             "then a folder of Parquet (or CSV) parts")
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
    """Remove the result parts an earlier run left in ``folder`` (``--overwrite``)."""
    for part in folder.iterdir():
        if part.suffix in (".parquet", ".csv"):
            part.unlink() if part.is_file() else shutil.rmtree(part)


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "params", None):
        options["params"] = args.params
    if getattr(args, "max_side", None) is not None:
        options["max_side"] = args.max_side
    return options


def _summary(ds: ray.data.Dataset) -> tuple[int, int, float | None]:
    """``(scored, failed, mean score)`` of the rows of a materialised dataset."""
    ok = bad = 0
    total = 0.0
    for batch in ds.select_columns(["score"]).iter_batches(batch_format="pyarrow"):
        for s in batch.column("score").to_pylist():
            if s is None:
                bad += 1
            else:
                ok, total = ok + 1, total + s
    return ok, bad, total / ok if ok else None


def _write(ds: ray.data.Dataset, out: str, fmt: str) -> None:
    if fmt == "csv":
        ds.write_csv(out)
    else:
        ds.write_parquet(out)


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
    connect(args.ray_address)
    device = "cuda" if args.num_gpus_per_worker > 0 else getattr(args, "device", "cpu")
    ds = score_with_ray([(p, name) for p, name in items], args.model,
                        concurrency=args.concurrency,
                        num_gpus_per_worker=args.num_gpus_per_worker, device=device,
                        batch_size=getattr(args, "batch_size", DEFAULT_BATCH),
                        **_model_options(args)).materialize()
    _write(ds, os.fspath(out), args.ray_format)
    ok, bad, mean = _summary(ds)
    if not getattr(args, "quiet", False):
        shown = "n/a" if mean is None else f"{mean:.4f}"
        print(f"scored {ok}, failed {bad}, mean score {shown} (model {args.model}; parts "
              f"in {out}/)", file=sys.stderr)
    return 0 if bad == 0 else 1
