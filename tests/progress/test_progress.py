"""Progress: plain lines with done/total, rate and ETA where there is no terminal."""

import io
import os

import pytest

from blindiqa import progress
from blindiqa.progress import Progress, format_duration


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_plain_lines_every_interval():
    out, clock = io.StringIO(), Clock()
    with Progress(10, "scoring", file=out, every=5.0, clock=clock) as p:
        for _ in range(10):
            clock.t += 1.0
            p.update()
    lines = out.getvalue().splitlines()
    assert lines == [
        "scoring: 5/10 (50.0%), 1 img/s, elapsed 0:00:05, ETA 0:00:05",
        "scoring: 10/10 (100.0%), 1 img/s, elapsed 0:00:10, ETA 0:00:00",
        "scoring: 10/10 (100.0%), 1 img/s, elapsed 0:00:10, done",
    ]


def test_resumed_rate_counts_new_units_only():
    out, clock = io.StringIO(), Clock()
    p = Progress(100, "scoring", initial=50, file=out, every=1e9, clock=clock)
    clock.t += 10.0
    p.update(20)
    assert p.status() == "scoring: 70/100 (70.0%), 2 img/s, elapsed 0:00:10, ETA 0:00:15"


def test_unknown_total_and_postfix():
    out, clock = io.StringIO(), Clock()
    p = Progress(None, "training", unit="step", file=out, every=0.0, clock=clock)
    clock.t += 2.0
    p.set_postfix_str("loss=0.5")
    p.update(4)
    assert out.getvalue() == "training: 4, 2 step/s, elapsed 0:00:02, loss=0.5\n"


def test_disabled_is_silent():
    out = io.StringIO()
    with Progress(3, "x", enabled=False, file=out, every=0.0) as p:
        p.update(3)
    assert out.getvalue() == ""


def test_nothing_done_no_final_line():
    out = io.StringIO()
    Progress(3, "x", file=out).close()
    assert out.getvalue() == ""


def test_bar_form_is_tqdm():
    out = io.StringIO()
    with Progress(4, "scoring", file=out, bar=True) as p:
        p.update(4)
    assert "4/4" in out.getvalue() and "100%" in out.getvalue()


def test_every_from_environment(monkeypatch):
    monkeypatch.setenv("BLINDIQA_PROGRESS_EVERY", "2.5")
    assert Progress(1, file=io.StringIO()).every == 2.5
    monkeypatch.setenv("BLINDIQA_PROGRESS_EVERY", "soon")
    assert Progress(1, file=io.StringIO()).every == 10.0


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00:00"), (3725.4, "1:02:05"),
                                               (float("inf"), "?"), (-1, "?")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_without_a_size_gets_plain_lines():
    """A new pseudo-terminal reports 0x0, as under `script` or in some containers: tqdm
    would draw nothing there, so the report falls back to plain lines."""
    import fcntl
    import struct
    import termios

    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as tty:
            assert tty.isatty() and progress.terminal_columns(tty) == 0
            assert not progress.can_draw_bar(tty)
            assert progress.Progress(10, "scoring", file=tty).lines
            fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            assert progress.terminal_columns(tty) == 80 and progress.can_draw_bar(tty)
            bar = progress.Progress(10, "scoring", file=tty)
            assert not bar.lines
            bar.close()
    finally:
        os.close(follower)
        os.close(leader)
