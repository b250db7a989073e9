"""Patch grids and the selection of pristine patches."""

from blindiqa.patches.grid import (
    MIN_PATCH_SIZE,
    PATCH_SIZE,
    PATCH_STRIDE,
    check_patch_geometry,
    extract_patches,
    grid_shape,
    patch_geometry_ok,
)
from blindiqa.patches.selection import (
    colourfulness,
    patch_sharpness,
    select_pristine_patches,
)

__all__ = [
    "MIN_PATCH_SIZE",
    "PATCH_SIZE",
    "PATCH_STRIDE",
    "check_patch_geometry",
    "colourfulness",
    "extract_patches",
    "grid_shape",
    "patch_geometry_ok",
    "patch_sharpness",
    "select_pristine_patches",
]
