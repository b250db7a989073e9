"""Finding image files in folders, lazily and in a stable order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from PIL import Image

#: File extensions Pillow can open (lower case, with the dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN
)


def is_image_file(path: str | os.PathLike) -> bool:
    """True where the extension is one that Pillow registers for reading."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


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
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir():
                yield from _walk_sorted(path, seen)
            elif entry.is_file() and is_image_file(entry.name):
                yield path
        except OSError:
            continue


def iter_image_files(paths: Iterable[str | os.PathLike]) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, display_name)`` for every image under the given files and folders.

    Files given explicitly are yielded as given (whatever their extension, so that a bad
    file gets an error row rather than vanishing). Folders are walked recursively, each
    level sorted by name; only files with an image extension are kept and the display
    name is the path relative to the folder argument. Symlink loops are visited once.
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in _walk_sorted(p, set()):
                yield f, f.relative_to(p).as_posix()
        else:
            yield p, str(raw)
