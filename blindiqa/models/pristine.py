"""What the two deep-feature scorers share (crops: :class:`~blindiqa.models.crops.CropsModel`,
one-pass: :class:`~blindiqa.models.one_pass.OnePassModel`): the pristine Gaussian their
distance is measured to, the provenance of its fit, and the bundle file they are saved in
and read from."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from blindiqa.encoders import get_encoder_spec
from blindiqa.models.base import QualityModel

#: Where the weights of an encoder stored in a bundle (``weights: "bundle"``) come from.
BUNDLED_WEIGHTS = "trained weights stored in the bundle"


class PristineGaussianModel(QualityModel):
    """A scorer whose score is a distance to a pristine Gaussian of deep features.

    Holds the Gaussian as float64 buffers ``pristine_mean`` ``(D,)`` and ``pristine_cov``
    ``(D, D)`` and writes the bundle: those two tensors, the encoder's weights where the
    config says ``weights: "bundle"``, and the metadata ``kind`` (:attr:`bundle_kind`),
    ``config`` and ``provenance``. A subclass gives :attr:`config`, :attr:`network` and
    :attr:`bundle_kind`.

    Args:
        name: the model's name.
        mean: pristine mean ``(D,)``; cov: pristine covariance ``(D, D)``.
        dim: the size ``D`` of the features the distance is computed on.
        provenance: where the pristine statistics came from.

    Raises:
        ValueError: ``mean`` or ``cov`` is not of that size.
    """

    #: The kind this model's bundles are written with.
    bundle_kind: ClassVar[str]
    #: The recipe stored in the bundle: a config dataclass with ``encoder``, ``weights``
    #: and ``to_json()`` (an attribute or property of the subclass).
    config: Any

    def __init__(self, name: str, mean: torch.Tensor, cov: torch.Tensor, dim: int,
                 provenance: dict[str, Any] | None = None) -> None:
        super().__init__(name)
        if mean.shape != (dim,) or cov.shape != (mean.shape[0],) * 2:
            raise ValueError(
                f"pristine statistics of shape {tuple(mean.shape)}/{tuple(cov.shape)} do not "
                f"match the feature size {dim}"
            )
        self.provenance = provenance or {}
        self.register_buffer("pristine_mean", mean.double())
        self.register_buffer("pristine_cov", cov.double())

    @property
    @abstractmethod
    def network(self) -> nn.Module:
        """The encoder network whose weights a ``weights: "bundle"`` bundle stores."""

    def weights_source(self) -> str:
        """Where the encoder's weights come from, for :meth:`info`."""
        if self.config.weights == "pretrained":
            return get_encoder_spec(self.config.encoder).weights_source
        return BUNDLED_WEIGHTS

    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        return self.score_and_map_tensor(image)[1]

    def bundle_contents(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors and metadata to save this model with ``save_bundle``."""
        tensors = {"pristine.mean": self.pristine_mean, "pristine.cov": self.pristine_cov}
        if self.config.weights == "bundle":
            for k, v in self.network.state_dict().items():
                tensors[f"encoder.{k}"] = v
        meta = {"kind": self.bundle_kind, "config": self.config.to_json(),
                "provenance": self.provenance}
        return tensors, meta


def read_pristine_bundle(tensors: dict[str, torch.Tensor], metadata: dict[str, Any], name: str,
                         from_json: Callable[[dict[str, Any]], Any]
                         ) -> tuple[Any, torch.Tensor, torch.Tensor,
                                    dict[str, torch.Tensor] | None]:
    """The parts of a bundle written by :meth:`PristineGaussianModel.bundle_contents`.

    Args:
        tensors, metadata: the bundle's contents.
        name: the model's name (for the error).
        from_json: builds the config from the metadata's ``config``.

    Returns:
        The config, the pristine mean and covariance, and the encoder's weights where the
        config says ``weights: "bundle"`` (else None).

    Raises:
        ValueError: the config, mean or covariance is missing.
    """
    try:
        cfg = from_json(metadata["config"])
        mean, cov = tensors["pristine.mean"], tensors["pristine.cov"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"model bundle {name} lacks {exc}") from exc
    state = None
    if cfg.weights == "bundle":
        state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
    return cfg, mean, cov, state
