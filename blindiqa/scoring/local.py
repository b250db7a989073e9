"""Scoring many files in this process: decoding in worker processes, one record per
input, never stopping at a bad image (:func:`score_files`, used by ``blindiqa score``,
``report``, ``fit-scale`` and ``bench``), and the loop of ``blindiqa score`` that writes
each record's row and quality map as it comes (:func:`score_into`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from blindiqa.io.decode import uint8_to_float
from blindiqa.io.workers import (
    DEFAULT_TIMEOUT,
    Decoded,
    DecodePool,
    Decoder,
    decode_one,
    decode_uint8_sized,
)
from blindiqa.models.base import QualityModel
from blindiqa.progress import Progress
from blindiqa.scoring.outputs import RecordWriter, Tally, map_path, save_png
from blindiqa.viz.checks import MAP_OPACITY
from blindiqa.viz.maps import render_quality_map


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
        width: the image's width in pixels as viewed (after its EXIF orientation, at its
            full size in the file), or None where it could not be decoded.
        height: its height, likewise.
        reasons: each family's estimated distortion strength (0-5) when asked for.
        quality_map: the per-patch distances when asked for.
        image: the decoded image when asked for (for drawing maps).
    """

    path: Path
    name: str
    score: float | None = None
    quality: float | None = None
    error: str | None = None
    width: int | None = None
    height: int | None = None
    reasons: dict[str, float] | None = None
    quality_map: np.ndarray | None = None
    image: torch.Tensor | None = None


def _decoded(items: Iterable[tuple[Path, str]], workers: int, prefetch: int,
             decode: Decoder, timeout: float) -> Iterator[Decoded]:
    if workers <= 0:
        for i, (path, name) in enumerate(items):
            yield decode_one(decode, i, path, name)
        return
    with DecodePool(workers, decode=decode, timeout=timeout, ahead=prefetch) as pool:
        yield from pool.imap(items)


def score_files(model: QualityModel, items: Iterable[tuple[Path, str]], *, workers: int = 0,
                with_maps: bool = False, with_reasons: bool = False, prefetch: int = 4,
                decode: Decoder | None = None,
                decode_timeout: float = DEFAULT_TIMEOUT) -> Iterator[ScoreRecord]:
    """Score files one by one, in input order.

    Args:
        model: the scorer.
        items: ``(path, display_name)`` pairs, e.g. from
            :func:`blindiqa.io.files.iter_image_files` (consumed lazily).
        workers: decoding worker processes (0 = decode in this process). A worker that
            crashes (a decoder segfault, killed for memory) or spends more than
            ``decode_timeout`` seconds on a file gives that file an error and is
            replaced; with 0 workers a crash stops the run and nothing is timed.
        with_maps: also compute each image's quality map and keep the decoded image.
        with_reasons: also estimate each family's distortion strength (from the same
            encoder pass; the model must have a reasons probe, see
            :attr:`~blindiqa.models.base.QualityModel.has_reasons`).
        prefetch: images decoded ahead.
        decode: the decoder (a file to ``(3, H, W)`` uint8 pixels; ``ValueError`` for a
            bad file), or to the pixels and the image's ``(width, height)``; default
            :func:`~blindiqa.io.workers.decode_uint8_sized` with the model's
            :attr:`~blindiqa.models.base.QualityModel.decode_max_side`, so a file scores
            as ``model.score(path)`` scores it.
        decode_timeout: seconds a worker may spend on one file.

    Yields:
        One :class:`ScoreRecord` per input, failed ones with ``error`` set: an input that
        cannot be decoded, is too small, gets a non-finite score (NaN or infinity, e.g.
        NIQE on a flat image) or makes the model fail (a ``RuntimeError`` or
        ``MemoryError``, e.g. out of memory) gets an error, and the next input is scored.
        Nothing is kept between inputs, so any number of inputs streams in bounded memory.
    """
    if decode is None:
        decode = partial(decode_uint8_sized, max_side=model.decode_max_side)
    for item in _decoded(items, workers, prefetch, decode, decode_timeout):
        rec = ScoreRecord(path=item.path, name=item.name, error=item.error)
        if item.size is not None:
            rec.width, rec.height = item.size
        img = None if item.pixels is None else uint8_to_float(item.pixels)
        if img is not None:
            try:
                with torch.inference_mode():
                    model.check_size(img)
                    score, qmap, rec.reasons = model.analyse_tensor(
                        img, with_map=with_maps, with_reasons=with_reasons)
                    if with_maps:
                        rec.quality_map, rec.image = qmap, img
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
                rec.quality_map = rec.image = rec.reasons = None
        yield rec


@dataclass(frozen=True)
class MapOptions:
    """How ``blindiqa score --maps`` draws each image's quality map.

    Attributes:
        folder: where the PNGs go, laid out as the images are below ``base``
            (see :func:`~blindiqa.scoring.outputs.map_path`).
        base: the folder the layout mirrors
            (:attr:`~blindiqa.scoring.inputs.Inputs.maps_base`).
        opacity: the map's opacity over the photo, 0 to 1.
        value_range: colour by distance on this fixed ``(lo, hi)`` instead of the
            model's quality scale.
        beside: draw the plain photo with its map beside it.
    """

    folder: Path
    base: str = ""
    opacity: float = MAP_OPACITY
    value_range: tuple[float, float] | None = None
    beside: bool = False


def score_into(model: QualityModel, items: Iterable[tuple[Path, str]],
               writer: RecordWriter, tally: Tally, *, maps: MapOptions | None = None,
               progress: Progress | None = None, with_reasons: bool = False,
               workers: int = 0, prefetch: int = 4,
               decode_timeout: float = DEFAULT_TIMEOUT) -> None:
    """Score ``items`` one by one, writing each one's row (and its quality map) as it
    comes, counting it in ``tally`` and ``progress``.

    Args:
        model: the scorer.
        items: ``(path, display_name)`` pairs (e.g. :func:`~blindiqa.scoring.inputs.walk_inputs`).
        writer: where the rows go.
        tally: counts the rows.
        maps: also draw each scored image's quality map.
        progress: advanced by one per row.
        with_reasons, workers, prefetch, decode_timeout: as for :func:`score_files`.

    Raises:
        OSError: a row or a map cannot be written (``BrokenPipeError`` where the reader of
            standard output has gone).
    """
    for rec in score_files(model, items, workers=workers, with_maps=maps is not None,
                           with_reasons=with_reasons, prefetch=prefetch,
                           decode_timeout=decode_timeout):
        writer.write(rec)
        if progress is not None:
            progress.update()
        tally.add(rec.score, rec.quality)
        if maps is not None and rec.score is not None and rec.quality_map is not None:
            save_png(render_quality_map(
                rec.image, rec.quality_map, score=rec.score, alpha=maps.opacity,
                scale=model.quality_scale, map_range=maps.value_range,
                window_scale=model.window_scale, beside=maps.beside),
                map_path(maps.folder, rec, maps.base))


def reference_distances(model: QualityModel, items: Iterable[tuple[Path, str]], *,
                        workers: int = 0, progress: Progress | None = None,
                        ) -> tuple[list[float], list[np.ndarray], int]:
    """The scores and window distances of a reference corpus, for a model's quality and
    window scales (``blindiqa fit-scale``).

    Each score is the one ``blindiqa score`` gives (without maps), which may differ from
    the map pass's in the last bits.

    Args:
        model: the scorer.
        items: ``(path, display_name)`` pairs of the reference photos.
        workers: decoding worker processes (as for :func:`score_files`).
        progress: advanced by one per photo.

    Returns:
        The scores and the quality maps of the photos scored, and how many failed.
    """
    scores: list[float] = []
    maps: list[np.ndarray] = []
    failed = 0
    for rec in score_files(model, items, workers=workers, with_maps=True):
        if rec.score is None:
            failed += 1
        else:
            with torch.inference_mode():
                scores.append(float(model.score_tensor(rec.image)))
            maps.append(rec.quality_map)
        if progress is not None:
            progress.update()
    return scores, maps, failed
