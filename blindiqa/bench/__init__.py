"""Benchmarking scorers against mean opinion scores.

* :mod:`blindiqa.bench.datasets` -- labelled datasets in their official layouts
  (CLIVE, KonIQ-10k, SPAQ, FLIVE, CID2013, BIQ2021) or the generic
  ``images/`` + ``mos.csv`` layout, detected from the folder.
* :mod:`blindiqa.bench.metrics` -- |SRCC|, PLCC after the 4-parameter logistic, |KRCC|.
* :mod:`blindiqa.bench.runner` -- ``blindiqa bench``: resumable scoring, score files,
  ``results.csv`` / ``results.md`` and scatter plots.

>>> from blindiqa.bench import load_dataset, run_bench
>>> run_bench(["default"], [("clive", "data/clive-dev")], "out/bench")  # doctest: +SKIP
"""

from blindiqa.bench.datasets import LAYOUTS, Dataset, DatasetItem, detect_layout, load_dataset
from blindiqa.bench.metrics import evaluate, fit_logistic, krcc, plcc, srcc
from blindiqa.bench.runner import BenchResult, run_bench

__all__ = [
    "LAYOUTS",
    "BenchResult",
    "Dataset",
    "DatasetItem",
    "detect_layout",
    "evaluate",
    "fit_logistic",
    "krcc",
    "load_dataset",
    "plcc",
    "run_bench",
    "srcc",
]
