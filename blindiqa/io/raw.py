"""Camera raw files, rendered as the camera shows them (``rawpy``, LibRaw).

Two renderings exist, and the choice is explicit (``BLINDIQA_RAW``):

* ``auto`` (the default): **the camera's own embedded JPEG preview** where the raw file
  has one at least as large as the image will be scored (the model's ``max_side``, e.g.
  1024 px, or the raw's full size with ``max_side`` 0) and of the raw's shape. It is the
  camera's rendering (its white balance, tone curve, colour, sharpening and noise
  reduction), what the photographer saw on the camera's screen and what a browser or
  Lightroom's first view shows, and it is fast (12 Mpixel, for 1024 px: 0.03-0.05 s
  against 0.13-0.19 s for a half-size and 0.8-1.5 s for a full demosaic here;
  docs/formats.md). A raw with a smaller preview, none, or a preview of another shape
  falls back to ``demosaic``.
* ``demosaic``: LibRaw's own rendering of the sensor data, with the camera's white
  balance (``use_camera_wb``), LibRaw's default AHD demosaic, sRGB primaries with the
  sRGB tone curve (:data:`SRGB_GAMMA`, as a camera's sRGB JPEG and a screen have it,
  rather than LibRaw's default BT.709 curve) and LibRaw's automatic brightness, 8 bits.
  Where the image will be scaled to ``max_side`` anyway and half the raw's size is still
  at least that, LibRaw's ``half_size`` is used (each 2x2 Bayer cell becomes one pixel,
  no demosaic: faster, and the same image at that size).

Either way the image is turned as the raw's orientation says (LibRaw's ``flip``), and
the size reported is the raw's full demosaiced size as viewed.

LibRaw runs with one OpenMP thread (:func:`single_openmp_thread`). Its OpenMP runtime
(GNU libgomp: torch's, which LibRaw's calls bind to once torch is loaded, or the one in
``rawpy``'s wheel) is not safe across ``fork``: a decoding worker forked from a process
whose OpenMP threads had run hangs on its first raw file (seen here, without this), and
one OpenMP thread never touches that thread pool. Parallel decoding comes from the
workers; a 12-Mpixel demosaic took as long either way on this project's 2 cores.
"""

from __future__ import annotations

import ctypes
import io
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from blindiqa.io.formats import import_rawpy

#: Environment variable choosing the raw rendering: ``auto`` or ``demosaic``.
RAW_ENV = "BLINDIQA_RAW"
RAW_MODES = ("auto", "demosaic")

#: LibRaw's ``gamma`` argument for the sRGB tone curve (power 2.4, slope 12.92).
SRGB_GAMMA = (2.4, 12.92)

#: LibRaw's ``flip`` (0 none, 3 half a turn, 5 a quarter counter-clockwise, 6 a quarter
#: clockwise) as the Pillow transpose that shows the stored pixels upright.
_FLIP_TRANSPOSE = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90,
                   6: Image.Transpose.ROTATE_270}

#: How far a preview's width/height ratio may be from the raw's and still stand for it.
_ASPECT_TOLERANCE = 0.03


@dataclass(frozen=True)
class RawImage:
    """A rendered raw file.

    Attributes:
        pixels: ``(H, W, 3)`` uint8 RGB, as viewed.
        size: the raw's full ``(width, height)`` as viewed (after its orientation).
        source: ``"preview"``, ``"demosaic"`` or ``"demosaic-half"``.
    """

    pixels: np.ndarray
    size: tuple[int, int]
    source: str


@cache
def _openmp_runtime(path: str) -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(path)
        lib.omp_get_max_threads.restype = ctypes.c_int
        lib.omp_set_num_threads.argtypes = [ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return lib


def _openmp_runtimes() -> list[ctypes.CDLL]:
    """The OpenMP runtimes loaded in this process (Linux: from ``/proc/self/maps``)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split(maxsplit=5)[-1].strip() for line in fh if "/lib" in line}
    except OSError:
        return []
    names = ("libgomp", "libomp", "libiomp")
    found = (_openmp_runtime(p) for p in sorted(paths)
             if os.path.basename(p).startswith(names))
    return [lib for lib in found if lib is not None]


@contextmanager
def single_openmp_thread() -> Iterator[None]:
    """Run the block with one OpenMP thread in every loaded OpenMP runtime.

    OpenMP's thread count is a per-thread setting: it is set to 1 for the calling thread
    only and restored after, so torch's threads elsewhere keep theirs.
    """
    saved = [(lib, lib.omp_get_max_threads()) for lib in _openmp_runtimes()]
    for lib, _ in saved:
        lib.omp_set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in saved:
            lib.omp_set_num_threads(n)


def raw_mode() -> str:
    """The raw rendering asked for by ``$BLINDIQA_RAW`` (default ``auto``).

    Raises:
        ValueError: the variable holds something else than ``auto`` or ``demosaic``.
    """
    mode = os.environ.get(RAW_ENV, "auto").strip().lower() or "auto"
    if mode not in RAW_MODES:
        raise ValueError(f"{RAW_ENV} must be one of {', '.join(RAW_MODES)}, got {mode!r}")
    return mode


def _target_long_side(full: tuple[int, int], max_side: int) -> int:
    """The long side the image will be scored at: ``max_side``, or the full one."""
    long = max(full)
    return min(long, max_side) if max_side > 0 else long


def _same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    ra, rb = a[0] / a[1], b[0] / b[1]
    return abs(ra - rb) <= _ASPECT_TOLERANCE * rb


def _preview(raw, stored: tuple[int, int], target: int) -> Image.Image | None:
    """The embedded preview as a Pillow image, as stored, or None where there is none
    that stands for the raw at ``target`` px (too small, another shape, unreadable)."""
    rawpy = import_rawpy()

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        im = Image.open(io.BytesIO(thumb.data))
        if max(im.size) < target or not _same_shape(im.size, stored):
            return None
        scale = target / max(im.size)
        im.draft("RGB", (max(1, round(im.width * scale)), max(1, round(im.height * scale))))
        im.load()
    elif thumb.format == rawpy.ThumbFormat.BITMAP:
        arr = np.asarray(thumb.data)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            return None
        im = Image.fromarray(arr)
        if max(im.size) < target or not _same_shape(im.size, stored):
            return None
    else:
        return None
    return im.convert("RGB")


def render_raw(path: str | os.PathLike, max_side: int = 0,
               check_size: Callable[[tuple[int, int]], None] | None = None,
               mode: str | None = None) -> RawImage:
    """Render a camera raw file as described in this module's docstring.

    Args:
        path: the raw file.
        max_side: the long side the caller will scale the image down to (0: none).
        check_size: called with the raw's ``(width, height)`` before any pixel is
            decoded (e.g. to refuse a decompression bomb by raising).
        mode: ``auto`` or ``demosaic``; default :func:`raw_mode`.

    Raises:
        ImportError: ``rawpy`` is not installed.
        ValueError: a bad ``mode``, or from ``check_size``.
        rawpy.LibRawError: LibRaw cannot read the file.
    """
    rawpy = import_rawpy()

    mode = raw_mode() if mode is None else mode
    if mode not in RAW_MODES:
        raise ValueError(f"raw mode must be one of {', '.join(RAW_MODES)}, got {mode!r}")
    with single_openmp_thread():
        with warnings.catch_warnings():
            # rawpy warns in a forked process (a decoding worker) that OpenMP may hang
            # there: not with one OpenMP thread
            warnings.filterwarnings("ignore", message=r"rawpy is being used in a process",
                                    category=RuntimeWarning)
            raw = rawpy.imread(os.fspath(path))
        with raw:
            sizes = raw.sizes
            stored = (int(sizes.width), int(sizes.height))
            if check_size is not None:
                check_size(stored)
            flip = int(sizes.flip)
            full = stored[::-1] if flip in (5, 6) else stored
            target = _target_long_side(full, max_side)
            if mode == "auto":
                im = _preview(raw, stored, target)
                if im is not None:
                    if flip in _FLIP_TRANSPOSE:
                        im = im.transpose(_FLIP_TRANSPOSE[flip])
                    return RawImage(np.asarray(im, dtype=np.uint8), full, "preview")
            half = max_side > 0 and max(stored) // 2 >= max_side
            rgb = raw.postprocess(use_camera_wb=True, half_size=half, output_bps=8,
                                  gamma=SRGB_GAMMA)
    return RawImage(np.ascontiguousarray(rgb, dtype=np.uint8), full,
                    "demosaic-half" if half else "demosaic")
