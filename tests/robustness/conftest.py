"""Fixtures of the robustness tests: the small model's bundle file as a ``Path`` (the file
itself, ``model_file``, is in ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_bundle(model_file: str) -> Path:
    return Path(model_file)
