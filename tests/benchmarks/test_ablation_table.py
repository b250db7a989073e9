"""benchmarks/ablation_table.py: merging the results of several ablation folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blindiqa.ablate import VARIANTS, VariantResult
from blindiqa.ablate.report import write_report
from blindiqa.bench.metrics import srcc


@pytest.fixture()
def table(load_benchmark):
    """benchmarks/ablation_table.py, imported as a module."""
    return load_benchmark("ablation_table")


def _folder(path: Path, train: dict, variants, srcc: float, seed: int = 0) -> Path:
    results = [VariantResult(v, {"clive": {"n": 7, "srcc": srcc + 0.01 * i, "plcc": 0.5,
                                           "krcc": 0.3}}, steps=5 * i,
                             mi=-0.25 if v.mi in ("loglik", "contrastive") else None)
               for i, v in enumerate(variants)]
    write_report(path, results, {"encoder": "resnet18", "train": train, "seed": seed})
    return path


def test_merges_folders_and_labels_changed_settings(table, tmp_path, capsys):
    a = _folder(tmp_path / "a", {}, VARIANTS, 0.4)
    b = _folder(tmp_path / "b", {"q_lr": 1e-7}, VARIANTS[3:], 0.2)
    rows = table.load_rows([a, b])
    assert [r.variant.key for r in rows] == [*(v.key for v in VARIANTS), "mi-contrastive"]
    assert rows[-1].settings == "q-lr 1e-07" and rows[0].settings == ""
    assert rows[-1].metrics["clive"]["srcc"] == pytest.approx(0.2)
    seeded = table.load_rows([_folder(tmp_path / "c", {"mi_weight": 10.0}, VARIANTS, 0.4, 1)])
    assert [r.settings for r in seeded] == ["", *["mi-weight 10, seed 1"] * 3]
    # the run's own config wins (results.json files of older versions lack the seed)
    config = tmp_path / "c" / "runs" / "authentic" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"settings": {"seed": 5}}))
    assert table.load_rows([tmp_path / "c"])[1].settings == "mi-weight 10, seed 5"

    assert table.main([str(a), str(b), "--chart", str(tmp_path / "all.png")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 + 5
    assert out[-1].startswith("| + MI loss (contrastive likelihood) | q-lr 1e-07 | clive | 7 "
                              "| 0.2000 | 0.5000 | 0.3000 | - | 0 |")
    assert "| synthetic only | defaults | clive |" in out[2]
    pytest.importorskip("matplotlib")
    with Image.open(tmp_path / "all.png") as im:
        assert im.size[0] > 400


def test_missing_folder_is_an_error(table, tmp_path, capsys):
    assert table.main([str(tmp_path / "nowhere")]) == 2
    assert "no results.json" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text(json.dumps({"variants": [{}]}))
    assert table.main([str(tmp_path / "bad")]) == 2


def test_paired_bootstrap_against_the_first_row(table, tmp_path, capsys):
    gen = np.random.default_rng(3)
    mos = gen.normal(size=60)
    good = -mos + 0.3 * gen.normal(size=60)  # distances: lower = better
    bad = -mos + 3.0 * gen.normal(size=60)
    folders = []
    for name, scores in (("a", bad), ("b", good)):
        folder = _folder(tmp_path / name, {"mi_weight": 1.0} if name == "b" else {},
                         VARIANTS[:1] if name == "a" else VARIANTS[3:], 0.4)
        (folder / "bench" / "scores").mkdir(parents=True)
        key = "synthetic" if name == "a" else "mi-contrastive"
        pairs = enumerate(zip(scores, mos, strict=True))
        rows = ["image,score,error,mos"] + [f"i{k}.png,{s},,{m}" for k, (s, m) in pairs]
        rows.append("broken.png,,decode error,1.0")
        (folder / "bench" / "scores" / f"{key}__clive.csv").write_text("\n".join(rows) + "\n")
        folders.append(str(folder))
    (tmp_path / "mos.csv").write_text(
        "image,mos\n" + "".join(f"i{k}.png,{m}\n" for k, m in enumerate(mos)))

    delta, lo, hi = table.paired_bootstrap(bad, good, mos, resamples=300)
    assert delta == pytest.approx(abs(srcc(good, mos)) - abs(srcc(bad, mos)))
    assert 0 < lo < delta < hi  # clearly better on the same images
    assert table.paired_bootstrap(good, good, mos, resamples=50) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="one length"):
        table.paired_bootstrap(good, good[:5], mos)

    assert table.main([*folders, "--mos", f"clive={tmp_path / 'mos.csv'}",
                       "--resamples", "300"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    # the same difference; the interval from other resamples (images in name order)
    assert f"| {delta:+.4f} [+0." in last and "mi-weight 1" in last
    assert table.main([*folders, "--mos", "clive"]) == 2
    assert "NAME=CSV" in capsys.readouterr().err


def test_curves_from_the_training_logs(table, tmp_path):
    folder = _folder(tmp_path / "a", {}, VARIANTS, 0.4)
    assert not table.plot_curves(tmp_path / "none.png", table.load_rows([folder]))
    log = folder / "runs" / "mi-loglik" / "log.csv"
    log.parent.mkdir(parents=True)
    log.write_text("step,simsiam,mi\n" + "".join(f"{s},{-0.01 * s},{0.1 - 0.01 * s}\n"
                                                 for s in range(1, 31)))
    rows = table.load_rows([folder])
    curves = table.read_curves(rows[2])
    assert curves["mi"][0] == pytest.approx(0.09) and len(curves["step"]) == 30
    assert table.read_curves(rows[0]) == {}
    pytest.importorskip("matplotlib")
    assert table.plot_curves(tmp_path / "c.png", rows)
    with Image.open(tmp_path / "c.png") as im:
        assert im.size[0] > 400
