"""Training on a folder with corrupt and hostile images: each is skipped with a warning
naming it, and the run finishes."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from robustness_cases import (
    make_bomb,
    make_bomb_over_limit,
    make_empty,
    make_text_as_jpeg,
    photo_array,
)

train = pytest.importorskip("blindiqa.train")

#: Broken at the header: skipped while the folder is listed.
HEADER_BAD = (make_empty, make_text_as_jpeg, make_bomb)
#: Header fine, pixels not: skipped when first decoded.
DECODE_BAD = (make_bomb_over_limit,)


@pytest.fixture()
def training_folder(tmp_path: Path) -> tuple[Path, list[str]]:
    d = tmp_path / "pristine"
    d.mkdir()
    for i in range(2):
        Image.fromarray(photo_array(20 + i, 144, 160)).save(d / f"good{i}.png")
    good = (d / "good0.png").read_bytes()
    (d / "truncated.png").write_bytes(good[: len(good) // 3])
    bad = [make(d).name for make in (*HEADER_BAD, *DECODE_BAD)] + ["truncated.png"]
    return d, bad


def test_corrupt_training_images_are_named_and_skipped(training_folder, tmp_path: Path) -> None:
    folder, bad = training_folder
    config = train.SyntheticConfig(images=[str(folder)], encoder="efficientnet_lite0",
                                   work_size=128, scenes_per_batch=2, k=2, device="cpu",
                                   workers=0, epochs=1, steps_per_epoch=3)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = train.train_synthetic(config, tmp_path / "run", progress=False,
                                           echo=lambda message: None)
    finally:
        torch.set_num_threads(before)
    assert result.stopped == "done" and result.step == 3
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    for name in bad:  # 3 readable images, 6 scene slots: every one is decoded
        assert any(name in m and "skipping" in m for m in messages), (name, messages)
