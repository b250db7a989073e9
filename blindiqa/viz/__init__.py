"""Pictures: quality maps over images and contact sheets."""

from blindiqa.viz.maps import colormap, render_quality_map, tensor_to_pil

__all__ = ["colormap", "render_quality_map", "tensor_to_pil"]
