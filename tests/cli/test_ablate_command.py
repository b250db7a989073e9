"""``blindiqa ablate``: its options reach the ablation's settings; results, errors and
bad usage."""

from __future__ import annotations

import pytest

import blindiqa.ablate.runner as runner
from blindiqa.ablate import VARIANTS, VariantResult
from blindiqa.cli.main import main as blindiqa_main


def test_cli_parses(tmp_path):
    from blindiqa.cli.ablate import main

    assert main(["--init", "imagenet", "--pristine", str(tmp_path), "--dataset", "x=" +
                 str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 1  # no photos
    with pytest.raises(SystemExit):
        main(["--init", "imagenet", "--pristine", "p", "--dataset", "novalue", "--out", "o"])


def _given(monkeypatch, results=None, error=None):
    """Stand in for the ablation; returns the list that receives its settings."""
    seen = []

    def run_ablation(cfg, echo=None, progress=False):
        seen.append(cfg)
        if error is not None:
            raise error
        return results or []

    monkeypatch.setattr(runner, "run_ablation", run_ablation)
    return seen


def test_options_become_the_ablation_settings(tmp_path, monkeypatch, capsys):
    seen = _given(monkeypatch, results=[VariantResult(VARIANTS[1], {
        "clive": {"n": 10, "srcc": 0.5, "plcc": 0.25, "krcc": 0.4}})])
    assert blindiqa_main(["ablate", "--init", "imagenet", "--pristine", "p1", "p2",
                          "--dataset", "clive=c", "--dataset", "koniq=k", "--out", "o",
                          "--variants", "mi-contrastive", "authentic",
                          "--run", "authentic=runs/s2", "--epochs", "2", "--lr", "0.1",
                          "--no-amp", "--limit", "5"]) == 0
    (cfg,) = seen
    assert cfg.variants == ("authentic", "mi-contrastive")  # in the ablation's order
    assert cfg.datasets == [("clive", "c"), ("koniq", "k")]
    assert cfg.pristine == ["p1", "p2"] and cfg.runs == {"authentic": "runs/s2"}
    assert cfg.train == {"epochs": 2, "lr": 0.1, "amp": False}  # only what was given
    assert cfg.limit == 5 and cfg.budget_minutes is None
    assert capsys.readouterr().out.split() == [
        "+", "authentic", "clive:", "SRCC", "0.5000", "PLCC", "0.2500"]


def test_every_variant_by_default_and_failures_exit_1(monkeypatch, capsys):
    seen = _given(monkeypatch, error=ValueError("budget too small"))
    assert blindiqa_main(["ablate", "--init", "imagenet", "--pristine", "p", "--dataset",
                          "x=y", "--out", "o", "--quiet"]) == 1
    assert seen[0].variants == tuple(v.key for v in VARIANTS)
    assert capsys.readouterr().err == "blindiqa: error: budget too small\n"


@pytest.mark.parametrize("bad", [["--run", "authentic"], ["--dataset", "=root"],
                                 ["--variants", "bogus"]])
def test_usage_errors(bad, capsys):
    argv = ["ablate", "--init", "imagenet", "--pristine", "p", "--dataset", "x=y",
            "--out", "o", *bad]
    with pytest.raises(SystemExit) as stop:
        blindiqa_main(argv)
    assert stop.value.code == 2 and "error:" in capsys.readouterr().err
