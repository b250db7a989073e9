"""create_network: weights loaded into a network built without initialising its own."""

from __future__ import annotations

import pytest
import torch

from blindiqa.encoders import create_network


def test_loaded_weights_are_taken_as_given_in_the_networks_dtype(tmp_path):
    source = create_network("resnet18")  # randomly initialised
    wide = {k: v.double() if v.is_floating_point() else v
            for k, v in source.state_dict().items()}
    for net in (create_network("resnet18", state_dict=wide),
                create_network("resnet18", checkpoint_path=_saved(tmp_path, {"model": wide}))):
        assert not any(t.is_meta for t in [*net.parameters(), *net.buffers()])
        assert all(p.dtype == torch.float32 and p.requires_grad for p in net.parameters())
        for k, v in net.state_dict().items():
            assert torch.equal(v, source.state_dict()[k]), k


def test_missing_weights_are_an_error():
    partial = dict(list(create_network("resnet18").state_dict().items())[:5])
    with pytest.raises(RuntimeError, match="Missing key"):
        create_network("resnet18", state_dict=partial)


def _saved(tmp_path, obj):
    path = tmp_path / "checkpoint.pt"
    torch.save(obj, path)
    return path
