"""CONTRIQUE's multi-positive NT-Xent: values by hand, a naive loop reference, errors."""

from __future__ import annotations

import math

import pytest
import torch

from blindiqa.losses import NTXentMultiPositiveLoss, ntxent_multi_positive
from blindiqa.losses.ntxent_multi_positive import positive_mask


def naive(z: torch.Tensor, labels: list[int], tau: float) -> float:
    """loss_i = log sum_{a != i} exp(s_ia/tau) - mean_{p in P(i)} s_ip/tau, anchor by anchor."""
    zn = [v / v.norm() for v in z]
    terms = []
    for i in range(len(zn)):
        others = [a for a in range(len(zn)) if a != i]
        pos = [p for p in others if labels[p] == labels[i]]
        if not pos:
            continue
        den = sum(math.exp(float(zn[i] @ zn[a]) / tau) for a in others)
        terms.append(math.log(den) - sum(float(zn[i] @ zn[p]) / tau for p in pos) / len(pos))
    return sum(terms) / len(terms)


def test_value_by_hand():
    z = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 5.0]])
    labels = torch.tensor([0, 0, 7, 7])
    # every anchor: one positive at cos 1, two others at cos 0; tau = 1
    expected = math.log(math.e + 2) - 1.0
    assert ntxent_multi_positive(z, labels, tau=1.0).item() == pytest.approx(expected,
                                                                             rel=1e-6)


def test_value_by_hand_two_positives():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([3, 3, 3])
    tau = 0.5
    # anchors 0, 1: others (cos 1, cos 0) -> log(e^2 + 1) - (2 + 0)/2
    a = math.log(math.exp(2) + 1) - 1.0
    # anchor 2: others both cos 0 -> log 2 - 0
    b = math.log(2.0)
    assert ntxent_multi_positive(z, labels, tau).item() == pytest.approx((2 * a + b) / 3,
                                                                        rel=1e-6)


def test_matches_naive_loop():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(10, 6, generator=g, dtype=torch.float64)
    labels = [0, 0, 5, 5, 5, 125, 125, 9, 9, 0]
    got = ntxent_multi_positive(z, torch.tensor(labels), tau=0.1)
    assert got.item() == pytest.approx(naive(z, labels, 0.1), rel=1e-5)


def test_anchors_without_positive_are_left_out():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(5, 4, generator=g)
    labels = [1, 1, 2, 3, 3]  # sample 2 has no positive
    got = ntxent_multi_positive(z, torch.tensor(labels), tau=0.3)
    assert got.item() == pytest.approx(naive(z, labels, 0.3), rel=1e-5)


def test_positive_mask():
    m = positive_mask(torch.tensor([0, 1, 0]))
    assert m.tolist() == [[False, False, True], [False, False, False], [True, False, False]]


def test_module_without_process_group_and_gradients():
    loss_fn = NTXentMultiPositiveLoss(tau=0.1)
    assert "num_classes=126" in repr(loss_fn)
    z = torch.randn(6, 3, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = loss_fn(z, labels)
    assert torch.allclose(loss, ntxent_multi_positive(z, labels))
    loss.backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("z,labels,kwargs,match", [
    (torch.ones(3, 2), torch.tensor([0, 1, 2]), {}, "no sample has a positive"),
    (torch.ones(3, 2), torch.tensor([0, 0, 126]), {}, "0..125"),
    (torch.ones(3, 2), torch.tensor([0, 0, -1]), {}, "0..125"),
    (torch.ones(3, 2), torch.tensor([0.0, 0.0, 1.0]), {}, "integer"),
    (torch.ones(3, 2), torch.tensor([0, 0]), {}, "shape"),
    (torch.ones(1, 2), torch.tensor([0]), {}, "N >= 2"),
    (torch.ones(6), torch.tensor([0] * 6), {}, "N >= 2"),
    (torch.ones(2, 2), torch.tensor([0, 0]), {"tau": 0.0}, "tau"),
])
def test_errors(z, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ntxent_multi_positive(z, labels, **kwargs)


def test_num_classes_none_skips_range_check():
    z = torch.randn(2, 3)
    assert torch.isfinite(ntxent_multi_positive(z, torch.tensor([500, 500]),
                                                num_classes=None))


def test_module_rejects_bad_arguments():
    with pytest.raises(ValueError, match="tau"):
        NTXentMultiPositiveLoss(tau=0)
    with pytest.raises(ValueError, match="num_classes"):
        NTXentMultiPositiveLoss(num_classes=0)
