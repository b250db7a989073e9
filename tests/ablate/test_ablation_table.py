"""benchmarks/ablation_table.py: merging the results of several ablation folders."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from PIL import Image

from blindiqa.ablate import VARIANTS, VariantResult
from blindiqa.ablate.report import write_report

ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "ablation_table", ROOT / "benchmarks" / "ablation_table.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _folder(path: Path, train: dict, variants, srcc: float) -> Path:
    results = [VariantResult(v, {"clive": {"n": 7, "srcc": srcc + 0.01 * i, "plcc": 0.5,
                                           "krcc": 0.3}}, steps=5 * i,
                             mi=-0.25 if v.mi in ("loglik", "contrastive") else None)
               for i, v in enumerate(variants)]
    write_report(path, results, {"encoder": "resnet18", "train": train})
    return path


def test_merges_folders_and_labels_changed_settings(tmp_path, capsys):
    table = _load_script()
    a = _folder(tmp_path / "a", {}, VARIANTS, 0.4)
    b = _folder(tmp_path / "b", {"q_lr": 1e-7}, VARIANTS[3:], 0.2)
    rows = table.load_rows([a, b])
    assert [r.variant.key for r in rows] == [*(v.key for v in VARIANTS), "mi-contrastive"]
    assert rows[-1].settings == "q-lr 1e-07" and rows[0].settings == ""
    assert rows[-1].metrics["clive"]["srcc"] == pytest.approx(0.2)

    assert table.main([str(a), str(b), "--chart", str(tmp_path / "all.png")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 + 5
    assert out[-1].startswith("| + MI loss (contrastive likelihood) | q-lr 1e-07 | clive | 7 "
                              "| 0.2000 | 0.5000 | 0.3000 | 0 |")
    assert "| synthetic only | defaults | clive |" in out[2]
    pytest.importorskip("matplotlib")
    with Image.open(tmp_path / "all.png") as im:
        assert im.size[0] > 400


def test_missing_folder_is_an_error(tmp_path, capsys):
    table = _load_script()
    assert table.main([str(tmp_path / "nowhere")]) == 2
    assert "no results.json" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text(json.dumps({"variants": [{}]}))
    assert table.main([str(tmp_path / "bad")]) == 2
