"""The crops path's machinery: the grid of square crops (patches) an image is cut into,
the selection of a pristine image's sharp, colourful crops, and the pooled features of a
batch of crops (:class:`FeatureExtractor`, also what the encoder is trained on).

Its model is :class:`blindiqa.models.crops.CropsModel`; the one-pass
path's machinery is :mod:`blindiqa.onepass`.
"""

from blindiqa.crops.features import FeatureExtractor
from blindiqa.crops.grid import (
    MIN_PATCH_SIZE,
    PATCH_SIZE,
    PATCH_STRIDE,
    check_patch_geometry,
    extract_patches,
    grid_shape,
    patch_geometry_ok,
)
from blindiqa.crops.selection import (
    colourfulness,
    patch_sharpness,
    select_pristine_patches,
)

__all__ = [
    "FeatureExtractor",
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
