"""The torch-free copies in :mod:`blindiqa.cli.choices` equal their torch-side sources."""

from __future__ import annotations

from blindiqa.cli import choices
from blindiqa.crops import PATCH_SIZE, PATCH_STRIDE
from blindiqa.encoders import NORMALIZATIONS, list_encoders
from blindiqa.io.workers import DEFAULT_TIMEOUT
from blindiqa.onepass import OnePassConfig


def test_encoders():
    assert tuple(e.name for e in list_encoders()) == choices.ENCODERS


def test_normalizations():
    assert tuple(sorted(NORMALIZATIONS)) == choices.NORMALIZATIONS


def test_one_pass_defaults():
    cfg = OnePassConfig()
    real = tuple(getattr(cfg, f) for f in choices.OnePassDefaults._fields)
    assert real == choices.ONE_PASS_DEFAULTS


def test_ablation_variants():
    from blindiqa.ablate.runner import VARIANT_KEYS

    assert VARIANT_KEYS == choices.ABLATION_VARIANTS


def test_patches_and_timeout():
    assert (PATCH_SIZE, PATCH_STRIDE) == (choices.PATCH_SIZE, choices.PATCH_STRIDE)
    assert DEFAULT_TIMEOUT == choices.DECODE_TIMEOUT
