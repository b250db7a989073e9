"""Two processes with torchrun on the CPU (gloo) train the same number of steps."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from blindiqa.train.distributed import DistInfo, any_across, init_distributed, mean_across

ROOT = Path(__file__).resolve().parents[2]


def test_single_process_helpers(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = init_distributed("cpu")
    assert info == DistInfo() and info.is_main and not info.distributed
    assert any_across(True, info, torch.device("cpu"))
    assert torch.equal(mean_across(torch.tensor(3.0), info), torch.tensor(3.0))


def test_two_process_gloo_run(pristine_dir, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "blindiqa.cli.train", "synthetic", "--images", str(pristine_dir),
           "--out", str(out), "--encoder", "efficientnet_lite0", "--work-size", "128",
           "--scenes-per-batch", "2", "--k", "2", "--epochs", "2", "--steps-per-epoch", "2",
           "--device", "cpu", "--workers", "0", "--quiet"]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (out / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]  # logged once, by rank 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["step"] == 4
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4
    # 3 scenes per step cannot be split over 2 processes
    bad = [c if c != "2" or cmd[i - 1] != "--scenes-per-batch" else "3"
           for i, c in enumerate(cmd)]
    bad[bad.index("--out") + 1] = str(tmp_path / "bad")
    proc = subprocess.run(bad, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode != 0 and "divisible" in proc.stderr
