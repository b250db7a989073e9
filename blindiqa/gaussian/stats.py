"""Gaussian statistics as mergeable sufficient statistics, in float64."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class GaussianStats:
    """Count, sum and sum of outer products of feature vectors.

    Two sets merge by addition (``a + b``), so statistics gathered on many workers or
    in many chunks combine exactly.

    Attributes:
        count: number of vectors.
        total: ``(D,)`` sum of the vectors.
        outer: ``(D, D)`` sum of their outer products.
    """

    count: int
    total: torch.Tensor
    outer: torch.Tensor

    @classmethod
    def empty(cls, dim: int, device: torch.device | str = "cpu") -> GaussianStats:
        z = torch.zeros(dim, dtype=torch.float64, device=device)
        return cls(0, z, torch.zeros(dim, dim, dtype=torch.float64, device=device))

    @classmethod
    def from_features(cls, features: torch.Tensor) -> GaussianStats:
        """Statistics of ``(N, D)`` features (converted to float64)."""
        if features.ndim != 2:
            raise ValueError(f"features must be (N, D), got shape {tuple(features.shape)}")
        f = features.double()
        return cls(int(f.shape[0]), f.sum(0), f.T @ f)

    @classmethod
    def from_moments(cls, count: int, mean: torch.Tensor, cov: torch.Tensor) -> GaussianStats:
        """Rebuild the statistics from a mean and an unbiased covariance."""
        mean, cov = mean.double(), cov.double()
        outer = cov * (count - 1) + count * torch.outer(mean, mean)
        return cls(int(count), mean * count, outer)

    def __add__(self, other: GaussianStats) -> GaussianStats:
        if self.total.shape != other.total.shape:
            raise ValueError(
                f"cannot merge statistics of dimension {self.dim} and {other.dim}"
            )
        return GaussianStats(self.count + other.count, self.total + other.total,
                             self.outer + other.outer)

    @property
    def dim(self) -> int:
        return int(self.total.shape[0])

    @property
    def mean(self) -> torch.Tensor:
        if self.count < 1:
            raise ValueError("no samples: the mean is undefined")
        return self.total / self.count

    @property
    def scatter(self) -> torch.Tensor:
        """Sum of the outer products of the centred vectors, symmetrised."""
        if self.count < 1:
            raise ValueError("no samples: the scatter is undefined")
        m = self.mean
        c = self.outer - self.count * torch.outer(m, m)
        return (c + c.T) / 2

    @property
    def cov(self) -> torch.Tensor:
        """Unbiased covariance (N - 1 in the denominator), symmetrised."""
        if self.count < 2:
            raise ValueError(f"{self.count} sample(s): the covariance needs at least 2")
        m = self.mean
        c = (self.outer - self.count * torch.outer(m, m)) / (self.count - 1)
        return (c + c.T) / 2
