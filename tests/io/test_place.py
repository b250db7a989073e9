"""Placing a file by link, copy or move: never overwriting, and finishing what a killed
run left (a partial copy, a move that linked but did not remove its source)."""

from __future__ import annotations

import errno
import os

import pytest

from blindiqa.io import place as place_module
from blindiqa.io.place import DestinationTakenError, partial_path, place, same_content


@pytest.fixture
def src(tmp_path):
    p = tmp_path / "in" / "x.jpg"
    p.parent.mkdir()
    p.write_bytes(b"photo bytes")
    return p


def test_link_is_a_hard_link_and_a_rerun_is_done(src, tmp_path):
    dst = tmp_path / "out" / "keep" / "x.jpg"
    assert place(src, dst, "link") == "linked"
    assert os.path.samefile(src, dst)
    assert place(src, dst, "link") == "done"
    assert sorted(p.name for p in dst.parent.iterdir()) == ["x.jpg"]


def test_copy_is_an_independent_file(src, tmp_path):
    dst = tmp_path / "out" / "x.jpg"
    assert place(src, dst, "copy") == "copied"
    assert not os.path.samefile(src, dst) and dst.read_bytes() == b"photo bytes"
    assert place(src, dst, "copy") == "done"
    assert not partial_path(dst).exists()


def test_move_removes_the_source_and_a_rerun_is_done(src, tmp_path):
    dst = tmp_path / "out" / "x.jpg"
    assert place(src, dst, "move") == "moved"
    assert not src.exists() and dst.read_bytes() == b"photo bytes"
    assert place(src, dst, "move") == "done"


def test_a_move_killed_after_linking_is_finished_without_loss(src, tmp_path):
    dst = tmp_path / "out" / "x.jpg"
    dst.parent.mkdir()
    os.link(src, dst)  # the state a move killed between its two steps leaves
    assert place(src, dst, "move") == "moved"
    assert not src.exists() and dst.read_bytes() == b"photo bytes"


def test_a_move_killed_after_copying_is_finished_without_loss(src, tmp_path):
    dst = tmp_path / "out" / "x.jpg"
    dst.parent.mkdir()
    dst.write_bytes(b"photo bytes")  # a cross-file-system move's complete copy
    assert place(src, dst, "move") == "moved"
    assert not src.exists() and dst.read_bytes() == b"photo bytes"


def test_another_file_at_the_destination_is_never_touched(src, tmp_path):
    dst = tmp_path / "out" / "x.jpg"
    dst.parent.mkdir()
    dst.write_bytes(b"other bytes")
    for mode in ("link", "copy", "move"):
        with pytest.raises(DestinationTakenError):
            place(src, dst, mode)
    assert dst.read_bytes() == b"other bytes" and src.read_bytes() == b"photo bytes"


def test_a_missing_source_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        place(tmp_path / "gone.jpg", tmp_path / "out" / "gone.jpg", "link")
    assert not (tmp_path / "out").exists()


def test_a_bad_mode_is_refused(src, tmp_path):
    with pytest.raises(ValueError, match="mode must be"):
        place(src, tmp_path / "x.jpg", "symlink")


@pytest.mark.parametrize("mode", ["link", "move"])
def test_without_hard_links_it_copies(src, tmp_path, monkeypatch, mode):
    def no_link(a, b):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(place_module.os, "link", no_link)
    dst = tmp_path / "other-fs" / "x.jpg"
    partial_path(dst).parent.mkdir()
    partial_path(dst).write_bytes(b"half")  # left by a killed run: rewritten
    assert place(src, dst, mode) == ("copied" if mode == "link" else "moved")
    assert dst.read_bytes() == b"photo bytes" and not partial_path(dst).exists()
    assert src.exists() == (mode == "link")


def test_same_content(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(b"x" * 10)
    b.write_bytes(b"x" * 10)
    c.write_bytes(b"x" * 9 + b"y")
    assert same_content(a, b) and not same_content(a, c) and same_content(a, a)
