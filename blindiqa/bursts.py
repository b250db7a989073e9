"""Bursts: group near-duplicate shots and mark the best of each group.

Two shots belong to the same burst when their EXIF capture times are at most
``seconds`` apart, or when their content descriptors are near (cosine distance at most
``max_distance``). Shots are put in shooting order first (by capture time when every
shot has one, else by file name, numbers in names compared as numbers) and each is
compared with the one before it only: a burst is a run of consecutive shots, each
joined to the previous one (single linkage along the sequence), so the grouping is
deterministic and linear in the number of shots.

The content descriptor (:func:`thumbnail_feature`) is a tiny colour thumbnail of the
photo, centred and scaled to unit length, so that its cosine similarity with another is
the Pearson correlation of their pixels: blind to a change of exposure (an offset or a
gain), to noise and blur (averaged away at 16 x 16 pixels) and to a shift or crop of a
few per cent (under one thumbnail pixel), but not to a different scene.
``benchmarks/bursts.py`` measures it against the default encoder's pooled features
(see ``docs/bursts.md``).

The best shot of a burst is the one with the highest quality (the first in shooting
order at a tie).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol

import numpy as np
from PIL import Image, ImageOps

from blindiqa.io import formats
from blindiqa.io.raw import render_raw

#: Default largest gap between two capture times of one burst, in seconds.
DEFAULT_SECONDS = 2.0
#: Default largest cosine distance between the descriptors of two shots of one burst.
DEFAULT_MAX_DISTANCE = 0.2
#: The thumbnail's side in pixels (the descriptor has ``3 * side**2`` values).
THUMB_SIDE = 16
#: What joins two consecutive shots: ``either`` their capture times or their content,
#: ``both`` (content alone where a capture time is missing), ``time`` or ``features``.
JOIN_BY: tuple[str, ...] = ("either", "both", "time", "features")

#: EXIF tags: the Exif IFD and, in it, the capture time, its fraction and its UTC offset
#: (DateTimeOriginal, SubSecTimeOriginal, OffsetTimeOriginal); DateTimeDigitized and its
#: own fraction and offset are the fallback; DateTime in the main IFD the last resort.
EXIF_IFD = 0x8769
_ORIGINAL = (0x9003, 0x9291, 0x9011)
_DIGITIZED = (0x9004, 0x9292, 0x9012)
_DATETIME = 0x0132

_EXIF_TIME = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})\s*$")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")
_DIGITS = re.compile(r"(\d+)")


def parse_exif_time(text: object, subsec: object = None, offset: object = None,
                    ) -> float | None:
    """An EXIF date and time as seconds since the epoch, or None where it is missing or
    garbled (blank, ``0000:00:00 00:00:00``, out of range, not text).

    Args:
        text: ``YYYY:MM:DD HH:MM:SS`` (a ``T`` or dashes in the date are accepted too).
        subsec: the fraction of the second as digits (``"25"`` is 0.25 s); ignored when
            not digits.
        offset: the UTC offset, ``+HH:MM`` or ``-HH:MM``; without one the time is taken
            as UTC (the shots of one camera share their zone, so gaps stay right).
    """
    text, subsec, offset = (_text(v) for v in (text, subsec, offset))
    if not text:
        return None
    match = _EXIF_TIME.match(text.replace("-", ":", 2))
    if match is None:
        return None
    zone = timezone.utc
    if offset and (m := _OFFSET.match(offset)):
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        if delta < timedelta(hours=24):
            zone = timezone(-delta if m.group(1) == "-" else delta)
    try:
        when = datetime(*(int(g) for g in match.groups()), tzinfo=zone)
    except ValueError:  # month 0, hour 25, ...
        return None
    seconds = when.timestamp()
    digits = (subsec or "").strip()
    if digits.isdigit() and digits.isascii():
        seconds += int(digits) / 10 ** len(digits)
    return seconds


def _text(value: object) -> str | None:
    """An EXIF value as text (bytes decoded as ASCII, NULs dropped), or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").strip() or None


def exif_time(exif: Image.Exif) -> float | None:
    """The capture time in a Pillow :class:`~PIL.Image.Exif` (see :func:`parse_exif_time`),
    or None."""
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except Exception:  # a garbled Exif IFD
        sub = {}
    for date, fraction, offset in (_ORIGINAL, _DIGITIZED):
        when = parse_exif_time(sub.get(date), sub.get(fraction), sub.get(offset))
        if when is not None:
            return when
    return parse_exif_time(exif.get(_DATETIME))


def capture_time(path: str | os.PathLike) -> float | None:
    """When a photo was taken, from its EXIF, in seconds since the epoch; None where the
    file has no readable capture time (or cannot be opened)."""
    try:
        with Image.open(path) as image:
            return exif_time(image.getexif())
    except Exception:  # not an image, unreadable, a broken EXIF block
        return None


def thumbnail_feature(image: Image.Image, side: int = THUMB_SIDE) -> np.ndarray:
    """The content descriptor of a photo: its ``side`` x ``side`` RGB thumbnail (the
    whole frame, aspect ignored), minus its mean, scaled to unit length (float64,
    ``3 * side**2`` values; all zeros for a flat image).

    Raises:
        ValueError: ``side`` below 1.
    """
    if side < 1:
        raise ValueError(f"side must be at least 1, got {side}")
    image.draft("RGB", (4 * side, 4 * side))  # JPEG: decode at a fraction of the size
    small = image.convert("RGB").resize((side, side), Image.BOX)
    vec = np.asarray(small, dtype=np.float64).ravel()
    vec -= vec.mean()
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 1e-9 else np.zeros_like(vec)


def file_feature(path: str | os.PathLike, side: int = THUMB_SIDE) -> np.ndarray | None:
    """:func:`thumbnail_feature` of an image file (after its EXIF orientation), or None
    where it cannot be read."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (4 * side, 4 * side))
            return thumbnail_feature(ImageOps.exif_transpose(image), side)
    except Exception:  # not an image, truncated, ...
        return None


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - cos(a, b)`` (0 for the same direction, up to 2); 1 where either is zero."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 1.0
    return 1.0 - float(np.dot(a, b)) / (na * nb)


def natural_key(name: str) -> tuple:
    """A sort key comparing the numbers in a name as numbers (``IMG_9`` before
    ``IMG_10``)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in _DIGITS.split(name) if part)


def shooting_order(names: Sequence[str], times: Sequence[float | None]) -> list[int]:
    """The shots' indices in shooting order: by capture time when every shot has one,
    else by name (natural order); ties by name, then input order.

    Raises:
        ValueError: ``names`` and ``times`` differ in length.
    """
    if len(names) != len(times):
        raise ValueError(f"{len(names)} names but {len(times)} times")
    if all(t is not None for t in times):
        return sorted(range(len(names)), key=lambda i: (times[i], natural_key(names[i]), i))
    return sorted(range(len(names)), key=lambda i: (natural_key(names[i]), i))


def check_thresholds(seconds: float, max_distance: float, join_by: str) -> None:
    """Central validation of the grouping's settings.

    Raises:
        ValueError: a negative or non-finite threshold, or an unknown ``join_by``.
    """
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"burst seconds must be a number >= 0, got {seconds!r}")
    if not (math.isfinite(max_distance) and 0 <= max_distance <= 2):
        raise ValueError(f"burst max distance must be between 0 and 2, got {max_distance!r}")
    if join_by not in JOIN_BY:
        raise ValueError(f"join_by must be one of {', '.join(JOIN_BY)}, got {join_by!r}")


def joined(dt: float | None, distance: float | None, *, seconds: float, max_distance: float,
           join_by: str = "either") -> bool:
    """Whether two consecutive shots belong to one burst, given the gap between their
    capture times and the distance between their descriptors (None where unknown)."""
    by_time = dt is not None and abs(dt) <= seconds
    by_features = distance is not None and distance <= max_distance
    if join_by == "time":
        return by_time
    if join_by == "features":
        return by_features
    if join_by == "both":
        return by_features and (dt is None or by_time)
    return by_time or by_features


def group_bursts(names: Sequence[str], times: Sequence[float | None],
                 features: Sequence[np.ndarray | None], *,
                 seconds: float = DEFAULT_SECONDS,
                 max_distance: float = DEFAULT_MAX_DISTANCE,
                 join_by: str = "either") -> list[int]:
    """The burst of each shot: 1, 2, ... numbered in shooting order.

    Args:
        names: the shots' file names (the order when capture times are missing).
        times: capture times in seconds (:func:`capture_time`), None where unknown.
        features: descriptors (:func:`file_feature`), None where unknown.
        seconds: the largest gap between consecutive capture times of one burst.
        max_distance: the largest cosine distance between consecutive descriptors of
            one burst.
        join_by: ``either`` (time or features), ``both`` (time and features; features
            alone where a time is missing), ``time`` or ``features`` only.

    Returns:
        One burst number per shot, in the input's order.

    Raises:
        ValueError: inputs of different lengths, or bad settings
            (:func:`check_thresholds`).
    """
    check_thresholds(seconds, max_distance, join_by)
    if len(features) != len(names):
        raise ValueError(f"{len(names)} names but {len(features)} features")
    order = shooting_order(names, times)
    labels = [0] * len(names)
    burst = 0
    prev: int | None = None
    for i in order:
        if prev is None:
            burst = 1
        else:
            dt = (times[i] - times[prev]
                  if times[i] is not None and times[prev] is not None else None)
            fi, fp = features[i], features[prev]
            distance = cosine_distance(fi, fp) if fi is not None and fp is not None else None
            if not joined(dt, distance, seconds=seconds, max_distance=max_distance,
                          join_by=join_by):
                burst += 1
        labels[i] = burst
        prev = i
    return labels


class Scored(Protocol):
    """A scored shot: a score file's row, a report's row."""

    @property
    def score(self) -> float | None: ...

    @property
    def quality(self) -> float | None: ...


def goodness(shots: Sequence[Scored]) -> list[float | None]:
    """What ranks the shots of a burst (:func:`best_of_bursts`): the quality (higher is
    better) where any shot has one, else minus the score (a model without a quality
    scale); None for a shot without it."""
    if any(s.quality is not None for s in shots):
        return [s.quality for s in shots]
    return [None if s.score is None else -s.score for s in shots]


def best_of_bursts(bursts: Sequence[int], goodness: Sequence[float | None]) -> list[bool]:
    """Whether each shot is the best of its burst: the highest ``goodness`` (e.g. the
    0-100 quality; pass minus the score for a model without one), the first in the
    input's order at a tie; shots without a goodness are never the best.

    Raises:
        ValueError: inputs of different lengths.
    """
    if len(bursts) != len(goodness):
        raise ValueError(f"{len(bursts)} bursts but {len(goodness)} values")
    best: dict[int, int] = {}
    for i, (burst, value) in enumerate(zip(bursts, goodness, strict=True)):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if burst not in best or value > goodness[best[burst]]:  # type: ignore[operator]
            best[burst] = i
    chosen = set(best.values())
    return [i in chosen for i in range(len(bursts))]


def burst_sizes(bursts: Sequence[int]) -> list[int]:
    """How many shots each shot's burst holds."""
    counts: dict[int, int] = {}
    for b in bursts:
        counts[b] = counts.get(b, 0) + 1
    return [counts[b] for b in bursts]


def read_shot(path: str | os.PathLike, with_feature: bool = True, side: int = THUMB_SIDE,
              ) -> tuple[bool, float | None, np.ndarray | None]:
    """What grouping needs of one file, opened once: whether it can be read as an image,
    its capture time (:func:`exif_time`) and its descriptor (:func:`thumbnail_feature`
    after its EXIF orientation; None unless ``with_feature``)."""
    if formats.is_raw(path):
        return _read_raw_shot(path, with_feature, side)
    if formats.is_heif_family(path):
        formats.register_heif()  # HEIC/AVIF through pillow-heif, where installed
    try:
        with Image.open(path) as image:
            try:
                when = exif_time(image.getexif())
            except Exception:  # a broken EXIF block: the pixels may still be fine
                when = None
            feature = None
            if with_feature:
                image.draft("RGB", (4 * side, 4 * side))
                feature = thumbnail_feature(ImageOps.exif_transpose(image), side)
            else:
                image.verify()
            return True, when, feature
    except Exception:  # not an image, truncated, missing ...
        return False, None, None


def _read_raw_shot(path: str | os.PathLike, with_feature: bool, side: int,
                   ) -> tuple[bool, float | None, np.ndarray | None]:
    """:func:`read_shot` of a camera raw file: the capture time from its EXIF where
    Pillow reads the file's TIFF structure (DNG, NEF, CR2, ARW ...), the descriptor from
    the camera's rendering as scoring sees it (:func:`blindiqa.io.raw.render_raw`, the
    embedded preview where large enough; needs the ``[formats]`` extra)."""
    when = None
    try:
        with Image.open(path) as image:
            when = exif_time(image.getexif())
    except Exception:  # not TIFF-based (CR3, RAF ...), or no EXIF Pillow can read
        pass
    try:
        rendered = render_raw(path, max_side=4 * side)
    except Exception:  # no rawpy, or LibRaw cannot read it
        return False, None, None
    feature = thumbnail_feature(Image.fromarray(rendered.pixels), side) if with_feature \
        else None
    return True, when, feature


def group_files(paths: Sequence[str | os.PathLike], names: Sequence[str] | None = None, *,
                seconds: float = DEFAULT_SECONDS, max_distance: float = DEFAULT_MAX_DISTANCE,
                join_by: str = "either") -> list[int]:
    """:func:`group_bursts` of image files, their capture times and descriptors read from
    the files. A file that cannot be read as an image is a burst of its own, numbered
    after all others, and does not count for the order (so one broken file does not turn
    a shoot with capture times to the order of names).

    Args:
        paths: the files.
        names: the names that give the order without capture times (default: the
            paths).
        seconds, max_distance, join_by: as for :func:`group_bursts`.

    Raises:
        ValueError: bad settings, or ``names`` of another length.
    """
    check_thresholds(seconds, max_distance, join_by)
    names = [os.fspath(p) for p in paths] if names is None else list(names)
    if len(names) != len(paths):
        raise ValueError(f"{len(paths)} paths but {len(names)} names")
    shots = [read_shot(p, with_feature=join_by != "time") for p in paths]
    ok = [i for i, (readable, _, _) in enumerate(shots) if readable]
    found = group_bursts([names[i] for i in ok], [shots[i][1] for i in ok],
                         [shots[i][2] for i in ok], seconds=seconds,
                         max_distance=max_distance, join_by=join_by)
    labels = [0] * len(paths)
    for i, burst in zip(ok, found, strict=True):
        labels[i] = burst
    last = max(found, default=0)
    for i in range(len(paths)):
        if not labels[i]:
            last += 1
            labels[i] = last
    return labels
