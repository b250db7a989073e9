import pytest
import torch

from blindiqa.models.bundle import BundleError, load_bundle, save_bundle


def test_roundtrip(tmp_path):
    t = {"a": torch.arange(6, dtype=torch.float64).reshape(2, 3), "b": torch.ones(2)}
    save_bundle(tmp_path / "m.safetensors", t, {"kind": "x", "n": 3})
    t2, meta = load_bundle(tmp_path / "m.safetensors")
    assert meta == {"kind": "x", "n": 3} and torch.equal(t2["a"], t["a"])


def test_tampered_truncated_foreign(tmp_path):
    p = tmp_path / "m.safetensors"
    save_bundle(p, {"a": torch.zeros(100)}, {"kind": "x"})
    raw = bytearray(p.read_bytes())
    raw[-3] ^= 0xFF
    (tmp_path / "tampered.safetensors").write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(tmp_path / "tampered.safetensors")
    (tmp_path / "trunc.safetensors").write_bytes(bytes(raw[:50]))
    with pytest.raises(BundleError, match="truncated or not safetensors"):
        load_bundle(tmp_path / "trunc.safetensors")
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(BundleError, match="not a blindiqa model bundle"):
        load_bundle(tmp_path / "foreign.safetensors")
    with pytest.raises(BundleError, match="no such model file"):
        load_bundle(tmp_path / "none.safetensors")


def test_kind_required(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        save_bundle(tmp_path / "m.safetensors", {}, {})
