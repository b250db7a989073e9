"""Merge the results of several ``blindiqa ablate`` folders into one table (and chart).

``blindiqa ablate`` writes one ``results.json`` per output folder; a study of a setting
(``--q-lr``, ``--mi-weight``) reruns some variants into another folder with that
setting changed. This prints every variant of every folder as one markdown table, each
row labelled with the Stage-2 settings its folder overrides, and can draw the bars of
all of them in the poster's style.

Usage::

    python benchmarks/ablation_table.py ablation/main ablation/q-lr-1e-7 \
        --chart docs/ablation.png > table.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blindiqa.ablate.report import plot_ablation


@dataclass(frozen=True)
class _Variant:
    key: str
    label: str


@dataclass
class Row:
    """One variant of one folder, as ``plot_ablation`` and the table need it."""

    variant: _Variant
    folder: str
    settings: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    steps: int = 0
    epochs: float = 0.0
    train_minutes: float = 0.0
    mi: float | None = None
    simsiam: float | None = None
    feat_std: float | None = None


def _f(x: Any, spec: str = ".4f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


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
        settings = _settings(payload.get("context", {}).get("train") or {})
        for v in payload.get("variants", []):
            label = v["variant"]["label"]
            if settings and v["variant"].get("mi") is not None:
                label = f"{label}\n[{settings}]"
            rows.append(Row(
                variant=_Variant(v["variant"]["key"], label), folder=str(folder),
                settings=settings if v["variant"].get("mi") is not None else "",
                metrics=v.get("metrics") or {}, steps=int(v.get("steps", 0)),
                epochs=float(v.get("epochs", 0.0)),
                train_minutes=float(v.get("train_minutes", 0.0)), mi=v.get("mi"),
                simsiam=v.get("simsiam"), feat_std=v.get("feat_std")))
    return rows


def markdown(rows: Sequence[Row]) -> str:
    """One line per variant, folder and dataset."""
    lines = ["| variant | Stage-2 settings changed | dataset | n | SRCC | PLCC | KRCC | "
             "steps | train min | MI (nats) | SimSiam | feat std |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        for name, m in (r.metrics or {"-": {}}).items():
            lines.append(
                f"| {r.variant.label.splitlines()[0]} | {r.settings or 'defaults'} | {name} "
                f"| {m.get('n', '-')} | {_f(m.get('srcc'))} | {_f(m.get('plcc'))} | "
                f"{_f(m.get('krcc'))} | {r.steps} | {_f(r.train_minutes, '.1f')} | "
                f"{_f(r.mi, '.4g')} | {_f(r.simsiam, '.3f')} | {_f(r.feat_std, '.4f')} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="output folders of `blindiqa ablate`")
    parser.add_argument("--chart", type=Path, help="also draw the bars into this PNG")
    args = parser.parse_args(argv)
    try:
        rows = load_rows(args.folders)
    except (FileNotFoundError, json.JSONDecodeError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(rows))
    if args.chart is not None and not plot_ablation(args.chart, rows):
        print("no chart: matplotlib missing or no metrics", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
