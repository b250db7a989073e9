"""The one training loop (train/run.py) driven by a toy stage, and both stages going
through it."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import blindiqa.train.authentic as authentic
import blindiqa.train.synthetic as synthetic
from blindiqa.train.run import train_stage
from blindiqa.train.settings import FRESH, INHERITED, check_run_limits
from blindiqa.train.stage import RunSetup, Stage, StageParts


@dataclass
class ToyConfig:
    images: list[str] = field(default_factory=list, metadata=INHERITED)
    epochs: int = field(default=2, metadata=INHERITED)
    steps_per_epoch: int | None = None
    batch: int = 2
    schedule: str = "cosine"
    seed: int = 0
    workers: int | None = field(default=0, metadata=INHERITED)
    checkpoint_every: int = field(default=0, metadata=INHERITED)
    amp: bool | None = field(default=None, metadata=INHERITED)
    channels_last: bool | None = field(default=None, metadata=INHERITED)
    max_minutes: float | None = field(default=None, metadata=FRESH)
    max_steps: int | None = field(default=None, metadata=FRESH)

    @property
    def resolved_device(self) -> str:
        return "cpu"

    def validate(self) -> None:
        check_run_limits(self.max_minutes, self.max_steps, "cpu")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class IndexData(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, item: tuple[Any, int]) -> torch.Tensor:
        return torch.tensor([float(item[1]), 1.0])


class ToyStage(Stage):
    """A linear model fit to 1 with Adam; ``head`` is extra checkpoint state and ``aux``
    a metric it never computes (NaN, logged blank)."""

    name = "toy"
    log_fields = ("step", "epoch", "loss", "aux", "lr", "crops_per_s", "data_s", "step_s")
    metrics = ("loss", "aux")
    blank_nan = True

    def __init__(self) -> None:
        self.setups: list[RunSetup] = []

    def images_per_step(self, cfg: ToyConfig) -> int:
        return cfg.batch

    def build(self, setup: RunSetup) -> StageParts:
        self.setups.append(setup)
        torch.manual_seed(setup.cfg.seed)
        net, head = nn.Linear(2, 1), nn.Linear(1, 1)
        optimizer = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=0.1)

        def step(batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
            loss = ((head(net(batch)) - 1.0) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return {"loss": loss.detach(), "aux": torch.tensor(float("nan"))}

        return StageParts(network=net, optimizer=optimizer, step=step,
                          dataset=IndexData(len(setup.files)), collate=torch.stack,
                          record={"stage": "toy"},
                          message="toy run", crops_per_step=setup.cfg.batch,
                          state={"head": head, "nothing": None})

    def summary(self, setup: RunSetup, last: dict[str, float]) -> dict[str, Any]:
        return {"last_loss": last["loss"]}


def rows(run: Path) -> list[dict[str, str]]:
    with (run / "log.csv").open() as f:
        return list(csv.DictReader(f))


def test_toy_stage_runs_logs_and_saves_its_state(pristine_dir, tmp_path):
    stage, msgs = ToyStage(), []
    cfg = ToyConfig(images=[str(pristine_dir)])
    r = train_stage(stage, cfg, tmp_path / "run", progress=False, echo=msgs.append)
    setup = stage.setups[0]
    # 5 images, 2 per step: 2 steps per epoch, cosine schedule over 4 steps
    assert (r.step, r.total_steps, r.stopped) == (4, 4, "done")
    assert setup.steps_per_epoch == 2 and len(setup.files) == 5 and setup.start_step == 0
    assert msgs[0] == "toy run" and msgs[-1].startswith("done: step 4/4")
    log = rows(tmp_path / "run")
    assert list(log[0]) == list(ToyStage.log_fields)
    assert [r["step"] for r in log] == ["1", "2", "3", "4"]
    assert all(r["aux"] == "" for r in log)  # NaN metrics are blank
    assert [float(r["lr"]) for r in log] == pytest.approx([0.1, 0.1 * (1 + math.cos(
        math.pi / 4)) / 2, 0.05, 0.1 * (1 + math.cos(3 * math.pi / 4)) / 2], rel=1e-5)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert set(state["head"]) == {"weight", "bias"} and state["nothing"] is None
    assert set(state["model"]) == {"weight", "bias"} and state["step"] == 4
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["stage"] == "toy" and config["settings"]["steps_per_epoch"] == 2
    assert config["num_images"] == 5 and len(config["images_digest"]) == 16
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["last_loss"] == pytest.approx(float(log[-1]["loss"]), rel=1e-5)


def test_toy_stage_resumes_exactly(pristine_dir, tmp_path):
    cfg = ToyConfig(images=[str(pristine_dir)])
    train_stage(ToyStage(), cfg, tmp_path / "full", progress=False, echo=lambda m: None)
    part = tmp_path / "part"
    first = train_stage(ToyStage(), dataclasses.replace(cfg, max_steps=3), part,
                        progress=False, echo=lambda m: None)
    assert (first.step, first.stopped) == (3, "max_steps")
    stage = ToyStage()
    train_stage(stage, cfg, part, resume=True, progress=False, echo=lambda m: None)
    assert stage.setups[0].start_step == 3
    a = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)
    b = torch.load(part / "checkpoint.pt", weights_only=True)
    for key in ("model", "head"):
        assert all(torch.equal(v, b[key][k]) for k, v in a[key].items()), key
    assert [r["loss"] for r in rows(tmp_path / "full")] == [r["loss"] for r in rows(part)]
    with pytest.raises(ValueError, match="different settings: steps_per_epoch, batch"):
        train_stage(ToyStage(), dataclasses.replace(cfg, batch=1), part, resume=True,
                    progress=False, echo=lambda m: None)


@pytest.mark.parametrize("module,fn,stage_type", [
    (synthetic, "train_synthetic", "SyntheticStage"),
    (authentic, "train_authentic", "AuthenticStage"),
])
def test_both_stages_go_through_the_one_loop(monkeypatch, module, fn, stage_type):
    calls = []
    monkeypatch.setattr(module, "train_stage", lambda *a: calls.append(a) or "result")
    assert getattr(module, fn)("cfg", "out", True, False, print) == "result"
    (stage, cfg, out, resume, progress, echo), = calls
    assert isinstance(stage, getattr(module, stage_type)) and isinstance(stage, Stage)
    assert (cfg, out, resume, progress, echo) == ("cfg", "out", True, False, print)
