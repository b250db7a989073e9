"""Star ratings (1-5, as photo managers show them) from the 0-100 quality.

The mapping is a step function given by four thresholds ``t1 < t2 < t3 < t4``: a photo
gets one star, plus one for each threshold its quality reaches. With the default
``20, 40, 60, 80``::

    quality    [0, 20)  [20, 40)  [40, 60)  [60, 80)  [80, 100]
    stars         1         2         3         4          5

Because quality is the share of a reference corpus of ordinary photos that scores worse
(see the README's quality scale), the default gives each star about a fifth of ordinary
photos. No photo gets 0 stars (XMP's "unrated") or -1 ("rejected"): those stay the
photographer's to give.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The default thresholds: quality at which 2, 3, 4 and 5 stars start.
DEFAULT_THRESHOLDS: tuple[float, float, float, float] = (20.0, 40.0, 60.0, 80.0)


def check_thresholds(thresholds: Sequence[float]) -> tuple[float, float, float, float]:
    """The thresholds as a tuple, checked.

    Args:
        thresholds: the qualities at which 2, 3, 4 and 5 stars start.

    Returns:
        The four thresholds as floats.

    Raises:
        ValueError: not four finite numbers in [0, 100], strictly increasing.
    """
    values = tuple(float(t) for t in thresholds)
    if len(values) != 4:
        raise ValueError(f"need 4 thresholds (where 2, 3, 4 and 5 stars start), got "
                         f"{len(values)}")
    if not all(0.0 <= t <= 100.0 for t in values):  # also refuses nan
        raise ValueError(f"thresholds must lie in [0, 100], got {_text(values)}")
    if any(values[i] >= values[i + 1] for i in range(3)):
        raise ValueError(f"thresholds must increase strictly, got {_text(values)}")
    return values  # type: ignore[return-value]


def parse_thresholds(text: str) -> tuple[float, float, float, float]:
    """``"20,40,60,80"`` -> ``(20.0, 40.0, 60.0, 80.0)``.

    Raises:
        ValueError: not four comma-separated numbers valid for :func:`check_thresholds`.
    """
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"not comma-separated numbers: {text!r}") from None
    return check_thresholds(values)


def stars(quality: float, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> int:
    """The star rating (1-5) of a 0-100 quality.

    Args:
        quality: the quality, higher is better (values outside [0, 100] are clamped by
            the thresholds: below ``t1`` is 1 star, at or above ``t4`` is 5).
        thresholds: the qualities at which 2, 3, 4 and 5 stars start.

    Raises:
        ValueError: ``quality`` is nan, or bad thresholds.
    """
    limits = check_thresholds(thresholds)
    if quality != quality:
        raise ValueError("quality is nan")
    return 1 + sum(quality >= t for t in limits)


def _text(values: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in values)
