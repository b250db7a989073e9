"""Feature encoders: the networks, their registry, and the patch feature extractor."""

from blindiqa.encoders.features import NORMALIZATIONS, FeatureExtractor
from blindiqa.encoders.registry import (
    EncoderSpec,
    create_network,
    get_encoder_spec,
    list_encoders,
    register_encoder,
)

__all__ = [
    "NORMALIZATIONS",
    "EncoderSpec",
    "FeatureExtractor",
    "create_network",
    "get_encoder_spec",
    "list_encoders",
    "register_encoder",
]
