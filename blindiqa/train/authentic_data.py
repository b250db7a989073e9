"""The data of Stage 2 (authentic fine-tuning): crop pairs of unlabeled photos.

Each item is the two crops of one photo drawn by the two-halves sampler of Babu et al.
(WACV 2023): the photo is split along its height or width, a random crop of side
``min(H, W) // 2`` is taken from each half and both are resized to the crop size. The two
crops share the photo's distortion, which is what the SimSiam loss of
:mod:`blindiqa.train.authentic` makes them agree on. Every random draw comes from a
generator seeded by (run seed, :data:`TAG_AUTHENTIC`, the item's seed key), as the draws
of the Stage-1 scenes of :mod:`blindiqa.train.data` are.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from blindiqa.train.data import (
    crop,
    decode_first_readable,
    make_generator,
    resize_square,
    to_uint8,
    two_halves_boxes,
)

#: Seed tag of the crops of authentic photos (the Stage-1 tags are 1..3).
TAG_AUTHENTIC = 11


def two_halves_pair(image: torch.Tensor, generator: torch.Generator,
                    size: int | None) -> torch.Tensor:
    """The two crops of the two-halves sampler of one photo.

    The photo is split along its height or width (p = 1/2 each); from each half a
    random crop of side ``min(H, W) // 2`` is taken and resized to ``size``.

    Args:
        image: ``(3, H, W)``.
        generator: source of the random draws.
        size: output side (None: keep ``min(H, W) // 2``).

    Returns:
        ``(2, 3, size, size)`` of ``image``'s dtype: half-1 crop, half-2 crop.
    """
    box = two_halves_boxes(image.shape[1], image.shape[2], generator)
    pair = torch.stack([crop(image, box.first, box.side), crop(image, box.second, box.side)])
    return resize_square(pair, size)


class AuthenticDataset(Dataset):
    """Two-halves crop pairs of unlabeled photos, made on the fly.

    Items are addressed like :class:`blindiqa.train.data.SceneDataset`: ``(seed_key,
    index)``, every random draw from ``make_generator(seed, TAG_AUTHENTIC, *seed_key)``;
    an item is ``{"views": uint8 (2, 3, c, c)}``. A photo that fails to decode is
    reported with a warning and replaced by the next one of the list.

    Args:
        files: the photos.
        crop_size: side the crops are resized to.
        seed: run seed.
    """

    def __init__(self, files: Sequence[str | os.PathLike], crop_size: int = 256,
                 seed: int = 0) -> None:
        if not files:
            raise ValueError("no images")
        self.files = [Path(f) for f in files]
        self.crop_size = int(crop_size)
        self.seed = int(seed)
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> torch.Tensor:
        """Decode photo ``index``, or the next decodable one of side 4 or more."""
        return decode_first_readable(self.files, self._bad, index, min_side=4)

    def __getitem__(self, item: tuple[Sequence[int], int]) -> dict[str, torch.Tensor]:
        seed_key, index = item
        gen = make_generator(self.seed, TAG_AUTHENTIC, *seed_key)
        image = to_uint8(self.load(int(index)))
        return {"views": two_halves_pair(image, gen, self.crop_size)}


def collate_views(items: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    """``(B, 2, 3, c, c)`` uint8."""
    return torch.stack([it["views"] for it in items])
