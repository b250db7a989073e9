"""The bad, odd and hostile inputs of the robustness tests, and what each must get.

A module of its own (not ``conftest``) so that ``benchmarks/robustness_table.py`` builds
exactly the inputs the tests check and documents what real runs give for them.

Every case makes its file inside a given folder and says whether blindiqa must score it
(``expect="score"``) or refuse it with an error matching ``message``.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

#: Side of the test images: above the small model's 96-pixel patch.
SIDE = 128


def photo_array(seed: int = 0, height: int = SIDE, width: int = SIDE) -> np.ndarray:
    """A smooth, textured uint8 RGB image (a stand-in for a photo; no data files)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack([np.sin(x / (7 + c) + c) * np.cos(y / (11 - c)) for c in range(3)], -1)
    arr = 127.5 + 90 * base + rng.normal(0, 12, (height, width, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------ raw PNG writing
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, *, bit_depth: int = 8, colour_type: int = 2,
              rows: bytes | None = None) -> bytes:
    """A PNG file written by hand (any header, e.g. a 'bomb' claiming huge dimensions).

    Args:
        width: claimed width.
        height: claimed height.
        bit_depth: 8 or 16.
        colour_type: 0 gray, 2 RGB.
        rows: the raw scanlines (each starting with its filter byte); a few bytes of
            zeros where None (the header then claims far more pixels than the data).
    """
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    data = zlib.compress(rows if rows is not None else b"\0" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def png16_rgb_bytes(arr16: np.ndarray) -> bytes:
    """A 48-bit (16 bits per channel) RGB PNG of a ``(H, W, 3)`` uint16 array."""
    h, w, _ = arr16.shape
    rows = b"".join(b"\0" + arr16[i].astype(">u2").tobytes() for i in range(h))
    return png_bytes(w, h, bit_depth=16, colour_type=2, rows=rows)


# ------------------------------------------------------------------------ the input files
def _save(folder: Path, name: str, image: Image.Image, **kw: Any) -> Path:
    path = folder / name
    image.save(path, **kw)
    return path


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _encoded(fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(photo_array()).save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_empty(folder: Path) -> Path:
    return _write(folder, "empty.jpg", b"")


def make_truncated_jpeg(folder: Path) -> Path:
    data = _encoded("JPEG", quality=90)
    return _write(folder, "truncated.jpg", data[: len(data) // 3])


def make_truncated_png(folder: Path) -> Path:
    data = _encoded("PNG")
    return _write(folder, "truncated.png", data[: len(data) // 2])


def make_bitflip_png(folder: Path) -> Path:
    data = bytearray(_encoded("PNG"))
    data[len(data) // 2] ^= 0xFF  # the IDAT CRC no longer matches
    return _write(folder, "bitflip.png", bytes(data))


def make_text_as_jpeg(folder: Path) -> Path:
    return _write(folder, "notes.jpg", b"this is a text file, not a JPEG\n" * 20)


def make_random_bytes(folder: Path) -> Path:
    return _write(folder, "random.png", np.random.default_rng(1).bytes(4096))


def make_jpeg_header_garbage(folder: Path) -> Path:
    return _write(folder, "header_only.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64)


def make_bomb(folder: Path) -> Path:
    """A 100-byte PNG claiming 100000 x 100000 pixels (10 Gpixel)."""
    return _write(folder, "bomb.png", png_bytes(100_000, 100_000))


def make_bomb_over_limit(folder: Path) -> Path:
    """A PNG claiming 15000 x 15000 (225 Mpixel): above our limit, below Pillow's error."""
    return _write(folder, "bomb_225mpx.png", png_bytes(15_000, 15_000))


def make_png16_gray(folder: Path) -> Path:
    arr8 = photo_array()[..., 1]
    return _save(folder, "gray16.png", Image.fromarray(arr8.astype(np.uint16) * 257))


def make_png16_rgb(folder: Path) -> Path:
    return _write(folder, "rgb48.png", png16_rgb_bytes(photo_array().astype(np.uint16) * 257))


def make_cmyk_jpeg(folder: Path) -> Path:
    return _save(folder, "cmyk.jpg", Image.fromarray(photo_array()).convert("CMYK"),
                 quality=95)


def make_palette(folder: Path) -> Path:
    return _save(folder, "palette.png", Image.fromarray(photo_array()).quantize(64))


def make_palette_transparent(folder: Path) -> Path:
    im = Image.fromarray(photo_array()).quantize(64)
    return _save(folder, "palette_transparent.png", im, transparency=0)


def make_la(folder: Path) -> Path:
    return _save(folder, "gray_alpha.png", Image.fromarray(photo_array()).convert("LA"))


def make_rgba(folder: Path) -> Path:
    return _save(folder, "rgba.png", Image.fromarray(photo_array()).convert("RGBA"))


def make_bilevel(folder: Path) -> Path:
    return _save(folder, "bilevel.png", Image.fromarray(photo_array()).convert("1"))


def make_float_tiff(folder: Path) -> Path:
    arr = photo_array()[..., 0].astype(np.float32) / 255
    return _save(folder, "float32.tiff", Image.fromarray(arr))


def make_nan_tiff(folder: Path) -> Path:
    arr = np.full((SIDE, SIDE), np.nan, np.float32)
    return _save(folder, "nan.tiff", Image.fromarray(arr))


def animated_frames() -> list[Image.Image]:
    """Two different palette frames (exactly representable in a GIF)."""
    first = Image.fromarray(photo_array(2)).quantize(128)
    second = Image.fromarray(255 - photo_array(3)).quantize(128)
    return [first, second]


def make_animated_gif(folder: Path) -> Path:
    first, second = animated_frames()
    return _save(folder, "animated.gif", first, save_all=True, append_images=[second],
                 duration=100, loop=0)


def exif_pair(folder: Path) -> tuple[Path, Path]:
    """The same JPEG data stored twice, once with EXIF orientation 6 (turn 90 degrees
    clockwise to view); returns ``(tagged, untagged)``."""
    im = Image.fromarray(photo_array(4, height=SIDE, width=SIDE + 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged = _save(folder, "exif_rotated.jpg", im, quality=92, exif=exif)
    plain = _save(folder, "exif_plain.jpg", im, quality=92)
    return tagged, plain


def make_exif_rotated(folder: Path) -> Path:
    return exif_pair(folder)[0]


def make_small(folder: Path) -> Path:
    return _save(folder, "small_50x50.png", Image.fromarray(photo_array()[:50, :50]))


def make_one_pixel(folder: Path) -> Path:
    return _save(folder, "one_pixel.png", Image.new("RGB", (1, 1), (10, 20, 30)))


def make_black(folder: Path) -> Path:
    return _save(folder, "black.png", Image.new("RGB", (SIDE, SIDE)))


def make_flat_grey(folder: Path) -> Path:
    return _save(folder, "flat_grey.png", Image.new("L", (SIDE, SIDE), 128))


def make_spaces_unicode(folder: Path) -> Path:
    sub = folder / "dir with spaces"
    sub.mkdir(exist_ok=True)
    return _save(sub, "photo é 日本 🙂.png", Image.fromarray(photo_array()))


def make_non_utf8_name(folder: Path) -> Path:
    """A file whose name is not valid UTF-8 (bytes 0xff 0xfe): fine on Linux."""
    name = os.fsdecode(b"bad-\xff\xfe-name.png")
    return _save(folder, name, Image.fromarray(photo_array()))


def make_directory(folder: Path) -> Path:
    d = folder / "folder.jpg"
    d.mkdir(exist_ok=True)
    return d


def make_missing(folder: Path) -> Path:
    return folder / "missing.png"


def make_dangling_link(folder: Path) -> Path:
    link = folder / "dangling.png"
    if not link.is_symlink():
        os.symlink(folder / "nowhere.png", link)
    return link


def make_link_loop(folder: Path) -> Path:
    link = folder / "loop.png"
    if not link.is_symlink():
        os.symlink(link, link)
    return link


def make_fifo(folder: Path) -> Path:
    path = folder / "fifo.png"
    if not path.exists():
        os.mkfifo(path)
    return path


@dataclass(frozen=True)
class Case:
    """One bad or unusual input file.

    Attributes:
        name: short id (test ids, table rows).
        what: what the file is, for the table.
        make: ``make(folder) -> path`` creates it in ``folder``.
        expect: ``"score"`` (a finite score) or ``"error"``.
        message: regex the error must match (``expect == "error"``).
        cli: whether ``blindiqa score PATH`` treats it as a file (a folder is walked).
    """

    name: str
    what: str
    make: Callable[[Path], Path]
    expect: str
    message: str = ""
    cli: bool = True


FILE_CASES: tuple[Case, ...] = (
    Case("empty", "empty file named .jpg", make_empty, "error", "empty file"),
    Case("truncated-jpeg", "JPEG cut to a third", make_truncated_jpeg, "error",
         "corrupt or truncated image"),
    Case("truncated-png", "PNG cut in half", make_truncated_png, "error",
         "corrupt or truncated image"),
    Case("bitflip-png", "PNG with one byte flipped (bad CRC)", make_bitflip_png, "error",
         "corrupt or truncated image"),
    Case("text-as-jpeg", "text file named .jpg", make_text_as_jpeg, "error",
         "not an image Pillow can read"),
    Case("random-bytes", "4 KiB of random bytes named .png", make_random_bytes, "error",
         "not an image Pillow can read"),
    Case("jpeg-header-only", "JPEG marker then zeros", make_jpeg_header_garbage, "error",
         "corrupt|not an image"),
    Case("bomb-10gpx", "decompression bomb: 100-byte PNG claiming 100000x100000",
         make_bomb, "error", "too large to decode safely"),
    Case("bomb-225mpx", "PNG header claiming 15000x15000 (225 Mpixel)",
         make_bomb_over_limit, "error", r"too large to decode safely \(15000x15000"),
    Case("png16-gray", "16-bit grayscale PNG", make_png16_gray, "score"),
    Case("png16-rgb", "16-bit per channel (48-bit) RGB PNG", make_png16_rgb, "score"),
    Case("cmyk-jpeg", "CMYK JPEG", make_cmyk_jpeg, "score"),
    Case("palette", "palette (P) PNG", make_palette, "score"),
    Case("palette-transparent", "palette PNG with a transparent index",
         make_palette_transparent, "score"),
    Case("gray-alpha", "grayscale + alpha (LA) PNG", make_la, "score"),
    Case("rgba", "RGBA PNG (alpha dropped)", make_rgba, "score"),
    Case("bilevel", "1-bit PNG", make_bilevel, "score"),
    Case("float-tiff", "32-bit float TIFF in [0, 1]", make_float_tiff, "score"),
    Case("nan-tiff", "32-bit float TIFF full of NaN", make_nan_tiff, "error",
         "NaN or infinite"),
    Case("animated-gif", "animated GIF, 2 frames (the first is scored)",
         make_animated_gif, "score"),
    Case("exif-rotated", "JPEG with EXIF orientation 6 (scored as viewed)",
         make_exif_rotated, "score"),
    Case("smaller-than-patch", "50x50 PNG (the patch is 96)", make_small, "error",
         r"is 50x50 pixels; \S+ needs at least 96x96"),
    Case("one-pixel", "1x1 PNG", make_one_pixel, "error", "needs at least 96x96"),
    Case("all-black", "all-black 128x128 PNG", make_black, "score"),
    Case("flat-grey", "flat grey 128x128 PNG", make_flat_grey, "score"),
    Case("spaces-unicode", "path with spaces, accents, CJK and an emoji",
         make_spaces_unicode, "score"),
    Case("non-utf8-name", "file name that is not valid UTF-8 (bytes ff fe)",
         make_non_utf8_name, "score"),
    Case("directory", "a folder named folder.jpg given as an image (API)", make_directory,
         "error", "is a directory", cli=False),
    Case("missing", "a path that does not exist", make_missing, "error", "no such file"),
    Case("dangling-link", "symlink to nothing", make_dangling_link, "error", "no such file"),
    Case("link-loop", "symlink pointing to itself", make_link_loop, "error",
         "cannot read .*Too many levels of symbolic links"),
    Case("fifo", "a named pipe (FIFO) named .png", make_fifo, "error",
         "not a regular file"),
)

CASES_BY_NAME = {c.name: c for c in FILE_CASES}
#: The cases ``blindiqa score`` gets as files (a folder argument is walked instead).
CLI_CASES = tuple(c for c in FILE_CASES if c.cli)


# ------------------------------------------------------------------------ in-memory inputs
@dataclass(frozen=True)
class ArrayCase:
    """One bad in-memory input of the API (``model.score(value)``)."""

    name: str
    what: str
    make: Callable[[], Any]
    message: str


ARRAY_CASES: tuple[ArrayCase, ...] = (
    ArrayCase("nan-array", "float numpy image with a NaN",
              lambda: np.where(np.eye(SIDE, dtype=bool)[..., None], np.nan,
                               photo_array() / 255.0), "NaN or infinite"),
    ArrayCase("inf-tensor", "float tensor with +inf",
              lambda: torch.full((3, SIDE, SIDE), float("inf")), "NaN or infinite"),
    ArrayCase("out-of-range", "float tensor in 0..255 (not divided by 255)",
              lambda: torch.from_numpy(photo_array()).permute(2, 0, 1).float(),
              r"must lie in \[0, 1\]"),
    ArrayCase("two-channels", "HxWx2 numpy array", lambda: np.zeros((SIDE, SIDE, 2), np.uint8),
              "1, 3 or 4 channels"),
    ArrayCase("int64-array", "int64 numpy array", lambda: np.zeros((SIDE, SIDE, 3), np.int64),
              "unsupported numpy dtype"),
    ArrayCase("empty-list", "an empty list", lambda: [], "no images given"),
    ArrayCase("none", "None", lambda: None, "unsupported image type"),
)


# ------------------------------------------------------------------------ model files
def _bundle_bytes(bundle: Path) -> bytes:
    return bundle.read_bytes()


def make_model_truncated(folder: Path, bundle: Path) -> Path:
    data = _bundle_bytes(bundle)
    return _write(folder, "truncated.safetensors", data[: len(data) // 2])


def make_model_tampered(folder: Path, bundle: Path) -> Path:
    data = bytearray(_bundle_bytes(bundle))
    data[-5] ^= 0x01  # one bit of the last tensor
    return _write(folder, "tampered.safetensors", bytes(data))


def make_model_foreign(folder: Path, bundle: Path) -> Path:
    from safetensors.torch import save_file

    path = folder / "foreign.safetensors"
    save_file({"weight": torch.zeros(4, 4)}, str(path))
    return path


class Payload:
    """Unpickling this runs ``open(marker, "w")``: proof that a loader ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def marker_path(folder: Path) -> Path:
    """The file a :class:`Payload` creates where it is run."""
    return folder / "PAYLOAD_RAN"


def make_model_pickle(folder: Path, bundle: Path, name: str = "pickle.safetensors") -> Path:
    path = folder / name
    with path.open("wb") as fh:
        pickle.dump({"weights": Payload(marker_path(folder))}, fh)
    return path


def make_model_torch_zip(folder: Path, bundle: Path, name: str = "torch_save.pt") -> Path:
    path = folder / name
    torch.save({"weights": Payload(marker_path(folder))}, path)
    return path


def make_model_zip(folder: Path, bundle: Path) -> Path:
    path = folder / "archive.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.safetensors", _bundle_bytes(bundle))
    return path


def make_model_random(folder: Path, bundle: Path) -> Path:
    return _write(folder, "random.safetensors", np.random.default_rng(2).bytes(10_000))


def make_model_empty(folder: Path, bundle: Path) -> Path:
    return _write(folder, "empty.safetensors", b"")


def make_model_wrong_content(folder: Path, bundle: Path) -> Path:
    """A valid bundle (right checksum) whose tensors do not fit its encoder."""
    from blindiqa.models.bundle import load_bundle, save_bundle

    tensors, meta = load_bundle(bundle)
    tensors = {**tensors, "pristine.mean": torch.zeros(3, dtype=torch.float64)}
    path = folder / "wrong_content.safetensors"
    save_bundle(path, tensors, meta)
    return path


def make_model_unknown_kind(folder: Path, bundle: Path) -> Path:
    from blindiqa.models.bundle import save_bundle

    path = folder / "unknown_kind.safetensors"
    save_bundle(path, {"x": torch.zeros(1)}, {"kind": "not-a-kind"})
    return path


def make_model_directory(folder: Path, bundle: Path) -> Path:
    d = folder / "model_dir.safetensors"
    d.mkdir(exist_ok=True)
    return d


def make_model_missing(folder: Path, bundle: Path) -> Path:
    return folder / "missing.safetensors"


@dataclass(frozen=True)
class ModelCase:
    """One bad model file for ``blindiqa.load`` / ``score --model FILE``."""

    name: str
    what: str
    make: Callable[[Path, Path], Path]
    message: str


MODEL_CASES: tuple[ModelCase, ...] = (
    ModelCase("truncated", "bundle cut in half", make_model_truncated,
              "not a readable model bundle"),
    ModelCase("tampered", "bundle with one bit flipped in a tensor", make_model_tampered,
              "checksum mismatch"),
    ModelCase("foreign", "a safetensors file that is not ours", make_model_foreign,
              "not a blindiqa model bundle"),
    ModelCase("pickle", "a pickle whose unpickling would run code", make_model_pickle,
              "not a readable model bundle"),
    ModelCase("torch-zip", "a torch.save zip file with a code payload", make_model_torch_zip,
              "not a readable model bundle"),
    ModelCase("zip", "a zip archive holding a bundle", make_model_zip,
              "not a readable model bundle"),
    ModelCase("random", "10 kB of random bytes", make_model_random,
              "not a readable model bundle"),
    ModelCase("empty", "an empty .safetensors file", make_model_empty,
              "not a readable model bundle"),
    ModelCase("wrong-content", "a bundle with a valid checksum but misshapen tensors",
              make_model_wrong_content, "do not match the feature size"),
    ModelCase("unknown-kind", "a valid bundle of an unknown kind", make_model_unknown_kind,
              "unknown model bundle kind"),
    ModelCase("directory", "a folder named .safetensors", make_model_directory,
              "is a directory"),
    ModelCase("missing", "a model path that does not exist", make_model_missing,
              "no such model file"),
)


# ------------------------------------------------------------------------ a cheap model
def fit_small_model(images: Iterable[np.ndarray]):
    """A cheap but real model: EfficientNet-Lite0 'stage3' features (40-d), pristine
    Gaussian fitted on the 96x96 patches of ``images`` (uint8 RGB ``(H, W, 3)`` arrays).
    Also the recipe of the ``small_model`` test fixture (tests/conftest.py)."""
    from blindiqa.crops import extract_patches
    from blindiqa.gaussian import GaussianStats
    from blindiqa.models.crops import (
        CropsConfig,
        CropsModel,
        build_extractor,
        patch_features,
    )

    cfg = CropsConfig(encoder="efficientnet_lite0", layers=("stage3",), patch_size=96,
                      stride=48)
    ex = build_extractor(cfg)
    stats = GaussianStats.empty(ex.feature_dim)
    for arr in images:
        t = torch.from_numpy(np.array(arr)).permute(2, 0, 1).float() / 255
        stats = stats + GaussianStats.from_features(patch_features(ex, extract_patches(t, 96, 96)))
    return CropsModel(ex, cfg, stats.mean, stats.cov, name="small").eval()


def build_small_model():
    """The cheap model of :func:`fit_small_model`, without scikit-image: fitted on two
    synthetic photos."""
    return fit_small_model(photo_array(seed, 384, 384) for seed in (10, 11))
