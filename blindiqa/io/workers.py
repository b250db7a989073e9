"""Decoding in worker processes that may crash or hang without stopping the run.

Each worker decodes one file at a time, so when a worker dies (a segfault in a decoder,
killed for memory) or a file takes longer than the time limit, the file it was on is
known: that file gets an error and a fresh worker takes the worker's place. Results come
back in input order, with a bounded number decoded ahead.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import torch

from blindiqa.io.decode import decode_image, decode_image_sized

#: A decoder: a file to ``(3, H, W)`` uint8 pixels, or to those pixels and the image's
#: ``(width, height)`` as viewed; ``ValueError`` for a bad file.
Decoder = Callable[[Path], torch.Tensor | tuple[torch.Tensor, tuple[int, int]]]

#: Seconds a worker may spend on one file by default.
DEFAULT_TIMEOUT = 120.0


def decode_uint8(path: Path, max_side: int = 0) -> torch.Tensor:
    """The default decoder: :func:`~blindiqa.io.decode.decode_image` as 8-bit pixels
    (4x less to hand between processes than float); ``max_side`` as there (bind it with
    :func:`functools.partial`, which stays picklable for spawned workers)."""
    return decode_image(path, as_uint8=True, max_side=max_side)


def decode_uint8_sized(path: Path, max_side: int = 0) -> tuple[torch.Tensor, tuple[int, int]]:
    """:func:`decode_uint8` with the image's full ``(width, height)`` as viewed (see
    :func:`~blindiqa.io.decode.decode_image_sized`)."""
    return decode_image_sized(path, as_uint8=True, max_side=max_side)


@dataclass
class Decoded:
    """One input after decoding: the pixels, or why there are none.

    Attributes:
        size: the image's ``(width, height)`` as viewed: as the decoder reports it, else
            the pixels' own; None where it could not be decoded.
    """

    index: int
    path: Path
    name: str
    pixels: torch.Tensor | None = None
    error: str | None = None
    size: tuple[int, int] | None = None


def decode_one(decode: Decoder, index: int, path: Path, name: str) -> Decoded:
    """Decode one file in this process; a ``ValueError`` becomes the error."""
    try:
        out = decode(Path(path))
    except ValueError as exc:
        return Decoded(index, Path(path), name, error=str(exc))
    if isinstance(out, tuple):
        pixels, size = out
    else:
        pixels, size = out, (int(out.shape[-1]), int(out.shape[-2]))
    return Decoded(index, Path(path), name, pixels=pixels, size=size)


def _worker_main(conn: Connection, decode: Decoder, parent_end: Connection | None,
                 parent_pid: int) -> None:
    torch.set_num_threads(1)  # as torch's DataLoader workers: no thread pool after fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    if parent_end is not None:
        parent_end.close()  # the main process's end, inherited by fork
    while True:
        try:
            if not conn.poll(1.0):
                if os.getppid() != parent_pid:  # the main process died (e.g. kill -9)
                    return
                continue
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(decode_one(decode, *task))


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: tuple[int, Path, str] | None = None
    started: float = 0.0


class DecodePool:
    """Worker processes decoding files, each file isolated from the others' failures.

    Args:
        workers: the number of processes (at least 1).
        decode: the decoder run in the workers (default :func:`decode_uint8`); with the
            ``spawn`` start method it must be picklable (a module-level function).
        timeout: seconds one file may take; the worker is then killed and replaced.
        ahead: how many files may be decoded ahead of the one the caller waits for.
    """

    def __init__(self, workers: int, decode: Decoder = decode_uint8,
                 timeout: float = DEFAULT_TIMEOUT, ahead: int = 4) -> None:
        if workers < 1:
            raise ValueError(f"DecodePool needs at least 1 worker, got {workers}")
        if not timeout > 0:
            raise ValueError(f"the decoding time limit must be > 0 seconds, got {timeout}")
        methods = mp.get_all_start_methods()
        self._ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self.decode, self.timeout = decode, float(timeout)
        self.window = max(workers, ahead + workers)
        self._workers = [self._start() for _ in range(workers)]
        #: How many workers were replaced after a crash or a time-out.
        self.restarts = 0

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        forked = self._ctx.get_start_method() == "fork"
        proc = self._ctx.Process(target=_worker_main, daemon=True,
                                 args=(child, self.decode, parent if forked else None,
                                       os.getpid()))
        proc.start()
        child.close()  # so that the worker's death reads as end-of-file here
        return _Worker(proc, parent)

    def _replace(self, worker: _Worker) -> _Worker:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        self.restarts += 1
        return self._start()

    def close(self) -> None:
        """Stop the workers."""
        for w in self._workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        deadline = time.monotonic() + 2.0
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._workers = []

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def imap(self, items: Iterable[tuple[Path, str]]) -> Iterator[Decoded]:
        """Decode ``(path, name)`` items (consumed lazily), yielding them in input order."""
        source = enumerate(items)
        exhausted = False
        done: dict[int, Decoded] = {}
        nxt = 0
        while True:
            for k, w in enumerate(self._workers):  # hand out work within the window
                if w.task is None and not exhausted:
                    # a worker the previous round found dead is replaced before new work
                    if not w.process.is_alive():
                        w = self._workers[k] = self._replace(w)
                    if len(done) + self._busy() >= self.window:
                        break
                    try:
                        i, (path, name) = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    w.task, w.started = (i, Path(path), name), time.monotonic()
                    w.conn.send(w.task)
            while nxt in done:
                yield done.pop(nxt)
                nxt += 1
            if not self._busy():  # all handed out so far is yielded
                if exhausted:
                    break
                continue  # the window was full: hand out more
            self._collect(done)

    def _busy(self) -> int:
        return sum(w.task is not None for w in self._workers)

    def _collect(self, done: dict[int, Decoded]) -> None:
        """Wait for a result, a dead worker or a time-out, and record it in ``done``."""
        busy = [w for w in self._workers if w.task is not None]
        now = time.monotonic()
        wait_for = max(0.0, min(w.started + self.timeout for w in busy) - now)
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout=wait_for))
        now = time.monotonic()
        for k, w in enumerate(self._workers):
            if w.task is None:
                continue
            i, path, name = w.task
            error = None
            if w.conn in ready or w.process.sentinel in ready:
                try:
                    if w.conn.poll():
                        done[i] = w.conn.recv()
                        w.task = None
                        continue
                except (EOFError, OSError):
                    pass
                w.process.join(1.0)
                if w.process.is_alive():
                    continue  # the pipe woke up before the result was complete
                error = (f"the decoder crashed on this file ({_death(w.process.exitcode)}); "
                         "scoring went on with a fresh worker")
            elif now - w.started >= self.timeout:
                error = (f"decoding took longer than {self.timeout:g} s; the worker was "
                         "stopped and scoring went on with a fresh one")
            if error is not None:
                done[i] = Decoded(i, path, name, error=error)
                w.task = None
                self._workers[k] = self._replace(w)

