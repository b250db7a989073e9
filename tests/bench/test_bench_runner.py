"""The benchmark runner end to end on a tiny dataset with a fake model."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import pytest
from bench_helpers import FAKE, BrightnessModel, write_image

from blindiqa.bench.datasets import load_dataset
from blindiqa.bench.runner import (
    RESULT_COLUMNS,
    SCORE_COLUMNS,
    BenchResult,
    merge_results,
    model_label,
    read_results,
    read_score_file,
    run_bench,
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _run(root: Path, out: Path, **kw) -> list[BenchResult]:
    kw.setdefault("quiet", True)
    kw.setdefault("plots", False)
    return run_bench([FAKE], [("tiny", root)], out, stream=io.StringIO(), **kw)


def test_end_to_end(fake_model: type[BrightnessModel], generic_tree: Path,
                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    (res,) = _run(generic_tree, out, plots=True)
    assert (res.model, res.dataset, res.n) == (FAKE, "tiny", 8)
    # brightness predicts MOS with one swapped pair; the score is 1 - brightness
    assert res.srcc == pytest.approx(1 - 6 * 2 / (8 * 63))
    assert 0.9 < res.plcc <= 1 and 0.8 < res.krcc < 1
    assert res.seconds_per_image is not None and res.seconds_per_image > 0

    results = _rows(out / "results.csv")
    assert list(results[0]) == list(RESULT_COLUMNS)
    assert results[0]["model"] == FAKE and results[0]["n"] == "8"
    md = (out / "results.md").read_text()
    assert "| model | dataset | n | srcc | plcc | krcc | seconds_per_image |" in md
    assert f"| {FAKE} | tiny | 8 |" in md and "absolute" in md

    scores = _rows(out / "scores" / f"{FAKE}__tiny.csv")
    assert list(scores[0]) == list(SCORE_COLUMNS)
    assert [r["image"] for r in scores] == [f"img{i}.png" for i in range(8)]
    assert float(scores[0]["mos"]) == 10.0 and scores[0]["error"] == ""
    timing = json.loads((out / "scores" / f"{FAKE}__tiny.json").read_text())
    assert timing["images_scored"] == 8
    png = out / "plots" / f"{FAKE}__tiny.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.rglob("*.tmp"))


def test_rerun_reuses_scores(fake_model: type[BrightnessModel], generic_tree: Path,
                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    (first,) = _run(generic_tree, out)
    assert len(fake_model.calls) == 8
    fake_model.calls.clear()
    (second,) = _run(generic_tree, out)
    assert fake_model.calls == []  # nothing scored again
    assert second == first  # same metrics, timing taken from the previous run's record


def test_limit_then_rest(fake_model: type[BrightnessModel], generic_tree: Path,
                         tmp_path: Path) -> None:
    out = tmp_path / "out"
    stream = io.StringIO()
    (res,) = run_bench([FAKE], [("tiny", generic_tree)], out, limit=3, quiet=True,
                       plots=False, stream=stream)
    assert res.n == 3 and len(fake_model.calls) == 3
    assert "plain PLCC" in stream.getvalue()  # 3 points: no logistic fit, said once
    fake_model.calls.clear()
    (res,) = _run(generic_tree, out)
    assert res.n == 8 and len(fake_model.calls) == 5  # only the missing images


def test_interrupted_run_keeps_rows(fake_model: type[BrightnessModel], generic_tree: Path,
                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    stream = io.StringIO()
    fake_model.interrupt_after = 3
    with pytest.raises(KeyboardInterrupt):
        run_bench([FAKE], [("tiny", generic_tree)], out, quiet=True, plots=False,
                  stream=stream)
    assert "rerun" in stream.getvalue()
    kept = read_score_file(out / "scores" / f"{FAKE}__tiny.csv")
    assert sorted(kept) == ["img0.png", "img1.png", "img2.png"]
    assert all(r.score is not None for r in kept.values())

    fake_model.interrupt_after = None
    fake_model.calls.clear()
    (res,) = _run(generic_tree, out)
    assert len(fake_model.calls) == 5 and res.n == 8
    rows = _rows(out / "scores" / f"{FAKE}__tiny.csv")
    assert [r["image"] for r in rows] == [f"img{i}.png" for i in range(8)]  # compacted


def test_torn_last_line_is_rescored(fake_model: type[BrightnessModel], generic_tree: Path,
                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(generic_tree, out)
    path = out / "scores" / f"{FAKE}__tiny.csv"
    text = path.read_text()
    path.write_text(text[: text.rindex("img7.png") + 12])  # cut inside the last row
    fake_model.calls.clear()
    (res,) = _run(generic_tree, out)
    assert len(fake_model.calls) == 1 and res.n == 8


def test_failed_images_are_reported(fake_model: type[BrightnessModel], generic_tree: Path,
                                    tmp_path: Path) -> None:
    write_image(generic_tree / "images" / "tiny.png", 100, size=10)  # below min_size
    (generic_tree / "images" / "broken.png").write_bytes(b"not an image")
    with (generic_tree / "mos.csv").open("a") as fh:
        fh.write("tiny.png,50,1\nbroken.png,60,1\n")
    out = tmp_path / "out"
    stream = io.StringIO()
    (res,) = run_bench([FAKE], [("tiny", generic_tree)], out, plots=False, stream=stream)
    assert res.n == 8
    assert "2 image(s) could not be scored" in stream.getvalue()
    rows = {r["image"]: r for r in _rows(out / "scores" / f"{FAKE}__tiny.csv")}
    assert rows["tiny.png"]["score"] == "" and "32x32" in rows["tiny.png"]["error"]
    assert rows["broken.png"]["error"]


def test_no_matplotlib(fake_model: type[BrightnessModel], generic_tree: Path,
                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    out = tmp_path / "out"
    stream = io.StringIO()
    run_bench([FAKE], [("a", generic_tree), ("b", generic_tree)], out, quiet=True,
              stream=stream)
    assert stream.getvalue().count("matplotlib is not installed") == 1
    assert not (out / "plots").exists() or not list((out / "plots").iterdir())
    assert len(_rows(out / "results.csv")) == 2


def test_results_accumulate_across_runs(fake_model: type[BrightnessModel],
                                        generic_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name in ("a", "b"):
        run_bench([FAKE], [(name, generic_tree)], out, quiet=True, plots=False,
                  stream=io.StringIO())
    assert [(r.model, r.dataset) for r in read_results(out / "results.csv")] == [
        (FAKE, "a"), (FAKE, "b")]


def test_model_instance_and_dataset_object(generic_tree: Path, tmp_path: Path) -> None:
    BrightnessModel.calls = []
    ds = load_dataset(generic_tree, name="obj")
    (res,) = run_bench([BrightnessModel()], [ds], tmp_path / "out", quiet=True,
                       plots=False, stream=io.StringIO())
    assert (res.model, res.dataset, res.n) == (FAKE, "obj", 8)
    BrightnessModel.calls = []


def test_bad_arguments(fake_model: type[BrightnessModel], generic_tree: Path,
                       tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown model"):
        run_bench(["no-such-model"], [("t", generic_tree)], tmp_path / "o")
    with pytest.raises(ValueError, match="model file not found"):
        run_bench([str(tmp_path / "x.safetensors")], [("t", generic_tree)], tmp_path / "o")
    with pytest.raises(ValueError, match="given twice"):
        run_bench([FAKE, FAKE], [("t", generic_tree)], tmp_path / "o")
    with pytest.raises(ValueError, match="given twice"):
        run_bench([FAKE], [("t", generic_tree), ("t", generic_tree)], tmp_path / "o")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="unknown dataset layout"):
        run_bench([FAKE], [("t", tmp_path / "empty")], tmp_path / "o")
    assert fake_model.calls == []


def test_model_label_of_a_file(tmp_path: Path) -> None:
    f = tmp_path / "my model.v2.safetensors"
    f.write_bytes(b"")
    assert model_label(str(f)) == "my_model.v2"


def test_merge_results() -> None:
    def r(m: str, d: str, n: int) -> BenchResult:
        return BenchResult(m, d, n, 0.5, 0.5, 0.4, None)

    merged = merge_results([r("a", "x", 1), r("b", "x", 1)], [r("b", "x", 2), r("c", "x", 3)])
    assert [(x.model, x.n) for x in merged] == [("a", 1), ("b", 2), ("c", 3)]


def test_read_results_roundtrip_nan(tmp_path: Path) -> None:
    from blindiqa.bench.runner import results_csv_text

    rows = [BenchResult("m", "d", 0, math.nan, math.nan, 0.0, None)]
    (tmp_path / "results.csv").write_text(results_csv_text(rows))
    (back,) = read_results(tmp_path / "results.csv")
    assert math.isnan(back.srcc) and back.krcc == 0.0 and back.seconds_per_image is None


def test_options_must_apply_to_a_model(fake_model: type[BrightnessModel], generic_tree: Path,
                                       tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="params.*none of the models"):
        run_bench([FAKE], [("t", generic_tree)], tmp_path / "o", load_options={"params": "p"})


def test_results_written_after_each_pair(fake_model: type[BrightnessModel],
                                         generic_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake_model.interrupt_after = 10  # dies in the second dataset
    with pytest.raises(KeyboardInterrupt):
        run_bench([FAKE], [("a", generic_tree), ("b", generic_tree)], out, quiet=True,
                  plots=False, stream=io.StringIO())
    assert [(r.dataset, r.n) for r in read_results(out / "results.csv")] == [("a", 8)]
