"""Pictures: quality maps over images and contact sheets."""

from blindiqa.viz.maps import (
    QUALITY_LEGEND,
    cell_colours,
    check_map_range,
    colormap,
    load_font,
    map_legend,
    parse_map_range,
    render_quality_map,
    tensor_to_pil,
)

__all__ = ["QUALITY_LEGEND", "cell_colours", "check_map_range", "colormap", "load_font",
           "map_legend", "parse_map_range", "render_quality_map", "tensor_to_pil"]
