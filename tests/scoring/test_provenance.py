"""blindiqa/scoring/provenance.py: what a loaded model writes in a row file's sidecar."""

import hashlib

import pytest

from blindiqa.models.load import load
from blindiqa.models.shipped import SHIPPED, shipped_path
from blindiqa.scoring.provenance import engine_max_side, file_sha256, provenance_of
from blindiqa.version import __version__


def test_a_shipped_model_records_its_bundle_hash_and_max_side():
    model = load("default", max_side=512)
    prov = provenance_of(model, shard=(2, 5))
    bundle = shipped_path(SHIPPED["default"][0])
    assert prov.bundle_sha256 == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert (prov.model, prov.version, prov.max_side, prov.shard) == (
        "default", __version__, 512, (2, 5))


def test_niqe_has_a_parameter_file_but_no_engine_max_side():
    prov = provenance_of(load("niqe"))
    assert prov.max_side is None and prov.bundle_sha256 is not None and prov.shard is None


def test_a_model_without_bundle_or_config(small_model):
    small_model.bundle_path = None
    assert engine_max_side(object()) is None
    assert provenance_of(small_model).bundle_sha256 is None


def test_a_missing_bundle_file_is_an_error(tmp_path):
    with pytest.raises(OSError):
        file_sha256(tmp_path / "gone.safetensors")
