"""Shared fixtures of the baseline tests: locating ``../shared/data`` beside the repo.

The data folder is not part of the repository; tests that need it skip with a clear
reason where it is absent. Use the ``shared_data`` fixture (the folder) or
``shared_file`` (a callable returning a path inside it, skipping where it is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

#: ``<repo>/../shared`` -- tests/baselines/conftest.py is two levels below the repo root.
SHARED_ROOT = Path(__file__).resolve().parents[2] / ".." / "shared"


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the repository root, or None where it is absent."""
    path = (SHARED_ROOT / "data").resolve()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; skips the test where it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip(f"shared data folder not found at {SHARED_ROOT / 'data'} "
                    "(tests needing the calibration images / official parameters skip)")
    return path


@pytest.fixture(scope="session")
def shared_file(shared_data: Path) -> Callable[[str], Path]:
    """A function ``rel -> path`` inside the shared data folder; skips where missing."""

    def get(rel: str) -> Path:
        path = shared_data / rel
        if not path.exists():
            pytest.skip(f"{rel} not found in {shared_data}")
        return path

    return get
