"""Mergeable statistics for MATLAB's ``nanmean`` and ``nancov`` (the NIQE fit).

``nanmean`` averages each feature over the rows where it is defined; ``nancov`` uses
only the rows without any NaN. Both are sums over rows, so the statistics of many
images, or of many workers' shares, merge by addition and give the pooled values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from blindiqa.gaussian.stats import GaussianStats


@dataclass
class NanGaussianStats:
    """Sufficient statistics of feature rows that may hold NaN (float64).

    Attributes:
        rows: rows seen, complete or not.
        complete: :class:`GaussianStats` of the rows without any NaN.
        present: ``(D,)`` rows where each feature is defined.
        present_total: ``(D,)`` sum of each feature over those rows.
    """

    rows: int
    complete: GaussianStats
    present: torch.Tensor
    present_total: torch.Tensor

    @classmethod
    def empty(cls, dim: int) -> NanGaussianStats:
        z = torch.zeros(dim, dtype=torch.float64)
        return cls(0, GaussianStats.empty(dim), torch.zeros(dim, dtype=torch.int64), z)

    @classmethod
    def from_features(cls, features: np.ndarray | torch.Tensor) -> NanGaussianStats:
        """Statistics of ``(N, D)`` feature rows (converted to float64)."""
        f = torch.as_tensor(np.asarray(features, dtype=np.float64))
        if f.ndim != 2:
            raise ValueError(f"features must be (N, D), got shape {tuple(f.shape)}")
        ok = ~torch.isnan(f)
        return cls(int(f.shape[0]), GaussianStats.from_features(f[ok.all(dim=1)]),
                   ok.sum(0), torch.where(ok, f, 0.0).sum(0))

    def __add__(self, other: NanGaussianStats) -> NanGaussianStats:
        return NanGaussianStats(self.rows + other.rows, self.complete + other.complete,
                                self.present + other.present,
                                self.present_total + other.present_total)

    @property
    def dim(self) -> int:
        return self.complete.dim

    def nanmean(self) -> np.ndarray:
        """MATLAB ``nanmean``: ``(D,)`` means over the defined values (NaN if none)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.present_total.numpy() / self.present.numpy()

    def nancov(self) -> np.ndarray:
        """MATLAB ``nancov``: ``(D, D)`` covariance of the complete rows over N - 1;
        all zeros with one complete row, all NaN with none."""
        n, d = self.complete.count, self.dim
        if n == 0:
            return np.full((d, d), np.nan)
        if n == 1:
            return np.zeros((d, d))
        return self.complete.cov.numpy()
