"""``blindiqa train authentic`` (``blindiqa.cli.train_authentic``): registered under
``train``, a tiny run with its options written into the run's config, and a run without
``--init`` refused."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest


def test_cli_registers_and_runs(pristine_dir, tmp_path):
    from blindiqa.cli.main import build_parser, main

    parser = build_parser()
    args = parser.parse_args(["train", "authentic", "--out", str(tmp_path / "r")])
    assert args.func.__name__ == "run_authentic"
    code = main(["train", "authentic", "--images", str(pristine_dir), "--init", "imagenet",
                 "--encoder", "efficientnet_lite0", "--out", str(tmp_path / "r"),
                 "--mi", "none", "--crop-size", "48", "--batch-images", "2", "--epochs", "1",
                 "--steps-per-epoch", "2", "--freeze", "stage1-5", "--quiet"])
    assert code == 0
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["frozen"] == [f"stage{i}" for i in range(1, 6)]
    assert main(["train", "authentic", "--images", str(pristine_dir), "--out",
                 str(tmp_path / "r2"), "--quiet"]) == 1  # no --init


def test_options_reach_the_stage_config(pristine_dir, tmp_path, monkeypatch, capsys):
    import blindiqa.train.authentic as authentic
    from blindiqa.cli.main import main

    seen = []

    def train(cfg, out, resume, progress, echo):
        seen.append(cfg)
        return SimpleNamespace(stopped="max_steps")

    monkeypatch.setattr(authentic, "train_authentic", train)
    assert main(["train", "authentic", "--images", str(pristine_dir), "--init", "imagenet",
                 "--encoder", "efficientnet_lite0", "--out", str(tmp_path / "r"),
                 "--mi", "loglik", "--freeze", "stage1-3", "--q-lr", "0.01",
                 "--limit-images", "3", "--quiet"]) == 0
    (cfg,) = seen
    assert (cfg.mi, cfg.freeze, cfg.q_lr, cfg.limit_images) == ("loglik", "stage1-3", 0.01, 3)
    assert cfg.images == [str(pristine_dir)] and cfg.encoder == "efficientnet_lite0"
    with pytest.raises(SystemExit) as stop:
        main(["train", "authentic", "--out", str(tmp_path / "r2"), "--mi", "bogus"])
    assert stop.value.code == 2 and "invalid choice: 'bogus'" in capsys.readouterr().err
