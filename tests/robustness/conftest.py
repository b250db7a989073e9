"""Fixtures of the robustness tests: the small model saved as a bundle file."""

from __future__ import annotations

from pathlib import Path

import pytest

from blindiqa.models.bundle import save_bundle


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory, small_model) -> str:
    """The ``small_model`` fixture saved as a bundle (``score --model FILE``)."""
    path = tmp_path_factory.mktemp("model") / "small.safetensors"
    save_bundle(path, *small_model.bundle_contents())
    return str(path)


@pytest.fixture(scope="session")
def model_bundle(model_file: str) -> Path:
    return Path(model_file)
