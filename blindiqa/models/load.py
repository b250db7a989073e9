"""``blindiqa.load``: a scorer from a registry name or a bundle file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from blindiqa.models.base import QualityModel
from blindiqa.models.bundle import BundleError, load_bundle, one_line
from blindiqa.models.quality_scale import QualityScale, WindowScale
from blindiqa.models.registry import (
    bundle_loader,
    bundle_options,
    get_entry,
    is_model,
    refuse_options,
    unknown_model_error,
)
from blindiqa.runtime import keep_freed_memory


def load_file(path: str | os.PathLike, **options: Any) -> QualityModel:
    """Load a model bundle file written by ``blindiqa fit-pristine``.

    The file is read with ``safetensors`` only, so loading never runs code from it.

    Raises:
        BundleError: the file is not a valid bundle, its kind is unknown, or its content
            does not make a model of that kind (missing or misshapen tensors, a bad
            config).
        ValueError: an option does not apply to this kind of model.
    """
    tensors, metadata = load_bundle(path)
    kind = metadata["kind"]
    try:
        loader = bundle_loader(kind)
    except ValueError as exc:
        raise BundleError(f"{path}: {one_line(exc, limit=300)}") from exc
    refuse_options(options, bundle_options(kind), f"{kind!r} model files")
    try:
        model = loader(tensors, metadata, name=Path(path).name, **options)
        model.quality_scale = QualityScale.from_bundle(tensors, metadata)
        model.window_scale = WindowScale.from_bundle(tensors, metadata)
        model.bundle_path = Path(path)
        return model
    except BundleError:
        raise
    except TypeError as exc:
        raise _unusable(path, kind, exc) from exc
    except ValueError as exc:  # the loader's own check; make sure the file is named
        msg = one_line(exc, limit=300)
        raise BundleError(msg if Path(path).name in msg else f"{path}: {msg}") from exc
    except (KeyError, IndexError, AttributeError, RuntimeError) as exc:
        raise _unusable(path, kind, exc) from exc


def _unusable(path: str | os.PathLike, kind: str, exc: Exception) -> BundleError:
    """The error for a bundle whose checksum is right but whose content is no model."""
    return BundleError(f"{path}: the bundle does not hold a usable {kind!r} model "
                       f"({type(exc).__name__}: {one_line(exc)})")


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

    The first call also tunes this process's ``malloc`` to keep freed memory for reuse
    (:func:`blindiqa.runtime.keep_freed_memory`; ``BLINDIQA_KEEP_MEMORY=0`` turns it
    off): the encoder's feature maps then cost no fresh pages at every image.
    """
    keep_freed_memory()
    key = os.fspath(name_or_path)
    if is_model(key):
        entry = get_entry(key)
        refuse_options(options, entry.options, f"model {key!r}")
        model = entry.factory(**options)
    elif Path(key).exists() or key.endswith(".safetensors"):
        model = load_file(key, **options)
    else:
        raise unknown_model_error(key)
    if device is not None:
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but CUDA is not available")
        model = model.to(dev)
    return model.eval()
