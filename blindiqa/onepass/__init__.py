"""The one-pass scoring engine: the encoder runs once, fully convolutionally, over the
whole image (in tiles when it is large); patch descriptors are windows pooled from its
feature maps brought to one grid.

- :mod:`~blindiqa.onepass.config`: what is computed (``OnePassConfig``, kept in bundles);
- :mod:`~blindiqa.onepass.encoder`: the network pass, resolution limit, padding, tiling;
- :mod:`~blindiqa.onepass.grid`: taps to one grid, window pooling;
- :mod:`~blindiqa.onepass.windows`: window descriptors, activity, pristine selection;
- :mod:`~blindiqa.onepass.distance`: from windows to a score.
"""

from blindiqa.onepass.config import PAD_MULTIPLE, OnePassConfig
from blindiqa.onepass.distance import score_windows, score_windows_tensor
from blindiqa.onepass.encoder import (
    OnePassEncoder,
    build_one_pass_encoder,
    limit_side,
    limited_size,
)
from blindiqa.onepass.windows import Windows, pixel_cells, select_pristine, windows

__all__ = [
    "PAD_MULTIPLE",
    "OnePassEncoder",
    "OnePassConfig",
    "Windows",
    "build_one_pass_encoder",
    "limit_side",
    "limited_size",
    "pixel_cells",
    "score_windows",
    "score_windows_tensor",
    "select_pristine",
    "windows",
]
