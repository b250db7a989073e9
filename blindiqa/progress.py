"""Progress reports for long jobs: a tqdm bar on a terminal, plain lines elsewhere.

With stderr redirected to a file or a CI log, a bar would print nothing useful (or one
line at the end); :class:`Progress` then writes a plain line every few seconds instead::

    scoring: 120/581 (20.7%), 10.8 img/s, elapsed 0:00:11, ETA 0:00:43

The interval is ``BLINDIQA_PROGRESS_EVERY`` seconds (default 10). The object has the small
part of tqdm's interface the project uses (``update``, ``set_postfix_str``, ``close``,
context manager), so loops do not care which form they got.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

#: Environment variable: seconds between two plain progress lines.
EVERY_ENV = "BLINDIQA_PROGRESS_EVERY"
DEFAULT_EVERY = 10.0


def _every() -> float:
    text = os.environ.get(EVERY_ENV, "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_EVERY
    return value if math.isfinite(value) and value >= 0 else DEFAULT_EVERY


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` (``?`` when unknown)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_columns(stream: TextIO) -> int:
    """The width ``stream``'s terminal reports (0 where it reports none or is none)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


def can_draw_bar(stream: TextIO) -> bool:
    """Whether a bar can be drawn on ``stream``: a terminal that reports a width.

    Some terminals report a size of 0x0 (``script``, a container's pseudo-terminal
    without a size); tqdm then draws nothing at all, so plain lines are used there.
    """
    return is_terminal(stream) and terminal_columns(stream) > 0


class Progress:
    """A progress report over ``total`` units of work.

    Args:
        total: the units to do (None when unknown: no percentage or ETA).
        desc: what is being done (``"scoring"``).
        unit: the unit's name (``"img"``, ``"step"``).
        enabled: False reports nothing (``--quiet``).
        initial: units already done (a resumed job); the rate counts only new ones.
        file: where to write (default: stderr).
        every: seconds between plain lines (default: ``BLINDIQA_PROGRESS_EVERY`` or 10).
        bar: True for a tqdm bar, False for plain lines (default: a bar exactly when
            ``file`` is a terminal that reports a width, :func:`can_draw_bar`).
        leave: keep the finished bar on screen.
        clock: the time source (tests).
    """

    def __init__(self, total: int | None = None, desc: str = "", unit: str = "img", *,
                 enabled: bool = True, initial: int = 0, file: TextIO | None = None,
                 every: float | None = None, bar: bool | None = None, leave: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.n = self.initial = initial
        self.file = file if file is not None else sys.stderr
        self.every = _every() if every is None else every
        self.enabled = enabled
        self.postfix = ""
        self._clock = clock
        self._start = self._last = clock()
        self._closed = False
        self._bar = None
        if enabled and (can_draw_bar(self.file) if bar is None else bar):
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit=unit,
                             file=self.file, dynamic_ncols=True, leave=leave)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def lines(self) -> bool:
        """Whether this report writes plain lines."""
        return self.enabled and self._bar is None

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.lines and self._clock() - self._last >= self.every:
            self._line()

    def set_postfix_str(self, text: str) -> None:
        """Extra text at the end of the bar or line (e.g. the loss)."""
        self.postfix = text
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def status(self, final: bool = False) -> str:
        """The plain progress line."""
        elapsed = self._clock() - self._start
        new = self.n - self.initial
        rate = new / elapsed if elapsed > 0 else float("nan")
        head = f"{self.desc}: " if self.desc else ""
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        if self.total:
            count += f" ({100.0 * self.n / self.total:.1f}%)"
        parts = [f"{head}{count}"]
        if math.isfinite(rate):
            parts.append(f"{rate:.3g} {self.unit}/s")
        parts.append(f"elapsed {format_duration(elapsed)}")
        if final:
            parts.append("done")
        elif self.total is not None and rate > 0:
            parts.append(f"ETA {format_duration((self.total - self.n) / rate)}")
        if self.postfix:
            parts.append(self.postfix)
        return ", ".join(parts)

    def _line(self) -> None:
        self._last = self._clock()
        print(self.status(), file=self.file, flush=True)

    def close(self) -> None:
        """Finish: close the bar, or write a last plain line if any work was counted."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.lines and self.n > self.initial:
            self._last = self._clock()
            print(self.status(final=True), file=self.file, flush=True)
