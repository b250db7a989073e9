"""Scoring many files: decoding in worker processes, one record per input, never stopping
at a bad image. Used by ``blindiqa score`` and ``blindiqa bench``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from blindiqa.io.decode import decode_image, uint8_to_float
from blindiqa.models.base import QualityModel


@dataclass
class ScoreRecord:
    """The outcome for one input file.

    Attributes:
        path: the file on disk.
        name: the name to report: the file as given, or the folder as given joined with
            the path below it.
        score: the score, or None where it failed.
        quality: the score on the model's 0-100 quality scale (higher is better), or
            None where it failed or the model has no quality scale.
        error: why it failed, or None.
        quality_map: the per-patch distances when asked for.
        image: the decoded image when asked for (for drawing maps).
    """

    path: Path
    name: str
    score: float | None = None
    quality: float | None = None
    error: str | None = None
    quality_map: np.ndarray | None = None
    image: torch.Tensor | None = None


class _DecodeStream(IterableDataset):
    def __init__(self, items: Iterable[tuple[Path, str]]):
        self.items = items

    def __iter__(self):
        info = get_worker_info()
        for i, (path, name) in enumerate(self.items):
            if info is not None and i % info.num_workers != info.id:
                continue
            try:
                # 8-bit pixels cross the process boundary: 4x less to copy than float
                yield i, path, name, decode_image(path, as_uint8=True), None
            except ValueError as exc:
                yield i, path, name, None, str(exc)


def _identity(batch):
    return batch


def _decoded(items: Iterable[tuple[Path, str]], workers: int,
             prefetch: int = 4) -> Iterator[tuple]:
    if workers <= 0:
        yield from _DecodeStream(items)
        return
    loader = DataLoader(_DecodeStream(items), batch_size=None, num_workers=workers,
                        collate_fn=_identity, prefetch_factor=max(2, prefetch))
    # Workers interleave; restore the input order with a small reorder buffer.
    pending: dict[int, tuple] = {}
    nxt = 0
    for rec in loader:
        pending[rec[0]] = rec
        while nxt in pending:
            yield pending.pop(nxt)
            nxt += 1
    for k in sorted(pending):
        yield pending[k]


def score_files(model: QualityModel, items: Iterable[tuple[Path, str]], *, workers: int = 0,
                with_maps: bool = False, prefetch: int = 4) -> Iterator[ScoreRecord]:
    """Score files one by one, in input order.

    Args:
        model: the scorer.
        items: ``(path, display_name)`` pairs, e.g. from
            :func:`blindiqa.io.files.iter_image_files` (consumed lazily).
        workers: decoding worker processes (0 = decode in this process).
        with_maps: also compute each image's quality map and keep the decoded image.
        prefetch: images each worker decodes ahead.

    Yields:
        One :class:`ScoreRecord` per input, failed ones with ``error`` set: an input that
        cannot be decoded, is too small, gets a non-finite score (NaN or infinity, e.g.
        NIQE on a flat image) or makes the model fail (a ``RuntimeError`` or
        ``MemoryError``, e.g. out of memory) gets an error, and the next input is scored.
        Nothing is kept between inputs, so any number of inputs streams in bounded memory.
    """
    for _, path, name, pixels, err in _decoded(items, workers, prefetch):
        rec = ScoreRecord(path=Path(path), name=name, error=err)
        img = None if pixels is None else uint8_to_float(pixels)
        if img is not None:
            try:
                with torch.inference_mode():
                    model.check_size(img)
                    if with_maps:
                        score, qmap = model.score_and_map_tensor(img)
                        rec.quality_map, rec.image = qmap, img
                    else:
                        score = model.score_tensor(img)
                    score = float(score)
                if math.isfinite(score):
                    rec.score = score
                    if model.quality_scale is not None:
                        rec.quality = float(model.quality_from_score(score))
                else:
                    rec.error = f"the score is not finite ({score}); a flat image?"
            except ValueError as exc:  # too small, or an input the model refuses
                rec.error = str(exc)
            except (RuntimeError, MemoryError) as exc:  # e.g. out of memory on a huge image
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                rec.error = f"the model failed on this image ({type(exc).__name__}: {first})"
            if rec.error is not None:
                rec.quality_map = rec.image = None
        yield rec
