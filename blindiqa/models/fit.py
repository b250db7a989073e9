"""Fitting the pristine Gaussian of a deep-feature model (``blindiqa fit-pristine``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from blindiqa.encoders import FeatureExtractor
from blindiqa.gaussian import GaussianStats
from blindiqa.io.decode import decode_image
from blindiqa.io.files import iter_image_files
from blindiqa.models.gaussian_model import (
    FeatureConfig,
    GaussianDistanceModel,
    build_extractor,
    patch_features,
)
from blindiqa.patches import select_pristine_patches

#: method.md: keep patches sharper than 0.75 x the image's sharpest, then those more
#: colourful than 0.8 x the most colourful of them.
SHARPNESS_THRESHOLD = 0.75
COLOUR_THRESHOLD = 0.8


def pristine_stats(extractor: FeatureExtractor, files: Iterable[Path], patch_size: int = 96,
                   sharpness: float = SHARPNESS_THRESHOLD, colour: float = COLOUR_THRESHOLD,
                   progress: bool = False) -> tuple[GaussianStats, dict[str, Any]]:
    """Accumulate the statistics of the selected pristine patches of many images.

    Images that cannot be decoded are skipped and listed in the provenance.

    Returns:
        The merged statistics and a provenance record (image and patch counts, skipped
        files, thresholds).
    """
    stats = GaussianStats.empty(extractor.feature_dim)
    n_images, skipped = 0, []
    for path in tqdm(list(files), desc="pristine", disable=not progress, unit="img"):
        try:
            img = decode_image(path)
        except ValueError as exc:
            skipped.append(f"{path}: {exc}")
            continue
        patches = select_pristine_patches(img, patch_size, sharpness, colour)
        if patches.shape[0]:
            stats = stats + GaussianStats.from_features(patch_features(extractor, patches))
            n_images += 1
    if stats.count < 2:
        raise ValueError(f"only {stats.count} pristine patch(es) found: give more images")
    prov = {"images": n_images, "patches": stats.count, "skipped": skipped,
            "sharpness_threshold": sharpness, "colour_threshold": colour}
    return stats, prov


def fit_pristine(dirs: Sequence[str | os.PathLike], config: FeatureConfig,
                 checkpoint_path: str | None = None, name: str = "model",
                 progress: bool = False) -> GaussianDistanceModel:
    """Fit the pristine Gaussian on the images under ``dirs``.

    Args:
        dirs: folders (walked recursively) or image files.
        config: encoder, layers, normalisation and patch settings.
        checkpoint_path: encoder weights to use instead of the pretrained ones (then the
            weights are stored in the bundle).
        name: the model's name.
        progress: show a progress bar.
    """
    extractor = build_extractor(config, checkpoint_path=checkpoint_path)
    if checkpoint_path is not None:
        config = FeatureConfig(**{**config.to_json(), "layers": config.layers,
                                  "weights": "bundle"})
    files = [p for p, _ in iter_image_files(dirs)]
    if not files:
        raise ValueError(f"no images found in {', '.join(map(str, dirs))}")
    stats, prov = pristine_stats(extractor, files, config.patch_size, progress=progress)
    prov["sources"] = [os.fspath(d) for d in dirs]
    if checkpoint_path is not None:
        prov["encoder_checkpoint"] = os.fspath(checkpoint_path)
    with torch.no_grad():
        return GaussianDistanceModel(extractor, config, stats.mean, stats.cov, name=name,
                                     provenance=prov)
