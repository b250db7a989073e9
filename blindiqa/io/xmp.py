"""XMP sidecars: the star rating (``xmp:Rating``) beside a photo, merged into what is there.

Photo managers read a rating from a sidecar file beside the photo: darktable and digiKam
from ``photo.jpg.xmp`` (the photo's whole name + ``.xmp``, naming ``"full"``); Lightroom,
Capture One and digiKam's "compatible with commercial programs" option from ``photo.xmp``
(the extension replaced, naming ``"stem"``). The photo itself is never opened for writing.

The XMP is read, changed and written by exiv2 (through ``pyexiv2``, the optional extra
``blindiqa[xmp]``): an existing sidecar keeps every other property (keywords, labels,
other namespaces such as darktable's history) and only ``xmp:Rating`` is set. The new
file is written to a temporary file and renamed into place, so a sidecar is never left
half-written.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

from blindiqa.io.atomic import atomic_write

#: Sidecar namings: ``full`` = photo.jpg.xmp, ``stem`` = photo.xmp.
SIDECAR_NAMINGS: tuple[str, ...] = ("full", "stem")
#: The XMP property written, as exiv2 names it (``xmp:Rating``, namespace
#: http://ns.adobe.com/xap/1.0/).
RATING_KEY = "Xmp.xmp.Rating"
#: An empty XMP packet: exiv2 opens a sidecar only from a packet, so a new sidecar
#: starts from this (no property in it; exiv2 writes everything else).
_EMPTY_PACKET = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
                 '<x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>').encode()


class XmpError(ValueError):
    """A sidecar cannot be read or written as XMP."""


class MissingXmpExtraError(ImportError):
    """``pyexiv2`` (the extra ``blindiqa[xmp]``) is not installed."""


def require_pyexiv2() -> ModuleType:
    """The ``pyexiv2`` module.

    Raises:
        MissingXmpExtraError: it is not installed; the message names the extra.
    """
    try:
        import pyexiv2
    except ImportError as exc:
        raise MissingXmpExtraError(
            "writing XMP sidecars needs pyexiv2 (exiv2 for Python): "
            "pip install 'blindiqa[xmp]'") from exc
    return pyexiv2


def sidecar_path(image: str | os.PathLike, naming: str = "full") -> Path:
    """The sidecar of a photo.

    Args:
        image: the photo's path.
        naming: ``"full"`` (photo.jpg -> photo.jpg.xmp: darktable, digiKam) or
            ``"stem"`` (photo.jpg -> photo.xmp: Lightroom, Capture One).

    Raises:
        ValueError: an unknown naming.
    """
    p = Path(image)
    if naming == "full":
        return p.with_name(p.name + ".xmp")
    if naming == "stem":
        return p.with_suffix(".xmp")
    raise ValueError(f"unknown sidecar naming {naming!r}; expected one of "
                     f"{', '.join(SIDECAR_NAMINGS)}")


def _packet(sidecar: Path) -> bytes | None:
    """The sidecar's bytes, or None where there is no sidecar."""
    try:
        return sidecar.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise XmpError(f"cannot read {sidecar}: {exc.strerror or exc}") from None


def _open(pyexiv2: ModuleType, data: bytes, sidecar: Path):
    try:
        return pyexiv2.ImageData(data)
    except RuntimeError as exc:
        raise XmpError(f"{sidecar} is not an XMP sidecar exiv2 can read ({exc})") from None


def read_rating(sidecar: str | os.PathLike) -> int | None:
    """The ``xmp:Rating`` of a sidecar (None where it has none or does not exist).

    Raises:
        XmpError: it cannot be read as XMP, or its rating is not an integer.
        MissingXmpExtraError: ``pyexiv2`` is missing.
    """
    pyexiv2, path = require_pyexiv2(), Path(sidecar)
    data = _packet(path)
    if data is None:
        return None
    doc = _open(pyexiv2, data, path)
    try:
        value = doc.read_xmp().get(RATING_KEY)
    finally:
        doc.close()
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise XmpError(f"{path}: xmp:Rating {value!r} is not a number") from None


def write_rating(sidecar: str | os.PathLike, rating: int) -> None:
    """Set ``xmp:Rating`` in a sidecar, creating it or merging into it.

    Every other property of an existing sidecar is kept. The file is replaced
    atomically.

    Args:
        sidecar: the sidecar's path (see :func:`sidecar_path`).
        rating: -1 (rejected), 0 (unrated) or 1-5 stars.

    Raises:
        ValueError: a rating outside -1..5.
        XmpError: an existing sidecar cannot be read as XMP, or it cannot be written.
        MissingXmpExtraError: ``pyexiv2`` is missing.
    """
    if isinstance(rating, bool) or int(rating) != rating or not -1 <= rating <= 5:
        raise ValueError(f"an XMP rating is an integer from -1 to 5, got {rating!r}")
    pyexiv2, path = require_pyexiv2(), Path(sidecar)
    data = _packet(path)
    doc = _open(pyexiv2, _EMPTY_PACKET if data is None else data, path)
    try:
        doc.modify_xmp({RATING_KEY: str(int(rating))})
        out = doc.get_bytes()
    except RuntimeError as exc:
        raise XmpError(f"cannot set the rating of {path} ({exc})") from None
    finally:
        doc.close()
    try:
        with atomic_write(path, "wb") as fh:
            fh.write(out)
    except OSError as exc:
        raise XmpError(f"cannot write {path}: {exc.strerror or exc}") from None
