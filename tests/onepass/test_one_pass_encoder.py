"""The whole-image pass: resolution limit, padding, tiling, trained checkpoints."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from blindiqa.encoders import create_network
from blindiqa.onepass import OnePassConfig, OnePassEncoder, build_one_pass_encoder, limit_side
from blindiqa.onepass.encoder import pad_to_multiple

CFG = OnePassConfig(encoder="efficientnet_lite0", taps=("stage2", "stage3"), grid_stride=8,
                    window=3, window_stride=1, normalization="imagenet")


@pytest.fixture(scope="module")
def encoder() -> OnePassEncoder:
    torch.manual_seed(0)
    return build_one_pass_encoder(CFG)


def test_limit_side_scales_the_long_side_only_when_needed():
    img = torch.rand(3, 300, 600)
    assert limit_side(img, 0) is img and limit_side(img, 600) is img
    small = limit_side(img, 200)
    assert small.shape == (3, 100, 200) and 0 <= float(small.min()) <= float(small.max()) <= 1


def test_padding_repeats_the_last_row_and_column():
    x = torch.arange(6.0).view(1, 1, 2, 3)
    p = pad_to_multiple(x, 4)
    assert p.shape == (1, 1, 4, 4) and p[0, 0, 3, 3] == 5 and p[0, 0, 0, 3] == 2


def test_grid_has_one_cell_per_stride_inside_the_image(encoder):
    with torch.inference_mode():
        grid = encoder(torch.rand(3, 100, 77))
    assert grid.shape == (24 + 40, 100 // 8, 77 // 8) and grid.dtype == torch.float32


def test_tiles_reproduce_the_whole_image_pass(encoder):
    """Tiles with a margin of at least half the receptive field (Lite0 stage 3: 67 px)
    give the same grid as one pass over the whole image."""
    g = torch.Generator().manual_seed(1)
    img = torch.rand(3, 200, 300, generator=g)
    tiled = OnePassEncoder(encoder.network, dataclasses.replace(CFG, tile=128, tile_margin=64))
    with torch.inference_mode():
        whole, parts = encoder(img), tiled(img)
    assert parts.shape == whole.shape
    assert torch.allclose(parts, whole, atol=1e-4, rtol=1e-4)


def test_a_trained_checkpoint_plugs_in_unchanged(tmp_path, encoder):
    net = create_network("efficientnet_lite0")
    torch.save({"encoder": net.state_dict()}, tmp_path / "encoder.pt")
    cfg = dataclasses.replace(CFG, weights="bundle")
    enc = build_one_pass_encoder(cfg, checkpoint_path=str(tmp_path / "encoder.pt"))
    img = torch.rand(3, 64, 64)
    with torch.inference_mode():
        expected = OnePassEncoder(net.eval(), cfg)(img)
        assert torch.equal(enc(img), expected)


def test_unknown_normalisation_and_tap_are_refused():
    net = create_network("efficientnet_lite0")
    with pytest.raises(ValueError, match="normalization"):
        OnePassEncoder(net, dataclasses.replace(CFG, normalization="zscore"))
    with pytest.raises(ValueError, match="unknown layer"):
        OnePassEncoder(net, dataclasses.replace(CFG, taps=("stage9",)))


def test_folded_network_equals_the_original():
    from blindiqa.onepass.fused import FoldedLite

    torch.manual_seed(0)
    net = create_network("efficientnet_lite0", pretrained=True).eval()
    folded = FoldedLite(net)
    x = torch.rand(2, 3, 96, 128)
    taps = ("stem", "stage1", "stage3", "stage4", "stage6", "head")
    with torch.inference_mode():
        ref, out = net.forward_features(x, taps), folded.forward_features(x, taps)
    for t in taps:
        scale = ref[t].abs().max()
        # float32 rounding: the original itself is this far from its float64 result
        assert torch.allclose(out[t], ref[t], atol=1e-5 * float(scale), rtol=0), t
    with pytest.raises(ValueError, match="multiples of 32"):
        folded.forward_features(torch.rand(1, 3, 100, 96), ("stage2",))
    with pytest.raises(ValueError, match="unknown layer 'logits'"):
        folded.forward_features(x, ("logits",))


def test_a_strided_convolution_folds_into_a_larger_evenly_padded_kernel():
    """The stride-2 "same" padding (one pixel less before than after) is a kernel one
    larger with a zero first row and column, padded evenly: no padded copy of the map."""
    from torch import nn

    from blindiqa.onepass.fused import _fold

    torch.manual_seed(0)
    for k in (3, 5):
        conv = nn.Conv2d(4, 4, k, stride=2, groups=4, bias=False)
        bn = nn.BatchNorm2d(4).eval()
        folded = _fold(conv, bn)
        assert folded.kernel_size == (k + 1, k + 1) and folded.padding == ((k - 1) // 2,) * 2
        x = torch.rand(1, 4, 16, 20)
        before = (k - 3) // 2
        with torch.no_grad():
            ref = bn(conv(nn.functional.pad(x, (before, before + 1, before, before + 1))))
            torch.testing.assert_close(folded(x), ref, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="only odd kernels at stride 1 or 2"):
        _fold(nn.Conv2d(4, 4, 3, stride=3), nn.BatchNorm2d(4).eval())
