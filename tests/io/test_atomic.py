"""The one atomic writer: whole file or nothing, usual permissions."""

import os
import stat

import pytest

from blindiqa.io.atomic import atomic_write, write_bytes_atomic, write_text_atomic


def test_writes_text_and_bytes(tmp_path):
    write_text_atomic(tmp_path / "a" / "x.txt", "héllo\n")
    assert (tmp_path / "a" / "x.txt").read_text(encoding="utf-8") == "héllo\n"
    write_bytes_atomic(tmp_path / "y.bin", b"\x00\x01")
    assert (tmp_path / "y.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "y.bin"]  # no temp left


def test_error_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("new, half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "x.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.txt").stat().st_mode) == 0o644


def test_bad_mode():
    with pytest.raises(ValueError, match="mode must be"), atomic_write("x", "a"):
        pass
