"""An advisory lock on an output file, so that two runs never write it at once.

The lock is taken on a hidden file beside the output, ``.NAME.lock`` (not on the output
itself, which an atomic write replaces by renaming a new file over it), without waiting:
a second process that asks for it while a first holds it gets :class:`OutputLockedError`
at once and touches nothing. It is an OS lock on an open file, so it goes with the
process: a run killed by SIGKILL (or a crash, or a lost machine) leaves no stale lock,
only the empty lock file, which the next run takes and removes.

On POSIX the lock is :func:`fcntl.flock` (an exclusive lock on the whole file); on
Windows it is :func:`msvcrt.locking` of the lock file's first byte. Both are advisory
between processes that take the same lock (every ``blindiqa`` run does) and do not stop
any other program from writing the output. ``flock`` on some network file systems (older
NFS, some FUSE mounts) locks only within one machine: two runs on two machines writing to
one shared file are then not kept apart.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class OutputLockedError(RuntimeError):
    """Another process holds the lock of an output file.

    Attributes:
        path: the output file.
        lock_path: the lock file held.
    """

    def __init__(self, path: Path, lock_path: Path) -> None:
        super().__init__(f"{path} is being written by another blindiqa run (it holds the "
                         f"lock {lock_path}); wait for that run to end, or stop it")
        self.path = path
        self.lock_path = lock_path


def lock_path_for(path: str | os.PathLike) -> Path:
    """The lock file of an output file: ``DIR/.NAME.lock`` beside ``DIR/NAME``."""
    p = Path(path)
    return p.with_name(f".{p.name}.lock")


if sys.platform == "win32":  # pragma: no cover - tested on POSIX only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the open file ``fd`` (not removed or replaced)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def acquire(path: str | os.PathLike) -> int:
    """Take the lock of output file ``path`` without waiting; the lock file's descriptor.

    The lock file (and the output's folder) is created where missing. A lock file that
    its holder removed between our ``open`` and our lock (see :func:`release`) is opened
    again, so that two processes never hold locks on two different lock files.

    Args:
        path: the output file (it need not exist).

    Returns:
        The open descriptor holding the lock; give it to :func:`release`.

    Raises:
        OutputLockedError: another process holds the lock.
        OSError: the lock file cannot be created.
    """
    target = Path(path)
    lock_path = lock_path_for(target)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if not _try_lock(fd):
                raise OutputLockedError(target, lock_path)
            if _same_file(fd, lock_path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # locked a file its holder had just removed: take the new one


def release(fd: int, path: str | os.PathLike) -> None:
    """Remove the lock file of output file ``path`` and release the lock ``fd``.

    The file is removed while the lock is still held (on POSIX), so a process waiting
    on the old file finds, once it gets it, that it no longer has that name, and retries
    (see :func:`acquire`). On Windows an open file cannot be removed: the lock is released
    first and the file removed only if no other process has it open.
    """
    lock_path = lock_path_for(path)
    if sys.platform == "win32":  # pragma: no cover - Windows only
        try:
            _unlock(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):  # another process has it open: leave it
            os.unlink(lock_path)
        return
    try:
        if _same_file(fd, lock_path):
            os.unlink(lock_path)
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def output_lock(path: str | os.PathLike | None) -> Iterator[None]:
    """Hold the lock of output file ``path`` for the ``with`` block (no lock for None).

    Args:
        path: the output file, or None (stdout: nothing to lock).

    Raises:
        OutputLockedError: another process holds the lock (raised on entry, before the
            block runs).
        OSError: the lock file cannot be created.
    """
    if path is None:
        yield
        return
    fd = acquire(path)
    try:
        yield
    finally:
        release(fd, path)
