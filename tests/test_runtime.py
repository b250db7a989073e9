"""The process-wide malloc setting that keeps freed memory for reuse."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from blindiqa import runtime

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.fixture
def fresh(monkeypatch):
    """The module as in a new process (the setting is applied once per process)."""
    monkeypatch.setattr(runtime, "_applied", None)
    return runtime


def test_turned_off_by_the_environment(fresh, monkeypatch):
    monkeypatch.setenv(runtime.ENV_VAR, "0")
    assert fresh.keep_freed_memory() is False
    monkeypatch.delenv(runtime.ENV_VAR)
    assert fresh.keep_freed_memory() is False  # decided once per process


def test_applied_once_with_both_thresholds(fresh, monkeypatch):
    monkeypatch.delenv(runtime.ENV_VAR, raising=False)
    calls = []
    monkeypatch.setattr(fresh, "_mallopt", lambda p, v: calls.append((p, v)) or True)
    assert fresh.keep_freed_memory() is True and fresh.keep_freed_memory() is True
    assert calls == [(-3, 1 << 30), (-1, 1 << 30)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_glibc_accepts_the_setting(fresh, monkeypatch):
    monkeypatch.delenv(runtime.ENV_VAR, raising=False)
    assert fresh.keep_freed_memory() is True


def test_no_mallopt_elsewhere(fresh, monkeypatch):
    monkeypatch.delenv(runtime.ENV_VAR, raising=False)
    monkeypatch.setattr(runtime.sys, "platform", "darwin")
    assert fresh.keep_freed_memory() is False


def test_load_applies_it(monkeypatch):
    calls = []
    monkeypatch.setattr("blindiqa.models.load.keep_freed_memory", lambda: calls.append(1))
    import blindiqa

    blindiqa.load("niqe")
    assert calls == [1]


def test_short_spins_only_before_torch_and_never_over_the_user(tmp_path):
    code = ("import os, sys\n"
            "from blindiqa import runtime\n"
            "print('torch' in sys.modules, runtime.limit_openmp_spinning(), "
            "os.environ.get('GOMP_SPINCOUNT'))\n"
            "import torch\n"
            "print(runtime.limit_openmp_spinning())\n")
    script = tmp_path / "spin.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}

    def run(**extra: str) -> list[str]:
        return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              env={**env, **extra}, check=True).stdout.split()

    assert run() == ["False", "True", "1000", "False"]
    assert run(OMP_WAIT_POLICY="PASSIVE") == ["False", "False", "None", "False"]
    assert run(GOMP_SPINCOUNT="5") == ["False", "False", "5", "False"]
