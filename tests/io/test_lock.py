"""The output lock: a second process is refused at once, a dead holder leaves no lock."""

import os
import signal
import subprocess
import sys

import pytest

from blindiqa.io.lock import (
    OutputLockedError,
    acquire,
    lock_path_for,
    output_lock,
    release,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX flock semantics")

#: A process that takes the lock of argv[1], says so on stdout, and holds it until its
#: stdin closes.
HOLDER = """
import sys
from blindiqa.io.lock import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def _holder(out) -> subprocess.Popen:
    """Start a holder of ``out``'s lock and return once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n"  # synchronised: the lock is held now
    return proc


def test_lock_path_is_a_hidden_file_beside_the_output(tmp_path):
    assert lock_path_for(tmp_path / "out.csv") == tmp_path / ".out.csv.lock"


def test_a_second_process_is_refused_while_the_first_holds_the_lock(tmp_path):
    out = tmp_path / "sub" / "out.csv"
    proc = _holder(out)
    try:
        with pytest.raises(OutputLockedError, match="out.csv is being written by another"):
            acquire(out)
        assert lock_path_for(out).exists()
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    assert not lock_path_for(out).exists()  # removed by its holder
    fd = acquire(out)  # free again
    release(fd, out)
    assert sorted(p.name for p in out.parent.iterdir()) == []


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "out.csv"
    proc = _holder(out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdin.close()
    proc.stdout.close()
    assert lock_path_for(out).exists()  # the file stays, its lock went with the process
    with output_lock(out):
        pass
    assert not lock_path_for(out).exists()


def test_a_lock_file_removed_by_its_holder_is_taken_afresh(tmp_path, monkeypatch):
    """Locking a lock file that its holder removed meanwhile retries with a new one."""
    import blindiqa.io.lock as lock

    out = tmp_path / "out.csv"
    real = lock._try_lock
    calls = []

    def first_one_removed(fd: int) -> bool:
        calls.append(fd)
        if len(calls) == 1:  # as if the holder removed it between our open and lock
            os.unlink(lock_path_for(out))
        return real(fd)

    monkeypatch.setattr(lock, "_try_lock", first_one_removed)
    fd = acquire(out)
    assert len(calls) == 2
    assert lock._same_file(fd, lock_path_for(out))
    release(fd, out)
    assert not lock_path_for(out).exists()


def test_no_path_no_lock(tmp_path):
    with output_lock(None):
        pass
    assert list(tmp_path.iterdir()) == []
