"""Merge the results of several ``blindiqa ablate`` folders into one table (and chart).

``blindiqa ablate`` writes one ``results.json`` per output folder; a study of a setting
(``--q-lr``, ``--mi-weight``) reruns some variants into another folder with that
setting changed. This prints every variant of every folder as one markdown table, each
row labelled with the Stage-2 settings its folder overrides, and can draw the bars of
all of them in the poster's style. With per-image scores (each folder's
``bench/scores/<variant>__<dataset>.csv``), every row also gets its |SRCC| difference from
the first row on the same images, with a 95 % paired-bootstrap interval: whether a
variant really differs from the reference, not just by the noise of one test set.

Usage::

    python benchmarks/ablation_table.py ablation/main ablation/q-lr-1e-7 \
        --chart docs/ablation.png > table.md
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from blindiqa.ablate import VariantResult
from blindiqa.ablate.report import COLUMNS, Column, plot_ablation, results_table
from blindiqa.bench.metrics import srcc


@dataclass
class Row(VariantResult):
    """One variant of one folder: its :class:`VariantResult` (what ``plot_ablation``
    draws) and what the table adds."""

    folder: str = ""
    #: the Stage-2 settings the folder overrides ("" for the defaults).
    settings: str = ""
    #: ``{dataset: {image: score}}`` from the folder's bench (empty when missing).
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    #: ``{dataset: (delta, low, high)}``: |SRCC| minus the first row's, 95 % interval.
    delta: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def _settings(train: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', '-')} {v:g}" if isinstance(v, float)
                     else f"{k.replace('_', '-')} {v}" for k, v in sorted(train.items()))


def load_rows(folders: Sequence[str | Path]) -> list[Row]:
    """The variants of each folder's ``results.json``, in folder then variant order.

    Raises:
        FileNotFoundError: a folder without ``results.json``.
    """
    rows: list[Row] = []
    for folder in folders:
        path = Path(folder) / "results.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no results.json (run `blindiqa ablate` first)")
        payload = json.loads(path.read_text())
        context = payload.get("context", {})
        for v in payload.get("variants", []):
            changed = dict(context.get("train") or {})
            seed = _run_seed(Path(folder), v, context)
            if seed:
                changed["seed"] = seed
            settings = _settings(changed)
            row = Row.from_json(v)
            if row.variant.mi is not None:
                row.settings = settings
                if settings:
                    row.variant = replace(row.variant,
                                          label=f"{row.variant.label}\n[{settings}]")
            row.folder = str(folder)
            row.scores = _read_scores(Path(folder), row.variant.key, row.metrics)
            rows.append(row)
    return rows


def _run_seed(folder: Path, variant: dict[str, Any], context: dict[str, Any]) -> int | None:
    """The Stage-2 seed of a variant: its run's ``config.json``, else the folder's context
    (older ``results.json`` files do not record it)."""
    if variant["variant"].get("mi") is not None:
        for run_dir in (folder / "runs" / variant["variant"]["key"], variant.get("run_dir")):
            config = Path(run_dir) / "config.json" if run_dir else None
            if config is not None and config.is_file():
                return json.loads(config.read_text()).get("settings", {}).get("seed")
    return context.get("seed")


def _read_scores(folder: Path, key: str, metrics: dict[str, Any]
                 ) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in metrics:
        path = folder / "bench" / "scores" / f"{key}__{name}.csv"
        if not path.is_file():
            continue
        with path.open(newline="") as fh:
            out[name] = {r["image"]: float(r["score"]) for r in csv.DictReader(fh)
                         if r.get("score") and not r.get("error")}
    return out


def read_mos(path: str | Path) -> dict[str, float]:
    """``{image: mos}`` from a ``mos.csv`` with ``image`` and ``mos`` columns."""
    with Path(path).open(newline="") as fh:
        return {r["image"]: float(r["mos"]) for r in csv.DictReader(fh)}


def paired_bootstrap(reference: np.ndarray, other: np.ndarray, mos: np.ndarray,
                     resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """|SRCC(other)| - |SRCC(reference)| and its 95 % percentile interval.

    Both score vectors are resampled with the same image indices, so the interval
    reflects how the two models differ on the same photos.
    """
    if not (reference.shape == other.shape == mos.shape) or reference.ndim != 1:
        raise ValueError("reference, other and mos must be 1-D and of one length")
    gen = np.random.default_rng(seed)
    n = mos.shape[0]
    diffs = np.empty(resamples)
    for b in range(resamples):
        idx = gen.integers(0, n, n)
        diffs[b] = abs(srcc(other[idx], mos[idx])) - abs(srcc(reference[idx], mos[idx]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return abs(srcc(other, mos)) - abs(srcc(reference, mos)), float(lo), float(hi)


def add_deltas(rows: Sequence[Row], mos: dict[str, dict[str, float]],
               resamples: int = 2000, seed: int = 0) -> None:
    """Fill each row's ``delta`` against the first row, on the images both scored."""
    if not rows:
        return
    ref = rows[0]
    for row in rows[1:]:
        for name, scores in row.scores.items():
            if name not in ref.scores or name not in mos:
                continue
            images = sorted(set(scores) & set(ref.scores[name]) & set(mos[name]))
            if len(images) < 3:
                continue
            row.delta[name] = paired_bootstrap(
                np.array([ref.scores[name][i] for i in images]),
                np.array([scores[i] for i in images]),
                np.array([mos[name][i] for i in images]), resamples, seed)


#: The table's columns: those of ``results.md`` (:data:`blindiqa.ablate.report.COLUMNS`),
#: the variant's first label line, the settings its folder changes and the paired
#: difference from the first row.
TABLE_COLUMNS = (
    Column("variant", "---", lambda r, name, m: r.variant.label.splitlines()[0]),
    Column("Stage-2 settings changed", "---", lambda r, name, m: r.settings or "defaults"),
    *(COLUMNS[c] for c in ("dataset", "n", "srcc", "plcc", "krcc")),
    Column("dSRCC [95% CI]", "---", lambda r, name, m: _delta(r.delta.get(name))),
    *(COLUMNS[c] for c in ("steps", "minutes", "mi", "simsiam", "feat_std")),
)


def markdown(rows: Sequence[Row]) -> str:
    """One line per variant, folder and dataset."""
    return "\n".join(results_table(rows, TABLE_COLUMNS)) + "\n"


def read_curves(row: Row) -> dict[str, np.ndarray]:
    """``{column: values}`` of the row's Stage-2 ``log.csv`` (empty without a run)."""
    path = Path(row.folder) / "runs" / row.variant.key / "log.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        records = list(csv.DictReader(fh))
    return {c: np.array([float(r[c]) if r.get(c) not in (None, "") else np.nan
                         for r in records]) for c in ("step", "simsiam", "mi")}


def plot_curves(path: Path, rows: Sequence[Row], window: int = 10) -> bool:
    """SimSiam loss and CLUB estimate per step (running mean over ``window`` steps).

    Returns:
        False (nothing written) without matplotlib or without any training log.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    curves = [(r, read_curves(r)) for r in rows]
    curves = [(r, c) for r, c in curves if c and len(c["step"])]
    if not curves:
        return False
    fig = Figure(figsize=(11, 4), dpi=120)
    FigureCanvasAgg(fig)
    kernel = np.ones(window) / window
    for i, (col, title) in enumerate((("simsiam", "SimSiam loss (lower = views agree)"),
                                      ("mi", "CLUB estimate of I(z; x_c), nats"))):
        ax = fig.add_subplot(1, 2, i + 1)
        for j, (r, c) in enumerate(curves):
            y = c[col]
            if np.isnan(y).all():
                continue
            w = min(window, len(y))
            smooth = np.convolve(np.nan_to_num(y), kernel[:w] * window / w, mode="valid")
            label = r.variant.label.splitlines()
            ax.plot(c["step"][w - 1:], smooth, color=f"C{j}",
                    label=label[0] + (f" [{r.settings}]" if r.settings else ""))
        ax.set_xlabel("step")
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.axes[0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return True


def _delta(d: tuple[float, float, float] | None) -> str:
    return "-" if d is None else f"{d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="output folders of `blindiqa ablate`")
    parser.add_argument("--chart", type=Path, help="also draw the bars into this PNG")
    parser.add_argument("--curves", type=Path,
                        help="also draw SimSiam loss and MI estimate per step into this PNG")
    parser.add_argument("--mos", action="append", default=[], metavar="NAME=CSV",
                        help="MOS of a dataset (e.g. clive=.../mos.csv) for the paired "
                             "bootstrap of |SRCC| differences from the first row; repeatable")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    try:
        rows = load_rows(args.folders)
        mos = {}
        for item in args.mos:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise ValueError(f"--mos wants NAME=CSV, got {item!r}")
            mos[name] = read_mos(path)
        add_deltas(rows, mos, args.resamples)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(rows))
    if args.chart is not None and not plot_ablation(args.chart, rows):
        print("no chart: matplotlib missing or no metrics", file=sys.stderr)
    if args.curves is not None and not plot_curves(args.curves, rows):
        print("no curves: matplotlib missing or no training logs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
