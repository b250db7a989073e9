"""Property-based fuzzing of decoding and scoring with hypothesis.

Random bytes, broken encodings and random valid images (size, mode, format, frames) go
through ``decode_image``, ``score_files`` / ``model.score`` (the API) and ``blindiqa
score`` (the CLI). The properties: never an unhandled exception, exactly one record or
row per input, every record a finite score or an error (the API and the CLI agreeing on
which), and a good image's score unchanged by the bad inputs around it.

The runs are derandomized (the same examples every time) and bounded:
``DECODE_EXAMPLES`` + ``MUTATION_EXAMPLES`` + ``SCORE_EXAMPLES`` examples in all, well
under a minute on two CPU cores.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image, features
from robustness_cases import photo_array

import blindiqa.cli.score as score_cli
from blindiqa.cli.main import main
from blindiqa.io.decode import ImageDecodeError, decode_image
from blindiqa.scoring import score_files

DECODE_EXAMPLES = 300
MUTATION_EXAMPLES = 300
SCORE_EXAMPLES = 120

_FUZZ = {"derandomize": True, "deadline": None, "database": None,
         "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                   HealthCheck.function_scoped_fixture]}

#: Pillow's writable modes per format (what each format can hold).
FORMAT_MODES: dict[str, tuple[str, ...]] = {
    "PNG": ("L", "RGB", "RGBA", "P", "1", "LA", "I;16"),
    "JPEG": ("L", "RGB", "CMYK"),
    "GIF": ("L", "P", "RGB"),
    "BMP": ("L", "RGB", "P", "1"),
    "TIFF": ("L", "RGB", "RGBA", "CMYK", "1", "I;16", "F", "P", "LA", "I"),
}
if features.check("webp"):
    FORMAT_MODES["WEBP"] = ("RGB", "RGBA")
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif",
              "WEBP": ".webp"}
MAGIC = (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00",
         b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ")


def _image(width: int, height: int, mode: str, seed: int, flat: bool) -> Image.Image:
    rgb = (np.full((height, width, 3), seed % 256, np.uint8) if flat
           else photo_array(seed, height, width))
    if mode == "I;16":
        return Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(rgb[..., 0].astype(np.int32) * 100)
    if mode == "F":
        return Image.fromarray(rgb[..., 0].astype(np.float32) / 255)
    if mode == "P":
        return Image.fromarray(rgb).quantize(32)
    return Image.fromarray(rgb).convert(mode)


@st.composite
def encoded_images(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid image file: random size, mode, format, content, frames, EXIF."""
    fmt = draw(st.sampled_from(sorted(FORMAT_MODES)))
    mode = draw(st.sampled_from(FORMAT_MODES[fmt]))
    side = st.one_of(st.integers(1, 160), st.sampled_from([96, 100, 128]))
    width, height = draw(side), draw(side)
    image = _image(width, height, mode, draw(st.integers(0, 2**16)), draw(st.booleans()))
    kwargs: dict = {}
    if fmt in ("GIF", "PNG", "WEBP", "TIFF") and draw(st.booleans()):
        other = _image(width, height, mode, draw(st.integers(0, 2**16)), False)
        kwargs.update(save_all=True, append_images=[other])
    if fmt == "JPEG":
        kwargs["quality"] = draw(st.integers(5, 95))
        orientation = draw(st.sampled_from([None, 1, 3, 6, 8]))
        if orientation is not None:
            exif = Image.Exif()
            exif[0x0112] = orientation
            kwargs["exif"] = exif
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue(), EXTENSIONS[fmt]


@st.composite
def mutated_images(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid image file broken: truncated, bytes overwritten or garbage appended."""
    data, ext = draw(encoded_images())
    how = draw(st.sampled_from(["truncate", "flip", "append", "header"]))
    raw = bytearray(data)
    if how == "truncate":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    elif how == "append":
        raw += draw(st.binary(min_size=1, max_size=256))
    else:  # the first 64 bytes (header) overwritten at random places
        for _ in range(draw(st.integers(1, 4))):
            raw[draw(st.integers(0, min(63, len(raw) - 1)))] = draw(st.integers(0, 255))
    return bytes(raw), ext


@st.composite
def random_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """Random bytes, sometimes behind a real format's magic number."""
    data = draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=2048))
    ext = draw(st.sampled_from([".png", ".jpg", ".gif", ".bmp", ".tif", ".webp", ".txt",
                                ""]))
    return data, ext


any_file = st.one_of(encoded_images(), mutated_images(), random_files())


def _check_decoded(data: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{ext}"
        path.write_bytes(data)
        try:
            t = decode_image(path)
        except ImageDecodeError as exc:
            assert str(path) in str(exc)
            return
    assert t.ndim == 3 and t.shape[0] == 3 and t.dtype == torch.float32
    assert bool(torch.isfinite(t).all()) and 0 <= float(t.min()) <= float(t.max()) <= 1


@settings(max_examples=DECODE_EXAMPLES, **_FUZZ)
@given(random_files())
def test_decode_random_bytes(file: tuple[bytes, str]) -> None:
    _check_decoded(*file)


@settings(max_examples=MUTATION_EXAMPLES, **_FUZZ)
@given(mutated_images())
def test_decode_broken_images(file: tuple[bytes, str]) -> None:
    _check_decoded(*file)


@pytest.fixture(scope="module")
def reference(small_model, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A good image and its score alone."""
    path = tmp_path_factory.mktemp("ref") / "reference.png"
    Image.fromarray(photo_array(99)).save(path)
    return path, float(small_model.score(path)[0])


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@settings(max_examples=SCORE_EXAMPLES, **_FUZZ)
@given(files=st.lists(any_file, min_size=1, max_size=5), where=st.integers(0, 5),
       jsonl=st.booleans())
def test_score_api_and_cli(small_model, reference: tuple[Path, float],
                           files: list[tuple[bytes, str]], where: int, jsonl: bool) -> None:
    ref_path, ref_score = reference
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for i, (data, ext) in enumerate(files):
            paths.append(folder / f"{i:02d}{ext}")
            paths[-1].write_bytes(data)
        where = min(where, len(paths))
        paths.insert(where, ref_path)

        # the API, many files: one record per input, in order
        recs = list(score_files(small_model, [(p, str(p)) for p in paths]))
        assert [r.name for r in recs] == [str(p) for p in paths]
        for rec in recs:
            assert (rec.score is None) != (rec.error is None), rec
            assert rec.score is None or math.isfinite(rec.score)
            assert rec.error is None or rec.error.strip()
        assert recs[where].score == ref_score  # unchanged by its neighbours
        event(f"{sum(r.score is not None for r in recs) - 1} of {len(files)} scored")

        # the API, one image at a time: the same score or the same error
        for path, rec in zip(paths, recs, strict=True):
            if rec.score is not None:
                assert float(small_model.score(path)[0]) == rec.score
            elif not rec.error.startswith("the score is not finite"):
                with pytest.raises(ValueError) as info:
                    small_model.score(path)
                assert str(info.value) == rec.error

        # the CLI: exactly one row per input, the same scores and errors
        out = folder / ("scores.jsonl" if jsonl else "scores.csv")
        with mock.patch.object(score_cli, "load_scorer", lambda args: small_model):
            code = main(["score", *map(str, paths), "--workers", "0", "--quiet",
                         "--out", str(out)])
        assert code == (0 if all(r.score is not None for r in recs) else 1)
        if jsonl:
            import json

            rows = [json.loads(line) for line in out.read_text().splitlines()]
            got = [(r["path"], r["score"], r["error"]) for r in rows]
            assert got == [(r.name, r.score, r.error) for r in recs]
        else:
            rows = _csv_rows(out)
            got = [(r["path"], r["score"], r["error"]) for r in rows]
            assert got == [(r.name, "" if r.score is None else repr(r.score), r.error or "")
                           for r in recs]
