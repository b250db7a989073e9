"""Decoding and validating inputs: files, PIL images, arrays and tensors.

The names below are imported on first access (PEP 562): :mod:`blindiqa.io.decode`
imports torch, while :mod:`blindiqa.io.rows` and :mod:`blindiqa.io.atomic` (which the
command-line parsers use) must not pull it in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blindiqa.io.decode import ImageDecodeError, decode_image, to_tensor
    from blindiqa.io.files import iter_image_files

__all__ = ["ImageDecodeError", "decode_image", "iter_image_files", "to_tensor"]

#: name -> the module that defines it, imported on first access.
_LAZY = {
    "ImageDecodeError": "blindiqa.io.decode",
    "decode_image": "blindiqa.io.decode",
    "to_tensor": "blindiqa.io.decode",
    "iter_image_files": "blindiqa.io.files",
}


def __getattr__(name: str) -> Any:
    """Import the exported names on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
