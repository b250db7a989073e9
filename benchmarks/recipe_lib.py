"""Scoring recipe variants over the feature cache of ``benchmarks/feature_cache.py``.

Every variant is an :class:`~blindiqa.onepass.OnePassConfig` (plus the cache it reads):
the pristine Gaussian is fitted on the cached pristine grids with the engine's own
window, selection and distance functions, and each development image is scored the
same way, so a variant's figures are what the shipped model would give.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from blindiqa.bench.metrics import srcc
from blindiqa.gaussian import GaussianStats
from blindiqa.onepass import OnePassConfig, score_windows, select_pristine, windows

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MOS = {"clive": SHARED / "clive-dev" / "mos.csv", "biq": SHARED / "biq2021-dev" / "mos.csv"}


@dataclass
class Cache:
    """One cached set: names, grid features (float16) and pixel cells per image."""

    names: list[str]
    grids: list[torch.Tensor]
    cells: list[torch.Tensor]
    niqe: np.ndarray
    taps: list[str]
    dims: list[int]

    @classmethod
    def load(cls, path: Path, taps: tuple[str, ...] | None = None) -> Cache:
        """Read a cached set; for a cache split by tap, only ``taps`` (default: all)."""
        d = torch.load(path, weights_only=False)
        if d["grids"] is not None:
            return cls(d["names"], d["grids"], d["cells"], d["niqe"].numpy(), d["taps"],
                       d["dims"])
        dims = dict(zip(d["taps"], d["dims"], strict=True))
        wanted = [t for t in d["taps"] if taps is None or t in taps]
        parts = [torch.load(path.with_name(f"{path.stem}.{t}.pt")) for t in wanted]
        grids = [torch.cat(g) for g in zip(*parts, strict=True)]
        return cls(d["names"], grids, d["cells"], d["niqe"].numpy(), wanted,
                   [dims[t] for t in wanted])

    def channels(self, taps: tuple[str, ...]) -> tuple[torch.Tensor, list[int]]:
        """Channel indices of ``taps`` in the cached stack, and their sizes."""
        starts, pos = {}, 0
        for t, d in zip(self.taps, self.dims, strict=True):
            starts[t] = (pos, pos + d)
            pos += d
        missing = [t for t in taps if t not in starts]
        if missing:
            raise ValueError(f"taps {missing} are not in the cache ({self.taps})")
        idx = torch.cat([torch.arange(*starts[t]) for t in taps])
        return idx, [starts[t][1] - starts[t][0] for t in taps]


def read_mos(path: Path) -> dict[str, float]:
    with path.open(newline="") as fh:
        return {r["image"]: float(r["mos"]) for r in csv.DictReader(fh)}


@dataclass
class Variant:
    """A recipe: an engine configuration, the cache it reads, a label."""

    label: str
    config: OnePassConfig
    cache: str = "lite2"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def fit_one_pass_from_cache(cache: Cache, cfg: OnePassConfig) -> tuple[GaussianStats, int]:
    """The pristine statistics of a variant, from the cached pristine grids."""
    idx, dims = cache.channels(cfg.taps)
    dim = int(idx.numel())
    stats = GaussianStats.empty(dim)
    for grid, cells in zip(cache.grids, cache.cells, strict=True):
        wins = windows(grid[idx].float(), cfg, dims)
        keep = select_pristine(cells.double(), wins, cfg)
        if keep.any():
            stats = stats + GaussianStats.from_features(wins.features[keep])
    return stats, stats.count


def score_cache(cache: Cache, cfg: OnePassConfig, stats: GaussianStats) -> np.ndarray:
    """Scores of every image of a cached set under a variant."""
    idx, dims = cache.channels(cfg.taps)
    mean, cov = stats.mean, stats.cov
    out = np.empty(len(cache.grids))
    for i, grid in enumerate(cache.grids):
        wins = windows(grid[idx].float(), cfg, dims)
        out[i], _ = score_windows(wins, mean, cov, cfg.distance, cfg.ridge)
    return out


def abs_srcc(scores: np.ndarray, names: list[str], mos: dict[str, float]) -> float:
    m = np.array([mos[n] for n in names])
    return abs(srcc(scores, m))


def bootstrap_srcc(scores: np.ndarray, mos: np.ndarray, resamples: int = 1000,
                   seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of |SRCC| by resampling images."""
    gen = np.random.default_rng(seed)
    n = mos.shape[0]
    vals = [abs(srcc(scores[j], mos[j])) for j in (gen.integers(0, n, n)
                                                     for _ in range(resamples))]
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def paired_delta(reference: np.ndarray, other: np.ndarray, mos: np.ndarray,
                 resamples: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """|SRCC(other)| - |SRCC(reference)| with its 95 % paired-bootstrap interval."""
    gen = np.random.default_rng(seed)
    n = mos.shape[0]
    diffs = []
    for _ in range(resamples):
        j = gen.integers(0, n, n)
        diffs.append(abs(srcc(other[j], mos[j])) - abs(srcc(reference[j], mos[j])))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return abs(srcc(other, mos)) - abs(srcc(reference, mos)), float(lo), float(hi)


def paired_mean_delta(base: dict[str, np.ndarray], other: dict[str, np.ndarray],
                      mos: dict[str, np.ndarray], resamples: int = 1000, seed: int = 0,
                      sets: tuple[str, ...] = ("clive", "biq")) -> tuple[float, float, float]:
    """Mean over ``sets`` of |SRCC(other)| - |SRCC(base)|, with its 95 % paired
    bootstrap interval (each set's images resampled independently)."""
    gen = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        d = 0.0
        for s in sets:
            n = mos[s].shape[0]
            j = gen.integers(0, n, n)
            d += abs(srcc(other[s][j], mos[s][j])) - abs(srcc(base[s][j], mos[s][j]))
        diffs.append(d / len(sets))
    point = float(np.mean([abs(srcc(other[s], mos[s])) - abs(srcc(base[s], mos[s]))
                           for s in sets]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return point, float(lo), float(hi)
