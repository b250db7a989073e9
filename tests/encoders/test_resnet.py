import pytest
import torch

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import create_network


@pytest.mark.parametrize("name, dims", [("resnet18", [64, 128, 256, 512]),
                                        ("resnet50", [256, 512, 1024, 2048])])
def test_resnet_layers(name, dims):
    net = create_network(name).eval()
    ex = FeatureExtractor(net, ("layer1", "layer2", "layer3", "layer4"))
    assert ex.dims == dims
    with torch.no_grad():
        assert ex(torch.rand(2, 3, 96, 96)).shape == (2, sum(dims))
        assert net(torch.rand(1, 3, 64, 64)).shape == (1, 1000)


def test_checkpoint_roundtrip(tmp_path):
    torch.manual_seed(0)
    a = create_network("resnet18")
    torch.save({"model": a.state_dict()}, tmp_path / "ck.pt")
    b = create_network("resnet18", checkpoint_path=tmp_path / "ck.pt")
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(v, w), k


def test_no_pretrained_weights():
    with pytest.raises(ValueError, match="no pretrained weights"):
        create_network("resnet50", pretrained=True)
