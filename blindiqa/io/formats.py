"""The photo formats of the optional ``[formats]`` extra: HEIC/HEIF, AVIF and camera raw.

HEIC/HEIF (the iPhone default) is read by ``pillow-heif``, whose opener is registered
with Pillow once, on the first such file (never at ``import blindiqa``). AVIF is read by
Pillow itself (built in from Pillow 11.3; the extra asks for it), or by ``pillow-heif``
where an older Pillow lacks it. Camera raw files (DNG, CR2, CR3, NEF, ARW, ...) are read
by ``rawpy`` (LibRaw): see :mod:`blindiqa.io.raw` for how they are rendered.

Where a package is missing, :func:`missing_extra` says so in one line that names the
extra, which the decoder turns into the file's error row. This module imports neither
Pillow nor the optional packages at import time.
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from types import ModuleType

#: What to install for the formats of this module.
INSTALL_HINT = "install blindiqa[formats] (pip install 'blindiqa[formats]')"

#: HEIF containers of HEVC pictures (iPhone photos and most Android "HEIC" ones).
HEIF_EXTENSIONS: frozenset[str] = frozenset(
    {".heic", ".heics", ".heif", ".heifs", ".hif"})

#: AVIF (AV1 pictures in a HEIF container).
AVIF_EXTENSIONS: frozenset[str] = frozenset({".avif", ".avifs"})

#: Camera raw files LibRaw reads, by the extension their cameras write.
RAW_EXTENSIONS: frozenset[str] = frozenset({
    ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".fff", ".gpr",
    ".iiq", ".k25", ".kdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef",
    ".raf", ".raw", ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
})

#: Every extension of this module: a folder walk finds these files with or without the
#: extra, so that a file it cannot read gets an error row naming the extra.
EXTRA_EXTENSIONS: frozenset[str] = HEIF_EXTENSIONS | AVIF_EXTENSIONS | RAW_EXTENSIONS

#: ISO base media brands (``ftyp`` box) of HEIF and AVIF files, for a file whose name
#: does not say what it is.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                          b"msf1", b"avif", b"avis"})

_lock = threading.Lock()
_heif_registered: bool | None = None  # None: not tried yet


def is_raw(path: str | os.PathLike) -> bool:
    """Whether the file's extension is a camera raw one (:data:`RAW_EXTENSIONS`)."""
    return Path(path).suffix.lower() in RAW_EXTENSIONS


def is_heif_family(path: str | os.PathLike) -> bool:
    """Whether the file's extension is HEIC/HEIF or AVIF."""
    return Path(path).suffix.lower() in HEIF_EXTENSIONS | AVIF_EXTENSIONS


def has_heif_brand(head: bytes) -> bool:
    """Whether the first bytes of a file are a HEIF or AVIF ``ftyp`` box."""
    return len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def register_heif() -> bool:
    """Register ``pillow-heif``'s HEIF opener with Pillow, once per process.

    Returns:
        Whether ``pillow-heif`` is installed (and so registered).
    """
    global _heif_registered
    with _lock:
        if _heif_registered is None:
            try:
                pillow_heif = importlib.import_module("pillow_heif")
            except ImportError:
                _heif_registered = False
            else:
                # thumbnails, depth and auxiliary images are never scored: skip them
                pillow_heif.register_heif_opener(thumbnails=False, depth_images=False,
                                                 aux_images=False)
                _heif_registered = True
        return _heif_registered


def heif_registered() -> bool:
    """Whether :func:`register_heif` has registered the HEIF opener in this process."""
    return _heif_registered is True


def pillow_reads_avif() -> bool:
    """Whether this Pillow decodes AVIF itself (Pillow 11.3 and later, as built)."""
    from PIL import features

    try:
        return bool(features.check("avif"))
    except ValueError:  # a Pillow older than the "avif" feature
        return False


def import_rawpy() -> ModuleType:
    """``rawpy`` (the one place that imports it, so that tests can hide it).

    Raises:
        ImportError: ``rawpy`` is not installed.
    """
    return importlib.import_module("rawpy")


def rawpy_available() -> bool:
    """Whether ``rawpy`` can be imported."""
    try:
        import_rawpy()
    except ImportError:
        return False
    return True


def format_label(path: str | os.PathLike) -> str:
    """How an error names a file's format: ``HEIC``, ``AVIF`` or ``NEF (camera raw)``."""
    ext = Path(path).suffix.lower()
    if ext in RAW_EXTENSIONS:
        return f"{ext[1:].upper()} (camera raw)"
    if ext in AVIF_EXTENSIONS:
        return "AVIF"
    return ext[1:].upper() if ext in HEIF_EXTENSIONS else "HEIF"


def missing_extra(path: str | os.PathLike, *, sniffed_heif: bool = False) -> str | None:
    """The error for a file that needs a package of the extra that is not installed.

    Registers the HEIF opener on the way where it is needed (:func:`register_heif`).

    Args:
        path: the file (its extension says which package it needs).
        sniffed_heif: its content starts as a HEIF/AVIF file, whatever its name.

    Returns:
        ``"cannot read HEIC: install blindiqa[formats] (...)"`` and the like, or None
        where the file needs nothing missing.
    """
    ext = Path(path).suffix.lower()
    if ext in RAW_EXTENSIONS:
        ok = rawpy_available()
    elif ext in AVIF_EXTENSIONS:
        ok = pillow_reads_avif() or register_heif()
    elif ext in HEIF_EXTENSIONS or sniffed_heif:
        ok = register_heif()
    else:
        return None
    return None if ok else f"cannot read {format_label(path)}: {INSTALL_HINT}"
