"""Finding image files in folders, lazily and in a stable order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from PIL import Image

from blindiqa.io.formats import EXTRA_EXTENSIONS

#: File extensions of images (lower case, with the dot): those Pillow can open, and the
#: HEIC/HEIF, AVIF and camera raw ones of the ``[formats]`` extra, found whether or not
#: it is installed (without it, such a file gets an error row that names the extra).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN
) | EXTRA_EXTENSIONS


def is_image_file(path: str | os.PathLike) -> bool:
    """True where the extension is one of :data:`IMAGE_EXTENSIONS`."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _listing(root: Path) -> list[tuple[str, bool]]:
    """``(name, is_folder)`` of the sub-folders and image files of one folder, sorted.

    Only names are kept (not ``DirEntry`` objects, nor the other files), so a folder of
    100,000 images costs a few MB while it is walked.
    """
    out: list[tuple[str, bool]] = []
    with os.scandir(root) as it:
        for entry in it:
            try:
                if entry.is_dir():
                    out.append((entry.name, True))
                elif is_image_file(entry.name) and entry.is_file():
                    out.append((entry.name, False))
            except OSError:  # vanished, or a broken / looping link
                continue
    out.sort()
    return out


def _walk_sorted(root: Path, seen: set[tuple[int, int]]) -> Iterator[Path]:
    try:
        st = root.stat()
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:  # symlink loop
        return
    seen.add(key)
    try:
        entries = _listing(root)
    except OSError:  # unreadable folder: nothing to list
        return
    for name, is_dir in entries:
        path = root / name
        if is_dir:
            yield from _walk_sorted(path, seen)
        else:
            yield path


def folder_prefix(folder: str | os.PathLike) -> str:
    """A folder argument as the user typed it, posix-style, without trailing slashes.

    ``"./photos/"`` gives ``"./photos"`` and ``"/"`` gives ``""``, so that
    ``f"{prefix}/{relative}"`` names a file below the folder.
    """
    text = os.fspath(folder)
    if os.sep != "/":
        text = text.replace(os.sep, "/")
    if os.altsep and os.altsep != "/":
        text = text.replace(os.altsep, "/")
    return text.rstrip("/")


def iter_image_files(paths: Iterable[str | os.PathLike], *, full_names: bool = False,
                     ) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, display_name)`` for every image under the given files and folders.

    Files given explicitly are yielded as given (whatever their extension, so that a bad
    file gets an error row rather than vanishing). Folders are walked recursively, each
    level sorted by name; only files with an image extension are kept. Symlink loops are
    visited once.

    Args:
        paths: image files and folders.
        full_names: the display name of a file found under a folder is the folder
            argument as given, joined with the path below it (``dupA/x.jpg``), so that it
            identifies the file among several folders. Otherwise it is the path relative
            to the folder argument (``x.jpg``), which does not depend on where the folder
            is (training resume digests and a fit's provenance labels build on it).
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            prefix = folder_prefix(raw) + "/" if full_names else ""
            for f in _walk_sorted(p, set()):
                yield f, prefix + f.relative_to(p).as_posix()
        else:
            yield p, str(raw)
