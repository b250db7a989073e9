"""Folder walks: symlink loops, unreadable folders, odd names and very many files."""

from __future__ import annotations

import csv
import os
import pathlib
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import blindiqa.io.files as files
from blindiqa.cli.main import main
from blindiqa.io.files import iter_image_files
from blindiqa.scoring import score_files

#: Files in the big-folder tests. 100,000 empty files take ~4 s to create and ~3 s to
#: walk here (2 shared cores); 20,000 keep the test around a second and show the same.
MANY = 20_000


def _img(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(path)
    return path


def _names(paths) -> list[str]:
    return [name for _, name in iter_image_files(paths)]


def test_symlink_loops_are_visited_once(tmp_path: Path) -> None:
    _img(tmp_path / "a" / "x.png")
    _img(tmp_path / "b" / "y.png")
    os.symlink(tmp_path / "b", tmp_path / "a" / "to_b")  # a -> b -> a: a cycle
    os.symlink(tmp_path / "a", tmp_path / "b" / "to_a")
    os.symlink(tmp_path, tmp_path / "a" / "to_root")
    os.symlink(tmp_path / "self.png", tmp_path / "self.png")  # a link to itself
    os.symlink(tmp_path / "nowhere.png", tmp_path / "dangling.png")
    got = _names([tmp_path])
    assert got == ["a/to_b/y.png", "a/x.png"]  # each folder once, broken links skipped


def test_unreadable_subfolder_is_skipped(tmp_path: Path, monkeypatch) -> None:
    _img(tmp_path / "a.png")
    _img(tmp_path / "locked" / "b.png")
    _img(tmp_path / "z.png")
    real = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(files.os, "scandir", scandir)
    assert _names([tmp_path]) == ["a.png", "z.png"]


def test_unreadable_folder_argument_finds_nothing(tmp_path: Path, monkeypatch, capsys,
                                                  model_file: str) -> None:
    _img(tmp_path / "a.png")

    def scandir(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files.os, "scandir", scandir)
    assert main(["score", str(tmp_path), "--model", model_file, "--workers", "0"]) == 1
    assert "no images found" in capsys.readouterr().err


def test_spaces_unicode_and_non_utf8_names_in_a_folder(tmp_path: Path) -> None:
    _img(tmp_path / "with space" / "é 日本 🙂.png")
    _img(tmp_path / os.fsdecode(b"\xff\xfe.jpg"))
    names = _names([tmp_path])
    assert names == ["with space/é 日本 🙂.png", os.fsdecode(b"\xff\xfe.jpg")]
    for path, _ in iter_image_files([tmp_path]):
        assert path.is_file()


def _snapshot() -> tracemalloc.Snapshot:
    # pathlib interns every path part (sys.intern): the interpreter's table of interned
    # strings grows by steps whatever we do, so its allocations are left out.
    return tracemalloc.take_snapshot().filter_traces([
        tracemalloc.Filter(False, pathlib.__file__),
        tracemalloc.Filter(False, tracemalloc.__file__),
    ])


def _many_empty_files(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        os.close(os.open(folder / f"img_{i:06d}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A folder of ``MANY`` empty ``.jpg`` files, and the seconds it took to create."""
    folder = tmp_path_factory.mktemp("big") / "many"
    t0 = time.perf_counter()
    _many_empty_files(folder, MANY)
    return folder, time.perf_counter() - t0


_WALK_PEAK = """
import sys, time, tracemalloc
from blindiqa.io.files import iter_image_files
tracemalloc.start()
t0 = time.perf_counter()
count = sum(1 for _ in iter_image_files([sys.argv[1]]))
walked = time.perf_counter() - t0
print(count, tracemalloc.get_traced_memory()[1], walked)
"""


def test_big_folder_is_walked_in_bounded_memory(big_folder: tuple[Path, float]) -> None:
    folder, created = big_folder
    # A fresh interpreter, so that threads other tests left behind are not traced too.
    out = subprocess.run([sys.executable, "-c", _WALK_PEAK, str(folder)], check=True,
                         capture_output=True, text=True).stdout.split()
    count, peak, walked = int(out[0]), int(out[1]), float(out[2])
    assert count == MANY
    # The sorted names of the one folder (~150 bytes each) and nothing per path yielded.
    assert peak < 200 * MANY, peak
    print(f"{MANY} files: created in {created:.2f} s, walked in {walked:.2f} s, "
          f"peak {peak / 1e6:.1f} MB")


def test_many_folders_do_not_accumulate(tmp_path: Path) -> None:
    """Across folders nothing piles up: the memory in use stays that of one folder."""
    for d in range(40):
        sub = tmp_path / f"d{d:03d}"
        sub.mkdir()
        for i in range(100):
            os.close(os.open(sub / f"{i:03d}.png", os.O_CREAT | os.O_WRONLY, 0o644))
    in_use: dict[int, int] = {}
    tracemalloc.start()
    try:
        for count, _ in enumerate(iter_image_files([tmp_path]), 1):
            if count in (150, 3_950):  # in the 2nd and in the 40th folder
                in_use[count] = sum(t.size for t in _snapshot().traces)
    finally:
        tracemalloc.stop()
    assert count == 4_000
    assert in_use[3_950] - in_use[150] < 50_000, in_use  # 3,800 paths would take ~400 kB


def _lazy_items(n: int, folder: Path) -> Iterator[tuple[Path, str]]:
    for i in range(n):
        yield folder / f"missing_{i}.png", f"missing_{i}.png"


def test_scoring_streams_any_number_of_inputs(tmp_path: Path, small_model) -> None:
    """30,000 inputs from a lazy generator: one record each, memory does not grow."""
    n = 30_000
    tracemalloc.start()
    try:
        seen = 0
        for rec in score_files(small_model, _lazy_items(n, tmp_path)):
            assert rec.error and rec.error.startswith("no such file")
            seen += 1
            if seen == 5_000:
                early = _snapshot()
        late = _snapshot()
    finally:
        tracemalloc.stop()
    assert seen == n
    growth = sum(stat.size_diff for stat in late.compare_to(early, "filename"))
    assert growth < 50_000, growth  # 25,000 more records kept would take megabytes


def test_cli_over_a_big_folder_in_bounded_memory(big_folder: tuple[Path, float],
                                                  tmp_path: Path, small_model,
                                                  monkeypatch) -> None:
    """``blindiqa score`` over ``MANY`` files: the memory in use while rows are written
    stays that of the first rows (the folder's sorted names, nothing per row)."""
    folder, _ = big_folder
    import blindiqa.cli.score as score_cli
    from blindiqa.scoring.outputs import RecordWriter

    monkeypatch.setattr(score_cli, "load_scorer", lambda args: small_model)
    out = tmp_path / "out.csv"
    main(["score", str(folder / "img_000000.jpg"), "--workers", "0", "--quiet",
          "--out", str(tmp_path / "warm-up.csv")])  # imports every command first
    in_use: dict[int, int] = {}
    write = RecordWriter.write

    def counting_write(self, rec) -> None:
        write(self, rec)
        self.rows = getattr(self, "rows", 0) + 1
        if self.rows in (1_000, MANY // 2, MANY - 1):
            in_use[self.rows] = sum(t.size for t in _snapshot().traces)

    monkeypatch.setattr(RecordWriter, "write", counting_write)
    tracemalloc.start()
    try:
        code = main(["score", str(folder), "--workers", "0", "--quiet", "--out", str(out)])
    finally:
        tracemalloc.stop()
    assert code == 1
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == MANY and all(r["error"].startswith("empty file") for r in rows)
    first, middle, last = in_use[1_000], in_use[MANY // 2], in_use[MANY - 1]
    assert first < 200 * MANY + 1_000_000, first  # the one folder's sorted names
    assert max(middle, last) - first < 100_000, in_use  # nothing piles up per row


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_in_a_folder_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    _img(tmp_path / "ok.png")
    assert _names([tmp_path]) == ["ok.png"]
