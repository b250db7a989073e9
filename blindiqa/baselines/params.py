"""Parameter files shared by the NIQE-family baselines (NIQE, IL-NIQE).

Finding, reading and checking their parameter files (MATLAB ``.mat``, blindiqa bundles
of the right ``kind``, the shipped defaults), the pristine images a fit reads, and
registering a baseline with its bundle kind. Each caller passes its own wording, so
that the messages name the model ("NIQE parameter", "IL-NIQE template", ...).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import scipy.io
import torch

from blindiqa.models.base import QualityModel
from blindiqa.models.bundle import load_bundle
from blindiqa.models.registry import ModelEntry, register_bundle_kind, register_model

__all__ = ["SHIPPED_WEIGHTS", "existing_file", "load_kind_bundle", "load_mat",
           "pristine_images", "register_baseline", "reject_options", "shipped_or_given"]

#: ``ModelInfo.weights`` of a scorer built from its shipped parameter file.
SHIPPED_WEIGHTS = "shipped: fitted on data/pristine"


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a :class:`Path`; ``ValueError("no such {what} file: ...")`` if absent."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such {what} file: {p}")
    return p


def load_mat(path: Path, what: str) -> dict[str, Any]:
    """``scipy.io.loadmat(path)``; any read failure is a ``ValueError`` naming ``what``."""
    source = str(path)
    try:
        return scipy.io.loadmat(source)
    except (OSError, ValueError, NotImplementedError, scipy.io.matlab.MatReadError) as exc:
        raise ValueError(f"{source}: not a readable .mat {what}: {exc}") from exc


def load_kind_bundle(path: Path, kind: str, label: str
                     ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a bundle that must be of ``kind``; ``label`` is e.g. ``"a NIQE"``.

    Raises:
        ValueError: the bundle cannot be read, or is of another kind.
    """
    tensors, meta = load_bundle(path)
    if meta.get("kind") != kind:
        raise ValueError(f"{path} is a {meta.get('kind')!r} model, not {label} one")
    return tensors, meta


def shipped_or_given(params: str | os.PathLike | None, shipped: Path,
                     missing: str) -> tuple[Path, str]:
    """The parameter file to use and the scorer's ``weights`` description.

    Args:
        params: the file the user gave, or ``None`` for the shipped one.
        shipped: the shipped file.
        missing: the message when the shipped file is absent (``{path}`` is filled in).

    Returns:
        ``(path, weights)``.
    """
    path = shipped if params is None else Path(params)
    if params is None and not path.is_file():
        raise ValueError(missing.format(path=path))
    return path, SHIPPED_WEIGHTS if params is None else str(path)


def reject_options(options: Mapping[str, Any], label: str) -> None:
    """A model file of this kind takes no options; ``label`` is e.g. ``"a NIQE"``."""
    if options:
        raise ValueError(f"{label} model file takes no options, got {sorted(options)}")


def pristine_images(dirs: Iterable[str | os.PathLike]) -> list[tuple[Path, str, str]]:
    """The images a fit reads: ``(path, folder label, file name)`` for each.

    The folder label is the argument's name followed by the image's sub-folder (for a
    file argument, the name of its folder), so ``f"{label}/{name}"`` names each image.

    Raises:
        ValueError: a file or folder does not exist.
    """
    from blindiqa.io.files import iter_image_files

    out = []
    for d in dirs:
        root = Path(d)
        if not root.exists():
            raise ValueError(f"no such file or folder: {root}")
        base = root.name if root.is_dir() else root.parent.name
        for path, rel in iter_image_files([root]):
            parent = Path(rel).parent.as_posix() if root.is_dir() else ""
            label = f"{base}/{parent}" if parent not in ("", ".") else base
            out.append((path, label, Path(rel).name))
    return out


def register_baseline(entry: ModelEntry, kind: str,
                      loader: Callable[..., QualityModel]) -> None:
    """Register a named baseline and the loader of its bundle ``kind``."""
    register_model(entry)
    register_bundle_kind(kind, loader)
