"""Atomic file writing: a temporary file in the target's folder, renamed into place.

Readers see either the old file or the complete new one, never a half-written file: the
data is written and synced to a temporary file next to the target, given the permissions
a new file gets (``mkstemp`` creates mode 0600), and renamed over the target. After an
error (or Ctrl-C) the temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def default_permissions(path: str | os.PathLike) -> None:
    """Give ``path`` the permissions a newly created file gets (``0o666`` less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, encoding: str = "utf-8",
                 newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the ``with`` block succeeds.

    Args:
        path: the target file; its folder is created when missing.
        mode: ``"w"`` (text) or ``"wb"`` (bytes).
        encoding: the text encoding (text mode only).
        newline: passed to :func:`open` (text mode only; ``""`` for the csv module).

    Yields:
        The open temporary file (its ``name`` is its path).

    Raises:
        ValueError: for another ``mode``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        text = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        os.close(fd)  # reopened by name, so that ``fh.name`` is the temporary file's path
        with open(tmp, mode, **text) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        default_permissions(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding=encoding) as fh:
        fh.write(text)
