"""Fitting the pristine Gaussian of a deep-feature model (``blindiqa fit-pristine``): the
crops path (:func:`fit_crops`) and the one-pass path (:func:`fit_one_pass`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch

from blindiqa.crops import FeatureExtractor, select_pristine_patches
from blindiqa.crops.grid import PATCH_SIZE
from blindiqa.gaussian import GaussianStats
from blindiqa.head import QualityHead
from blindiqa.io.decode import decode_image
from blindiqa.io.files import iter_image_files
from blindiqa.models.crops import (
    CropsConfig,
    CropsModel,
    build_extractor,
    patch_features,
)
from blindiqa.models.one_pass import OnePassModel
from blindiqa.onepass import (
    OnePassConfig,
    OnePassEncoder,
    build_one_pass_encoder,
    limit_side,
    pixel_cells,
    select_pristine,
    windows,
)
from blindiqa.progress import Progress

#: method.md: keep patches sharper than 0.75 x the image's sharpest, then those more
#: colourful than 0.8 x the most colourful of them.
SHARPNESS_THRESHOLD = 0.75
COLOUR_THRESHOLD = 0.8


def require_samples(stats: GaussianStats, unit: str, minimum: int = 2) -> None:
    """``ValueError`` unless ``stats`` holds at least ``minimum`` feature vectors
    (``unit`` names them: "patch", "window")."""
    if stats.count < minimum:
        raise ValueError(f"only {stats.count} pristine {unit}(s) found: give more images")


def _accumulate(files: Iterable[Path], dim: int,
                selected: Callable[[torch.Tensor], torch.Tensor], unit: str,
                progress: bool, minimum: int = 2,
                decode: Callable[[Path], torch.Tensor] = decode_image,
                ) -> tuple[GaussianStats, int, list[str]]:
    """Decode each pristine image (with ``decode``) and add the features
    ``selected(image)`` returns.

    An image that cannot be decoded, or that ``selected`` refuses with a ``ValueError``,
    is skipped and listed.

    Returns:
        The merged statistics, the number of images that gave features, and the skipped
        files with the reason.

    Raises:
        ValueError: fewer than ``minimum`` feature vectors in all (``unit`` names them).
    """
    files = list(files)
    stats = GaussianStats.empty(dim)
    n_images, skipped = 0, []
    bar = Progress(len(files), "pristine", enabled=progress)
    try:
        for path in files:
            bar.update()
            try:
                feats = selected(decode(path))
            except ValueError as exc:
                skipped.append(f"{path}: {exc}")
                continue
            if feats.shape[0]:
                stats = stats + GaussianStats.from_features(feats)
                n_images += 1
    finally:
        bar.close()
    require_samples(stats, unit, minimum)
    return stats, n_images, skipped


def _record_sources(prov: dict[str, Any], dirs: Sequence[str | os.PathLike],
                    checkpoint_path: str | os.PathLike | None) -> None:
    """Add to a fit's provenance the folders it read and the encoder checkpoint, if any."""
    prov["sources"] = [os.fspath(d) for d in dirs]
    if checkpoint_path is not None:
        prov["encoder_checkpoint"] = os.fspath(checkpoint_path)


def crops_pristine_stats(extractor: FeatureExtractor, files: Iterable[Path],
                         patch_size: int = PATCH_SIZE, sharpness: float = SHARPNESS_THRESHOLD,
                         colour: float = COLOUR_THRESHOLD, progress: bool = False
                         ) -> tuple[GaussianStats, dict[str, Any]]:
    """Accumulate the statistics of the selected pristine patches of many images.

    Images that cannot be decoded are skipped and listed in the provenance.

    Returns:
        The merged statistics and a provenance record (image and patch counts, skipped
        files, thresholds).
    """
    def selected(img: torch.Tensor) -> torch.Tensor:
        patches = select_pristine_patches(img, patch_size, sharpness, colour)
        if not patches.shape[0]:
            return patches.new_zeros((0, extractor.feature_dim))
        return patch_features(extractor, patches)

    stats, n_images, skipped = _accumulate(files, extractor.feature_dim, selected, "patch",
                                           progress)
    prov = {"images": n_images, "patches": stats.count, "skipped": skipped,
            "sharpness_threshold": sharpness, "colour_threshold": colour}
    return stats, prov


def fit_crops(dirs: Sequence[str | os.PathLike], config: CropsConfig,
              checkpoint_path: str | None = None, name: str = "model",
              progress: bool = False) -> CropsModel:
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
        config = CropsConfig(**{**config.to_json(), "layers": config.layers,
                                "weights": "bundle"})
    stats, prov = crops_pristine_stats(extractor, fit_files(dirs), config.patch_size,
                                       progress=progress)
    _record_sources(prov, dirs, checkpoint_path)
    with torch.no_grad():
        return CropsModel(extractor, config, stats.mean, stats.cov, name=name,
                          provenance=prov)


def one_pass_pristine_stats(encoder: OnePassEncoder, files: Iterable[Path],
                            progress: bool = False, minimum: int = 2,
                            head: QualityHead | None = None
                            ) -> tuple[GaussianStats, dict[str, Any]]:
    """Statistics of the selected windows of many pristine images (one-pass engine).

    Each image is limited to the config's ``max_side``, goes once through the encoder,
    and the windows its ``selection`` rule keeps are accumulated.

    Args:
        encoder: the one-pass encoder.
        files: the images.
        progress: report progress.
        minimum: windows needed (0 for one worker's share of a distributed fit).
        head: a trained quality head: the statistics are those of its output (the
            windows are selected as without it).

    Returns:
        The merged statistics and a provenance record.
    """
    cfg = encoder.config
    dim = head.config.score_dim if head is not None else encoder.feature_dim

    @torch.inference_mode()
    def selected(img: torch.Tensor) -> torch.Tensor:
        img = limit_side(img, cfg.max_side)
        if min(img.shape[-2:]) < cfg.min_side:
            raise ValueError(f"smaller than {cfg.min_side} pixels")
        wins = windows(encoder(img), cfg, encoder.dims)
        cells = pixel_cells(img, cfg.grid_stride) if cfg.selection == "sharpness-colour" else None
        kept = wins.features[select_pristine(cells, wins, cfg, SHARPNESS_THRESHOLD,
                                             COLOUR_THRESHOLD)]
        return kept if head is None else head.score_features(kept)

    stats, n_images, skipped = _accumulate(
        files, dim, selected, "window", progress, minimum,
        decode=partial(decode_image, max_side=cfg.decode_max_side))
    return stats, one_pass_provenance(cfg, stats, n_images, skipped)


def one_pass_provenance(cfg: OnePassConfig, stats: GaussianStats, n_images: int,
                        skipped: list[str]) -> dict[str, Any]:
    """The provenance record of a one-pass fit: image and window counts, skipped files,
    the selection rule and its thresholds."""
    prov = {"images": n_images, "windows": stats.count, "skipped": skipped,
            "selection": cfg.selection}
    if cfg.selection == "sharpness-colour":
        prov.update(sharpness_threshold=SHARPNESS_THRESHOLD, colour_threshold=COLOUR_THRESHOLD)
    return prov


def fitted_count(prov: dict[str, Any]) -> str:
    """How many feature vectors a fit's provenance says its pristine Gaussian pools, with
    their unit: ``"N windows"`` (one-pass), else ``"N patches"`` (crops, and one-pass
    bundles written before that count was named ``windows``)."""
    if "windows" in prov:
        return f"{prov['windows']} windows"
    return f"{prov['patches']} patches"


def one_pass_encoder(config: OnePassConfig, checkpoint_path: str | None = None
                     ) -> tuple[OnePassConfig, OnePassEncoder]:
    """The config a fit stores (``weights: "bundle"`` with a checkpoint) and its encoder."""
    if checkpoint_path is not None:
        config = OnePassConfig.from_json({**config.to_json(), "weights": "bundle"})
    return config, build_one_pass_encoder(config, checkpoint_path=checkpoint_path)


def fit_files(dirs: Sequence[str | os.PathLike]) -> list[Path]:
    """The images under ``dirs``, in order; ``ValueError`` if there are none."""
    files = [p for p, _ in iter_image_files(dirs)]
    if not files:
        raise ValueError(f"no images found in {', '.join(map(str, dirs))}")
    return files


def one_pass_model(encoder: OnePassEncoder, stats: GaussianStats, prov: dict[str, Any],
                   dirs: Sequence[str | os.PathLike], checkpoint_path: str | None = None,
                   name: str = "model", head: QualityHead | None = None) -> OnePassModel:
    """The fitted model from the pooled statistics and provenance of its images."""
    _record_sources(prov, dirs, checkpoint_path)
    return OnePassModel(encoder, stats.mean, stats.cov, name=name, provenance=prov,
                        head=head)


def fit_one_pass(dirs: Sequence[str | os.PathLike], config: OnePassConfig,
                 checkpoint_path: str | None = None, name: str = "model",
                 progress: bool = False, head: QualityHead | None = None) -> OnePassModel:
    """Fit the pristine Gaussian of a one-pass model on the images under ``dirs``.

    The windows are pooled as mergeable sums, so a fit split over workers
    (:mod:`blindiqa.distributed.fit`) gives the same model.

    Args:
        dirs: folders (walked recursively) or image files.
        config: the engine configuration.
        checkpoint_path: encoder weights to use instead of the pretrained ones (a
            ``blindiqa train`` checkpoint; then the weights are stored in the bundle).
        name: the model's name.
        progress: show a progress bar.
        head: a trained quality head (``blindiqa train head-*``) applied to every
            window descriptor before the distance.
    """
    config, encoder = one_pass_encoder(config, checkpoint_path)
    stats, prov = one_pass_pristine_stats(encoder, fit_files(dirs), progress=progress, head=head)
    return one_pass_model(encoder, stats, prov, dirs, checkpoint_path, name, head=head)
