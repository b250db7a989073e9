"""benchmarks/gpu_stage1.sh on the CPU with a tiny budget (what the device runs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_stage1.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_script_runs_on_cpu(pristine_dir, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "ENCODER": "resnet18",
           "PROBE_SECONDS": "1", "WORKERS": "1", "RUN_DIR": str(tmp_path / "run"),
           "OMP_NUM_THREADS": "1",
           "EXTRA": "--work-size 128 --scenes-per-batch 2 --k 2 --max-steps 3"}
    proc = subprocess.run(["bash", str(SCRIPT), str(pristine_dir), "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(files) <= 8  # what the device tool brings back
    assert "log.txt" in files and "stage1/summary.json" in files
    assert all((out / f).stat().st_size < 16 * 2**20 for f in files)
    log = (out / "log.txt").read_text()
    assert "best distort_on" in log and "crops/s" in log
    summary = json.loads((out / "stage1" / "summary.json").read_text())
    assert summary["step"] == 3 and summary["stopped"] == "max_steps"
    joined = tmp_path / "encoder.pt"
    joined.write_bytes(b"".join((out / f).read_bytes() for f in files if ".part" in f))
    from blindiqa.encoders import create_network

    net = create_network("resnet18", checkpoint_path=joined)
    assert net.conv1.weight.dtype == torch.float32
