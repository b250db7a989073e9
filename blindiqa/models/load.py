"""``blindiqa.load``: a scorer from a registry name or a bundle file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from blindiqa.models.base import QualityModel
from blindiqa.models.bundle import load_bundle
from blindiqa.models.registry import _MODELS, _ensure_builtin, bundle_loader, get_entry


def load_file(path: str | os.PathLike, **options: Any) -> QualityModel:
    """Load a model bundle file written by ``blindiqa fit-pristine``."""
    tensors, metadata = load_bundle(path)
    return bundle_loader(metadata["kind"])(tensors, metadata, name=Path(path).name, **options)


def load(name_or_path: str | os.PathLike = "default", device: str | torch.device | None = None,
         **options: Any) -> QualityModel:
    """Load a scorer.

    Args:
        name_or_path: a registered name (see ``blindiqa models``) or the path of a model
            bundle file.
        device: where to run it (``"cpu"``, ``"cuda"``); default CPU.
        **options: model-specific options (e.g. ``params=`` for ``niqe``).

    Returns:
        The scorer in eval mode.

    Raises:
        ValueError: unknown name, unreadable file, or an unavailable device.
    """
    _ensure_builtin()
    key = os.fspath(name_or_path)
    if key in _MODELS:
        model = get_entry(key).factory(**options)
    elif Path(key).exists() or key.endswith(".safetensors"):
        model = load_file(key, **options)
    else:
        get_entry(key)  # raises the "unknown model" error listing the names
        raise AssertionError("unreachable")
    if device is not None:
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but CUDA is not available")
        model = model.to(dev)
    return model.eval()
