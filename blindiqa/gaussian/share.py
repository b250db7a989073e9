"""One worker's share of a pristine fit: statistics plus the log of its images.

A fit lists its images once (the *plan*); each worker reduces some of them to a
:class:`FitShare`; the shares merge by addition into the share of the whole plan, from
which the fit is finished. A single-process fit is the one share of all the images.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any


@dataclass
class FitShare:
    """Statistics of some images of a plan, and what happened to each.

    Attributes:
        stats: mergeable statistics (anything with ``+``: :class:`GaussianStats`,
            :class:`NanGaussianStats`).
        used: plan indices of the images that gave features, increasing.
        skipped: ``(plan index, reason)`` of the images that could not be used.
        units: blocks / patches seen before selection.
    """

    stats: Any
    used: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    units: int = 0

    def __add__(self, other: FitShare) -> FitShare:
        return FitShare(self.stats + other.stats, sorted(self.used + other.used),
                        sorted(self.skipped + other.skipped), self.units + other.units)


def merge_shares(shares: Iterable[FitShare]) -> FitShare:
    """The share of all the images of ``shares`` (added in the order given)."""
    return reduce(FitShare.__add__, shares)
