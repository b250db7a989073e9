"""Helpers of the benchmark tests: a tiny fake scorer and writers for fake dataset trees.

(A module of its own, not ``conftest``: other test folders have a ``conftest`` too.)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from blindiqa.models.base import ModelInfo, QualityModel

FAKE = "fake-bright"


class BrightnessModel(QualityModel):
    """Score = 1 - mean brightness (a 'distance': darker = worse). Counts its calls."""

    calls: list[str] = []
    interrupt_after: int | None = None

    def __init__(self) -> None:
        super().__init__(FAKE)

    @property
    def min_size(self) -> int:
        return 32

    def score_tensor(self, image: torch.Tensor) -> float:
        calls = type(self).calls
        if type(self).interrupt_after is not None and len(calls) >= type(self).interrupt_after:
            raise KeyboardInterrupt
        calls.append("x")
        return 1.0 - float(image.mean())

    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        return np.full((1, 1), self.score_tensor(image))

    def info(self) -> ModelInfo:
        return ModelInfo(FAKE, 1, "none", "test model")


def write_image(path: Path, value: int = 128, size: int = 100) -> Path:
    """A flat grey image of the given value (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    arr = np.clip(value + rng.integers(-3, 4, (size, size, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path
