"""Intra-scene InfoNCE: values by hand, a naive loop reference, errors."""

from __future__ import annotations

import math

import pytest
import torch

from blindiqa.losses import IntraSceneInfoNCELoss, intra_scene_infonce
from blindiqa.losses.intra_scene_infonce import cosine_logits, one_way_infonce


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


def naive(z1: torch.Tensor, z2: torch.Tensor, tau: float, symmetric: bool = True) -> float:
    """The loss written as the paper states it, one anchor at a time."""

    def one_way(a: torch.Tensor, c: torch.Tensor) -> float:
        terms = []
        for s in range(a.shape[0]):
            for i in range(a.shape[1]):
                num = math.exp(_cos(a[s, i], c[s, i]) / tau)
                den = sum(math.exp(_cos(a[s, i], c[s, j]) / tau) for j in range(a.shape[1]))
                terms.append(-math.log(num / den))
        return sum(terms) / len(terms)

    return one_way(z1, z2) + (one_way(z2, z1) if symmetric else 0.0)


def test_value_by_hand():
    # one scene, two versions, orthogonal features, tau = 1:
    # each anchor: -log(e^1 / (e^1 + e^0)) = log(1 + e^-1); two terms.
    z = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    expected = 2 * math.log(1 + math.exp(-1))
    assert intra_scene_infonce(z, z, tau=1.0).item() == pytest.approx(expected, rel=1e-6)
    assert intra_scene_infonce(z, z, tau=1.0, symmetric=False).item() == pytest.approx(
        expected / 2, rel=1e-6)


def test_value_by_hand_asymmetric():
    # z1 anchors, z2 candidates at 60 degrees: cos = 0.5 to the negative.
    z1 = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    z2 = torch.tensor([[[1.0, 0.0], [0.5, math.sqrt(3) / 2]]])
    tau = 0.5
    # anchor 0: pos cos 1, neg cos 0.5; anchor 1: pos cos sqrt(3)/2, neg cos 0
    t0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(0.5 / tau)))
    c = math.sqrt(3) / 2
    t1 = -math.log(math.exp(c / tau) / (math.exp(c / tau) + 1.0))
    one = (t0 + t1) / 2
    # swapped: anchor z2_0 = (1, 0): pos z1_0 cos 1, neg z1_1 cos 0;
    # anchor z2_1: pos z1_1 cos sqrt(3)/2, neg z1_0 cos 0.5
    s0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 1.0))
    s1 = -math.log(math.exp(c / tau) / (math.exp(c / tau) + math.exp(0.5 / tau)))
    two = (s0 + s1) / 2
    got = intra_scene_infonce(z1, z2, tau=tau)
    assert got.item() == pytest.approx(one + two, rel=1e-6)


@pytest.mark.parametrize("symmetric", [True, False])
def test_matches_naive_loop(symmetric):
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    z2 = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    got = intra_scene_infonce(z1, z2, tau=0.1, symmetric=symmetric)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(naive(z1, z2, 0.1, symmetric), rel=1e-5)


def test_scale_invariant_and_scenes_independent():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(2, 3, 8, generator=g), torch.randn(2, 3, 8, generator=g)
    base = intra_scene_infonce(z1, z2)
    assert torch.allclose(intra_scene_infonce(3.0 * z1, 0.5 * z2), base, atol=1e-6)
    # the mean of per-scene losses (scenes of equal size)
    per_scene = [intra_scene_infonce(z1[s:s + 1], z2[s:s + 1]) for s in range(2)]
    assert torch.allclose(base, sum(per_scene) / 2, atol=1e-6)
    # other scenes' crops are not negatives: changing scene 1 leaves scene 0's term
    z2b = z2.clone()
    z2b[1] = torch.randn(3, 8, generator=g)
    assert torch.allclose(intra_scene_infonce(z1[:1], z2b[:1]), per_scene[0])


def test_logits_and_one_way():
    z = torch.tensor([[[2.0, 0.0], [0.0, 3.0]]])
    logits = cosine_logits(z, z, 0.5)
    assert torch.allclose(logits, torch.tensor([[[2.0, 0.0], [0.0, 2.0]]]))
    assert one_way_infonce(z, z, 0.5).item() == pytest.approx(math.log(1 + math.exp(-2)),
                                                              rel=1e-6)


def test_module_gradients_and_low_precision():
    loss_fn = IntraSceneInfoNCELoss(tau=0.2)
    assert "tau=0.2" in repr(loss_fn)
    z1 = torch.randn(2, 4, 6, requires_grad=True)
    z2 = torch.randn(2, 4, 6, requires_grad=True)
    loss = loss_fn(z1, z2)
    assert torch.allclose(loss, intra_scene_infonce(z1, z2, 0.2))
    loss.backward()
    assert z1.grad is not None and torch.isfinite(z1.grad).all()
    out = loss_fn(z1.detach().bfloat16(), z2.detach().bfloat16())
    assert out.dtype == torch.float32 and torch.isfinite(out)


def test_separated_features_give_small_loss():
    z = torch.eye(4).repeat(2, 1, 1)  # 2 scenes of 4 orthogonal versions
    assert intra_scene_infonce(z, z, tau=0.05).item() < 1e-6


@pytest.mark.parametrize("z1,z2,tau,match", [
    (torch.zeros(2, 3, 4), torch.zeros(2, 3, 5), 0.1, "same shape"),
    (torch.zeros(3, 4), torch.zeros(3, 4), 0.1, "same shape"),
    (torch.zeros(2, 1, 4), torch.zeros(2, 1, 4), 0.1, "k >= 2"),
    (torch.zeros(0, 2, 4), torch.zeros(0, 2, 4), 0.1, "at least 1 scene"),
    (torch.ones(1, 2, 4), torch.ones(1, 2, 4), 0.0, "tau"),
    ([1.0], [1.0], 0.1, "tensors"),
])
def test_errors(z1, z2, tau, match):
    with pytest.raises(ValueError, match=match):
        intra_scene_infonce(z1, z2, tau)


def test_module_rejects_bad_tau():
    with pytest.raises(ValueError, match="tau"):
        IntraSceneInfoNCELoss(tau=-1.0)
