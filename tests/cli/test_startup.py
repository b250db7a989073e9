"""Building the parser, ``--help`` and bad usage import no torch, scipy or numpy.

Each case runs in a fresh interpreter (this test process has long imported torch). A
``train`` stage's own options still need torch-side defaults: they are added only when
that stage is chosen, so ``blindiqa train --help`` stays light.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "scipy", "numpy", "PIL", "blindiqa.catalogue")

_CODE = """\
import contextlib, io, json, sys
from blindiqa.cli.main import build_parser, main
build_parser()
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main({argv!r})
    except SystemExit as exc:
        code = exc.code
print(json.dumps({{"code": code, "out": out.getvalue(), "err": err.getvalue(),
                   "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def run_cli(argv: list[str]) -> dict:
    """``blindiqa ARGV`` in a fresh interpreter: exit code, output, heavy modules loaded."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, "-c", _CODE.format(argv=argv, heavy=HEAVY)],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


COMMANDS = ("score", "merge", "report", "models", "fit-pristine", "fit-scale", "bench",
            "demo", "distortions", "train", "ablate", "rate", "cull",
            "completion")


def test_help_lists_commands_without_torch():
    got = run_cli(["--help"])
    assert got["code"] == 0 and got["heavy"] == []
    assert all(name in got["out"] for name in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_without_torch(command):
    got = run_cli([command, "--help"])
    assert got["code"] == 0 and got["heavy"] == []
    assert got["out"].startswith(f"usage: blindiqa {command}")


@pytest.mark.parametrize("argv", [["score", "--bogus"], ["fit-pristine", "d", "--out", "x",
                                                         "--encoder", "nope"], ["nope"],
                                  ["score", "d", "--maps", "m", "--map-opacity", "2"],
                                  ["score", "d", "--map-range", "3,1"],
                                  ["report", "d", "--out", "r", "--map-opacity", "-1"]])
def test_usage_error_without_torch(argv):
    got = run_cli(argv)
    assert got["code"] == 2 and got["heavy"] == []
    assert "error:" in got["err"]


def test_train_stage_gets_its_options_when_chosen():
    got = run_cli(["train", "synthetic", "--help"])
    assert got["code"] == 0 and "--scenes-per-batch" in got["out"]


def test_the_command_limits_openmp_spinning_before_torch_loads():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    code = ("import os, sys\n"
            "from blindiqa.cli.main import main\n"
            "main(['models'])\n"
            "print(os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.splitlines()
    assert out[-1] == "1000 True"  # set, and torch loaded after it by the command
