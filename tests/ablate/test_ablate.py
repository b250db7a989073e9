"""The ablation: orchestration (budget, matched steps, reuse), report, a tiny real run (the
``blindiqa ablate`` command: tests/cli/test_ablate_command.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import blindiqa.ablate.runner as runner
from blindiqa.ablate import VARIANTS, AblationConfig, VariantResult, run_ablation
from blindiqa.ablate.report import plot_ablation, results_markdown


def smooth(h: int, w: int, seed: int, blur: int = 1) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(1, 3, h, w)
    for cells in (4, 16, 48):
        out += F.interpolate(torch.rand(1, 3, cells, cells, generator=g), size=(h, w),
                             mode="bicubic", align_corners=False)
    out = (out / 3).clamp(0, 1)
    if blur > 1:
        out = F.avg_pool2d(out, blur, 1, blur // 2)[..., :h, :w]
    return (out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """pristine/ (4 images), unlabeled/ (6), a generic dataset (6 images, blurrier =
    lower MOS)."""
    root = tmp_path_factory.mktemp("ablate")
    for sub in ("pristine", "unlabeled", "ds/images"):
        (root / sub).mkdir(parents=True)
    for i in range(4):
        Image.fromarray(smooth(200, 200, i)).save(root / "pristine" / f"p{i}.png")
    for i in range(6):
        Image.fromarray(smooth(120, 160, 10 + i)).save(root / "unlabeled" / f"u{i}.png")
    rows = ["image,mos"]
    for i in range(6):
        Image.fromarray(smooth(192, 192, 20 + i, blur=1 + 2 * i)).save(
            root / "ds" / "images" / f"t{i}.png")
        rows.append(f"t{i}.png,{90 - 12 * i}")
    (root / "ds" / "mos.csv").write_text("\n".join(rows) + "\n")
    return root


def config(tree: Path, out: Path, **over) -> AblationConfig:
    base = {"init": "imagenet", "encoder": "efficientnet_lite0",
            "pristine": [str(tree / "pristine")], "unlabeled": [str(tree / "unlabeled")],
            "datasets": [("toy", str(tree / "ds"))], "out": str(out), "device": "cpu"}
    return AblationConfig(**{**base, **over})


class Fakes:
    """Stand-ins for training / fitting / scoring that record their calls."""

    def __init__(self, monkeypatch, train_steps: int = 7) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.train_steps = train_steps
        monkeypatch.setattr(runner, "train_variant", self.train)
        monkeypatch.setattr(runner, "fit_variant", self.fit)
        monkeypatch.setattr(runner, "bench_variant", self.bench)

    def train(self, variant, run_dir, cfg, limits, progress, say):
        self.calls.append(("train", variant.key, dict(limits)))
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "encoder.pt").write_bytes(b"x")
        steps = limits.get("max_steps", self.train_steps)
        (run_dir / "summary.json").write_text(json.dumps(
            {"step": steps, "epoch": steps / 10, "stopped": "max_steps"}))
        (run_dir / "log.csv").write_text(
            "step,mi,simsiam,feat_std,step_s\n"
            + "".join(f"{s},{0.1 * s},-0.5,0.02,3.0\n" for s in range(1, steps + 1)))

    def fit(self, key, encoder_file, *args, **kw):
        self.calls.append(("fit", key, {"encoder_file": encoder_file}))
        return Path(f"{key}.safetensors")

    def bench(self, model_path, datasets, out, device, limit, progress=False):
        i = [v.key for v in VARIANTS].index(Path(model_path).stem)
        return {"toy": {"n": 6, "srcc": 0.3 + 0.1 * i, "plcc": 0.35 + 0.1 * i, "krcc": 0.2}}


def test_orchestration_budget_matched_steps_and_reuse(tree, tmp_path, monkeypatch):
    fakes = Fakes(monkeypatch)
    cfg = config(tree, tmp_path / "o", budget_minutes=60.0)
    results = run_ablation(cfg, echo=lambda m: None)
    assert [r.variant.key for r in results] == [v.key for v in VARIANTS]
    trains = [c for c in fakes.calls if c[0] == "train"]
    # mi-loglik first, by time; the others for the same number of steps
    assert [c[1] for c in trains] == ["mi-loglik", "authentic", "mi-contrastive"]
    per_run = trains[0][2]["max_minutes"]
    assert 15 < per_run < 20  # (60 min - evaluations) / 3
    assert trains[1][2]["max_steps"] == trains[2][2]["max_steps"] == 7
    fits = {c[1]: c[2]["encoder_file"] for c in fakes.calls if c[0] == "fit"}
    assert fits["synthetic"] is None  # the ImageNet weights as they are
    assert fits["mi-loglik"].endswith("runs/mi-loglik/encoder.pt")
    by_key = {r.variant.key: r for r in results}
    assert by_key["mi-loglik"].steps == 7 and by_key["synthetic"].steps == 0
    assert by_key["mi-loglik"].mi == pytest.approx(0.1 * np.mean(range(1, 8)))
    assert by_key["authentic"].train_minutes == pytest.approx(7 * 3.0 / 60)
    assert by_key["mi-loglik"].stopped == "max_steps" and by_key["synthetic"].stopped is None
    out = tmp_path / "o"
    report = (out / "results.md").read_text()
    assert "+ MI loss (contrastive likelihood)" in report and "0.6000" in report
    assert "a smoke test" in report
    payload = json.loads((out / "results.json").read_text())
    assert [VariantResult.from_json(v) for v in payload["variants"]] == results
    assert [v["variant"]["key"] for v in payload["variants"]] == [v.key for v in VARIANTS]
    # a second call reuses the finished runs: no training
    fakes.calls.clear()
    run_ablation(cfg, echo=lambda m: None)
    assert not [c for c in fakes.calls if c[0] == "train"]


def test_budget_too_small_and_bad_settings(tree, tmp_path, monkeypatch):
    Fakes(monkeypatch)
    with pytest.raises(ValueError, match="too small"):
        run_ablation(config(tree, tmp_path / "a", budget_minutes=0.1), echo=lambda m: None)
    with pytest.raises(ValueError, match="unknown variant"):
        config(tree, tmp_path, variants=("bogus",)).validate()
    with pytest.raises(ValueError, match="unknown training settings"):
        config(tree, tmp_path, train={"bogus": 1}).validate()
    with pytest.raises(ValueError, match="holds no encoder.pt"):
        config(tree, tmp_path, runs={"authentic": str(tmp_path)}).validate()
    with pytest.raises(ValueError, match="no dataset"):
        config(tree, tmp_path, datasets=[]).validate()


def test_given_runs_are_used(tree, tmp_path, monkeypatch):
    fakes = Fakes(monkeypatch)
    given = tmp_path / "elsewhere"
    fakes.train(VARIANTS[1], given, None, {"max_steps": 3}, False, None)
    fakes.calls.clear()
    results = run_ablation(config(tree, tmp_path / "o", variants=("authentic",),
                                  runs={"authentic": str(given)}), echo=lambda m: None)
    assert not [c for c in fakes.calls if c[0] == "train"]
    assert results[0].reused and results[0].steps == 3
    assert [c[2]["encoder_file"] for c in fakes.calls if c[0] == "fit"] == [
        str(given / "encoder.pt")]


def test_report_markdown_and_chart(tmp_path):
    results = [VariantResult(v, {"clive": {"n": 10, "srcc": 0.4 + 0.02 * i,
                                           "plcc": 0.45 + 0.02 * i, "krcc": 0.3}},
                             steps=10 * i, mi=0.01 if v.mi in ("loglik", "contrastive")
                             else None)
               for i, v in enumerate(VARIANTS)]
    md = results_markdown(results, {"encoder": "resnet50", "budget_minutes": 5}, chart=True)
    assert md.count("| clive |") == 4 and "ablation.png" in md
    assert "every run finished its epochs" in md and "smoke test" not in md
    results[2].stopped = "max_minutes"
    md = results_markdown(results, {"encoder": "resnet50", "budget_minutes": 5}, chart=True)
    assert "cut short by it (+ MI loss (log-likelihood)), a smoke test" in md
    pytest.importorskip("matplotlib")
    assert plot_ablation(tmp_path / "a.png", results, " (test)")
    with Image.open(tmp_path / "a.png") as im:
        assert im.size[0] > 400
    assert not plot_ablation(tmp_path / "b.png", [VariantResult(VARIANTS[0])])


def test_tiny_real_ablation(tree, tmp_path):
    """Real training, fitting and scoring, at toy sizes (synthetic + authentic only)."""
    cfg = config(tree, tmp_path / "real", variants=("synthetic", "authentic"),
                 train={"crop_size": 32, "batch_images": 2, "epochs": 1,
                        "steps_per_epoch": 2})
    results = run_ablation(cfg, echo=lambda m: None)
    assert [r.variant.key for r in results] == ["synthetic", "authentic"]
    for r in results:
        m = r.metrics["toy"]
        assert m["n"] == 6 and 0 <= m["srcc"] <= 1
    assert results[1].steps == 2
    out = tmp_path / "real"
    assert (out / "models" / "authentic.safetensors").is_file()
    assert (out / "bench" / "scores" / "authentic__toy.csv").is_file()
    # the fitted bundle is reused while its stamp holds
    stamp = (out / "models" / "authentic.json").read_text()
    mtime = (out / "models" / "authentic.safetensors").stat().st_mtime_ns
    run_ablation(cfg, echo=lambda m: None)
    assert (out / "models" / "authentic.safetensors").stat().st_mtime_ns == mtime
    assert (out / "models" / "authentic.json").read_text() == stamp
