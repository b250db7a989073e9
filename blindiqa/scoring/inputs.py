"""The input side of a scoring run: the path arguments and the manifest, walked once,
sharded, and on resume less the inputs the output already has a row for.

One walk does everything a run needs before it scores (:func:`walk_inputs`): it reads
the manifest once (so ``--manifest -`` works from stdin), finds the folder the
``--maps`` layout mirrors, counts the inputs of the shard for the progress bar, and
spools the selected ``(file, name)`` pairs to an anonymous temporary file, which the
scoring reads back lazily. So a collection of millions of files is walked once and held
in bounded memory.
"""

from __future__ import annotations

import json
import os
import posixpath
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from blindiqa.io.files import folder_prefix, iter_image_files
from blindiqa.scoring.rows import Row, iter_manifest, read_rows

__all__ = ["Inputs", "input_args", "iter_inputs", "map_folder", "previous_rows", "select",
           "walk_inputs"]


def input_args(paths: Sequence[str], manifest: str | None) -> Iterator[str]:
    """The input arguments: ``paths``, then the lines of ``manifest`` (read lazily)."""
    yield from paths
    if manifest:
        yield from iter_manifest(manifest)


def iter_inputs(paths: Iterable[str], warn_empty: bool = True,
                ) -> Iterator[tuple[Path, str]]:
    """:func:`~blindiqa.io.files.iter_image_files` with full names, warning of empty folders.

    Args:
        paths: the path arguments, as given.
        warn_empty: write ``blindiqa: warning: no images found in DIR/`` to stderr for
            each folder argument holding no image (the walk goes on with the others).
    """
    for raw in paths:
        found = False
        for item in iter_image_files([raw], full_names=True):
            found = True
            yield item
        if not found and warn_empty:  # only a folder can yield nothing
            _warn(f"blindiqa: warning: no images found in {folder_prefix(raw)}/")


def _warn(text: str) -> None:
    """A warning on stderr that does not break a progress bar."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


def select(items: Iterable[tuple[Path, str]], shard: tuple[int, int] | None,
           skip: Counter | None = None) -> Iterator[tuple[Path, str]]:
    """The items of shard ``(i, N)`` (all without one), less those named in ``skip``
    (each name as many times as it is counted there; ``skip`` is consumed)."""
    for k, (path, name) in enumerate(items):
        if shard is not None and k % shard[1] != shard[0]:
            continue
        if skip and skip[name] > 0:
            skip[name] -= 1
            continue
        yield path, name


def map_folder(raw: str) -> str:
    """The folder an input argument stands for in the ``--maps`` layout: a folder itself,
    a file its folder, as typed (posix-style)."""
    prefix = folder_prefix(raw)
    return prefix if Path(raw).is_dir() else posixpath.dirname(prefix)


def previous_rows(out: str | os.PathLike | None, resume: bool) -> list[Row]:
    """The complete rows an earlier run left in ``out`` (with ``resume``; else none).

    Raises:
        RowFileError: ``out`` is not a row file this version can append to.
    """
    if not (resume and out and Path(out).exists()):
        return []
    return read_rows(out)


class Inputs:
    """The inputs a run scores, walked once (see :func:`walk_inputs`); iterate it for the
    ``(file, display name)`` pairs, in the order they were found, as often as needed.

    Attributes:
        count: how many inputs are selected (in the shard, less the skipped ones).
        maps_base: the deepest folder above every input argument, which the ``--maps``
            layout mirrors (``""`` where there is none, e.g. absolute and relative
            arguments mixed).
    """

    def __init__(self, spool: IO[str], count: int, maps_base: str) -> None:
        self._spool = spool
        self.count = count
        self.maps_base = maps_base

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[Path, str]]:
        self._spool.seek(0)
        for line in self._spool:
            file, name = json.loads(line)
            yield Path(file), name

    def close(self) -> None:
        """Delete the spool (also done when the object is collected)."""
        self._spool.close()

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def walk_inputs(paths: Sequence[str], manifest: str | None = None, *,
                shard: tuple[int, int] | None = None, skip: Counter | None = None,
                warn_empty: bool | None = None) -> Inputs:
    """Walk the inputs of a run once.

    Args:
        paths: image files and folders, as typed (folders are walked recursively; a
            file found below a folder is named by the folder as typed joined with the
            path below it).
        manifest: a file listing more files and folders, one per line (``-``: stdin;
            read once).
        shard: ``(i, N)``: keep only the inputs numbered i, i+N, i+2N ... in the order
            they are found, the same in every run.
        skip: display names to leave out, each as many times as counted (``--resume``:
            the rows already written); consumed.
        warn_empty: warn of each folder argument without images (default: where there
            is more than one argument; a lone empty folder is the caller's error).

    Returns:
        The selected inputs.

    Raises:
        OSError: the manifest cannot be read.
    """
    if warn_empty is None:
        warn_empty = len(paths) + bool(manifest) > 1
    base: str | None = None
    mixed = False

    def arguments() -> Iterator[str]:  # notes each argument's folder on the way
        nonlocal base, mixed
        for raw in input_args(paths, manifest):
            if not mixed:
                folder = map_folder(raw)
                try:
                    base = posixpath.commonpath([folder] if base is None else [base, folder])
                except ValueError:  # absolute and relative inputs mixed
                    mixed = True
            yield raw

    spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (Inputs closes it)
    count = 0
    try:
        for file, name in select(iter_inputs(arguments(), warn_empty), shard, skip):
            spool.write(json.dumps([os.fspath(file), name]) + "\n")
            count += 1
        spool.flush()
    except BaseException:
        spool.close()
        raise
    return Inputs(spool, count, "" if mixed else base or "")
