"""Feature encoders: the networks, their registry, and their input normalisations."""

from blindiqa.encoders.normalization import NORMALIZATIONS
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
    "create_network",
    "get_encoder_spec",
    "list_encoders",
    "register_encoder",
]
