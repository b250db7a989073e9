"""The one-pass scoring engine: the encoder runs once, fully convolutionally, over the
whole image (in tiles when it is large); patch descriptors are windows pooled from its
feature maps brought to one grid.

- :mod:`~blindiqa.engine.config`: what is computed (``EngineConfig``, kept in bundles);
- :mod:`~blindiqa.engine.dense`: the network pass, resolution limit, padding, tiling;
- :mod:`~blindiqa.engine.grid`: taps to one grid, window pooling;
- :mod:`~blindiqa.engine.windows`: window descriptors, activity, pristine selection;
- :mod:`~blindiqa.engine.distance`: from windows to a score.
"""

from blindiqa.engine.config import PAD_MULTIPLE, EngineConfig
from blindiqa.engine.dense import DenseEncoder, build_dense_encoder, limit_side, limited_size
from blindiqa.engine.distance import score_windows, score_windows_tensor
from blindiqa.engine.windows import Windows, pixel_cells, select_pristine, windows

__all__ = [
    "PAD_MULTIPLE",
    "DenseEncoder",
    "EngineConfig",
    "Windows",
    "build_dense_encoder",
    "limit_side",
    "limited_size",
    "pixel_cells",
    "score_windows",
    "score_windows_tensor",
    "select_pristine",
    "windows",
]
