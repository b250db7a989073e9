"""Patch grids and the selection of pristine patches."""

from blindiqa.patches.grid import extract_patches, grid_shape
from blindiqa.patches.selection import (
    colourfulness,
    patch_sharpness,
    select_pristine_patches,
)

__all__ = [
    "colourfulness",
    "extract_patches",
    "grid_shape",
    "patch_sharpness",
    "select_pristine_patches",
]
