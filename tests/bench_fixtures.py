"""Fixtures of the benchmark tests: the fake scorer registered, a tiny generic dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench_helpers import FAKE, BrightnessModel, write_csv, write_image

from blindiqa.models.base import ModelInfo
from blindiqa.models.registry import _MODELS, ModelEntry, register_model


@pytest.fixture
def fake_model() -> Iterator[type[BrightnessModel]]:
    """Register ``fake-bright`` for the duration of a test; yields the class."""
    BrightnessModel.calls = []
    BrightnessModel.interrupt_after = None
    register_model(ModelEntry(info=ModelInfo(FAKE, 1, "none", "test"),
                              factory=BrightnessModel))
    yield BrightnessModel
    _MODELS.pop(FAKE, None)
    BrightnessModel.calls = []
    BrightnessModel.interrupt_after = None


@pytest.fixture
def generic_tree(tmp_path: Path) -> Path:
    """``images/`` + ``mos.csv``: 8 images, MOS rising with brightness (one noisy pair)."""
    root = tmp_path / "tiny"
    values = [20, 50, 80, 110, 140, 170, 200, 230]
    mos = [10.0, 22.0, 30.0, 45.0, 41.0, 63.0, 70.0, 88.0]
    rows = []
    for i, (v, m) in enumerate(zip(values, mos, strict=True)):
        name = f"img{i}.png"
        write_image(root / "images" / name, v)
        rows.append([name, m, 5.0 + i])
    write_csv(root / "mos.csv", ["image", "mos", "mos_std"], rows)
    return root
