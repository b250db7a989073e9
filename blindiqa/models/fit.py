"""Fitting the pristine Gaussian of a deep-feature model (``blindiqa fit-pristine``): the
crop-based scorer (:func:`fit_pristine`) and the one-pass engine (:func:`fit_dense`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from blindiqa.encoders import FeatureExtractor
from blindiqa.engine import (
    DenseEncoder,
    EngineConfig,
    build_dense_encoder,
    limit_side,
    pixel_cells,
    select_pristine,
    windows,
)
from blindiqa.gaussian import GaussianStats
from blindiqa.io.decode import decode_image
from blindiqa.io.files import iter_image_files
from blindiqa.models.dense_model import DenseGaussianModel
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


def dense_pristine_stats(model: DenseGaussianModel | DenseEncoder, files: Iterable[Path],
                         progress: bool = False) -> tuple[GaussianStats, dict[str, Any]]:
    """Statistics of the selected windows of many pristine images (one-pass engine).

    Each image is limited to the config's ``max_side``, goes once through the encoder,
    and the windows its ``selection`` rule keeps are accumulated.

    Returns:
        The merged statistics and a provenance record.
    """
    encoder = model.encoder if isinstance(model, DenseGaussianModel) else model
    cfg = encoder.config
    stats = GaussianStats.empty(encoder.feature_dim)
    n_images, skipped = 0, []
    for path in tqdm(list(files), desc="pristine", disable=not progress, unit="img"):
        try:
            img = limit_side(decode_image(path), cfg.max_side)
        except ValueError as exc:
            skipped.append(f"{path}: {exc}")
            continue
        if min(img.shape[-2:]) < cfg.min_side:
            skipped.append(f"{path}: smaller than {cfg.min_side} pixels")
            continue
        with torch.inference_mode():
            wins = windows(encoder(img), cfg, encoder.dims)
            cells = (pixel_cells(img, cfg.grid_stride) if cfg.selection == "sharpness-colour"
                     else None)
            keep = select_pristine(cells, wins, cfg, SHARPNESS_THRESHOLD, COLOUR_THRESHOLD)
        if keep.any():
            stats = stats + GaussianStats.from_features(wins.features[keep])
            n_images += 1
    if stats.count < 2:
        raise ValueError(f"only {stats.count} pristine window(s) found: give more images")
    prov = {"images": n_images, "patches": stats.count, "skipped": skipped,
            "selection": cfg.selection}
    if cfg.selection == "sharpness-colour":
        prov.update(sharpness_threshold=SHARPNESS_THRESHOLD, colour_threshold=COLOUR_THRESHOLD)
    return stats, prov


def fit_dense(dirs: Sequence[str | os.PathLike], config: EngineConfig,
              checkpoint_path: str | None = None, name: str = "model",
              progress: bool = False) -> DenseGaussianModel:
    """Fit the pristine Gaussian of a one-pass (dense) model on the images under ``dirs``.

    Args:
        dirs: folders (walked recursively) or image files.
        config: the engine configuration.
        checkpoint_path: encoder weights to use instead of the pretrained ones (a
            ``blindiqa train`` checkpoint; then the weights are stored in the bundle).
        name: the model's name.
        progress: show a progress bar.
    """
    if checkpoint_path is not None:
        config = EngineConfig.from_json({**config.to_json(), "weights": "bundle"})
    encoder = build_dense_encoder(config, checkpoint_path=checkpoint_path)
    files = [p for p, _ in iter_image_files(dirs)]
    if not files:
        raise ValueError(f"no images found in {', '.join(map(str, dirs))}")
    stats, prov = dense_pristine_stats(encoder, files, progress=progress)
    prov["sources"] = [os.fspath(d) for d in dirs]
    if checkpoint_path is not None:
        prov["encoder_checkpoint"] = os.fspath(checkpoint_path)
    return DenseGaussianModel(encoder, stats.mean, stats.cov, name=name, provenance=prov)
