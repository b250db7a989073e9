"""Scoring many files on a Ray cluster (the library side of ``blindiqa score --engine
ray``, see :mod:`blindiqa.cli.score_ray`).

A Ray Data pipeline over the file list: :meth:`ray.data.Dataset.map_batches` with a pool
of actors, each holding one model and decoding its files itself, so only paths travel
to the workers and only result rows come back. Each image is scored by the same code as
the local path (:func:`blindiqa.scoring.local.score_files`, decoding in the actor), so the
scores, qualities, sizes and error texts are the local ones; nothing is resized beyond
the model's own policy.

Ray is quiet unless asked (:func:`~blindiqa.distributed.cluster.connect` with
``verbose=False``): no worker logs, no dashboard, no Ray Data progress bars or execution
plans, only errors.

Ray is an optional dependency (``pip install "blindiqa[ray]"``); it is imported only
when this module's functions run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from blindiqa.distributed.cluster import connect, import_ray
from blindiqa.models.load import load
from blindiqa.progress import Progress
from blindiqa.scoring.local import score_files
from blindiqa.scoring.merge import read_part
from blindiqa.scoring.outputs import Tally
from blindiqa.scoring.parquet_rows import rows_schema
from blindiqa.scoring.parts import DEFAULT_ROWS_PER_PART, PartWriter, part_files
from blindiqa.scoring.provenance import provenance_of
from blindiqa.scoring.rows import COLUMNS, Row
from blindiqa.scoring.sidecar import CHECKED, Provenance, describe, differences

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow
    import ray.data

__all__ = ["DEFAULT_BATCH", "OUTPUT_COLUMNS", "PROVENANCE_COLUMN", "RayRunError",
           "RayScorer", "batch_provenance", "batch_rows", "cpu_shortage", "score_to_parts",
           "write_parts",
           "read_parts", "score_with_ray"]

#: The columns of every output row, as the local ``blindiqa score`` writes them.
OUTPUT_COLUMNS: tuple[str, ...] = COLUMNS
#: The extra column of ``score_with_ray(..., provenance=True)``: each actor's
#: provenance (:class:`~blindiqa.scoring.sidecar.Provenance`) as JSON.
PROVENANCE_COLUMN = "provenance"
#: Files each actor scores per call (they are scored one by one inside).
DEFAULT_BATCH = 8


def _schema(provenance: bool = False) -> pyarrow.Schema:
    import pyarrow as pa

    schema = rows_schema()
    return schema.append(pa.field(PROVENANCE_COLUMN, pa.string())) if provenance else schema


class RayScorer:
    """The callable each Ray actor holds: one model, loaded once, scoring batches.

    Args:
        model: a registered name or a model file (readable on every node).
        device: ``"cpu"`` or ``"cuda"``.
        options: model options (``params=``, ``max_side=``), as for
            :func:`blindiqa.models.load.load`.
        provenance: add the :data:`PROVENANCE_COLUMN` (what this actor loaded: model,
            bundle hash, version, ``max_side``) to every row.
    """

    def __init__(self, model: str, device: str = "cpu",
                 options: dict[str, Any] | None = None, provenance: bool = False) -> None:
        self.model = load(model, device=device, **(options or {}))
        self.provenance = provenance_of(self.model).to_json() if provenance else None

    def __call__(self, batch: pyarrow.Table) -> pyarrow.Table:
        """Score a batch of ``file`` / ``path`` rows; one output row per input row."""
        import pyarrow as pa

        items = zip((Path(f) for f in batch.column("file").to_pylist()),
                    batch.column("path").to_pylist(), strict=True)
        recs = list(score_files(self.model, items, workers=0))
        columns: dict[str, list[Any]] = {
            "path": [r.name for r in recs], "score": [r.score for r in recs],
            "quality": [getattr(r, "quality", None) for r in recs],
            "error": [r.error for r in recs], "width": [r.width for r in recs],
            "height": [r.height for r in recs]}
        if self.provenance is not None:
            columns[PROVENANCE_COLUMN] = [self.provenance] * len(recs)
        return pa.Table.from_pydict(columns, schema=_schema(self.provenance is not None))


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
                   provenance: bool = False, **options: Any) -> ray.data.Dataset:
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
        provenance: add the :data:`PROVENANCE_COLUMN` (see :func:`batch_provenance`).
        **options: model options (``params=``, ``max_side=``).

    Returns:
        A dataset of rows ``path, score, quality, error, width, height`` (the local
        CLI's columns; ``score`` and ``quality`` null where scoring failed, ``quality``
        also null for a model without a quality scale, ``error`` null where it
        succeeded, ``width`` and ``height`` null where the file was not decoded), in no
        particular order.
    """
    ray = import_ray()
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
                                          "options": options, "provenance": provenance},
        batch_size=batch_size, batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=concurrency), **resources)


def batch_rows(batch: pyarrow.Table) -> list[Row]:
    """The result rows of one batch of :func:`score_with_ray`'s dataset."""
    cols = {c: batch.column(c).to_pylist() for c in OUTPUT_COLUMNS}
    return [Row(*(cols[c][k] for c in OUTPUT_COLUMNS)) for k in range(batch.num_rows)]


def batch_provenance(batch: pyarrow.Table) -> list[Provenance]:
    """The different provenances in a batch of ``score_with_ray(..., provenance=True)``
    (one in practice; more where actors loaded different models)."""
    out = []
    for text in batch.column(PROVENANCE_COLUMN).unique().to_pylist():
        data = json.loads(text)
        prov = Provenance(**{k: data.get(k) for k in CHECKED})
        if prov not in out:
            out.append(prov)
    return out


def read_parts(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of the parts a Ray run wrote (Parquet or CSV), in no particular order,
    as dicts of :data:`OUTPUT_COLUMNS` (parts without ``width`` and ``height`` give
    None for them)."""
    return [asdict(row) for part in part_files(folder) if part.suffix != ".json"
            for row in read_part(part)]


class RayRunError(Exception):
    """Why a Ray run into parts failed (its message is the whole story)."""


def cpu_shortage(concurrency: int, address: str | None) -> str | None:
    """Why a local Ray instance cannot hold ``concurrency`` actors (None where it can).

    Each actor reserves one CPU; a fixed pool larger than the instance would wait for
    ever. A cluster joined by address (``address`` or ``RAY_ADDRESS``) may grow, so it
    is not checked. Ray must be connected.
    """
    if address or os.environ.get("RAY_ADDRESS"):
        return None
    cpus = import_ray().cluster_resources().get("CPU", 0)
    if concurrency > cpus:
        return (f"--concurrency {concurrency} needs {concurrency} CPUs, the local Ray "
                f"instance has {cpus:g}; give --concurrency {max(1, int(cpus))} or less")
    return None


def _disagreement(first: Provenance, other: Provenance) -> str:
    """Why two actors' provenances differ, field by field."""
    return "; ".join(f"{name}: {describe(first, name)} and {describe(other, name)}"
                     for name in differences(first, other))


def write_parts(ds: ray.data.Dataset, writer: PartWriter, tally: Tally,
                progress: Progress | None = None, shard: tuple[int, int] | None = None,
                ) -> str | None:
    """Stream the rows of ``score_with_ray(..., provenance=True)`` into the parts,
    counting them; the disagreement of two actors' models where there is one (the run
    stops there), else None. The parts' sidecars carry the first actor's provenance with
    the run's ``shard``."""
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
            tally.add(row.score, row.quality)
        if progress is not None:
            progress.update(batch.num_rows)
    return None


def score_to_parts(items: Sequence[tuple[Path, str]], model: str, out: str | os.PathLike,
                   *, fmt: str = "parquet", rows_per_part: int = DEFAULT_ROWS_PER_PART,
                   address: str | None = None, verbose: bool = False,
                   concurrency: int = 1, num_gpus_per_worker: float = 0,
                   device: str = "cpu", batch_size: int = DEFAULT_BATCH,
                   shard: tuple[int, int] | None = None, progress_file: TextIO | None = None,
                   show_progress: bool = True, **options: Any) -> tuple[Tally, list[Path]]:
    """``blindiqa score --engine ray``'s run: score ``items`` on Ray into numbered parts.

    Args:
        items: ``(file, display name)`` pairs, walked and sharded as the local engine
            does (:func:`~blindiqa.scoring.inputs.walk_inputs`).
        model: a registered name or a model file.
        out: the folder of the parts (``part-00000.parquet`` ..., each with its sidecar).
        fmt: ``"parquet"`` or ``"csv"``.
        rows_per_part: rows per part file.
        address, verbose: as for :func:`~blindiqa.distributed.cluster.connect`.
        concurrency, num_gpus_per_worker, batch_size: as for :func:`score_with_ray`.
        device: where each actor's model runs (``"cuda"`` wherever GPUs are reserved).
        shard: the run's ``(i, N)``, recorded in the sidecars.
        progress_file: where the progress line goes (default stderr).
        show_progress: draw the progress line.
        **options: model options (``params=``, ``max_side=``).

    Returns:
        The tally of the rows and the parts written.

    Raises:
        RayRunError: too few CPUs locally, actors that loaded different models, a part
            that cannot be written, or a failed Ray task or actor.
    """
    ray = import_ray()
    try:
        connect(address, verbose=verbose)
        problem = cpu_shortage(concurrency, address)
        if problem:
            raise RayRunError(problem)
        ds = score_with_ray(items, model, concurrency=concurrency,
                            num_gpus_per_worker=num_gpus_per_worker,
                            device="cuda" if num_gpus_per_worker > 0 else device,
                            batch_size=batch_size, provenance=True, **options)
        writer = PartWriter(out, fmt, rows_per_part=rows_per_part)
        tally = Tally()
        with Progress(len(items), "scoring", enabled=show_progress,
                      file=progress_file) as progress:
            problem = write_parts(ds, writer, tally, progress, shard)
        if problem:
            raise RayRunError(problem)
        return tally, writer.close()
    except OSError as exc:
        raise RayRunError(f"cannot write {exc.filename or out}: {exc.strerror or exc}"
                          ) from exc
    except ray.exceptions.RayError as exc:  # a task or actor failed, a lost node ...
        raise RayRunError(f"the Ray run failed: {type(exc).__name__}: {exc}") from exc
