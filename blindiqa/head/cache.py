"""Cached window descriptors for training a head: the frozen engine runs once per image.

Two kinds of cache, each a dict saved with ``torch.save`` (float16 descriptors):

* **synthetic** (:func:`build_synthetic_cache`): every pristine image, as it is and under
  ``types`` seeded KADID-10k distortion types at all 5 levels (``1 + 5 types``
  versions), with the descriptors of the same ``windows`` window positions in every
  version: ``features (images, versions, windows, D)``, ``levels (images, versions)``
  (0 = the pristine image) and ``types (images, versions)`` (-1 for the pristine one).
  The distortions keep the geometry, so position ``j`` is the same part of the scene at
  every level (for the level-ranking loss).
* **authentic** (:func:`build_authentic_cache`): ``windows`` seeded window positions of
  every unlabeled photo: ``features (images, windows, D)`` and ``content (images,
  windows, 1000)``, the frozen ImageNet classifier's logits over each window (the
  encoder's 1280-channel ``head`` map averaged over the window, through its classifier):
  the content feature of the CLUB penalty. Given the training-free model's pristine
  Gaussian (``reference``), it also keeps ``pseudo (images, windows)``, each window's
  training-free distance, and ``image_scores (images,)``, each photo's training-free
  score: the pseudo-labels of self-training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from blindiqa.distortions import NAMES, NUM_LEVELS, apply_distortion
from blindiqa.gaussian import patch_distances
from blindiqa.io.decode import decode_image
from blindiqa.onepass import (
    OnePassConfig,
    OnePassEncoder,
    Windows,
    build_one_pass_encoder,
    limit_side,
    windows,
)
from blindiqa.onepass.distance import image_cov
from blindiqa.onepass.grid import to_grid, window_mean
from blindiqa.onepass.windows import activity_weights, window_side

CACHE_KINDS = ("synthetic", "authentic")


def sample_positions(count: int, windows_per_image: int, generator: torch.Generator
                     ) -> torch.Tensor:
    """``windows_per_image`` window indices out of ``count``: distinct when there are
    enough, else drawn with replacement."""
    if count < 1:
        raise ValueError("the image holds no window")
    if count >= windows_per_image:
        return torch.randperm(count, generator=generator)[:windows_per_image]
    return torch.randint(count, (windows_per_image,), generator=generator)


class ContentFeatures:
    """The frozen ImageNet classifier's logits over every window of an image.

    Args:
        config: the engine settings (the encoder, its normalisation and the windows).
    """

    def __init__(self, config: OnePassConfig) -> None:
        self.config = config
        cfg = OnePassConfig(**{**config.to_json(), "taps": ("head",), "grid_stride": 32})
        self.encoder = build_one_pass_encoder(cfg)
        self.classifier = self.encoder.network._fc

    @torch.inference_mode()
    def head_map(self, image: torch.Tensor) -> torch.Tensor:
        """The 1280-channel ``head`` map ``(1280, H // 32, W // 32)`` of an image (after
        ``max_side``)."""
        return self.encoder(limit_side(image, self.config.max_side))

    @torch.inference_mode()
    def from_map(self, head_map: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
        """Logits ``(P, 1000)`` of the windows of a grid of ``rows`` x ``cols`` cells, from
        the head map (float32)."""
        g = self.config.grid_stride
        fine = to_grid(head_map[None].float(), 32, g)
        # the head map keeps only the 32-px cells wholly inside the image, the grid the
        # finer cells: the last row or column of the grid may lack a head cell, which
        # then repeats its neighbour
        pad_rows, pad_cols = max(0, rows - fine.shape[-2]), max(0, cols - fine.shape[-1])
        if pad_rows or pad_cols:
            fine = F.pad(fine, (0, pad_cols, 0, pad_rows), mode="replicate")
        fine = fine[:, :, :rows, :cols]
        side = window_side(self.config, rows, cols)
        pooled = window_mean(fine, side, self.config.window_stride, self.config.window_shape)
        return self.classifier(pooled[0].flatten(1).T.to(self.classifier.weight))


def _descriptors(encoder: OnePassEncoder, image: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    with torch.inference_mode():
        grid = encoder(limit_side(image, encoder.config.max_side))
    wins = windows(grid, encoder.config, encoder.dims)
    return wins.features, grid.shape[-2], grid.shape[-1]


def choose_types(generator: torch.Generator, types: int) -> list[str]:
    """``types`` distinct distortion names drawn with ``generator``."""
    if not 1 <= types <= len(NAMES):
        raise ValueError(f"types must be in 1..{len(NAMES)}, got {types}")
    return [NAMES[int(i)] for i in torch.randperm(len(NAMES), generator=generator)[:types]]


def build_synthetic_cache(files: Sequence[Path], config: OnePassConfig, *, types: int = 3,
                          windows_per_image: int = 48, seed: int = 0,
                          encoder: OnePassEncoder | None = None,
                          progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The synthetic cache of pristine images (see the module docstring).

    Args:
        files: pristine images.
        config: the engine settings whose descriptors are cached.
        types: distortion types per image (all 5 levels of each).
        windows_per_image: window positions kept per image.
        seed: seeds the types, the positions and the distortions' own draws.
        encoder: the frozen one-pass encoder of ``config`` (built when None).
        progress: called with 1 after each image.
    """
    encoder = encoder or build_one_pass_encoder(config)
    gen = torch.Generator().manual_seed(seed)
    feats, levels, kinds, names = [], [], [], []
    for path in files:
        img = decode_image(path)
        chosen = choose_types(gen, types)
        versions = [(img, 0, -1)]
        for name in chosen:
            for level in range(1, NUM_LEVELS + 1):
                out = apply_distortion(img[None], name, level, generator=gen)[0].clamp(0, 1)
                versions.append((out, level, NAMES.index(name)))
        pos = None
        per_version = []
        for im, _, _ in versions:
            f, _, _ = _descriptors(encoder, im)
            if pos is None:
                pos = sample_positions(f.shape[0], windows_per_image, gen)
            if f.shape[0] <= int(pos.max()):
                raise ValueError(f"{path}: a distortion changed the image size")
            per_version.append(f[pos].half())
        feats.append(torch.stack(per_version))
        levels.append(torch.tensor([v[1] for v in versions]))
        kinds.append(torch.tensor([v[2] for v in versions]))
        names.append(str(path))
        if progress is not None:
            progress(1)
    return {"kind": "synthetic", "features": torch.stack(feats), "levels": torch.stack(levels),
            "types": torch.stack(kinds), "names": names, "config": config.to_json(),
            "dims": list(encoder.dims), "seed": seed}


def window_content(grid: torch.Tensor, head_map: torch.Tensor, config: OnePassConfig,
                   dims: list[int], content: ContentFeatures) -> tuple[Windows, torch.Tensor]:
    """All windows of one image and their content logits ``(P, 1000)``, from its grid
    features and head map."""
    wins = windows(grid.float(), config, dims)
    logits = content.from_map(head_map, grid.shape[-2], grid.shape[-1])
    if logits.shape[0] != wins.features.shape[0]:
        raise ValueError("content and descriptor windows disagree in number")
    return wins, logits


def training_free_distances(wins: Windows, mean: torch.Tensor, cov: torch.Tensor,
                            ridge: float) -> tuple[torch.Tensor, float]:
    """Each window's distance to a pristine Gaussian and the photo's score (the
    activity-weighted mean), as the training-free one-pass model computes them."""
    dist = patch_distances(wins.features, mean, cov, image_cov(wins.features), ridge)
    w = activity_weights(wins.activity)
    return dist, float((w * dist).sum() / w.sum())


def build_authentic_cache(files: Sequence[Path], config: OnePassConfig, *,
                          windows_per_image: int = 48, seed: int = 0,
                          encoder: OnePassEncoder | None = None,
                          reference: tuple[torch.Tensor, torch.Tensor] | None = None,
                          progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The authentic cache of unlabeled photos (see the module docstring).

    Args:
        files: unlabeled photos.
        config: the engine settings whose descriptors are cached.
        windows_per_image: window positions kept per photo.
        seed: seeds the positions.
        encoder: the frozen one-pass encoder of ``config`` (built when None).
        reference: the training-free model's pristine mean and covariance (in the
            descriptors' space): when given, the cache keeps the self-training
            pseudo-labels.
        progress: called with 1 after each photo.
    """
    encoder = encoder or build_one_pass_encoder(config)
    content = ContentFeatures(config)
    gen = torch.Generator().manual_seed(seed)
    feats, logits, names, pseudo, image_scores = [], [], [], [], []
    for path in files:
        img = decode_image(path)
        with torch.inference_mode():
            grid = encoder(limit_side(img, config.max_side))
        wins, c = window_content(grid, content.head_map(img), config, encoder.dims, content)
        pos = sample_positions(wins.features.shape[0], windows_per_image, gen)
        feats.append(wins.features[pos].half())
        logits.append(c[pos].half())
        names.append(str(path))
        if reference is not None:
            dist, score = training_free_distances(wins, *reference, config.ridge)
            pseudo.append(dist[pos].float())
            image_scores.append(score)
        if progress is not None:
            progress(1)
    extra: dict[str, Any] = {}
    if reference is not None:
        extra = {"pseudo": torch.stack(pseudo),
                 "image_scores": torch.tensor(image_scores, dtype=torch.float64)}
    return {"kind": "authentic", "features": torch.stack(feats), "content": torch.stack(logits),
            "names": names, "config": config.to_json(), "dims": list(encoder.dims),
            "seed": seed, **extra}


def check_cache(cache: dict[str, Any], kind: str) -> None:
    """Raise ``ValueError`` unless ``cache`` is a cache of ``kind``."""
    if not isinstance(cache, dict) or cache.get("kind") != kind:
        got = cache.get("kind") if isinstance(cache, dict) else type(cache).__name__
        raise ValueError(f"expected a {kind} window cache, got {got!r}")
