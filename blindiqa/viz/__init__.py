"""Pictures: quality maps over images and contact sheets.

The names below are imported on first access (PEP 562): :mod:`blindiqa.viz.maps` imports
torch, while :mod:`blindiqa.viz.checks` (which the command-line parsers use to check
``--map-range`` and ``--map-opacity``) must not pull it in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blindiqa.lazy import lazy_exports

if TYPE_CHECKING:
    from blindiqa.viz.checks import (
        MAP_OPACITY,
        check_map_opacity,
        check_map_range,
        parse_map_range,
    )
    from blindiqa.viz.maps import (
        QUALITY_LEGEND,
        WINDOW_LEGEND,
        cell_colours,
        colormap,
        load_font,
        map_legend,
        render_quality_map,
        tensor_to_pil,
    )

__all__ = ["MAP_OPACITY", "QUALITY_LEGEND", "WINDOW_LEGEND", "cell_colours",
           "check_map_opacity", "check_map_range", "colormap", "load_font", "map_legend",
           "parse_map_range", "render_quality_map", "tensor_to_pil"]

_CHECKS = ("MAP_OPACITY", "check_map_opacity", "check_map_range", "parse_map_range")
#: name -> the module that defines it, imported on first access.
_LAZY = {name: "blindiqa.viz.checks" if name in _CHECKS else "blindiqa.viz.maps"
         for name in __all__}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
