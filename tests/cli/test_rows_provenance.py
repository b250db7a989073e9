"""``blindiqa score`` rows say what made them: width and height columns, a sidecar
(``OUT.json``) checked by ``--resume`` and ``merge``."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blindiqa.cli.main import main
from blindiqa.scoring.rows import COLUMNS, LEGACY_COLUMNS, Row, file_columns, read_rows
from blindiqa.scoring.sidecar import read_sidecar, sidecar_path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prov")
    rng = np.random.default_rng(3)
    for k in range(4):
        Image.fromarray(rng.integers(0, 255, (100 + 10 * k, 120, 3), dtype=np.uint8)).save(
            root / f"img_{k}.png")
    (root / "broken.png").write_bytes(b"not a png")
    return root


def _score(*args: str, model: str = "niqe") -> int:
    return main(["score", "--model", model, "--workers", "0", "--quiet", *args])


def test_rows_carry_the_size_and_a_sidecar_says_what_made_them(photos, tmp_path):
    out = tmp_path / "s.csv"
    assert _score(str(photos), "--out", str(out), "--shard", "0/1") == 1  # broken.png
    rows = {r.path.rsplit("/", 1)[-1]: r for r in read_rows(out)}
    assert (rows["img_2.png"].width, rows["img_2.png"].height) == (120, 120)
    assert (rows["broken.png"].width, rows["broken.png"].height) == (None, None)
    prov = read_sidecar(out)
    assert prov is not None and prov.model == "niqe" and prov.shard == (0, 1)
    assert prov.max_side is None and len(prov.bundle_sha256) == 64


def test_stdout_gets_the_columns_and_no_sidecar(photos, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _score(str(photos / "img_0.png"))
    assert capsys.readouterr().out.splitlines()[0] == ",".join(COLUMNS)
    assert list(tmp_path.iterdir()) == []


def test_resume_refuses_rows_of_another_model(photos, tmp_path, capsys):
    out = tmp_path / "s.csv"
    _score(str(photos / "img_0.png"), "--out", str(out))
    before = out.read_bytes()
    assert _score(str(photos), "--out", str(out), "--resume", model="default") == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "model niqe (this run: default)" in err
    assert out.read_bytes() == before and read_sidecar(out).model == "niqe"


def test_resume_refuses_another_shard(photos, tmp_path, capsys):
    out = tmp_path / "s.csv"
    _score(str(photos), "--out", str(out), "--shard", "0/2")
    assert _score(str(photos), "--out", str(out), "--shard", "1/2", "--resume") == 2
    assert "shard (0, 2) (this run: (1, 2))" in capsys.readouterr().err


def test_resume_into_an_old_file_keeps_its_columns_and_adds_a_sidecar(photos, tmp_path,
                                                                      capsys):
    out = tmp_path / "old.csv"
    first = str(photos / "img_0.png")
    out.write_text(f"path,score,quality,error\n{first},1.0,50.0,\n")
    assert _score(str(photos / "img_0.png"), str(photos / "img_1.png"), "--out", str(out),
                  "--resume") == 0
    assert "has no sidecar" in capsys.readouterr().err
    rows = read_rows(out)
    assert rows[0] == Row(first, 1.0, 50.0) and len(rows) == 2
    assert rows[1].width is None and file_columns(out) == LEGACY_COLUMNS
    assert read_sidecar(out).model == "niqe"


def test_resume_refuses_an_unreadable_sidecar(photos, tmp_path, capsys):
    out = tmp_path / "s.csv"
    _score(str(photos / "img_0.png"), "--out", str(out))
    sidecar_path(out).write_text("{oops")
    assert _score(str(photos), "--out", str(out), "--resume") == 2
    assert "not JSON" in capsys.readouterr().err


def _parts(photos, tmp_path, models=("niqe", "niqe")):
    parts = []
    for i, model in enumerate(models):
        part = tmp_path / f"part{i}.csv"
        _score(str(photos), "--out", str(part), "--shard", f"{i}/{len(models)}", model=model)
        parts.append(str(part))
    return parts


def test_merge_writes_the_agreed_sidecar(photos, tmp_path):
    parts = _parts(photos, tmp_path)
    out = tmp_path / "all.jsonl"
    assert main(["merge", *parts, "--out", str(out), "--quiet"]) == 0
    merged = read_sidecar(out)
    assert merged.model == "niqe" and merged.shard is None and merged.mismatched == ()
    assert merged.bundle_sha256 == read_sidecar(parts[0]).bundle_sha256
    assert all(json.loads(line)["width"] for line in out.read_text().splitlines()
               if json.loads(line)["error"] is None)


def test_merge_refuses_parts_of_different_models_unless_asked(photos, tmp_path, capsys):
    parts = _parts(photos, tmp_path, ("niqe", "default"))
    out = tmp_path / "all.csv"
    assert main(["merge", *parts, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"model: {parts[0]} says niqe, {parts[1]} says default" in err
    assert "--allow-mismatch" in err and not out.exists()
    assert main(["merge", *parts, "--out", str(out), "--allow-mismatch", "--quiet"]) == 0
    merged = read_sidecar(out)
    assert merged.model is None and "model" in merged.mismatched
    assert "warning: the parts disagree on model" in capsys.readouterr().err


def test_merge_warns_of_parts_without_a_sidecar(photos, tmp_path, capsys):
    parts = _parts(photos, tmp_path)
    sidecar_path(parts[1]).unlink()
    out = tmp_path / "all.csv"
    assert main(["merge", *parts, "--out", str(out), "--quiet"]) == 0
    assert f"warning: {parts[1]} has no sidecar" in capsys.readouterr().err
    assert read_sidecar(out).model == "niqe"
    sidecar_path(parts[0]).unlink()
    assert main(["merge", *parts, "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert read_sidecar(out) is None  # nothing says what made the rows


def test_merge_reads_old_parts_with_new_ones(photos, tmp_path):
    parts = _parts(photos, tmp_path)
    old = Path(parts[1])
    rows = read_rows(old)
    old.write_text("path,score,quality,error\n" + "".join(
        f"{r.path},{r.score if r.score is not None else ''},"
        f"{r.quality if r.quality is not None else ''},{r.error or ''}\n" for r in rows))
    out = tmp_path / "all.csv"
    assert main(["merge", *parts, "--out", str(out), "--quiet"]) == 0
    merged = read_rows(out)
    assert file_columns(out) == COLUMNS and len(merged) == 5
    assert {r.path for r in merged if r.width is None} >= {r.path for r in rows}
