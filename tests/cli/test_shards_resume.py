"""Sharded, resumable scoring: shards partition the inputs, a SIGKILL at any moment
followed by --resume gives exactly the rows of an uninterrupted run, merge checks."""

import csv
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blindiqa.cli.main import main
from blindiqa.scoring.rows import Row, read_rows

N_IMAGES = 30


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, Path]:
    """``N_IMAGES`` noise photos in two folders, and a manifest naming both folders."""
    root = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(1)
    for k in range(N_IMAGES):
        sub = root / ("a" if k % 3 else "b")
        sub.mkdir(exist_ok=True)
        size = 200 + 8 * k
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
            sub / f"img_{k:02d}.png")
    (root / "b" / "broken.png").write_bytes(b"not a png")
    manifest = root / "manifest.txt"
    manifest.write_text(f"# inputs\n{root / 'a'}\n\n{root / 'b'}\n")
    return root, manifest


def _score(*args: str) -> int:
    return main(["score", "--model", "niqe", "--workers", "0", "--quiet", *args])


@pytest.fixture(scope="module")
def full(photos, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full") / "all.csv"
    assert _score("--manifest", str(photos[1]), "--out", str(out)) == 1  # broken.png
    return out


def test_shards_partition_and_merge_back(photos, full, tmp_path):
    parts = []
    for i in range(3):
        part = tmp_path / f"part{i}.csv"
        _score("--manifest", str(photos[1]), "--shard", f"{i}/3", "--out", str(part))
        parts.append(part)
    names = [[r.path for r in read_rows(p)] for p in parts]
    everything = [r.path for r in read_rows(full)]
    assert [len(n) for n in names] == [11, 10, 10]  # 31 inputs: 0,3,6.. / 1,4,.. / 2,5,..
    assert names[1] == everything[1::3]
    merged = tmp_path / "merged.csv"
    assert main(["merge", *map(str, parts), "--manifest", str(photos[1]),
                 "--out", str(merged), "--quiet"]) == 0
    assert merged.read_bytes() == full.read_bytes()


def test_merge_finds_missing_and_doubled(photos, full, tmp_path, capsys):
    part0 = tmp_path / "p0.csv"
    _score("--manifest", str(photos[1]), "--shard", "0/2", "--out", str(part0))
    out = tmp_path / "m.csv"
    assert main(["merge", str(part0), "--manifest", str(photos[1]), "--out", str(out)]) == 1
    assert "15 input(s) without a row" in capsys.readouterr().err
    assert main(["merge", str(part0), str(part0), "--out", str(out)]) == 1
    assert "16 row(s) doubled" in capsys.readouterr().err
    assert not out.exists()


def test_merge_refuses_a_partial_part(full, tmp_path, capsys):
    part = tmp_path / "cut.csv"
    part.write_bytes(full.read_bytes()[:-7])
    assert main(["merge", str(part), "--out", str(tmp_path / "m.csv")]) == 2
    assert "ends in a partial row" in capsys.readouterr().err


def test_resume_after_a_partial_row(photos, full, tmp_path):
    out = tmp_path / "r.jsonl"
    _score("--manifest", str(photos[1]), "--out", str(out))
    data = out.read_bytes()
    lines = data.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:9]) + lines[9][:20])  # 9 rows and a cut one
    assert _score("--manifest", str(photos[1]), "--out", str(out), "--resume") == 1
    assert out.read_bytes() == data


def test_sort_writes_best_first(photos, full, tmp_path):
    out = tmp_path / "sorted.csv"
    _score("--manifest", str(photos[1]), "--out", str(out), "--sort")
    rows = read_rows(out)
    scores = [r.score for r in rows if r.score is not None]
    assert scores == sorted(scores) and rows[-1].score is None
    assert sorted(r.path for r in rows) == sorted(r.path for r in read_rows(full))


@pytest.mark.parametrize(("args", "message"), [
    (["--resume"], "--resume needs --out"),
    (["--resume", "--sort", "--out", "x.csv"], "--sort cannot be combined with --resume"),
    (["--resume", "--overwrite", "--out", "x.csv"], "contradict"),
])
def test_resume_option_errors(photos, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert _score(str(photos[0] / "a"), *args) == 2
    assert message in capsys.readouterr().err


def test_shard_spec_errors(capsys):
    for bad in ("3/3", "1", "a/b", "-1/2"):
        with pytest.raises(SystemExit):
            main(["score", "x.png", "--shard", bad])
    assert "need 0 <= i < N" in capsys.readouterr().err


def _rows(path: Path) -> int:
    try:
        return max(0, path.read_bytes().count(b"\n") - 1)
    except FileNotFoundError:
        return 0


def test_sigkill_at_any_moment_then_resume_gives_the_uninterrupted_rows(photos, full,
                                                                           tmp_path):
    """A real SIGKILL at several moments (before the first row, mid-run), then --resume."""
    out = tmp_path / "killed.csv"
    cmd = [sys.executable, "-m", "blindiqa.cli.main", "score", "--model", "niqe",
           "--workers", "1", "--quiet", "--manifest", str(photos[1]), "--out", str(out),
           "--resume"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    kills = 0
    for threshold in (0, 4, 11, 20):
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 60:
            if (threshold == 0 and time.monotonic() - t0 > 0.5) or \
                    (threshold and _rows(out) >= threshold):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += proc.returncode == -signal.SIGKILL
                break
            time.sleep(0.002)
    assert kills >= 3
    before = _rows(out)
    assert 0 < before < N_IMAGES + 1
    assert subprocess.run(cmd, env=env).returncode == 1  # broken.png's error row
    assert out.read_bytes() == full.read_bytes()
    with out.open(newline="") as fh:
        assert len(list(csv.DictReader(fh))) == N_IMAGES + 1


def test_row_round_trip(tmp_path):
    from blindiqa.scoring.rows import RowWriter

    rows = [Row("a,\"b\".png", 1.5, 62.5, None), Row("c.png", None, None, "bad, file")]
    for name in ("x.csv", "x.jsonl"):
        w = RowWriter(tmp_path / name)
        for r in rows:
            w.write(r)
        w.close()
        assert read_rows(tmp_path / name) == rows


@pytest.mark.parametrize("data", [b"", b"abc", b"a\n", b"a\nbc", b"x" * 2500 + b"\n" + b"y" * 1700,
                                  b"\n" * 3 + b"z" * 3000, b"q" * 3000])
def test_complete_length_reads_back_to_the_last_newline(tmp_path, data):
    """Resuming finds where the last whole row ends from the file's tail alone."""
    from blindiqa.scoring.rows import _complete_length

    path = tmp_path / "rows.csv"
    path.write_bytes(data)
    end = data.rfind(b"\n") + 1
    assert _complete_length(path, chunk=1000) == (end, len(data))


def _open_fifo_for_writing(fifo: Path, proc: subprocess.Popen) -> int:
    """Open ``fifo`` for writing once ``proc`` opens it for reading (or fail if it ends)."""
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:  # ENXIO: no reader yet
            assert proc.poll() is None, proc.communicate()[1]
            if exc.errno != errno.ENXIO:
                raise
            time.sleep(0.01)
            continue
        os.set_blocking(fd, True)
        return fd


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe (POSIX)")
def test_a_second_run_into_the_same_out_is_refused(photos, full, tmp_path):
    """Two real runs resuming into one file: the second fails at once, naming the file,
    and leaves the file alone; the first ends with every row once (issue 22, item 9)."""
    out = tmp_path / "out.csv"
    head = b"".join(full.read_bytes().splitlines(keepends=True)[:11])  # header + 10 rows
    out.write_bytes(head)
    fifo = tmp_path / "manifest.fifo"
    os.mkfifo(fifo)
    cmd = [sys.executable, "-m", "blindiqa.cli.main", "score", "--model", "niqe",
           "--workers", "0", "--resume", "--out", str(out), "--manifest"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([*cmd, str(fifo)], env=env, stderr=subprocess.PIPE)
    err = b""
    try:
        # the first run opens its manifest only after taking the lock: it holds it now
        fd = _open_fifo_for_writing(fifo, first)
        second = subprocess.run([*cmd, str(photos[1])], env=env, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 2
        assert f"{out} is being written by another blindiqa run" in second.stderr
        assert out.read_bytes() == head  # untouched
        # the first run reads its manifest twice (counting, then scoring): the second
        # time from a plain file, put in the pipe's place before the first read ends
        os.write(fd, photos[1].read_bytes())
        (tmp_path / "manifest.txt").write_bytes(photos[1].read_bytes())
        os.replace(tmp_path / "manifest.txt", fifo)
        os.close(fd)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 1, err  # broken.png's error row
    assert out.read_bytes() == full.read_bytes()  # every photo once
    assert b"scored 20, failed 1, 10 already in " in err  # 31 inputs
    assert not (tmp_path / ".out.csv.lock").exists()
