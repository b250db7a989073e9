"""``blindiqa bench``: score datasets with models and report the agreement with MOS.

For every model x dataset pair the runner writes, under the output folder ``DIR``::

    scores/<model>__<dataset>.csv    one row per image: image,score,error,mos
    scores/<model>__<dataset>.json   timing of the last run that scored images
    plots/<model>__<dataset>.png     score vs MOS with the fitted logistic (needs matplotlib)
    results.csv                      model,dataset,n,srcc,plcc,krcc,seconds_per_image
    results.md                       the same as a markdown table

Resuming: score rows are appended (and flushed) as images are scored, so an interrupted
run keeps what it did; a rerun reads the rows already there and scores only the images
without a score (failed images are retried). At the end of a pair the score file is
rewritten in dataset order, atomically. ``results.csv`` and ``results.md`` are
rewritten (atomically) after each pair; they keep the rows of other pairs from earlier
runs into the same ``DIR`` and replace those recomputed. With ``overwrite=True``
(``blindiqa bench --overwrite``) the earlier outputs in ``DIR`` are deleted first (only
the files named above, and temporary files a killed run left) and the run starts
afresh.

Every file but the score files being appended to is written to a temporary file that is
renamed into place, so a crash or Ctrl-C never leaves a half-written results file, plot
or compacted score file; a score file keeps every row written before the interruption
(a torn last line is ignored on resume).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from blindiqa.bench.datasets import Dataset, load_dataset
from blindiqa.bench.metrics import LogisticFitWarning, evaluate, fit_logistic
from blindiqa.io.atomic import atomic_write
from blindiqa.models.base import QualityModel
from blindiqa.models.load import load
from blindiqa.models.registry import get_entry, is_model, unknown_model_error
from blindiqa.progress import Progress
from blindiqa.scoring.local import score_files

SCORE_COLUMNS = ("image", "score", "error", "mos")
RESULT_COLUMNS = ("model", "dataset", "n", "srcc", "plcc", "krcc", "seconds_per_image")
RESULTS_NOTE = (
    "SRCC and KRCC are absolute values (the scores are distances: lower = better quality, "
    "while MOS is higher = better); PLCC is computed after the 4-parameter logistic fit "
    "(the plain PLCC where no usable fit exists; the run warns). n = images scored; "
    "seconds_per_image includes decoding."
)

ModelSpec = str | os.PathLike | QualityModel
DatasetSpec = Dataset | tuple[str, str | os.PathLike]


@dataclass(frozen=True)
class BenchResult:
    """One row of ``results.csv``.

    Attributes:
        model: the model label.
        dataset: the dataset name.
        n: images with a score.
        srcc: ``|SRCC|``.
        plcc: PLCC after the logistic fit.
        krcc: ``|KRCC|``.
        seconds_per_image: scoring time per image (None where never measured).
    """

    model: str
    dataset: str
    n: int
    srcc: float
    plcc: float
    krcc: float
    seconds_per_image: float | None


# ------------------------------------------------------------------------ small helpers
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_label(text: str) -> str:
    """A file-name-safe label: runs of other characters become ``_``."""
    out = _UNSAFE.sub("_", text).strip("._")
    return out or "model"


def model_label(spec: ModelSpec) -> str:
    """The label of a ``--model`` value: a registered name as it is, a model file's stem,
    a model instance's ``name`` (file-name-safe in every case)."""
    if isinstance(spec, QualityModel):
        name = str(spec.name)
        return safe_label(Path(name).stem if name.endswith(".safetensors") else name)
    key = os.fspath(spec)
    if is_model(key):
        return safe_label(key)
    if Path(key).exists() or key.endswith(".safetensors"):
        return safe_label(Path(key).stem)
    return safe_label(key)


def check_model_spec(spec: ModelSpec) -> None:
    """``ValueError`` where a ``--model`` value is neither a registered name nor a file."""
    if isinstance(spec, QualityModel):
        return
    key = os.fspath(spec)
    if is_model(key):
        return
    if Path(key).is_file():
        return
    if key.endswith(".safetensors") or os.sep in key or "/" in key:
        raise ValueError(f"model file not found: {key}")
    raise unknown_model_error(key)


def _options_for(spec: ModelSpec, options: dict[str, Any]) -> dict[str, Any]:
    """The load options a registered model declares (``ModelEntry.options``); none for
    model files and instances."""
    if not options or isinstance(spec, QualityModel):
        return {}
    key = os.fspath(spec)
    entry = get_entry(key) if is_model(key) else None
    return {k: v for k, v in options.items() if entry is not None and k in entry.options}


def pair_stem(model: str, dataset: str) -> str:
    """``<model>__<dataset>``, the file stem of a pair's outputs."""
    return f"{model}__{dataset}"


def _write_text(path: Path, text: str) -> None:
    """Write a text file atomically (:func:`blindiqa.io.atomic.atomic_write`) as it is,
    without newline translation."""
    with atomic_write(path, "w", newline="") as fh:
        fh.write(text)


def _fmt_float(x: float | None, spec: str = ".6f") -> str:
    if x is None or not math.isfinite(x):
        return "" if x is None else "nan"
    return format(x, spec)


def _parse_float(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _metric(text: str | None) -> float:
    v = _parse_float(text)
    return math.nan if v is None else v


# ------------------------------------------------------------------------ score files
@dataclass
class ScoreRow:
    """One line of a score file."""

    image: str
    score: float | None
    error: str
    mos: float | None

    def cells(self) -> list[str]:
        return [self.image, "" if self.score is None else repr(self.score), self.error,
                "" if self.mos is None else repr(self.mos)]


def read_score_file(path: Path) -> dict[str, ScoreRow]:
    """Rows of a score file by image name (a later row for an image wins).

    Tolerates a torn last line (an interrupted write): rows without an image name are
    skipped and an unparsable score counts as no score.
    """
    rows: dict[str, ScoreRow] = {}
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            image = (rec.get("image") or "").strip()
            if not image or rec.get("mos") is None:  # no image, or a torn line
                continue
            score = _parse_float(rec.get("score"))
            if score is not None and not math.isfinite(score):
                score = None
            rows[image] = ScoreRow(image, score, (rec.get("error") or "").strip(),
                                   _parse_float(rec.get("mos")))
    return rows


def _csv_line(cells: Iterable[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(list(cells))
    return buf.getvalue()


class _ScoreAppender:
    """Appends rows to a score file, flushing each one (so Ctrl-C loses at most one)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.is_file() or path.stat().st_size == 0
        self._fh: TextIO = path.open("a", encoding="utf-8", newline="")
        if not fresh:
            self._ensure_newline(path)
        else:
            self._fh.write(_csv_line(SCORE_COLUMNS))
            self._fh.flush()

    def _ensure_newline(self, path: Path) -> None:
        with path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                self._fh.write("\n")

    def write(self, row: ScoreRow) -> None:
        self._fh.write(_csv_line(row.cells()))
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def write_score_file(path: Path, rows: Iterable[ScoreRow]) -> None:
    """Rewrite a score file atomically."""
    text = _csv_line(SCORE_COLUMNS) + "".join(_csv_line(r.cells()) for r in rows)
    _write_text(path, text)


# ------------------------------------------------------------------------ results files
def read_results(path: Path) -> list[BenchResult]:
    """The rows of an existing ``results.csv`` (none where absent or unreadable)."""
    out: list[BenchResult] = []
    if not path.is_file():
        return out
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh):
                if not rec.get("model") or not rec.get("dataset"):
                    continue
                out.append(BenchResult(
                    rec["model"], rec["dataset"], int(float(rec.get("n") or 0)),
                    _metric(rec.get("srcc")), _metric(rec.get("plcc")),
                    _metric(rec.get("krcc")), _parse_float(rec.get("seconds_per_image")),
                ))
    except (OSError, ValueError, csv.Error):
        return []
    return out


def merge_results(old: Sequence[BenchResult], new: Sequence[BenchResult]) -> list[BenchResult]:
    """Old rows updated with new ones (same model and dataset), new pairs appended."""
    fresh = {(r.model, r.dataset): r for r in new}
    merged = [fresh.pop((r.model, r.dataset), r) for r in old]
    return merged + [r for r in new if (r.model, r.dataset) in fresh]


def results_csv_text(results: Sequence[BenchResult]) -> str:
    lines = [_csv_line(RESULT_COLUMNS)]
    for r in results:
        lines.append(_csv_line([r.model, r.dataset, str(r.n), _fmt_float(r.srcc),
                                _fmt_float(r.plcc), _fmt_float(r.krcc),
                                _fmt_float(r.seconds_per_image, ".6g")]))
    return "".join(lines)


def results_markdown(results: Sequence[BenchResult]) -> str:
    """A markdown table of the results, with a note on what the columns mean."""
    head = "| model | dataset | n | srcc | plcc | krcc | seconds_per_image |\n"
    rule = "|---|---|---:|---:|---:|---:|---:|\n"
    body = "".join(
        f"| {r.model} | {r.dataset} | {r.n} | {_fmt_float(r.srcc, '.4f')} | "
        f"{_fmt_float(r.plcc, '.4f')} | {_fmt_float(r.krcc, '.4f')} | "
        f"{_fmt_float(r.seconds_per_image, '.4g') or '-'} |\n"
        for r in results
    )
    return head + rule + body + "\n" + RESULTS_NOTE + "\n"


# ------------------------------------------------------------------------ plots
def plot_pair(path: Path, scores: Sequence[float], mos: Sequence[float], model: str,
              dataset: str, metrics: dict[str, Any]) -> bool:
    """Draw score vs MOS with the fitted logistic into a PNG (atomically).

    Returns:
        False (after nothing was written) where matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    import numpy as np

    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(mos, dtype=np.float64)
    fig = Figure(figsize=(5.0, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter(x, y, s=8, alpha=0.6, edgecolors="none", label="images")
    fit = fit_logistic(x, y) if x.size >= 4 else None
    if fit is not None:
        grid = np.linspace(float(x.min()), float(x.max()), 200)
        ax.plot(grid, fit(grid), color="C3", lw=1.5, label="logistic fit")
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel(f"{model} score (lower = better)")
    ax.set_ylabel("MOS (higher = better)")
    ax.set_title(f"{model} on {dataset} (n={metrics.get('n', x.size)})\n"
                 f"SRCC={_fmt_float(metrics.get('srcc'), '.4f')}  "
                 f"PLCC={_fmt_float(metrics.get('plcc'), '.4f')}", fontsize=10)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    return True


# ------------------------------------------------------------------------ the run
def _resolve_datasets(specs: Sequence[DatasetSpec]) -> list[Dataset]:
    out: list[Dataset] = []
    for spec in specs:
        if isinstance(spec, Dataset):
            out.append(spec)
        else:
            name, root = spec
            out.append(load_dataset(root, name=name))
    names = [d.name for d in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"dataset name(s) given twice: {', '.join(dup)}")
    return out


def _timing_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class _Log:
    def __init__(self, quiet: bool, stream: TextIO | None):
        self.quiet = quiet
        self.stream = stream

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=self.stream or sys.stderr, flush=True)

    def warn(self, msg: str) -> None:
        print(f"warning: {msg}", file=self.stream or sys.stderr, flush=True)


def _score_pair(get_model: Callable[[], QualityModel], dataset: Dataset, score_path: Path,
                *, workers: int, quiet: bool, desc: str,
                log: _Log) -> tuple[dict[str, ScoreRow], int, int, float]:
    """Score the images of ``dataset`` that have no score in ``score_path`` yet.

    Returns:
        The rows by image name (reused and new), the number of images to score, the
        number scored (with a score or an error) and the seconds it took.
    """
    rows = read_score_file(score_path)
    todo = [it for it in dataset.items
            if it.name not in rows or rows[it.name].score is None]
    if not todo:
        return rows, 0, 0, 0.0
    model = get_model()
    mos_of = {it.name: it.mos for it in dataset.items}
    appender = _ScoreAppender(score_path)
    done = 0
    bar = Progress(len(todo), desc, enabled=not quiet, file=sys.stderr, leave=False)
    t0 = time.perf_counter()
    try:
        for rec in score_files(model, ((it.path, it.name) for it in todo), workers=workers):
            row = ScoreRow(rec.name, rec.score, rec.error or "", mos_of.get(rec.name))
            appender.write(row)
            rows[rec.name] = row
            done += 1
            bar.update(1)
    except KeyboardInterrupt:
        log.warn(f"interrupted: {done} new score(s) kept in {score_path}; "
                 "rerun the same command to resume")
        raise
    finally:
        elapsed = time.perf_counter() - t0
        bar.close()
        appender.close()
    return rows, len(todo), done, elapsed


def run_bench(models: Sequence[ModelSpec], datasets: Sequence[DatasetSpec],
              out: str | os.PathLike, *, device: str | None = None, workers: int = 0,
              limit: int | None = None, quiet: bool = False, plots: bool = True,
              stream: TextIO | None = None,
              load_options: dict[str, Any] | None = None,
              overwrite: bool = False) -> list[BenchResult]:
    """Benchmark every model on every dataset and write the report files.

    Args:
        models: registered names, model files, or model instances.
        datasets: :class:`Dataset` objects or ``(name, root)`` pairs (layout detected).
        out: the output folder ``DIR``.
        device: ``"cpu"`` / ``"cuda"`` for models loaded here (default: CPU).
        workers: decoding worker processes per scoring run.
        limit: score only the first ``limit`` images of each dataset.
        quiet: no progress bar and no per-pair lines (warnings still go to stderr).
        plots: draw the scatter plots (skipped with a warning without matplotlib).
        stream: where progress lines and warnings go (default stderr).
        load_options: model options for :func:`blindiqa.load` (e.g. ``params=``).
        overwrite: delete the earlier outputs in ``out`` first (after the arguments are
            checked) instead of resuming from them.

    Returns:
        The results of this run's pairs, in model-major order.

    Raises:
        ValueError: a bad model or dataset argument (checked before any scoring).
        KeyboardInterrupt: interrupted; the scores done so far are kept on disk.
    """
    log = _Log(quiet, stream)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number, got {limit}")
    if not models:
        raise ValueError("no model given")
    if not datasets:
        raise ValueError("no dataset given")
    for spec in models:
        check_model_spec(spec)
    options = load_options or {}
    unused = set(options) - {k for m in models for k in _options_for(m, options)}
    if unused:
        raise ValueError(f"option(s) {', '.join(sorted(unused))} apply to none of the models")
    labels = [model_label(m) for m in models]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"model label(s) given twice: {', '.join(dup)} "
                         "(model files are labelled by their file stem)")
    sets = [d.head(limit) for d in _resolve_datasets(datasets)]
    out_dir = Path(out)
    scores_dir, plots_dir = out_dir / "scores", out_dir / "plots"
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"output folder {out_dir} exists and is not a folder")
    if overwrite:
        removed = clear_outputs(out_dir)
        if removed:
            log(f"--overwrite: removed {removed} earlier output file(s) from {out_dir}")
    scores_dir.mkdir(parents=True, exist_ok=True)

    results: list[BenchResult] = []
    plots_warned = False
    for spec, label in zip(models, labels, strict=True):
        cache: dict[str, QualityModel] = {}

        def get_model(spec: ModelSpec = spec, cache: dict = cache) -> QualityModel:
            if "m" not in cache:
                if isinstance(spec, QualityModel):
                    m = spec.to(device) if device is not None else spec
                    cache["m"] = m.eval()
                else:
                    cache["m"] = load(spec, device=device,
                                      **_options_for(spec, options))
            return cache["m"]

        for ds in sets:
            result, pred, mos = _bench_pair(get_model, label, ds, scores_dir,
                                            workers=workers, quiet=quiet, log=log)
            results.append(result)
            if plots and not plots_warned and result.n >= 2:
                metrics = {"n": result.n, "srcc": result.srcc, "plcc": result.plcc}
                if not plot_pair(plots_dir / f"{pair_stem(label, ds.name)}.png", pred, mos,
                                 label, ds.name, metrics):
                    plots_warned = True
                    log.warn("matplotlib is not installed: plots skipped "
                             "(pip install 'blindiqa[plot]')")
            _write_results(out_dir, [result])
    return results


def clear_outputs(out_dir: Path) -> int:
    """Delete the files a bench run writes in ``out_dir`` (and temporary files a killed
    run left behind); nothing else in the folder is touched.

    Returns:
        The number of files removed.
    """
    patterns = {out_dir: ("results.csv", "results.md", ".results.csv.*.tmp",
                          ".results.md.*.tmp"),
                out_dir / "scores": ("*__*.csv", "*__*.json", ".*__*.tmp"),
                out_dir / "plots": ("*__*.png", ".*__*.tmp")}
    removed = 0
    for folder, globs in patterns.items():
        if not folder.is_dir():
            continue
        for pattern in globs:
            for f in folder.glob(pattern):
                if f.is_file() or f.is_symlink():
                    f.unlink()
                    removed += 1
    return removed


def _write_results(out_dir: Path, new: Sequence[BenchResult]) -> None:
    """Merge rows into ``results.csv`` and rewrite it and ``results.md`` atomically."""
    merged = merge_results(read_results(out_dir / "results.csv"), new)
    _write_text(out_dir / "results.csv", results_csv_text(merged))
    _write_text(out_dir / "results.md", results_markdown(merged))


def _scored_pairs(dataset: Dataset,
                  rows: dict[str, ScoreRow]) -> tuple[list[float], list[float]]:
    """Scores and MOS (from the dataset) of the dataset's images that have a score."""
    pred: list[float] = []
    mos: list[float] = []
    for it in dataset.items:
        row = rows.get(it.name)
        if row is not None and row.score is not None:
            pred.append(row.score)
            mos.append(it.mos)
    return pred, mos


def _seconds_per_image(timing_path: Path, scored: int, seconds: float,
                       meta: dict[str, Any]) -> float | None:
    """This run's time per image (recorded in ``timing_path``), or the recorded one
    where nothing was scored now."""
    if scored:
        spi = seconds / scored
        _write_text(timing_path, json.dumps({
            **meta, "images_scored": scored, "seconds": round(seconds, 6),
            "seconds_per_image": spi,
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }, indent=2) + "\n")
        return spi
    rec = _timing_record(timing_path)
    value = rec.get("seconds_per_image") if rec else None
    return float(value) if isinstance(value, (int, float)) else None


def _bench_pair(get_model: Callable[[], QualityModel], label: str, ds: Dataset,
                scores_dir: Path, *, workers: int, quiet: bool,
                log: _Log) -> tuple[BenchResult, list[float], list[float]]:
    """Score one model on one dataset (resuming), write its score and timing files and
    compute its metrics.

    Returns:
        The result row, and the scores and MOS of the scored images (for the plot).
    """
    stem = pair_stem(label, ds.name)
    score_path = scores_dir / f"{stem}.csv"
    rows, todo, scored, seconds = _score_pair(get_model, ds, score_path, workers=workers,
                                              quiet=quiet, desc=f"{label} / {ds.name}",
                                              log=log)
    _compact(score_path, ds, rows)
    meta = {"model": label, "dataset": ds.name, "workers": workers,
            "device": str(get_model().device) if scored else None}
    spi = _seconds_per_image(scores_dir / f"{stem}.json", scored, seconds, meta)

    pred, mos = _scored_pairs(ds, rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LogisticFitWarning)
        metrics = evaluate(pred, mos)
    for w in caught:
        if issubclass(w.category, LogisticFitWarning):
            log.warn(f"{label} / {ds.name}: {w.message}")

    failed = [rows[it.name] for it in ds.items
              if it.name in rows and rows[it.name].score is None]
    log(f"{label} / {ds.name}: {len(ds)} images ({len(ds) - todo} reused, {scored} scored, "
        f"{len(failed)} failed)" + (f", {spi:.3g} s/image" if spi else ""))
    if failed:
        log.warn(f"{label} / {ds.name}: {len(failed)} image(s) could not be scored (first: "
                 f"{failed[0].image}: {failed[0].error}); see {score_path}")
    result = BenchResult(label, ds.name, int(metrics["n"]), metrics["srcc"], metrics["plcc"],
                         metrics["krcc"], spi)
    return result, pred, mos


def _compact(score_path: Path, dataset: Dataset, rows: dict[str, ScoreRow]) -> None:
    """Rewrite the score file: the dataset's images in order (current MOS), then rows of
    images outside this selection (kept for later runs)."""
    if not rows:
        return
    names = {it.name for it in dataset.items}
    ordered = [ScoreRow(it.name, rows[it.name].score, rows[it.name].error, it.mos)
               for it in dataset.items if it.name in rows]
    extra = [r for name, r in rows.items() if name not in names]
    write_score_file(score_path, ordered + extra)
