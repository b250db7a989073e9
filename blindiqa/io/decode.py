"""Turn every supported kind of image input into one canonical form.

The canonical form is a ``torch.float32`` tensor of shape ``(3, H, W)`` with values in
``[0, 1]``. This module is the single place where inputs are validated: every public
entry point (``QualityModel.score``, the CLI, the benchmark) goes through it, so a bad
input always gets the same explicit ``ValueError``.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from blindiqa.io.formats import (
    has_heif_brand,
    heif_registered,
    import_rawpy,
    is_raw,
    missing_extra,
)

ImageLike = str | os.PathLike | Image.Image | np.ndarray | torch.Tensor

#: Largest image (width x height) decoded from a file. A larger header is refused before
#: any pixel is read: a "decompression bomb" (a small file claiming huge dimensions) gets
#: an :class:`ImageDecodeError` instead of exhausting memory (200 Mpixel decode to 2.4 GB
#: of float32).
MAX_PIXELS = 200_000_000

# Pillow's own guard (a warning above MAX_IMAGE_PIXELS, an error above twice that) stays
# on, at our limit; our check below turns both into our error.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_EXIF_ORIENTATION = 0x0112

#: Formats whose decoder can scale in the DCT domain (Pillow's draft mode): JPEG, and
#: MPO, the multi-picture JPEG some cameras write (its first picture is the one read).
_DRAFT_FORMATS = ("JPEG", "MPO")


class ImageDecodeError(ValueError):
    """An input could not be turned into an RGB image."""


def decode_image(path: str | os.PathLike, as_uint8: bool = False,
                 max_side: int = 0) -> torch.Tensor:
    """Read an image file with Pillow and return it as a ``(3, H, W)`` float tensor.

    :func:`decode_image_sized` without the size; see there.
    """
    return decode_image_sized(path, as_uint8=as_uint8, max_side=max_side)[0]


def decode_image_sized(path: str | os.PathLike, as_uint8: bool = False,
                       max_side: int = 0) -> tuple[torch.Tensor, tuple[int, int]]:
    """Read an image file with Pillow and return it as a ``(3, H, W)`` float tensor.

    Grayscale, palette, bilevel, CMYK, 16-bit and alpha images are converted to 8-bit RGB
    (alpha is dropped) so that every format Pillow reads scores the same way. Only the
    first frame of an animated or multi-page file is used. An EXIF orientation tag is
    applied (``ImageOps.exif_transpose``), so the image scored is the image as viewers
    show it.

    HEIC/HEIF, AVIF and camera raw files need the ``[formats]`` extra
    (:mod:`blindiqa.io.formats`); without it they get an :class:`ImageDecodeError` that
    names it. A raw file is rendered by :func:`blindiqa.io.raw.render_raw`: the camera's
    embedded preview where it is large enough, else LibRaw's demosaic (``$BLINDIQA_RAW``).

    Args:
        path: path of any image file Pillow can read, or a camera raw file.
        as_uint8: return the 8-bit pixels instead (a quarter of the size, e.g. to pass
            between processes); :func:`uint8_to_float` turns them into exactly what
            this function returns otherwise.
        max_side: the long side the caller will scale the image down to (0: none). A
            JPEG larger than that is decoded at 1/2, 1/4 or 1/8 of its size in the DCT
            domain (Pillow's draft mode; :func:`draft_scale`), the largest reduction
            that keeps both sides at least those of the image scaled to ``max_side``:
            a 4000x3000 photo for ``max_side=1024`` decodes to 2000x1500, 4x faster and
            in a quarter of the memory. The same for a camera's MPO (multi-picture
            JPEG) file; other formats decode at full size.

    Returns:
        A float32 tensor in ``[0, 1]`` of shape ``(3, H, W)`` (uint8 with ``as_uint8``),
        and the image's ``(width, height)`` as viewed (after the EXIF orientation) at its
        full size in the file: a JPEG decoded at a reduced size (``max_side``) still
        reports the size it has.

    Raises:
        ImageDecodeError: the file is missing, empty, not a regular file, unreadable, too
            large (more than :data:`MAX_PIXELS` pixels) or not a decodable image. Any
            failure of the decoder on a hostile file becomes this error.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError as exc:  # also a dangling symlink
        raise ImageDecodeError(f"no such file: {p}") from exc
    except PermissionError as exc:
        raise ImageDecodeError(f"permission denied: {p}") from exc
    except (OSError, ValueError) as exc:  # a symlink loop, a name with a NUL byte ...
        reason = getattr(exc, "strerror", None) or exc
        raise ImageDecodeError(f"cannot read {p}: {reason}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise ImageDecodeError(f"is a directory, not an image: {p}")
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, a device would never end
        raise ImageDecodeError(f"not a regular file (a device, FIFO or socket): {p}")
    if st.st_size == 0:
        raise ImageDecodeError(f"empty file: {p}")
    missing = missing_extra(p)
    if missing is not None:
        raise ImageDecodeError(f"{missing}: {p}")
    try:
        with warnings.catch_warnings():
            # Pillow's notes on damaged files ("Corrupt EXIF data", "Tag data larger than
            # file", its bomb warning ...): a file either decodes or gets our error.
            warnings.filterwarnings("ignore", module="PIL")
            if is_raw(p):
                rgb, full = _decode_raw(p, max_side)
            else:
                rgb, full = _decode_pillow(p, max_side)
    except ImageDecodeError as exc:
        raise ImageDecodeError(f"{exc}: {p}") from exc
    except FileNotFoundError as exc:  # removed since the stat
        raise ImageDecodeError(f"no such file: {p}") from exc
    except PermissionError as exc:
        raise ImageDecodeError(f"permission denied: {p}") from exc
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(f"not an image Pillow can read: {p}") from exc
    except _UnregisteredHeifError:  # a HEIF file by another name: read it after registering
        missing = missing_extra(p, sniffed_heif=True)
        if missing is not None:
            raise ImageDecodeError(f"{missing}: {p}") from None
        return decode_image_sized(p, as_uint8=as_uint8, max_side=max_side)
    except Image.DecompressionBombError as exc:  # Pillow's guard, at twice our limit
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} Mpixel" if found else "size unknown"
        raise ImageDecodeError(
            f"image too large to decode safely ({size}; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} Mpixel): {p}"
        ) from exc
    except MemoryError as exc:
        raise ImageDecodeError(f"not enough memory to decode {p}") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated / corrupt data
        raise ImageDecodeError(f"corrupt or truncated image {p}: {exc}") from exc
    except Exception as exc:  # a decoder tripping over hostile data: never a crash
        raise ImageDecodeError(
            f"corrupt image {p}: the decoder failed ({type(exc).__name__}: {exc})"
        ) from exc
    chw = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)  # a writable copy
    return (chw if as_uint8 else uint8_to_float(chw)), (int(full[0]), int(full[1]))


class _UnregisteredHeifError(Exception):
    """Pillow found no opener for a file that starts as a HEIF/AVIF file."""


def _decode_pillow(p: Path, max_side: int) -> tuple[Image.Image, tuple[int, int]]:
    """A file read by Pillow: its RGB pixels as viewed and its full size as viewed."""
    try:
        im = Image.open(p)
    except UnidentifiedImageError:
        with open(p, "rb") as fh:
            if has_heif_brand(fh.read(12)) and not heif_registered():
                raise _UnregisteredHeifError from None
        raise
    with im:
        _check_pixels(im.size)
        full = im.size
        if max_side > 0 and im.format in _DRAFT_FORMATS:
            _draft(im, max_side)
        im.load()
        rgb = _pil_to_rgb(_exif_transposed(im))
        if _quarter_turned(im) and rgb.size == im.size[::-1]:
            full = full[::-1]
    return rgb, full


def _decode_raw(p: Path, max_side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """A camera raw file rendered by :func:`blindiqa.io.raw.render_raw`."""
    rawpy = import_rawpy()

    from blindiqa.io.raw import raw_mode, render_raw

    try:
        mode = raw_mode()
    except ValueError as exc:  # a bad $BLINDIQA_RAW: say so, not "corrupt"
        raise ImageDecodeError(str(exc)) from exc
    try:
        out = render_raw(p, max_side=max_side, check_size=_check_pixels, mode=mode)
    except rawpy.LibRawFileUnsupportedError as exc:
        raise ImageDecodeError("not a camera raw file LibRaw can read") from exc
    except rawpy.LibRawError as exc:
        raise ImageDecodeError(
            f"corrupt or unreadable raw file: LibRaw failed ({type(exc).__name__}: {exc})"
        ) from exc
    return out.pixels, out.size


def uint8_to_float(image: torch.Tensor) -> torch.Tensor:
    """The canonical float32 image in ``[0, 1]`` of a uint8 tensor (the one conversion
    every decoded pixel goes through)."""
    return image.float().div_(255.0)


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int] | None:
    """``(width, height)`` scaled to a long side of ``max_side`` (None: no smaller)."""
    if max_side <= 0 or max(width, height) <= max_side:
        return None
    s = max_side / max(width, height)
    return max(1, round(width * s)), max(1, round(height * s))


def draft_scale(width: int, height: int, max_side: int) -> int:
    """The DCT-domain reduction (1, 2, 4 or 8) Pillow's draft mode picks for a
    ``width`` x ``height`` JPEG that will be scaled to a long side of ``max_side``: the
    largest that keeps both sides at least those of the scaled image."""
    target = _scaled_size(width, height, max_side)
    if target is None:
        return 1
    fits = min(width // target[0], height // target[1])
    return next(r for r in (8, 4, 2, 1) if fits >= r)


def _draft(im: Image.Image, max_side: int) -> None:
    """Let Pillow's JPEG decoder reduce ``im`` by :func:`draft_scale` while decoding."""
    target = _scaled_size(im.width, im.height, max_side)
    if target is not None:
        im.draft(None, target)


def _check_pixels(size: tuple[int, int]) -> None:
    """Refuse, from the header alone, an image above :data:`MAX_PIXELS`."""
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"image has no pixels ({w}x{h})")
    if w * h > MAX_PIXELS:
        raise ImageDecodeError(
            f"image too large to decode safely ({w}x{h} = {w * h / 1e6:.0f} Mpixel; the "
            f"limit is {MAX_PIXELS / 1e6:.0f} Mpixel)"
        )


def _exif_transposed(im: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation tag says (as it is viewed).

    A missing or malformed EXIF block leaves the pixels as stored.
    """
    try:
        if im.getexif().get(_EXIF_ORIENTATION, 1) in (None, 1):
            return im
        out = ImageOps.exif_transpose(im)
    except Exception:  # malformed EXIF: score the pixels as stored
        return im
    return im if out is None else out


def _quarter_turned(im: Image.Image) -> bool:
    """Whether the EXIF orientation tag turns the image a quarter (width and height
    swap as it is viewed)."""
    try:
        return im.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    except Exception:  # malformed EXIF: the pixels are used as stored
        return False


def _pil_to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB from any Pillow mode (16-bit and float ones rescaled, alpha dropped)."""
    if im.mode.startswith("I;16"):  # 16-bit grayscale: the full 0..65535 range
        arr = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(arr / 65535.0 * 255.0 + 0.5, 0, 255).astype(np.uint8))
    elif im.mode == "I":  # 32-bit integers: 16-bit data where it exceeds 8 bits
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.size and arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8))
    elif im.mode == "F":  # 32-bit float, in [0, 1] by convention
        arr = np.asarray(im, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise ImageDecodeError("image has NaN or infinite pixel values")
        im = Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8))
    elif im.mode in ("P", "PA") and "transparency" in im.info:
        im = im.convert("RGBA")  # Pillow warns converting such a palette straight to RGB
    if im.mode != "RGB":
        try:
            im = im.convert("RGB")
        except ValueError as exc:
            raise ImageDecodeError(
                f"unsupported image mode {im.mode!r} (no conversion to RGB)"
            ) from exc
    return im


def _uint8_hwc_to_tensor(rgb: Image.Image | np.ndarray) -> torch.Tensor:
    arr = np.array(rgb, dtype=np.uint8)  # one writable copy
    return uint8_to_float(torch.from_numpy(arr).permute(2, 0, 1))


def _array_to_tensor(arr: np.ndarray) -> torch.Tensor:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(
            f"a numpy image must be HxW or HxWxC, got an array of shape {arr.shape}"
        )
    if arr.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"a numpy image must have 1, 3 or 4 channels (HWC order), got shape {arr.shape}"
        )
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype == np.uint8:
        out = torch.from_numpy(np.array(arr)).permute(2, 0, 1).float() / 255.0
    elif arr.dtype == np.uint16:
        out = torch.from_numpy(arr.astype(np.float32)).permute(2, 0, 1) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        out = torch.from_numpy(np.array(arr, dtype=np.float32)).permute(2, 0, 1)
        _check_range(out, "numpy float image")
    elif arr.dtype == np.bool_:
        out = torch.from_numpy(arr.astype(np.float32)).permute(2, 0, 1)
    else:
        raise ValueError(
            f"unsupported numpy dtype {arr.dtype}: use uint8, uint16 or float in [0, 1]"
        )
    if out.shape[0] == 1:
        out = out.expand(3, -1, -1)
    return out.contiguous()


def _check_range(t: torch.Tensor, what: str) -> None:
    if not torch.isfinite(t).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{what} values must lie in [0, 1], got range [{lo:.4g}, {hi:.4g}]")


def _tensor_to_tensor(t: torch.Tensor) -> torch.Tensor:
    if t.ndim != 3:
        raise ValueError(f"an image tensor must be (C, H, W), got shape {tuple(t.shape)}")
    if t.shape[0] not in (1, 3):
        raise ValueError(
            f"an image tensor must have 1 or 3 channels first (C, H, W), got shape "
            f"{tuple(t.shape)}"
        )
    if t.dtype == torch.uint8:
        t = t.float() / 255.0
    elif not t.is_floating_point():
        raise ValueError(f"unsupported tensor dtype {t.dtype}: use float in [0, 1] or uint8")
    t = t.detach().to("cpu", torch.float32)
    _check_range(t, "image tensor")
    if t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    return t.contiguous()


def check_image_batch(images: Any) -> None:
    """Check a batch for :func:`blindiqa.create_metric`: a float tensor ``(B, 3, H, W)``
    with finite values in [0, 1], on any device (it is not copied; the range check
    reads it without recording it for autograd).

    Raises:
        ValueError: not a tensor, another shape, an empty batch, a dtype other than
            float, values outside [0, 1] or not finite, or a tensor with no values (the
            ``meta`` device).
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"an image batch must be a torch tensor (B, 3, H, W), got "
                         f"{type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"an image batch must be (B, 3, H, W), got shape "
                         f"{tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError("no images given")
    if not images.is_floating_point():
        raise ValueError(f"unsupported tensor dtype {images.dtype}: an image batch must be "
                         "float in [0, 1]")
    if images.is_meta:
        raise ValueError("the image batch is on the 'meta' device and holds no values")
    _check_range(images.detach(), "image batch")


def to_tensor(image: Any, max_side: int = 0) -> torch.Tensor:
    """Convert one image of any supported kind to a ``(3, H, W)`` float tensor in [0, 1].

    Args:
        image: a path (``str`` / ``PathLike``), a PIL image, a numpy array (HxW or HxWxC,
            uint8, uint16 or float in [0, 1]) or a tensor ``(C, H, W)`` (float in [0, 1] or
            uint8).
        max_side: for a path, :func:`decode_image`'s ``max_side`` (the other kinds are
            returned at their size).

    Raises:
        ValueError: the input is of an unsupported type, shape, dtype or range, or the
            file cannot be decoded (:class:`ImageDecodeError`).
    """
    if isinstance(image, (str, os.PathLike)):
        return decode_image(image, max_side=max_side)
    if isinstance(image, Image.Image):
        return _uint8_hwc_to_tensor(_pil_to_rgb(_exif_transposed(image)))
    if isinstance(image, np.ndarray):
        return _array_to_tensor(image)
    if isinstance(image, torch.Tensor):
        return _tensor_to_tensor(image)
    raise ValueError(
        f"unsupported image type {type(image).__name__}: use a path, PIL image, numpy array "
        "or torch tensor"
    )


def to_tensor_list(images: Any, max_side: int = 0) -> list[torch.Tensor]:
    """Normalise the ``images`` argument of ``score`` to a list of canonical tensors.

    Accepts one image, a 4-D tensor ``(N, C, H, W)`` or a list/tuple mixing any supported
    kinds and sizes; ``max_side`` goes to :func:`to_tensor`.

    Raises:
        ValueError: empty input or any invalid element (the message names its index).
    """
    if isinstance(images, torch.Tensor) and images.ndim == 4:
        items: Sequence[Any] = list(images.unbind(0))
    elif isinstance(images, (list, tuple)):
        items = images
    else:
        items = [images]
    if len(items) == 0:
        raise ValueError("no images given")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(to_tensor(item, max_side=max_side))
        except ValueError as exc:
            if len(items) == 1:
                raise
            raise type(exc)(f"image {i}: {exc}") from exc
    return out
