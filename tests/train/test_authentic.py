"""Stage 2 (authentic fine-tuning): sampler, pairing, freezing, a tiny run, resume."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from torch import nn

from blindiqa.encoders import create_network
from blindiqa.train.authentic import (
    AuthenticConfig,
    AuthenticModel,
    StepParts,
    authentic_step,
    embed_crops,
    init_settings,
    resolve_config,
    train_authentic,
)
from blindiqa.train.authentic_data import AuthenticDataset, two_halves_pair
from blindiqa.train.checkpoint import load_checkpoint
from blindiqa.train.freeze import apply_freeze, parse_freeze

TINY = {"encoder": "efficientnet_lite0", "init": "random", "crop_size": 32,
        "batch_images": 4, "device": "cpu", "workers": 0, "q_hidden": 32}


class TinyContent(nn.Module):
    """A stand-in classifier: 10 classes from a few pixel statistics of the crop."""

    num_classes = 10

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(123)
        self.fc = nn.Linear(6, 10)
        for p in self.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)
        return torch.softmax(self.fc(stats * 10), dim=1)


def tiny(images, **over) -> AuthenticConfig:
    return AuthenticConfig(images=[str(images)], **{**TINY, **over})


def log_rows(run) -> list[dict[str, str]]:
    with (run / "log.csv").open() as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------ data


def test_two_halves_pair_crops_lie_in_different_halves():
    img = torch.arange(100 * 60, dtype=torch.float32).reshape(1, 100, 60).repeat(3, 1, 1)
    for seed in range(8):
        pair = two_halves_pair(img, torch.Generator().manual_seed(seed), None)
        assert pair.shape == (2, 3, 30, 30)
        a, b = pair[0, 0], pair[1, 0]
        rows_a, cols_a = (a // 60).unique(), (a % 60).unique()
        rows_b, cols_b = (b // 60).unique(), (b % 60).unique()
        split_rows = rows_a.max() < 50 <= rows_b.min()
        split_cols = cols_a.max() < 30 <= cols_b.min()
        assert split_rows or split_cols
    resized = two_halves_pair(img, torch.Generator().manual_seed(0), 64)
    assert resized.shape == (2, 3, 64, 64)


def test_dataset_is_seeded(pristine_dir):
    files = sorted(pristine_dir.iterdir())
    ds = AuthenticDataset(files, crop_size=48, seed=3)
    a, b = ds[((0, 1), 2)]["views"], ds[((0, 1), 2)]["views"]
    assert a.dtype == torch.uint8 and a.shape == (2, 3, 48, 48)
    assert torch.equal(a, b)
    assert not torch.equal(a, ds[((0, 2), 2)]["views"])


# --------------------------------------------------------------------------- pairing


class Recorder(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn, self.seen = fn, []

    def forward(self, x):
        self.seen.append(x)
        return self.fn(x)


def test_content_feature_i_goes_with_quality_feature_i():
    """Every crop has its own constant value; z and x_c must carry the same one per row
    (the official code ordered x_c image by image but z view by view)."""
    b = 5
    view1 = torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1).expand(b, 3, 8, 8) / 10
    view2 = view1 + 0.05
    model = Recorder(lambda x: (x.mean(dim=(1, 2, 3))[:, None].repeat(1, 4),
                                x.mean(dim=(1, 2, 3))[:, None].repeat(1, 4)))
    content = Recorder(lambda x: x.mean(dim=(1, 2, 3))[:, None].repeat(1, 7))
    z, p, x_c = embed_crops(model, content, view1, view2)
    assert torch.equal(model.seen[0], content.seen[0])  # the very same tensor of crops
    assert torch.allclose(z[:, 0], x_c[:, 0])
    expected = torch.cat([view1.mean(dim=(1, 2, 3)), view2.mean(dim=(1, 2, 3))])
    assert torch.allclose(z[:, 0], expected)  # rows 0..B-1 half 1, B..2B-1 half 2
    assert embed_crops(model, None, view1, view2)[2] is None


def test_step_penalty_uses_matched_pairs(monkeypatch):
    """The CLUB penalty of a step sees (x_c, q(z)) rows of the same crops."""
    import blindiqa.train.authentic as auth

    seen = {}

    def spy(x, mu, logvar):
        seen["x"], seen["mu"] = x.detach(), mu.detach()
        return auth_club(x, mu, logvar)

    auth_club = auth.club_penalty
    monkeypatch.setattr(auth, "club_penalty", spy)
    torch.manual_seed(0)

    class Identity(nn.Module):
        def forward(self, x):
            m = x.mean(dim=(2, 3))
            return torch.cat([m, m * 0 + x.std(dim=(2, 3))], dim=1) * self.scale

        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

    model = AuthenticModel(Identity(), nn.Linear(6, 6))
    q = auth.ConditionalGaussian(6, 10, hidden=8)
    # q's mean copies the crop's colour so that mu rows identify the crop
    with torch.no_grad():
        q.mu[1].weight.zero_()
        q.mu[1].weight[:3, :3] = torch.eye(3)
        q.mu[1].bias.zero_()
        q.mu[2].weight.copy_(torch.eye(10, 8))
        q.mu[2].bias.zero_()
    content = Recorder(lambda x: torch.cat([x.mean(dim=(2, 3)), torch.zeros(x.shape[0], 7)],
                                           dim=1))
    parts = StepParts(model, torch.optim.SGD(model.parameters(), lr=0.0), content, q,
                      torch.optim.SGD(q.parameters(), lr=0.0), mi="loglik", mi_weight=1.0)
    g = torch.Generator().manual_seed(0)
    v1, v2 = torch.rand(4, 3, 8, 8, generator=g), torch.rand(4, 3, 8, 8, generator=g)
    out = authentic_step(parts, v1, v2, penalise=True)
    assert torch.allclose(seen["x"][:, :3], seen["mu"][:, :3], atol=1e-6)
    assert torch.isfinite(out["mi"]) and out["mi_penalty"] == pytest.approx(
        2 * out["mi"].item(), rel=1e-5)


# -------------------------------------------------------------------------- freezing


def test_freeze_names_and_defaults():
    lite, res = create_network("efficientnet_lite0"), create_network("resnet18")
    assert parse_freeze(None, lite) == ("stage1", "stage2", "stage3")
    assert parse_freeze("default", res) == ("layer1", "layer2")
    assert parse_freeze("none", lite) == ()
    assert parse_freeze("stage5, stem,stage1-2", lite) == ("stem", "stage1", "stage2",
                                                           "stage5")
    with pytest.raises(ValueError, match="unknown block"):
        parse_freeze("layer1", lite)
    with pytest.raises(ValueError, match="unknown block"):
        parse_freeze("stage1-9", lite)


def test_frozen_blocks_do_not_change():
    from blindiqa.crops import FeatureExtractor
    from blindiqa.losses.simsiam import SimSiamPredictor

    torch.manual_seed(0)
    net = create_network("resnet18")
    frozen = apply_freeze(net, ("layer1", "layer2"))
    model = AuthenticModel(FeatureExtractor(net, ("layer4",)), SimSiamPredictor(512), frozen)
    model.train()
    assert not net.layer1.training and net.layer3.training
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    parts = StepParts(model, opt)
    g = torch.Generator().manual_seed(1)
    authentic_step(parts, torch.rand(3, 3, 32, 32, generator=g),
                   torch.rand(3, 3, 32, 32, generator=g), penalise=False)
    after = net.state_dict()
    for k, v in before.items():
        same = torch.equal(v, after[k])
        if k.startswith(("layer1.", "layer2.")):
            assert same, k  # weights and BatchNorm statistics
        elif k.startswith(("conv1.", "layer3.0.conv1.")):
            assert not same, k


# ------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def run20(pristine_dir, tmp_path_factory):
    """20 steps of SimSiam + CLUB (loglik q) on 32-px crops of 5 small photos."""
    out = tmp_path_factory.mktemp("auth20")
    cfg = tiny(pristine_dir, mi="loglik", epochs=1, steps_per_epoch=20, mi_weight=1.0,
               q_lr=1e-3, lr=1e-2, predictor_lr=1e-2)
    result = train_authentic(cfg, out, progress=False, echo=lambda m: None,
                             content=TinyContent())
    return out, result


def test_twenty_steps_lower_the_loss(run20):
    out, result = run20
    assert result.step == 20 and result.stopped == "done"
    rows = log_rows(out)
    assert [int(r["step"]) for r in rows] == list(range(1, 21))
    loss = [float(r["loss"]) for r in rows]
    sim = [float(r["simsiam"]) for r in rows]
    assert sum(loss[-5:]) / 5 < loss[0] - 0.3
    assert sum(sim[-5:]) / 5 < sim[0] - 0.3
    for r in rows:
        for key in ("mi", "mi_penalty", "q_loss", "feat_std", "crops_per_s"):
            assert r[key] != "" and float(r[key]) == float(r[key]), key
        assert float(r["mi_penalty"]) == pytest.approx(2 * float(r["mi"]), rel=1e-3,
                                                       abs=1e-6)
    assert all(float(r["feat_std"]) > 0 for r in rows)
    config = json.loads((out / "config.json").read_text())
    assert config["frozen"] == ["stage1", "stage2", "stage3"] and config["feature_dim"] == 1280
    summary = json.loads((out / "summary.json").read_text())
    assert summary["step"] == 20 and summary["last"]["mi"] is not None


def test_checkpoint_and_encoder_files(run20):
    out, _ = run20
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert {"model", "optimizer", "predictor", "q", "q_optimizer", "step"} <= set(state)
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 20
    net = create_network("efficientnet_lite0", checkpoint_path=out / "encoder.pt")
    assert torch.equal(net.state_dict()["_conv_head.weight"], state["model"]["_conv_head.weight"])
    # init_settings reads a run directory (and the files in it)
    weights, settings = init_settings(str(out))
    assert weights.endswith("encoder.pt")
    assert settings == {"encoder": "efficientnet_lite0", "layer": "head",
                        "normalization": "none"}


def test_mi_start_epoch_and_no_mi(pristine_dir, tmp_path):
    cfg = tiny(pristine_dir, mi="contrastive", epochs=2, steps_per_epoch=2, mi_start_epoch=2)
    train_authentic(cfg, tmp_path / "a", progress=False, echo=lambda m: None,
                    content=TinyContent())
    rows = log_rows(tmp_path / "a")
    assert [float(r["mi_penalty"]) for r in rows[:2]] == [0.0, 0.0]
    assert all(float(r["mi_penalty"]) != 0.0 for r in rows[2:])
    train_authentic(tiny(pristine_dir, mi="none", epochs=1, steps_per_epoch=2),
                    tmp_path / "b", progress=False, echo=lambda m: None)
    rows = log_rows(tmp_path / "b")
    assert len(rows) == 2 and rows[0]["mi"] == "" and rows[0]["q_loss"] == ""
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["q"] is None


def test_resume_is_exact(pristine_dir, tmp_path):
    over = {"mi": "loglik", "epochs": 2, "steps_per_epoch": 2, "q_lr": 1e-3}
    full = tmp_path / "full"
    train_authentic(tiny(pristine_dir, **over), full, progress=False, echo=lambda m: None,
                    content=TinyContent())
    part = tmp_path / "part"
    r = train_authentic(tiny(pristine_dir, **over, max_steps=1, checkpoint_every=1), part,
                        progress=False, echo=lambda m: None, content=TinyContent())
    assert r.stopped == "max_steps" and r.step == 1
    with pytest.raises(ValueError, match="already holds a run"):
        train_authentic(tiny(pristine_dir, **over), part, progress=False,
                        echo=lambda m: None, content=TinyContent())
    cfg = resolve_config({}, part, resume=True)
    assert cfg.mi == "loglik" and cfg.max_steps is None
    train_authentic(cfg, part, resume=True, progress=False, echo=lambda m: None,
                    content=TinyContent())
    a = torch.load(full / "checkpoint.pt", weights_only=True)
    b = torch.load(part / "checkpoint.pt", weights_only=True)
    for key in ("model", "predictor", "q"):
        for k, v in a[key].items():
            assert torch.equal(v, b[key][k]), (key, k)
    assert [r["loss"] for r in log_rows(full)] == [r["loss"] for r in log_rows(part)]
    with pytest.raises(ValueError, match="cannot resume with different settings"):
        resolve_config({"mi": "contrastive"}, part, resume=True)


def test_resolve_config_takes_stage1_settings(tmp_path, pristine_dir):
    run = tmp_path / "s1"
    run.mkdir()
    torch.save(create_network("efficientnet_lite0").state_dict(), run / "encoder.pt")
    (run / "config.json").write_text(json.dumps(
        {"settings": {"encoder": "efficientnet_lite0", "normalization": "lite"},
         "layer": "stage6"}))
    cfg = resolve_config({"images": [str(pristine_dir)], "init": str(run)}, tmp_path / "o",
                         resume=False)
    assert (cfg.encoder, cfg.layer, cfg.normalization) == ("efficientnet_lite0", "stage6",
                                                           "lite")
    with pytest.raises(ValueError, match="Stage-1 run used"):
        resolve_config({"images": ["x"], "init": str(run), "encoder": "resnet50"},
                       tmp_path / "o", resume=False)
    with pytest.raises(ValueError, match="--init"):
        resolve_config({"images": ["x"]}, tmp_path / "o", resume=False)
    assert resolve_config({"images": ["x"], "init": "random"}, tmp_path / "o",
                          resume=False).encoder == "resnet50"
    bad = tiny(pristine_dir, mi="bogus")
    with pytest.raises(ValueError, match="mi must be"):
        bad.validate()
