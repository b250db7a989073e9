"""Crash-proof decoding workers: a worker that really dies or hangs costs one file only."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from blindiqa.io.workers import DecodePool, decode_one, decode_uint8, decode_uint8_sized
from blindiqa.scoring import score_files


def _decode_or_die(path: Path) -> torch.Tensor:
    """A decoder that kills its process on files named ``die*``."""
    if path.name.startswith("die"):
        os._exit(3)
    if path.name.startswith("segv"):
        os.kill(os.getpid(), 11)
    return decode_uint8(path)


def _decode_or_hang(path: Path) -> torch.Tensor:
    if path.name.startswith("hang"):
        time.sleep(600)
    return decode_uint8(path)


@pytest.fixture()
def photos(tmp_path):
    rng = np.random.default_rng(0)
    names = ["a.png", "die.png", "b.png", "segv.png", "c.png", "hang.png", "d.png"]
    paths = []
    for n in names:
        p = tmp_path / n
        Image.fromarray(rng.integers(0, 255, (100, 112, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def test_dead_workers_give_error_rows_and_the_run_goes_on(photos):
    items = [(p, p.name) for p in photos if not p.name.startswith("hang")]
    with DecodePool(2, decode=_decode_or_die, timeout=60) as pool:
        out = list(pool.imap(items))
        restarts = pool.restarts
    assert [d.name for d in out] == [n for _, n in items]  # input order kept
    errors = {d.name: d.error for d in out if d.error}
    assert set(errors) == {"die.png", "segv.png"}
    assert "exit code 3" in errors["die.png"] and "crashed" in errors["die.png"]
    assert "SIGSEGV" in errors["segv.png"]
    assert restarts == 2
    for d, (p, _) in zip(out, items, strict=True):
        if d.error is None:
            assert torch.equal(d.pixels, decode_uint8(p))


def test_hanging_file_times_out(photos):
    items = [(p, p.name) for p in photos if p.name in ("a.png", "b.png", "hang.png")]
    with DecodePool(1, decode=_decode_or_hang, timeout=1.0) as pool:
        out = list(pool.imap(items))
        restarts = pool.restarts
    # No wall-clock bound (it would depend on the machine's speed and load): the hanging
    # worker (a 600 s sleep) was stopped at the time limit and replaced, not waited for.
    assert restarts == 1
    assert [d.name for d in out] == ["a.png", "b.png", "hang.png"]
    assert "longer than 1 s" in out[2].error
    assert out[0].error is None and out[1].error is None


def test_score_files_with_crashing_worker_matches_in_process(photos, small_model):
    good = [(p, p.name) for p in photos if p.name in ("a.png", "b.png", "c.png", "d.png")]
    mixed = [(p, p.name) for p in photos if not p.name.startswith("hang")]
    alone = {r.name: r.score for r in score_files(small_model, good, workers=0)}
    recs = list(score_files(small_model, mixed, workers=2, decode=_decode_or_die))
    assert [r.name for r in recs] == [n for _, n in mixed]
    for r in recs:
        if r.name in alone:
            assert r.score == alone[r.name] and r.error is None
        else:
            assert r.score is None and "crashed" in r.error


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 1 worker"):
        DecodePool(0)
    with pytest.raises(ValueError, match="time limit"):
        DecodePool(1, timeout=0)


_ORPHAN = """
import sys, time
from pathlib import Path
from blindiqa.io.workers import DecodePool
pool = DecodePool(2)
print(" ".join(str(w.process.pid) for w in pool._workers), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_workers_exit_when_the_main_process_is_killed():
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if _alive(p)]
    assert not alive, f"decoding workers {alive} outlived their killed main process"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def _decode_slow_a(path: Path) -> torch.Tensor:
    if path.name == "a.png":
        time.sleep(0.3)
    return decode_uint8(path)


def test_a_full_window_with_nothing_in_flight_hands_out_more(photos):
    """With the reorder window full of results and no worker busy, the pool hands out
    the next files instead of waiting for nothing (a failure seen in CI): a slow first
    file and a fast second one fill a window of 2 while nothing is in flight."""
    items = [(p, p.name) for p in photos if p.name in ("a.png", "b.png")] * 3
    with DecodePool(2, decode=_decode_slow_a, ahead=0) as pool:  # window = 2
        out = list(pool.imap(items))
    assert [d.name for d in out] == [n for _, n in items]
    assert all(d.error is None for d in out)


def test_decoded_carries_the_size_from_either_kind_of_decoder(photos):
    sized = decode_one(decode_uint8_sized, 0, photos[0], "a.png")
    plain = decode_one(decode_uint8, 0, photos[0], "a.png")  # size from the pixels
    assert sized.size == plain.size == (112, 100)
    assert torch.equal(sized.pixels, plain.pixels)
    broken = photos[0].parent / "broken.png"
    broken.write_bytes(b"not a png")
    failed = decode_one(decode_uint8_sized, 1, broken, "broken.png")
    assert failed.size is None and failed.pixels is None and "not an image" in failed.error


def test_score_files_records_the_size_in_workers_and_in_process(photos, small_model):
    items = [(p, p.name) for p in photos if p.name in ("a.png", "die.png", "b.png")]
    for workers in (0, 2):
        recs = list(score_files(small_model, items, workers=workers,
                                decode=_decode_or_die if workers else None))
        for r in recs:
            if r.name == "die.png" and workers:  # the worker died: nothing decoded
                assert (r.width, r.height) == (None, None)
            else:
                assert (r.width, r.height) == (112, 100)
