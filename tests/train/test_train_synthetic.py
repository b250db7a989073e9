"""The Stage-1 trainer: a tiny run, exact resume, checkpoints, stopping rules."""

from __future__ import annotations

import csv
import json
import os
import signal

import pytest
import torch

from blindiqa.encoders import create_network
from blindiqa.train import SyntheticConfig, resolve_config, train_synthetic
from blindiqa.train.checkpoint import load_checkpoint
from blindiqa.train.run import stop_on_sigterm, throughput

TINY = {"encoder": "efficientnet_lite0", "work_size": 128, "scenes_per_batch": 2, "k": 2,
        "device": "cpu", "workers": 0}


def tiny(pristine_dir, **over) -> SyntheticConfig:
    return SyntheticConfig(images=[str(pristine_dir)], **{**TINY, **over})


def log_rows(run) -> list[dict[str, str]]:
    with (run / "log.csv").open() as f:
        return list(csv.DictReader(f))


def encoder_state(run) -> dict[str, torch.Tensor]:
    return torch.load(run / "encoder.pt", map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def run6(pristine_dir, tmp_path_factory):
    """6 steps (2 epochs of 3) without interruption."""
    out = tmp_path_factory.mktemp("run6")
    result = train_synthetic(tiny(pristine_dir, epochs=2, steps_per_epoch=3), out,
                             progress=False, echo=lambda m: None)
    return out, result


def test_tiny_run_writes_all_files(run6):
    out, result = run6
    assert result.step == result.total_steps == 6 and result.stopped == "done"
    assert result.crops_per_s > 0
    for name in ("config.json", "log.csv", "checkpoint.pt", "encoder.pt", "summary.json"):
        assert (out / name).is_file(), name
    rows = log_rows(out)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [int(r["epoch"]) for r in rows] == [1, 1, 1, 2, 2, 2]
    assert all(float(r["loss"]) > 0 and float(r["crops_per_s"]) > 0 for r in rows)
    assert float(rows[0]["lr"]) == pytest.approx(1e-2)
    config = json.loads((out / "config.json").read_text())
    assert config["layer"] == "head" and config["crop_size"] == 64
    assert config["crops_per_step"] == 8 and config["num_images"] == 5
    assert config["settings"]["steps_per_epoch"] == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["step"] == 6 and summary["stopped"] == "done"


def test_checkpoint_loads_with_weights_only(run6):
    out, _ = run6
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert {"model", "optimizer", "scheduler", "step", "epoch", "rng", "config"} <= set(state)
    assert state["step"] == 6 and state["epoch"] == 2
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 6
    enc = encoder_state(out)
    assert all(torch.equal(enc[k], state["model"][k]) for k in enc)
    # both files are accepted as encoder weights
    net = create_network("efficientnet_lite0", checkpoint_path=out / "encoder.pt")
    net2 = create_network("efficientnet_lite0", checkpoint_path=out / "checkpoint.pt")
    assert torch.equal(net.state_dict()["_conv_stem.weight"],
                       net2.state_dict()["_conv_stem.weight"])
    # training changed the weights from their seeded initialisation
    torch.manual_seed(0)
    init = create_network("efficientnet_lite0").state_dict()
    assert not torch.equal(init["_conv_stem.weight"], enc["_conv_stem.weight"])
    with pytest.raises(ValueError, match="not a blindiqa training checkpoint"):
        load_checkpoint(out / "encoder.pt")


def test_kill_and_resume_is_exact(run6, pristine_dir, tmp_path):
    ref, _ = run6
    out = tmp_path / "run"
    first = train_synthetic(tiny(pristine_dir, epochs=2, steps_per_epoch=3, max_steps=2),
                            out, progress=False, echo=lambda m: None)
    assert first.step == 2 and first.stopped == "max_steps"
    # a killed run may have logged steps past its checkpoint: they are dropped on resume
    with (out / "log.csv").open("a") as f:
        f.write("3,1,9.9,0.01,1,0,1\n")
    cfg = resolve_config({"max_steps": 4}, out, resume=True)  # the rest from config.json
    assert cfg.encoder == "efficientnet_lite0" and cfg.max_steps == 4
    assert train_synthetic(cfg, out, resume=True, progress=False,
                           echo=lambda m: None).step == 4
    cfg = resolve_config({}, out, resume=True)
    assert cfg.max_steps is None  # stopping rules are not inherited
    done = train_synthetic(cfg, out, resume=True, progress=False, echo=lambda m: None)
    assert done.step == 6 and done.stopped == "done"
    a, b = encoder_state(ref), encoder_state(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    sa = torch.load(ref / "checkpoint.pt", weights_only=True)
    sb = torch.load(out / "checkpoint.pt", weights_only=True)
    for key, st in sa["optimizer"]["state"].items():
        assert torch.equal(st["exp_avg"], sb["optimizer"]["state"][key]["exp_avg"])
    ra, rb = log_rows(ref), log_rows(out)
    assert [r["step"] for r in rb] == [str(i) for i in range(1, 7)]
    assert [r["loss"] for r in ra] == [r["loss"] for r in rb]
    sessions = json.loads((out / "config.json").read_text())["sessions"]
    assert [s["start_step"] for s in sessions] == [0, 2, 4]


def test_resume_guards(run6, pristine_dir, tmp_path):
    ref, _ = run6
    with pytest.raises(ValueError, match="already holds a run"):
        train_synthetic(tiny(pristine_dir, epochs=2, steps_per_epoch=3), ref,
                        progress=False)
    with pytest.raises(ValueError, match="different settings: lr"):
        resolve_config({"lr": 0.5}, ref, resume=True)
    with pytest.raises(ValueError, match="no training images"):
        resolve_config({}, tmp_path / "empty", resume=True)
    with pytest.raises(ValueError, match="unknown settings"):
        resolve_config({"images": ["x"], "colour": 1}, tmp_path, resume=False)
    # extending the run (more epochs) is allowed and continues from step 6
    cfg = resolve_config({"epochs": 3}, ref, resume=True)
    assert cfg.epochs == 3 and cfg.steps_per_epoch == 3


def test_resume_without_checkpoint_starts_fresh(pristine_dir, tmp_path):
    msgs: list[str] = []
    r = train_synthetic(tiny(pristine_dir, epochs=1, steps_per_epoch=1), tmp_path / "new",
                        resume=True, progress=False, echo=msgs.append)
    assert r.step == 1 and any("starting a new run" in m for m in msgs)


def test_max_minutes_stops_cleanly(pristine_dir, tmp_path):
    out = tmp_path / "timed"
    r = train_synthetic(tiny(pristine_dir, epochs=5, steps_per_epoch=4, max_minutes=1e-6),
                        out, progress=False, echo=lambda m: None)
    assert r.stopped == "max_minutes" and r.step == 1
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 1
    assert (out / "encoder.pt").is_file()


@pytest.mark.parametrize("over", [
    {"objective": "contrique", "k": 3, "encoder": "resnet18", "crop": 48},
    {"distort_on": "device", "k": 4, "checkpoint_every": 1, "schedule": "cosine"},
])
def test_other_modes_run(pristine_dir, tmp_path, over):
    out = tmp_path / "m"
    r = train_synthetic(tiny(pristine_dir, epochs=1, steps_per_epoch=2, **over), out,
                        progress=False, echo=lambda m: None)
    assert r.step == 2
    rows = log_rows(out)
    assert len(rows) == 2 and all(float(x["loss"]) > 0 for x in rows)
    if over.get("schedule") == "cosine":
        assert float(rows[1]["lr"]) == pytest.approx(0.5e-2)


@pytest.mark.parametrize("over,match", [
    ({"objective": "triplet"}, "objective"),
    ({"init": "imagenet", "encoder": "resnet18"}, "no ImageNet weights"),
    ({"init": "/no/such/file.pt"}, "--init"),
    ({"k": 1}, "k must"),
    ({"crop": 8}, "crop"),
    ({"lr": 0.0}, "lr"),
    ({"encoder": "vgg"}, "unknown encoder"),
    ({"max_steps": 0}, "max_steps"),
    ({"epochs": 0}, "epochs"),
])
def test_bad_settings(pristine_dir, tmp_path, over, match):
    with pytest.raises(ValueError, match=match):
        train_synthetic(tiny(pristine_dir, **over), tmp_path / "x", progress=False)


def test_sigterm_sets_a_flag_and_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_sigterm() as stopped:
        assert not stopped()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopped()
    assert signal.getsignal(signal.SIGTERM) == before


def test_throughput_skips_warm_up():
    assert throughput([(8, 10.0), (8, 10.0), (8, 10.0), (8, 1.0), (8, 1.0)]) == 8.0
    assert throughput([(8, 2.0)]) == 4.0 and throughput([]) == 0.0


def test_nonfinite_loss_stops_without_saving(pristine_dir, tmp_path, monkeypatch):
    import blindiqa.train.synthetic as synthetic

    real = synthetic.make_loss

    class NanOnSecondCall(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, *args):
            self.calls += 1
            loss = self.inner(*args)
            return loss * float("nan") if self.calls == 2 else loss

    monkeypatch.setattr(synthetic, "make_loss", lambda cfg: NanOnSecondCall(real(cfg)))
    msgs: list[str] = []
    out = tmp_path / "nan"
    r = train_synthetic(tiny(pristine_dir, epochs=1, steps_per_epoch=4), out,
                        progress=False, echo=msgs.append)
    assert r.stopped == "nonfinite" and any("loss is nan at step 2" in m for m in msgs)
    assert not (out / "checkpoint.pt").exists()
    assert [r["step"] for r in log_rows(out)] == ["1", "2"]
