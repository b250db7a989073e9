"""blindiqa score --engine ray (blindiqa.cli.score_ray) on a local Ray instance (2 CPUs):
its parts and sidecars, which merge reads, its messages and the options it refuses."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'blindiqa[ray]')")

from ray_fixtures import MODEL  # noqa: E402

from blindiqa.cli import score_ray  # noqa: E402
from blindiqa.cli.main import main  # noqa: E402
from blindiqa.scoring import ray as ray_score  # noqa: E402
from blindiqa.scoring.provenance import provenance_of  # noqa: E402
from blindiqa.scoring.rows import read_rows  # noqa: E402
from blindiqa.scoring.sidecar import differences, read_sidecar  # noqa: E402


def _cli_args(photos: list[Path], out: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    score_ray.add_ray_options(parser)
    args = parser.parse_args(["--engine", "ray", "--concurrency", "2", *extra])
    args.__dict__.update(paths=[str(p) for p in photos], manifest=None, shard=None,
                         model=MODEL, params=None, device="cpu", max_side=None,
                         batch_size=2, out=str(out), overwrite=False, quiet=True,
                         maps=None, resume=False, sort=False)
    return args


def _run(args: argparse.Namespace, photos: list[Path]) -> int:
    assert args.paths == [str(p) for p in photos]
    return score_ray.run_ray_cli(args)


def _check_parts(out: Path, fmt: str, photos: list[Path], local: dict, model,
                 parts: int = 1) -> None:
    rows = ray_score.read_parts(out)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"part-{k:05d}.{fmt}" for k in range(parts)]
                           + [f"part-{k:05d}.{fmt}.json" for k in range(parts)])
    for part in out.glob(f"*.{fmt}"):  # each part's sidecar: the local engine's provenance
        assert differences(read_sidecar(part), provenance_of(model)) == []
    by_name = {Path(r["path"]).name: r for r in rows}
    assert len(rows) == len(photos)
    assert sorted(by_name) == sorted(p.name for p in photos)
    assert by_name["broken.jpg"]["score"] is None and by_name["broken.jpg"]["error"]
    for r in rows:
        score = local[str(photos[0].parent / Path(r["path"]).name)][0]
        assert r["score"] == pytest.approx(score, rel=1e-6) if score else r["score"] is None


def _main(photos: list[Path], out: Path, *extra: str) -> int:
    """``blindiqa score --engine ray`` through the real command line."""
    return main(["score", str(photos[0].parent), "--engine", "ray", "--concurrency", "2",
                 "--model", MODEL, "--batch-size", "2", "--out", str(out), *extra])


def test_cli_writes_few_parts_with_sidecars_that_merge_reads(
        local_ray, ray_photos, ray_local_scores, ray_model, tmp_path, capfd) -> None:
    out = tmp_path / "out"
    assert _main(ray_photos, out, "--quiet", "--rows-per-part", "4") == 1  # two inputs fail
    assert capfd.readouterr().err == ""  # --quiet: not a line, from Ray neither
    _check_parts(out, "parquet", ray_photos, ray_local_scores, ray_model, parts=2)
    merged = tmp_path / "all.csv"
    assert main(["merge", *map(str, sorted(out.glob("*.parquet"))), "--out", str(merged),
                 "--quiet"]) == 0
    assert sorted(Path(r.path).name for r in read_rows(merged)) == sorted(
        p.name for p in ray_photos)
    assert differences(read_sidecar(merged), provenance_of(ray_model)) == []
    assert _main(ray_photos, out, "--quiet") == 2  # a non-empty --out needs --overwrite
    capfd.readouterr()
    assert _main(ray_photos, out, "--overwrite", "--ray-format", "csv") == 1
    _check_parts(out, "csv", ray_photos, ray_local_scores, ray_model)  # the old parts were replaced
    lines = capfd.readouterr().err.splitlines()  # quiet Ray: a progress line, a summary
    assert lines[-2].startswith("scoring: 6/6 (100.0%)") and lines[-2].endswith("done")
    assert lines[-1].startswith("scored 4, failed 2, mean score ")
    assert lines[-1].endswith(f"1 part(s) in {out}/")
    assert all(ln.startswith("scoring: ") for ln in lines[:-1]), lines


def test_cli_refuses_more_actors_than_the_local_cpus(local_ray, ray_photos, tmp_path, capfd,
                                                     monkeypatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert _main(ray_photos, tmp_path / "o", "--concurrency", "3") == 2
    err = capfd.readouterr().err
    assert "--concurrency 3 needs 3 CPUs, the local Ray instance has 2" in err
    if "Ray's messages: " in err:  # what Ray wrote to stderr meanwhile, kept for the user
        Path(err.split("Ray's messages: ")[1].split(")")[0]).unlink()


def test_cli_refuses_local_only_options(ray_photos, tmp_path) -> None:
    args = _cli_args(ray_photos, tmp_path / "o")
    args.maps = str(tmp_path / "maps")
    assert _run(args, ray_photos) == 2
    args.maps, args.out = None, None
    assert _run(args, ray_photos) == 2
