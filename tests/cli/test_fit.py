"""``blindiqa fit-pristine`` (``blindiqa.cli.fit``): a usable bundle from a folder of photos,
the default recipe, the crops engine, a trained encoder's checkpoint, errors."""

import pytest
import torch
from PIL import Image

import blindiqa
from blindiqa.cli.main import main


def test_fit_pristine_writes_a_usable_bundle(tmp_path, photo, photo2, capsys):
    d = tmp_path / "pristine"
    d.mkdir()
    Image.fromarray(photo).save(d / "a.png")
    Image.fromarray(photo2).save(d / "b.png")
    (d / "broken.png").write_bytes(b"nope")
    out = tmp_path / "m.safetensors"
    code = main(["fit-pristine", str(d), "--encoder", "efficientnet_lite0", "--layer",
                 "stage2", "--layer", "stage3", "--normalization", "imagenet", "--out",
                 str(out)])
    assert code == 0 and out.is_file()
    model = blindiqa.load(out)
    assert model.info().feature_dim == 24 + 40
    assert model.config.normalization == "imagenet" and model.config.taps == ("stage2",
                                                                              "stage3")
    assert model.provenance["images"] == 2 and len(model.provenance["skipped"]) == 1
    assert torch.isfinite(model.score(photo)).all()


@pytest.fixture
def two_photos(tmp_path, photo, photo2):
    """A folder of two sample photos."""
    d = tmp_path / "pristine"
    d.mkdir()
    Image.fromarray(photo).save(d / "a.png")
    Image.fromarray(photo2).save(d / "b.png")
    return d


def test_fit_pristine_defaults_are_the_shipped_default_recipe(tmp_path, two_photos):
    d = two_photos
    out = tmp_path / "m.safetensors"
    assert main(["fit-pristine", str(d), "--out", str(out), "--quiet"]) == 0
    assert blindiqa.load(out).config == blindiqa.load("default").config


def test_fit_pristine_crops_engine(tmp_path, two_photos, capsys):
    d = two_photos
    out = tmp_path / "c.safetensors"
    assert main(["fit-pristine", str(d), "--engine", "crops", "--encoder", "efficientnet_lite0",
                 "--layer", "stage3", "--patch-size", "64", "--out", str(out)]) == 0
    model = blindiqa.load(out)
    assert model.config.layers == ("stage3",) and model.min_size == 64
    assert main(["fit-pristine", str(d), "--patch-size", "64", "--out",
                 str(tmp_path / "x.safetensors")]) == 2
    assert "apply to --engine crops" in capsys.readouterr().err
    assert main(["fit-pristine", str(d), "--engine", "crops", "--window", "4", "--out",
                 str(tmp_path / "x.safetensors")]) == 2
    assert "apply to --engine one-pass" in capsys.readouterr().err


def test_fit_pristine_with_checkpoint(tmp_path, photo, photo2):
    from blindiqa.encoders import create_network

    torch.manual_seed(0)
    torch.save(create_network("resnet18").state_dict(), tmp_path / "enc.pt")
    d = tmp_path / "p"
    d.mkdir()
    Image.fromarray(photo).save(d / "a.png")
    Image.fromarray(photo2).save(d / "b.png")
    out = tmp_path / "r.safetensors"
    assert main(["fit-pristine", str(d), "--encoder", "resnet18", "--layer", "layer2",
                 "--encoder-checkpoint", str(tmp_path / "enc.pt"), "--out", str(out),
                 "--engine", "crops", "--patch-size", "64"]) == 0
    m = blindiqa.load(out)
    assert m.config.weights == "bundle" and m.min_size == 64


def test_fit_pristine_errors(tmp_path, capsys):
    assert main(["fit-pristine", str(tmp_path), "--out", str(tmp_path / "m")]) == 1
    assert "no images found" in capsys.readouterr().err
    assert main(["fit-pristine", str(tmp_path), "--encoder", "resnet50", "--out",
                 str(tmp_path / "m")]) == 2
