"""Checks of the map options that the command-line parsers use (no torch, no numpy)."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The map's default opacity over the photo.
MAP_OPACITY = 0.5


def check_map_range(map_range: Sequence[float]) -> tuple[float, float]:
    """Validate a fixed distance range for map colours.

    Args:
        map_range: ``(lo, hi)``, both finite, ``lo < hi``.

    Returns:
        ``(lo, hi)`` as floats.

    Raises:
        ValueError: not two numbers, not finite, or ``lo >= hi``.
    """
    try:
        lo, hi = (float(v) for v in map_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a map range is two numbers LO,HI, got {map_range!r}") from exc
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"a map range must be finite, got {lo:g},{hi:g}")
    if lo >= hi:
        raise ValueError(f"a map range needs LO < HI, got {lo:g},{hi:g}")
    return lo, hi


def parse_map_range(text: str) -> tuple[float, float]:
    """``"LO,HI"`` (e.g. a ``--map-range`` argument) as a validated range.

    Raises:
        ValueError: not two comma-separated finite numbers with ``LO < HI``.
    """
    parts = str(text).split(",")
    if len(parts) != 2:
        raise ValueError(f"a map range is two numbers LO,HI, got {text!r}")
    return check_map_range(parts)


def check_map_opacity(opacity: float) -> float:
    """Validate the opacity of a map laid over its photo.

    Args:
        opacity: 0 (the photo only) to 1 (the map only).

    Returns:
        ``opacity`` as a float.

    Raises:
        ValueError: not a number, not finite, or outside [0, 1].
    """
    try:
        value = float(opacity)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a map opacity is a number from 0 to 1, got {opacity!r}") from exc
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(f"a map opacity is a number from 0 to 1, got {opacity!r}")
    return value
