"""Model bundle files: tensors + JSON metadata in one safetensors file.

A bundle never contains code: it is read with ``safetensors`` only, so loading a file
cannot execute anything. A SHA-256 checksum over the tensors and the metadata is stored
in the file and verified on load, so a truncated or tampered bundle is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from blindiqa.io.atomic import atomic_write

FORMAT = "blindiqa-bundle"
FORMAT_VERSION = 1


class BundleError(ValueError):
    """A model file is not a valid blindiqa bundle."""


def _checksum(tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_bundle(path: str | os.PathLike, tensors: dict[str, torch.Tensor],
                metadata: dict[str, Any]) -> None:
    """Write a bundle atomically (:func:`blindiqa.io.atomic.atomic_write`).

    Args:
        path: output file (``.safetensors`` by convention).
        tensors: named tensors (any dtype; kept as given).
        metadata: JSON-serialisable description; must contain ``kind``.
    """
    if "kind" not in metadata:
        raise ValueError("bundle metadata needs a 'kind'")
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = dict(metadata)
    header = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "metadata": json.dumps(meta, sort_keys=True),
        "sha256": _checksum(tensors, meta),
    }
    with atomic_write(path, "wb") as fh:  # the temporary file exists while it is built
        fh.write(save(tensors, metadata=header))


def load_bundle(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify a bundle.

    Returns:
        ``(tensors, metadata)``.

    Raises:
        BundleError: the file is missing, not a safetensors file (a pickle, a zip,
            random bytes ...), not a blindiqa bundle, of a newer format version, or its
            checksum does not match (truncated or modified).
    """
    path = Path(path)
    if path.is_dir():
        raise BundleError(f"{path} is a directory, not a model file")
    if not path.exists():
        raise BundleError(f"no such model file: {path}")
    if not path.is_file():
        raise BundleError(f"{path} is not a regular file")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError, MemoryError) as exc:
        raise BundleError(
            f"{path} is not a readable model bundle (truncated or not safetensors): "
            f"{one_line(exc)}"
        ) from exc
    if header.get("format") != FORMAT:
        raise BundleError(f"{path} is a safetensors file but not a blindiqa model bundle")
    version = header.get("format_version", "")
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {version!r} is not supported by "
                          f"this blindiqa (it reads version {FORMAT_VERSION}); upgrade blindiqa")
    try:
        metadata = json.loads(header["metadata"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: bundle metadata is missing or corrupt") from exc
    if not isinstance(metadata, dict) or not isinstance(metadata.get("kind"), str):
        raise BundleError(f"{path}: bundle metadata is corrupt (no model kind)")
    if header.get("sha256") != _checksum(tensors, metadata):
        raise BundleError(f"{path}: checksum mismatch, the file was modified or damaged")
    return tensors, metadata


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, shortened to ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
