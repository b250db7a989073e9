"""SimSiam loss, predictor and collapse check against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from blindiqa.losses.simsiam import (
    SimSiamPredictor,
    feature_std,
    negative_cosine,
    simsiam_loss,
)

S = 1 / math.sqrt(2)


def test_negative_cosine_by_hand():
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    # cos = 1 and 1/sqrt(2)
    assert negative_cosine(p, z).item() == pytest.approx(-(1 + S) / 2, abs=1e-6)
    assert negative_cosine(p, -z).item() == pytest.approx((1 + S) / 2, abs=1e-6)


def test_stop_gradient_on_z():
    p = torch.tensor([[1.0, 0.5]], requires_grad=True)
    z = torch.tensor([[0.2, 1.0]], requires_grad=True)
    negative_cosine(p, z).backward()
    assert p.grad is not None and z.grad is None
    p2 = p.detach().clone().requires_grad_()
    negative_cosine(p2, z, stop_gradient=False).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_simsiam_loss_by_hand():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    p1 = torch.tensor([[0.0, 1.0], [0.0, 5.0]])   # vs z2: cos 1/sqrt2, 1
    p2 = torch.tensor([[2.0, 0.0], [1.0, 0.0]])   # vs z1: cos 1, 0
    expected = 0.5 * -(S + 1) / 2 + 0.5 * -(1 + 0) / 2
    assert simsiam_loss(p1, p2, z1, z2).item() == pytest.approx(expected, abs=1e-6)
    # perfect predictions reach the minimum -1
    assert simsiam_loss(z2, z1, z1, z2).item() == pytest.approx(-1.0, abs=1e-6)


def test_shapes_checked():
    with pytest.raises(ValueError, match="same shape"):
        negative_cosine(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="same shape"):
        simsiam_loss(torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(3, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError):
        negative_cosine(torch.zeros(3), torch.zeros(3))


def test_feature_std_by_hand_and_collapse():
    z = torch.tensor([[2.0, 0.0], [0.0, 3.0]])  # normalised: e1, e2
    # each dimension holds {1, 0}: unbiased std 1/sqrt(2)
    assert feature_std(z).item() == pytest.approx(S, abs=1e-6)
    collapsed = torch.tensor([[1.0, 2.0, 3.0]]).repeat(8, 1)
    assert feature_std(collapsed).item() == pytest.approx(0.0, abs=1e-7)
    # spread features: about 1/sqrt(d)
    g = torch.Generator().manual_seed(0)
    d = 256
    assert feature_std(torch.randn(4096, d, generator=g)).item() == pytest.approx(
        1 / math.sqrt(d), rel=0.02)
    with pytest.raises(ValueError):
        feature_std(torch.zeros(1, 4))


def test_predictor_shapes():
    torch.manual_seed(0)
    h = SimSiamPredictor(64)
    assert h.hidden == 16
    assert h(torch.randn(5, 64)).shape == (5, 64)
    assert SimSiamPredictor(2048).hidden == 512  # the paper's bottleneck
    assert SimSiamPredictor(8, hidden=3)(torch.randn(4, 8)).shape == (4, 8)
