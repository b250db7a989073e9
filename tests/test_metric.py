"""blindiqa.create_metric: scores equal to ``load(name).score``, any batch, clear errors;
``as_loss``: a gradient with respect to the pixels that autograd's check accepts."""

from __future__ import annotations

import math

import pytest
import torch

import blindiqa
from blindiqa.metric import QualityMetric


def photo_like(seed: int, h: int = 96, w: int = 128) -> torch.Tensor:
    """A deterministic ``(3, h, w)`` image: smooth gradients, an edge and some texture."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([xx, yy, (xx + yy) / 2]) * 0.6 + 0.2
    base[:, h // 3:, w // 2:] *= 0.5
    return (base + 0.05 * torch.rand(3, h, w, generator=g)).clamp(0, 1)


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return torch.stack([photo_like(s) for s in range(3)])


@pytest.fixture(scope="module")
def metric() -> QualityMetric:
    return blindiqa.create_metric("default")


@pytest.fixture(scope="module")
def loss_none(metric) -> QualityMetric:
    """The loss on the same (frozen) model: loading it once keeps the tests fast."""
    return QualityMetric(metric.model, as_loss=True, loss_reduction="none")


def test_list_metrics():
    names = blindiqa.list_metrics()
    assert {"default", "niqe", "ilniqe", "contentsep"} <= set(names)
    assert names == sorted(names)
    assert blindiqa.list_metrics(as_loss=True) == ["default"]


def test_attributes(metric):
    assert isinstance(metric, torch.nn.Module)
    assert metric.name == metric.metric_name == "default"
    assert metric.lower_better is True and metric.higher_is_better is False
    assert metric.score_range == (0.0, math.inf)
    assert metric.device == torch.device("cpu")
    assert not any(p.requires_grad for p in metric.parameters())
    metric.train()
    assert metric.training and not metric.model.training
    metric.eval()


@pytest.mark.parametrize("name", ["default", "niqe"])
def test_scores_equal_load_score(name, batch, metric):
    m = metric if name == "default" else blindiqa.create_metric(name)
    got = m(batch)
    assert got.shape == (3,) and got.dtype == torch.float64
    model = blindiqa.load(name)
    assert torch.equal(got, model.score(batch))
    assert [float(model.score(x)) for x in batch] == got.tolist()


def test_batch_and_order_do_not_change_a_score(batch, metric, loss_none):
    whole = metric(batch)
    order = torch.tensor([2, 0, 1])
    assert torch.equal(metric(batch[order]), whole[order])
    assert torch.equal(metric(batch[1:2]), whole[1:2])
    assert torch.equal(loss_none(batch[order]).detach(), loss_none(batch).detach()[order])


def test_other_dtype_same_pixels_same_score(batch, metric):
    """float64 and float16-exact pixels are scored as the same float32 pixels."""
    assert torch.equal(metric(batch.double()), metric(batch))
    half = batch.half()
    assert torch.equal(metric(half), metric(half.float()))


def test_loss_values_are_the_scores(batch, metric, loss_none):
    scores = metric(batch)
    got = loss_none(batch.clone().requires_grad_(True))
    assert got.requires_grad and got.shape == (3,)
    assert torch.allclose(got.detach(), scores, rtol=1e-9, atol=0)
    assert not loss_none(batch).requires_grad  # nothing to differentiate: frozen model
    mean = QualityMetric(metric.model, as_loss=True, loss_weight=0.5)
    assert mean(batch).shape == ()
    assert float(mean(batch)) == pytest.approx(0.5 * float(scores.mean()), rel=1e-9)
    total = QualityMetric(metric.model, as_loss=True, loss_reduction="sum")
    assert float(total(batch)) == pytest.approx(float(scores.sum()), rel=1e-9)


def test_loss_gradient_reaches_the_pixels(loss_none):
    x = photo_like(7)[None].requires_grad_(True)
    loss_none(x).sum().backward()
    assert x.grad.shape == x.shape
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_loss_through_the_downscaling_of_a_wide_image(metric, loss_none):
    """An image wider than max_side (1024) is scaled down inside the model; the loss
    equals the score and the gradient reaches every pixel."""
    x = torch.rand(1, 3, 300, 1100, generator=torch.Generator().manual_seed(0))
    xg = x.clone().requires_grad_(True)
    loss = loss_none(xg)
    loss.sum().backward()
    assert float(loss.detach()) == pytest.approx(float(metric(x)), rel=1e-9)
    assert torch.isfinite(xg.grad).all() and (xg.grad != 0).float().mean() > 0.9


def test_gradcheck_float64():
    """Autograd's gradient equals finite differences through encoder and distance (the
    model cast to float64; fast mode: random directions, a few passes)."""
    loss = blindiqa.create_metric("default", as_loss=True, loss_reduction="none").double()
    x = photo_like(3, 64, 64).double()[None].requires_grad_(True)
    assert torch.autograd.gradcheck(loss, (x,), fast_mode=True, eps=1e-6, atol=1e-5,
                                    rtol=1e-3)


def test_a_few_steps_lower_the_score(metric, loss_none):
    g = torch.Generator().manual_seed(0)
    clean = photo_like(5)
    noisy = (clean + 0.1 * torch.randn(clean.shape, generator=g)).clamp(0, 1)[None]
    x = noisy.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.01)
    for _ in range(5):
        opt.zero_grad()
        loss_none(x).sum().backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    assert float(metric(x.detach())) < float(metric(noisy))


@pytest.mark.parametrize("images, message", [
    (torch.rand(3, 64, 64), r"must be \(B, 3, H, W\), got shape \(3, 64, 64\)"),
    (torch.rand(1, 1, 64, 64), r"must be \(B, 3, H, W\), got shape \(1, 1, 64, 64\)"),
    (torch.rand(0, 3, 64, 64), "no images given"),
    ((torch.rand(1, 3, 64, 64) * 255).to(torch.uint8), "unsupported tensor dtype torch.uint8"),
    (torch.full((1, 3, 64, 64), 1.5), r"values must lie in \[0, 1\]"),
    (torch.full((1, 3, 64, 64), float("nan")), "NaN or infinite"),
    (torch.empty(1, 3, 64, 64, device="meta"), "'meta' device"),
    ([torch.rand(3, 64, 64)], "must be a torch tensor"),
])
@pytest.mark.parametrize("as_loss", [False, True])
def test_bad_input(images, message, as_loss, metric, loss_none):
    with pytest.raises(ValueError, match=message):
        (loss_none if as_loss else metric)(images)


@pytest.mark.parametrize("as_loss", [False, True])
def test_too_small(as_loss, metric, loss_none):
    m = loss_none if as_loss else metric
    with pytest.raises(ValueError, match="needs at least 48x48"):
        m(torch.rand(1, 3, 32, 64))
    with pytest.raises(ValueError, match="^image 0: .*needs at least 48x48"):
        m(torch.rand(2, 3, 40, 64))


def test_bad_options(metric):
    with pytest.raises(ValueError, match="unknown model 'nosuch'"):
        blindiqa.create_metric("nosuch")
    with pytest.raises(ValueError, match="unknown loss_reduction 'avg'"):
        QualityMetric(metric.model, as_loss=True, loss_reduction="avg")
    with pytest.raises(ValueError, match="loss_weight must be a finite number"):
        QualityMetric(metric.model, as_loss=True, loss_weight=float("nan"))
    with pytest.raises(ValueError, match="'niqe' is not differentiable.*works with: default"):
        blindiqa.create_metric("niqe", as_loss=True)


def test_front_door_exports():
    from blindiqa import metric as metric_module

    assert blindiqa.create_metric is metric_module.create_metric
    assert blindiqa.list_metrics is metric_module.list_metrics
    assert blindiqa.QualityMetric is QualityMetric
    assert {"create_metric", "list_metrics", "QualityMetric"} <= set(dir(blindiqa))
