"""Putting a file under a new name by hard link, copy or move, safely against a crash.

Nothing is ever overwritten, and a destination that already holds the same file counts as
done, so a run killed at any moment and run again finishes the job without doubling
anything:

- a hard link (``link``) is one system call: the destination exists, or does not;
- a copy (``copy``, and ``link`` or ``move`` where a hard link is impossible: another
  file system, or one without hard links) is written to a hidden partial file beside the
  destination, synced, and linked (or renamed) to its name: a destination is always
  complete; a partial file left by a killed run is rewritten by the next;
- a move (``move``) first links (or copies) the destination, then removes the source. A
  run killed between the two leaves both; the next one finds a destination with the
  same content as the source (the same file, for a link) and only removes the source,
  which loses nothing. A destination whose source is gone counts as moved.

A destination that holds *other* content is never touched: :class:`DestinationTakenError`.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

#: How a file can be placed.
MODES: tuple[str, ...] = ("link", "copy", "move")

#: Errors of ``link()`` that mean "no hard link here" (another file system, or one that
#: has none), after which the file is copied.
_NO_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP,
                      errno.EMLINK, errno.ENOSYS})


class DestinationTakenError(FileExistsError):
    """The destination exists and holds another file than the source."""


def partial_path(dst: Path) -> Path:
    """The hidden file a copy to ``dst`` is written to before it gets its name."""
    return dst.with_name(f".{dst.name}.blindiqa-partial")


def same_content(a: Path, b: Path, chunk: int = 1 << 20) -> bool:
    """Whether two files hold the same bytes (the same file, or equal copies)."""
    if os.path.samefile(a, b):
        return True
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            da, db = fa.read(chunk), fb.read(chunk)
            if da != db:
                return False
            if not da:
                return True


def _copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` (which must not exist) through a synced partial file."""
    tmp = partial_path(dst)
    try:
        shutil.copy2(src, tmp)  # replaces a partial file left by a killed run
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, dst)  # fails, never overwrites, where dst appeared meanwhile
        except FileExistsError:
            raise DestinationTakenError(errno.EEXIST, "destination exists", str(dst)) from None
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            if os.path.lexists(dst):
                raise DestinationTakenError(errno.EEXIST, "destination exists",
                                            str(dst)) from None
            os.rename(tmp, dst)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def place(src: Path, dst: Path, mode: str,
          on_written: Callable[[], None] | None = None) -> str:
    """Put ``src`` at ``dst`` (creating its folder), or see that it is there already.

    Args:
        src: the file.
        dst: its new name.
        mode: ``link`` (a hard link, or a copy where there can be none), ``copy`` or
            ``move``.
        on_written: called once the destination is complete, before a moved source is
            removed (tests use it to stop a run between the two steps).

    Returns:
        What was done: ``linked``, ``copied``, ``moved`` (also when the destination
        already held the file and only the source, left by a killed move, was removed),
        or ``done`` (the destination already held the file: nothing to do).

    Raises:
        ValueError: an unknown ``mode``.
        FileNotFoundError: ``src`` does not exist (and, for ``move``, ``dst`` neither).
        DestinationTakenError: ``dst`` exists and holds another file.
        OSError: the file system refused.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if os.path.lexists(dst):
        if not src.exists():
            if mode == "move":
                return "done"  # moved by an earlier run
            raise FileNotFoundError(errno.ENOENT, "no such file", str(src))
        if not dst.is_file() or not same_content(src, dst):
            raise DestinationTakenError(errno.EEXIST, "destination holds another file",
                                        str(dst))
        if mode == "move":  # an earlier move was killed before it removed the source
            os.unlink(src)
            return "moved"
        return "done"
    if not src.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    how = "copied"
    if mode != "copy":
        try:
            os.link(src, dst)
            how = "linked"
        except FileExistsError:
            raise DestinationTakenError(errno.EEXIST, "destination exists", str(dst)) from None
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
    if how == "copied":
        _copy(src, dst)
    if on_written is not None:
        on_written()
    if mode == "move":
        os.unlink(src)
        return "moved"
    return how
