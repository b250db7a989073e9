"""Keeping a library's console messages out of a command's output.

Ray's C++ core writes some messages straight to this process's standard error (file
descriptor 2), below Python's ``logging`` and ``sys.stderr``, e.g. a warning for every
actor pool about constructor arguments in the object store. :func:`stderr_to_file`
points descriptor 2 at a log file for a while and hands the command a stream to the
real standard error for its own progress line.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["new_log_path", "stderr_to_file"]


def new_log_path(prefix: str = "blindiqa-ray-") -> Path:
    """A new empty log file in the temporary folder (``/tmp/blindiqa-ray-XXXX.log``)."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".log")
    os.close(fd)
    return Path(name)


@contextmanager
def stderr_to_file(path: str | os.PathLike) -> Iterator[TextIO]:
    """Send this process's standard error (descriptor 2, ``sys.stderr`` included) to
    ``path`` (appended) inside the ``with`` block.

    Child processes started inside the block keep writing to ``path`` after it ends.

    Yields:
        A text stream to the standard error as it was (a terminal stays a terminal),
        for the messages the user should see.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(fd, 2)
    finally:
        os.close(fd)
    console = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8",
                        errors="backslashreplace")
    try:
        yield console
    finally:
        console.flush()
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        console.close()
