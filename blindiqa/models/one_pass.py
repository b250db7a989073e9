"""The completely blind scorer on the one-pass engine: image -> grid features ->
windows -> distance to the pristine Gaussian (bundle kind ``one-pass``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from blindiqa.head import HeadConfig, QualityHead
from blindiqa.models.base import ModelInfo
from blindiqa.models.pristine import PristineGaussianModel, read_pristine_bundle
from blindiqa.models.registry import register_bundle_kind
from blindiqa.onepass import (
    OnePassConfig,
    OnePassEncoder,
    Windows,
    build_one_pass_encoder,
    limit_side,
    limited_size,
    score_windows,
    score_windows_tensor,
    windows,
)
from blindiqa.reasons import probe_input
from blindiqa.reasons.probe import ReasonProbe, shipped_probe

#: The kind one-pass bundles are written with.
BUNDLE_KIND = "one-pass"
#: Every kind the one-pass loader reads: the kind, and ``dense-gaussian``, its name before
#: the two paths were named crops and one-pass, which older bundles (the shipped
#: ``default`` among them) still carry.
BUNDLE_KINDS = (BUNDLE_KIND, "dense-gaussian")


class OnePassModel(PristineGaussianModel):
    """Completely blind scorer whose encoder runs once over the whole image.

    Args:
        encoder: the one-pass encoder (network, taps, grid).
        mean: pristine mean ``(D,)``; cov: pristine covariance ``(D, D)`` (float64), in
            the space the distance is computed in (the head's, when there is one).
        name: the model's name.
        provenance: where the pristine statistics came from.
        head: a trained quality head applied to every window descriptor before the
            distance (:class:`~blindiqa.head.QualityHead`); None: the descriptors as they
            are.
    """

    bundle_kind = BUNDLE_KIND

    def __init__(self, encoder: OnePassEncoder, mean: torch.Tensor, cov: torch.Tensor,
                 name: str = "model", provenance: dict[str, Any] | None = None,
                 head: QualityHead | None = None) -> None:
        if head is not None and head.config.in_dim != encoder.feature_dim:
            raise ValueError(f"the head takes {head.config.in_dim}-d descriptors, the "
                             f"encoder gives {encoder.feature_dim}-d")
        dim = head.config.score_dim if head is not None else encoder.feature_dim
        super().__init__(name, mean, cov, dim, provenance)
        self.encoder = encoder
        self.head = head.eval() if head is not None else None
        self._probe: ReasonProbe | None = None
        self._probe_problem: str | None = None

    @property
    def config(self) -> OnePassConfig:
        return self.encoder.config

    @property
    def network(self) -> torch.nn.Module:
        return self.encoder.network

    @property
    def decode_max_side(self) -> int:
        return self.config.decode_max_side

    @property
    def min_size(self) -> int:
        return self.config.min_side

    def check_size(self, image: torch.Tensor) -> None:
        """Refuse images that hold no window once limited to ``max_side``."""
        super().check_size(image)
        h, w = int(image.shape[-2]), int(image.shape[-1])
        small = limited_size(h, w, self.config.max_side)
        if min(small) < self.min_size:
            raise ValueError(
                f"image is {w}x{h} pixels; scaled to a long side of {self.config.max_side} "
                f"it is {small[1]}x{small[0]}, below {self.name}'s minimum of "
                f"{self.min_size}x{self.min_size} pixels"
            )

    #: the score is differentiable with respect to the pixels (:meth:`score_loss_tensor`)
    differentiable = True

    @torch.inference_mode()
    def descriptor_windows(self, image: torch.Tensor) -> Windows:
        """The engine's window descriptors of one canonical image (after ``max_side``),
        before any head."""
        return self._descriptors(limit_side(image, self.config.max_side))

    def _descriptors(self, limited: torch.Tensor) -> Windows:
        """The descriptors of an image already limited to ``max_side``, under the
        caller's autograd mode."""
        return windows(self.encoder(limited), self.config, self.encoder.dims)

    def _scored(self, wins: Windows) -> Windows:
        """What the distance sees: the descriptors, through the head where there is one."""
        if self.head is None:
            return wins
        return Windows(self.head.score_features(wins.features), wins.activity, wins.shape,
                       wins.side)

    @torch.inference_mode()
    def windows(self, image: torch.Tensor) -> Windows:
        """The window descriptors of one canonical image (after ``max_side``), through
        the head where there is one."""
        return self._scored(self.descriptor_windows(image))

    # ------------------------------------------------------------------ reasons
    def reason_probe(self) -> ReasonProbe:
        """The reasons probe that reads this model's descriptors (the shipped one, read
        on first use).

        Raises:
            ValueError: the probe was trained on descriptors of other engine settings.
        """
        if self._probe is None and self._probe_problem is None:
            probe = shipped_probe()
            try:
                probe.check_engine(self.config.to_json())
                self._probe = probe
            except ValueError as exc:
                self._probe_problem = f"model {self.name} has no reasons probe: {exc}"
        if self._probe is None:
            raise ValueError(self._probe_problem)
        return self._probe

    def reasons_problem(self) -> str | None:
        try:
            self.reason_probe()
        except ValueError as exc:
            return str(exc)
        return None

    def _reasons_of(self, wins: Windows, limited: torch.Tensor) -> dict[str, float]:
        """The reasons from an image's descriptors and the image (after ``max_side``)."""
        probe = self.reason_probe()
        x = probe_input(wins.features.cpu(), limited.cpu())
        strength = probe.predict(x[None])[0]
        return {f: round(float(v), 2) for f, v in zip(probe.config.families, strength,
                                                      strict=True)}

    def reasons_tensor(self, image: torch.Tensor) -> dict[str, float]:
        self.reason_probe()  # fail before the encoder runs
        limited = limit_side(image, self.config.max_side)
        with torch.inference_mode():
            return self._reasons_of(self._descriptors(limited), limited)

    def analyse_tensor(self, image: torch.Tensor, with_map: bool = False,
                       with_reasons: bool = False
                       ) -> tuple[float, np.ndarray | None, dict[str, float] | None]:
        """One encoder pass for the score, the map and the reasons."""
        if with_reasons:
            self.reason_probe()
        with torch.inference_mode():
            limited = limit_side(image, self.config.max_side)
            raw = self._descriptors(limited)
            wins = self._scored(raw)
            score, dist = score_windows(wins, self.pristine_mean, self.pristine_cov,
                                        self.config.distance, self.config.ridge,
                                        with_map=with_map)
            qmap = dist.cpu().numpy().reshape(wins.shape) if with_map else None
            reasons = self._reasons_of(raw, limited) if with_reasons else None
        return score, qmap, reasons

    def score_tensor(self, image: torch.Tensor) -> float:
        score, _ = score_windows(self.windows(image), self.pristine_mean, self.pristine_cov,
                                 self.config.distance, self.config.ridge)
        return score

    def score_loss_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """The score of one ``(3, H, W)`` image in [0, 1] as a 0-d float64 tensor that
        autograd differentiates with respect to ``image``: encoder, window descriptors,
        activity weights and the Mahalanobis distance in float64 are all torch
        operations. The value equals :meth:`score_tensor`'s to float rounding. The
        image's dtype is that of the encoder (float32, or float64 for a gradient check).
        """
        self.check_size(image)
        limited = limit_side(image, self.config.max_side)
        score, _ = score_windows_tensor(self._scored(self._descriptors(limited)),
                                        self.pristine_mean,
                                        self.pristine_cov, self.config.distance,
                                        self.config.ridge)
        return score

    def score_and_map_tensor(self, image: torch.Tensor) -> tuple[float, np.ndarray]:
        """One encoder pass for the score and the map (each window's distance)."""
        wins = self.windows(image)
        score, dist = score_windows(wins, self.pristine_mean, self.pristine_cov,
                                    self.config.distance, self.config.ridge, with_map=True)
        return score, dist.cpu().numpy().reshape(wins.shape)

    def info(self) -> ModelInfo:
        cfg = self.config
        side = "native" if cfg.max_side == 0 else f"long side <= {cfg.max_side}"
        head = "" if self.head is None else f", trained head ({self.head.extra_repr()})"
        dim = self.pristine_mean.shape[0]
        return ModelInfo(
            name=self.name, feature_dim=dim,
            weights=self.weights_source(),
            description=(f"one pass: {cfg.encoder} [{'+'.join(cfg.taps)}], "
                         f"norm={cfg.normalization}, windows {cfg.window}/{cfg.window_stride} "
                         f"cells of {cfg.grid_stride} px, {cfg.distance} distance, {side}"
                         f"{head}"),
        )

    def extra_repr(self) -> str:
        return self.info().description

    # ------------------------------------------------------------------ bundles
    def bundle_contents(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors and metadata to save this model with ``save_bundle``: the pristine
        Gaussian's (:class:`~blindiqa.models.pristine.PristineGaussianModel`) and the
        head's, where there is one."""
        tensors, meta = super().bundle_contents()
        if self.head is not None:
            for k, v in self.head.state_dict().items():
                tensors[f"head.{k}"] = v
            meta["head"] = self.head.config.to_json()
        return tensors, meta


def load_one_pass_bundle(tensors: dict[str, torch.Tensor], metadata: dict[str, Any],
                         name: str = "model", max_side: int | None = None) -> OnePassModel:
    """Build a :class:`OnePassModel` from a bundle's contents.

    Args:
        tensors, metadata: the bundle's contents.
        name: the model's name.
        max_side: overrides the bundle's resolution limit (0 = native resolution).
    """
    cfg, mean, cov, sd = read_pristine_bundle(tensors, metadata, name, OnePassConfig.from_json)
    if max_side is not None:
        cfg = OnePassConfig.from_json({**cfg.to_json(), "max_side": int(max_side)})
    encoder = build_one_pass_encoder(cfg, state_dict=sd)
    head = None
    if metadata.get("head") is not None:
        head = QualityHead(HeadConfig.from_json(metadata["head"]))
        head.load_state_dict({k[len("head."):]: v for k, v in tensors.items()
                              if k.startswith("head.")})
    return OnePassModel(encoder, mean, cov, name=name,
                        provenance=metadata.get("provenance"), head=head)


for _kind in BUNDLE_KINDS:
    register_bundle_kind(_kind, load_one_pass_bundle, options=("max_side",))
