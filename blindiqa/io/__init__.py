"""Decoding and validating inputs: files, PIL images, arrays and tensors.

The names below are imported on first access (PEP 562): :mod:`blindiqa.io.decode`
imports torch, while :mod:`blindiqa.scoring.rows` and :mod:`blindiqa.io.atomic` (which the
command-line parsers use) must not pull it in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blindiqa.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
