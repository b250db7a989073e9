"""``blindiqa cull``: photos of a score file into keep/ and reject/ by a threshold or a
share, linked, copied or moved, never deleted or overwritten; a dry run touches nothing;
a run killed with SIGKILL and run again places every photo exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from blindiqa.cli.cull import STOP_AFTER_ENV
from blindiqa.cli.main import main
from blindiqa.io.lock import output_lock

ROOT = Path(__file__).resolve().parents[2]


def make_album(base: Path, n: int) -> tuple[str, dict[str, bytes]]:
    """``n`` small files under photos/a and photos/b (the same names in both), a score
    file for them (quality i * 100 / n) and a failed and a quality-less row."""
    rows, content = ["path,score,quality,error"], {}
    for i in range(n):
        rel = f"photos/{'ab'[i % 2]}/p{i // 2:03d}.jpg"
        data = f"photo {i}".encode() * 50
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(data)
        content[rel] = data
        rows.append(f"{rel},{n - i},{i * 100 / n:.2f},")
    (base / "photos/bad.jpg").write_bytes(b"bad")
    (base / "photos/noq.jpg").write_bytes(b"noq")
    rows += ["photos/bad.jpg,,,cannot decode: truncated", "photos/noq.jpg,3.5,,"]
    (base / "scores.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(base / "scores.csv"), content


def placed(out: Path) -> dict[str, list[str]]:
    """Each photo's path below keep/ or reject/ -> the folders it is in."""
    where: dict[str, list[str]] = {}
    for folder in ("keep", "reject"):
        for p in sorted((out / folder).rglob("*")):
            if p.is_file():
                where.setdefault(p.relative_to(out / folder).as_posix(), []).append(folder)
    return where


@pytest.fixture
def album(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return make_album(tmp_path, 10)


def test_min_quality_links_and_keeps_the_structure(album, tmp_path, capsys):
    scores, content = album
    assert main(["cull", scores, "--out", "out", "--min-quality", "50"]) == 1  # 2 skipped
    where = placed(tmp_path / "out")
    assert where == {rel.removeprefix("photos/"): ["keep" if i >= 5 else "reject"]
                     for i, rel in enumerate(content)}
    assert "a/p000.jpg" in where and "b/p000.jpg" in where  # same name, two folders
    for rel in content:  # hard links: the photos stay where they were
        folder = where[rel.removeprefix("photos/")][0]
        assert os.path.samefile(rel, tmp_path / "out" / folder / rel.removeprefix("photos/"))
    err = capsys.readouterr().err
    assert "kept 5 photo(s) (5 linked)" in err and "rejected 5 photo(s) (5 linked)" in err
    assert "skipped 2 row(s): 1 no quality, 1 scoring failed" in err
    assert "photos/bad.jpg: scoring failed: cannot decode: truncated" in err


def test_keep_top_and_reject_bottom(album, tmp_path):
    scores, _ = album
    main(["cull", scores, "--out", "top", "--keep-top", "30%"])
    main(["cull", scores, "--out", "bottom", "--reject-bottom", "20"])
    top, bottom = placed(tmp_path / "top"), placed(tmp_path / "bottom")
    assert sorted(k for k, v in top.items() if v == ["keep"]) == ["a/p004.jpg", "b/p003.jpg",
                                                                  "b/p004.jpg"]
    assert sorted(k for k, v in bottom.items() if v == ["reject"]) == ["a/p000.jpg",
                                                                       "b/p000.jpg"]
    assert len(top) == len(bottom) == 10


def test_copy_makes_independent_files(album, tmp_path):
    scores, content = album
    main(["cull", scores, "--out", "out", "--min-quality", "50", "--copy", "--quiet"])
    for rel, data in content.items():
        folder = placed(tmp_path / "out")[rel.removeprefix("photos/")][0]
        dst = tmp_path / "out" / folder / rel.removeprefix("photos/")
        assert dst.read_bytes() == data and not os.path.samefile(rel, dst)


def test_move_takes_the_photos_out_and_leaves_skipped_rows(album, tmp_path):
    scores, content = album
    main(["cull", scores, "--out", "out", "--min-quality", "50", "--move", "--quiet"])
    assert not any(Path(rel).exists() for rel in content)
    assert len(placed(tmp_path / "out")) == len(content)
    assert Path("photos/bad.jpg").exists() and Path("photos/noq.jpg").exists()


def test_dry_run_prints_the_plan_and_touches_nothing(album, tmp_path, capsys):
    scores, content = album
    before = sorted(p.as_posix() for p in tmp_path.rglob("*"))
    assert main(["cull", scores, "--out", "out", "--min-quality", "50", "--move",
                 "--dry-run"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == len(content)
    assert lines[0] == "reject,photos/a/p000.jpg,out/reject/a/p000.jpg"
    assert lines[-1] == "keep,photos/b/p004.jpg,out/keep/b/p004.jpg"
    assert "would have kept 5" in err
    assert sorted(p.as_posix() for p in tmp_path.rglob("*")) == before


def test_a_rerun_is_done_and_another_rule_does_not_double(album, tmp_path, capsys):
    scores, _ = album
    main(["cull", scores, "--out", "out", "--min-quality", "50"])
    capsys.readouterr()
    main(["cull", scores, "--out", "out", "--min-quality", "50"])
    assert "kept 5 photo(s) (5 already done by an earlier run)" in capsys.readouterr().err
    main(["cull", scores, "--out", "out", "--min-quality", "70"])
    assert "2 already in keep/" in capsys.readouterr().err
    assert all(len(v) == 1 for v in placed(tmp_path / "out").values())


def test_an_existing_other_file_is_never_overwritten(album, tmp_path, capsys):
    scores, _ = album
    taken = tmp_path / "out/keep/b/p004.jpg"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"someone else's")
    assert main(["cull", scores, "--out", "out", "--min-quality", "50", "--move"]) == 1
    assert taken.read_bytes() == b"someone else's"
    assert Path("photos/b/p004.jpg").exists()  # not moved
    assert "destination holds another file" in capsys.readouterr().err


def test_a_missing_photo_is_skipped(album, tmp_path, capsys):
    scores, _ = album
    os.unlink("photos/a/p000.jpg")
    assert main(["cull", scores, "--out", "out", "--min-quality", "50"]) == 1
    assert "photos/a/p000.jpg: photo not found" in capsys.readouterr().err


def test_root_finds_relative_paths(album, tmp_path, monkeypatch):
    scores, _ = album
    monkeypatch.chdir(tmp_path / "photos")
    assert main(["cull", scores, "--out", str(tmp_path / "out"), "--keep-top", "50",
                 "--root", str(tmp_path), "--quiet"]) == 1
    assert len(placed(tmp_path / "out")) == 10


def test_another_run_holding_the_output_is_refused(album, tmp_path, capsys):
    scores, _ = album
    with output_lock(tmp_path / "out"):
        assert main(["cull", scores, "--out", "out", "--min-quality", "50"]) == 2
    assert "being written by another blindiqa run" in capsys.readouterr().err
    assert placed(tmp_path / "out") == {}


@pytest.mark.parametrize("argv", [
    ["--min-quality", "50", "--keep-top", "10%"],          # two rules
    [],                                                    # no rule
    ["--keep-top", "120%"],
    ["--reject-bottom", "abc"],
    ["--min-quality", "50", "--copy", "--move"],
])
def test_bad_usage(album, argv, capsys):
    scores, _ = album
    with pytest.raises(SystemExit) as exc:
        main(["cull", scores, "--out", "out", *argv])
    assert exc.value.code == 2 and "error:" in capsys.readouterr().err


def test_bad_files_are_refused(album, tmp_path, capsys):
    scores, _ = album
    Path("file").write_text("x")
    assert main(["cull", scores, "--out", "file", "--min-quality", "5"]) == 2
    assert main(["cull", "nope.csv", "--out", "out", "--min-quality", "5"]) == 2
    assert main(["cull", scores, "--out", "out", "--min-quality", "5", "--root", "no"]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err and "cannot read nope.csv" in err


@pytest.mark.parametrize("mode", [[], ["--copy"], ["--move"]])
def test_a_run_killed_partway_finishes_on_rerun_without_doubling(tmp_path, mode):
    scores, content = make_album(tmp_path, 40)
    argv = [sys.executable, "-m", "blindiqa.cli.main", "cull", scores, "--out", "out",
            "--keep-top", "30%", *mode]
    env = {**os.environ, STOP_AFTER_ENV: "17", "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()  # printed once photo 17 is written, then it waits
        assert "stopped after 17" in line
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    first = placed(tmp_path / "out")
    assert len(first) == 17
    if mode == ["--move"]:  # killed between linking photo 17 and removing its source
        assert sum((tmp_path / rel).exists() for rel in content) == 40 - 16
    del env[STOP_AFTER_ENV]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # the two rows without a quality
    # photo 17 was complete when the run was killed; a move had still to remove its source
    finished = 16 if mode == ["--move"] else 17
    assert f"{finished} already done by an earlier run" in done.stderr
    where = placed(tmp_path / "out")
    assert sorted(where) == sorted(rel.removeprefix("photos/") for rel in content)
    assert all(len(folders) == 1 for folders in where.values())  # exactly once
    assert sum(v == ["keep"] for v in where.values()) == 12
    for rel, data in content.items():  # nothing lost, nothing changed
        assert (tmp_path / "out" / where[rel.removeprefix("photos/")][0]
                / rel.removeprefix("photos/")).read_bytes() == data
        assert (tmp_path / rel).exists() == (mode != ["--move"])
    assert not list((tmp_path / "out").rglob(".*blindiqa-partial"))


@pytest.mark.parametrize("mode", [[], ["--move"]])
def test_xmp_sidecars_go_along_copied_or_moved(tmp_path, monkeypatch, capsys, mode):
    monkeypatch.chdir(tmp_path)
    scores, content = make_album(tmp_path, 4)
    full = tmp_path / "photos/a/p000.jpg.xmp"  # darktable / digiKam naming
    stem = tmp_path / "photos/b/p001.xmp"      # Lightroom naming
    full.write_text("<x:xmpmeta>full</x:xmpmeta>")
    stem.write_text("<x:xmpmeta>stem</x:xmpmeta>")
    assert main(["cull", scores, "--out", "out", "--min-quality", "50", *mode]) == 1
    # p000 (a, quality 0) and p001 (b, quality 50) as the photos go
    got_full = tmp_path / "out/reject/a/p000.jpg.xmp"
    got_stem = tmp_path / "out/keep/b/p001.xmp"
    assert got_full.read_text() == "<x:xmpmeta>full</x:xmpmeta>"
    assert got_stem.read_text() == "<x:xmpmeta>stem</x:xmpmeta>"
    assert full.exists() == stem.exists() == (mode == [])
    if not mode:  # a copy, never a link: editing one sidecar leaves the other alone
        assert not os.path.samefile(full, got_full)
    err = capsys.readouterr().err
    assert f"their XMP sidecars: 2 {'moved' if mode else 'copied'}" in err
    # a rerun finds them done; another sidecar at a destination is never overwritten
    got_full.write_text("edited in darktable")
    if not mode:
        assert main(["cull", scores, "--out", "out", "--min-quality", "50"]) == 1
        err = capsys.readouterr().err
        assert "their XMP sidecars: 1 done" in err
        assert f"sidecar left where it is: {Path('photos/a/p000.jpg.xmp')}" in err
        assert got_full.read_text() == "edited in darktable"
