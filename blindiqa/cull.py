"""Keep or reject: which photos pass a quality threshold or a share, and where they go.

A rule is a minimum quality (``quality >= Q`` is kept) or a share of the photos ranked
by quality, best first: the top ``P`` % kept, or the bottom ``P`` % rejected. A share of
``n`` photos is ``n * P / 100`` rounded to the nearest photo (halves up); photos of equal
quality at the cut are taken in their order in the score file, so the same file and
rule always give the same split.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: The kinds of rule: the option names of ``blindiqa cull``.
RULES: tuple[str, ...] = ("min-quality", "keep-top", "reject-bottom")


@dataclass(frozen=True)
class Rule:
    """How photos are split.

    Attributes:
        kind: one of :data:`RULES`.
        value: the minimum quality (0-100), or the share in percent (0-100).
    """

    kind: str
    value: float

    def __post_init__(self) -> None:
        if self.kind not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}, got {self.kind!r}")
        if not 0 <= self.value <= 100:
            raise ValueError(f"{self.kind} must be between 0 and 100, got {self.value:g}")


def parse_percent(text: str) -> float:
    """``"30%"`` or ``"30"`` as 30.0.

    Raises:
        ValueError: not a number between 0 and 100.
    """
    number = text.strip().removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a percentage: {text!r}") from None
    if not (math.isfinite(value) and 0 <= value <= 100):
        raise ValueError(f"must be between 0 and 100 %, got {text!r}")
    return value


def share_count(n: int, percent: float) -> int:
    """How many of ``n`` photos ``percent`` % is, rounded to the nearest (halves up)."""
    return min(n, math.floor(n * percent / 100 + 0.5))


def decide(qualities: Sequence[float], rule: Rule) -> list[bool]:
    """Keep (True) or reject (False) each photo, given its quality (higher is better)."""
    if rule.kind == "min-quality":
        return [q >= rule.value for q in qualities]
    n = len(qualities)
    best_first = sorted(range(n), key=lambda i: -qualities[i])  # stable: file order at ties
    kept = (share_count(n, rule.value) if rule.kind == "keep-top"
            else n - share_count(n, rule.value))
    keep = set(best_first[:kept])
    return [i in keep for i in range(n)]


def relative_names(photos: Sequence[Path]) -> tuple[Path, list[Path]]:
    """The deepest folder holding every photo, and each photo's path below it.

    Paths are made absolute and normalised (``..`` removed) first, without following
    links; two photos of the same name in different folders get different names.

    Raises:
        ValueError: no photos, or photos on different drives (Windows).
    """
    if not photos:
        raise ValueError("no photos")
    absolute = [Path(os.path.abspath(p)) for p in photos]
    base = Path(os.path.commonpath([str(p.parent) for p in absolute]))
    return base, [p.relative_to(base) for p in absolute]
