"""Scoring many files on a Ray cluster (``blindiqa score --engine ray``).

A Ray Data pipeline over the file list: :meth:`ray.data.Dataset.map_batches` with a pool
of actors, each holding one model and decoding its files itself, so only paths travel
to the workers and only result rows come back. Each image is scored by the same code as
the local path (:func:`blindiqa.scoring.score_files`, decoding in the actor), so the
scores, qualities and error texts are the local ones; nothing is resized beyond the
model's own policy.

Ray is an optional dependency (``pip install "blindiqa[ray]"``); it is imported only
when this module's functions run.
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

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow
    import ray.data

__all__ = ["OUTPUT_COLUMNS", "RayScorer", "add_ray_options", "connect", "read_parts",
           "run_ray_cli", "score_with_ray"]

#: The columns of every output row, as the local ``blindiqa score`` writes them.
OUTPUT_COLUMNS = ("path", "score", "quality", "error")
#: Files each actor scores per call (they are scored one by one inside).
DEFAULT_BATCH = 8


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (the Data library is part of the extra)
    except ImportError as exc:
        raise ImportError('Ray is not installed: pip install "blindiqa[ray]"') from exc
    return ray


def _schema() -> pyarrow.Schema:
    import pyarrow as pa

    return pa.schema([("path", pa.string()), ("score", pa.float64()),
                      ("quality", pa.float64()), ("error", pa.string())])


class RayScorer:
    """The callable each Ray actor holds: one model, loaded once, scoring batches.

    Args:
        model: a registered name or a model file (readable on every node).
        device: ``"cpu"`` or ``"cuda"``.
        options: model options (``params=``, ``max_side=``), as for
            :func:`blindiqa.models.load.load`.
    """

    def __init__(self, model: str, device: str = "cpu",
                 options: dict[str, Any] | None = None) -> None:
        from blindiqa.models.load import load

        self.model = load(model, device=device, **(options or {}))

    def __call__(self, batch: pyarrow.Table) -> pyarrow.Table:
        """Score a batch of ``file`` / ``path`` rows; one output row per input row."""
        import pyarrow as pa

        from blindiqa.scoring import score_files

        items = zip((Path(f) for f in batch.column("file").to_pylist()),
                    batch.column("path").to_pylist(), strict=True)
        recs = list(score_files(self.model, items, workers=0))
        columns = {"path": [r.name for r in recs], "score": [r.score for r in recs],
                   "quality": [getattr(r, "quality", None) for r in recs],
                   "error": [r.error for r in recs]}
        return pa.Table.from_pydict(columns, schema=_schema())


def _items(paths: Iterable[str | os.PathLike | tuple[str | os.PathLike, str]]
           ) -> list[dict[str, str]]:
    out = []
    for p in paths:
        file, name = p if isinstance(p, tuple) else (p, os.fspath(p))
        out.append({"file": os.fspath(file), "path": str(name)})
    return out


def score_with_ray(paths: Iterable[str | os.PathLike | tuple[str | os.PathLike, str]],
                   model: str = "default", *, concurrency: int = 1,
                   num_gpus_per_worker: float = 0, num_cpus_per_worker: float = 1,
                   device: str | None = None, batch_size: int = DEFAULT_BATCH,
                   **options: Any) -> ray.data.Dataset:
    """Score image files with a pool of Ray actors; lazy, like any Ray dataset.

    Ray must be initialised or initialisable: without a ``ray.init()`` beforehand, the
    first use starts a local instance (or joins ``RAY_ADDRESS``). Every node must see
    the files (and the model file) at the same paths.

    Args:
        paths: image files, or ``(file, name)`` pairs (``name`` goes into the ``path``
            column; by default the file as given).
        model: a registered name or a model file.
        concurrency: actors, each with its own copy of the model.
        num_gpus_per_worker: GPUs reserved per actor; above 0 the model runs on
            ``cuda`` unless ``device`` says otherwise.
        num_cpus_per_worker: CPUs reserved per actor.
        device: ``"cpu"`` or ``"cuda"`` (default from ``num_gpus_per_worker``).
        batch_size: files per actor call.
        **options: model options (``params=``, ``max_side=``).

    Returns:
        A dataset of rows ``path, score, quality, error`` (the local CLI's columns;
        ``score`` and ``quality`` null where scoring failed, ``quality`` also null for a
        model without a quality scale, ``error`` null where it succeeded), in no
        particular order.
    """
    ray = _import_ray()
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    dev = device or ("cuda" if num_gpus_per_worker > 0 else "cpu")
    resources: dict[str, float] = {"num_cpus": num_cpus_per_worker}
    if num_gpus_per_worker > 0:
        resources["num_gpus"] = num_gpus_per_worker
    # from_items: the file list is split in the driver, so no read task competes with
    # the actors for CPUs (on a 2-CPU machine it would wait behind them for ever)
    ds = ray.data.from_items(_items(paths))
    return ds.map_batches(
        RayScorer, fn_constructor_kwargs={"model": os.fspath(model), "device": dev,
                                          "options": options},
        batch_size=batch_size, batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=concurrency), **resources)


def connect(address: str | None = None, **init_args: Any) -> None:
    """Start or join Ray (``ray.init``) unless this process already is connected.

    Args:
        address: ``"auto"``, ``"ray://head:10001"`` ...; None uses ``RAY_ADDRESS`` where
            set, else starts a local instance.
        **init_args: more ``ray.init`` arguments (e.g. ``num_cpus`` locally).
    """
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, **init_args)


# --------------------------------------------------------------------------- CLI
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


def run_ray_cli(args: argparse.Namespace) -> int:
    """``blindiqa score --engine ray``: score the inputs on Ray, write parts to ``--out``.

    Takes the namespace of ``blindiqa score`` (``paths``, ``manifest``, ``shard``,
    ``model``, ``params``, ``device``, ``max_side``, ``batch_size``, ``out``,
    ``overwrite``, ``quiet`` and the options of :func:`add_ray_options`).

    Returns:
        0 when every input was scored, 1 when some failed or none was found, 2 for
        options that do not go together or a missing Ray.
    """
    from blindiqa.cli.score import input_args, iter_inputs, select

    problem = _problem(args)
    if problem:
        return fail(problem)
    try:
        _import_ray()
    except ImportError as exc:
        return fail(str(exc))
    try:
        items = list(select(iter_inputs(input_args(args.paths, args.manifest)),
                            getattr(args, "shard", None)))
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


def read_parts(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of the parts a Ray run wrote (Parquet or CSV), in no particular order."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for part in sorted(Path(folder).iterdir()):
        if part.suffix == ".parquet":
            table = pq.read_table(part)
        elif part.suffix == ".csv":
            table = pcsv.read_csv(part, convert_options=pcsv.ConvertOptions(
                column_types=_schema(), strings_can_be_null=True))
        else:
            continue
        rows += table.select(list(OUTPUT_COLUMNS)).to_pylist()
    return rows

