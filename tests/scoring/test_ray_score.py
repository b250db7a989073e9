"""blindiqa.scoring.ray and score --engine ray (blindiqa.cli.score_ray) on a local
Ray instance (2 CPUs): the local scores."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'blindiqa[ray]')")

from blindiqa.cli import score_ray  # noqa: E402
from blindiqa.cli.main import main  # noqa: E402
from blindiqa.distributed import cluster  # noqa: E402
from blindiqa.models.load import load  # noqa: E402
from blindiqa.scoring import ray as ray_score  # noqa: E402
from blindiqa.scoring import score_files  # noqa: E402
from blindiqa.scoring.provenance import provenance_of  # noqa: E402
from blindiqa.scoring.rows import COLUMNS, read_rows  # noqa: E402
from blindiqa.scoring.sidecar import differences, read_sidecar  # noqa: E402

MODEL = "default"


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module: 2 CPUs, no dashboard."""
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True,
             log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    """Four small textured photos, one file that is no image, one too small."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:120, 0:160]
    files = []
    for i in range(4):
        base = 120 + 60 * np.sin(xx / (5.0 + i)) * np.cos(yy / 9.0)
        rgb = base[..., None] + rng.normal(0, 8 + 4 * i, (120, 160, 3))
        path = folder / f"p{i}.png"
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
        files.append(path)
    (folder / "broken.jpg").write_bytes(b"not an image")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "tiny.png")
    return [*files, folder / "broken.jpg", folder / "tiny.png"]


@pytest.fixture(scope="module")
def model():
    return load(MODEL)


@pytest.fixture(scope="module")
def local(photos, model) -> dict[str, tuple[float | None, str | None]]:
    """``{file: (score, error)}`` of the local path."""
    return {r.name: (r.score, r.error)
            for r in score_files(model, [(p, str(p)) for p in photos])}


def test_scores_and_sizes_equal_the_local_path(local_ray, photos, local, model) -> None:
    rows = ray_score.score_with_ray(photos, MODEL, concurrency=2, batch_size=2).take_all()
    assert sorted(rows[0]) == sorted(ray_score.OUTPUT_COLUMNS) == sorted(COLUMNS)
    got = {r["path"]: r for r in rows}
    want = local
    assert set(got) == set(want)
    rel = []
    for name, (score, error) in want.items():
        if score is None:
            assert got[name]["score"] is None and got[name]["error"] == error
            assert got[name]["quality"] is None
        else:
            assert got[name]["error"] is None
            rel.append(abs(got[name]["score"] - score) / abs(score))
    assert len(rel) == 4 and max(rel) <= 1e-6, rel
    sizes = {r.name: (r.width, r.height) for r in score_files(model, [(p, str(p)) for p in
                                                                      photos[:1]])}
    assert (got[str(photos[0])]["width"], got[str(photos[0])]["height"]) == (160, 120)
    assert sizes[str(photos[0])] == (160, 120)
    assert got[str(photos[4])]["width"] is None  # broken.jpg: not decoded


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


def test_cli_writes_few_parts_with_sidecars_that_merge_reads(local_ray, photos, local, model,
                                                             tmp_path, capfd) -> None:
    out = tmp_path / "out"
    assert _main(photos, out, "--quiet", "--rows-per-part", "4") == 1  # two inputs fail
    assert capfd.readouterr().err == ""  # --quiet: not a line, from Ray neither
    _check_parts(out, "parquet", photos, local, model, parts=2)
    merged = tmp_path / "all.csv"
    assert main(["merge", *map(str, sorted(out.glob("*.parquet"))), "--out", str(merged),
                 "--quiet"]) == 0
    assert sorted(Path(r.path).name for r in read_rows(merged)) == sorted(
        p.name for p in photos)
    assert differences(read_sidecar(merged), provenance_of(model)) == []
    assert _main(photos, out, "--quiet") == 2  # a non-empty --out needs --overwrite
    capfd.readouterr()
    assert _main(photos, out, "--overwrite", "--ray-format", "csv") == 1
    _check_parts(out, "csv", photos, local, model)  # the old parts were replaced
    lines = capfd.readouterr().err.splitlines()  # quiet Ray: a progress line, a summary
    assert lines[-2].startswith("scoring: 6/6 (100.0%)") and lines[-2].endswith("done")
    assert lines[-1].startswith("scored 4, failed 2, mean score ")
    assert lines[-1].endswith(f"1 part(s) in {out}/")
    assert all(ln.startswith("scoring: ") for ln in lines[:-1]), lines


def test_cli_refuses_more_actors_than_the_local_cpus(local_ray, photos, tmp_path, capfd,
                                                     monkeypatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert _main(photos, tmp_path / "o", "--concurrency", "3") == 2
    err = capfd.readouterr().err
    assert "--concurrency 3 needs 3 CPUs, the local Ray instance has 2" in err
    if "Ray's messages: " in err:  # what Ray wrote to stderr meanwhile, kept for the user
        Path(err.split("Ray's messages: ")[1].split(")")[0]).unlink()


def test_quiet_data_hides_ray_data_progress_and_verbose_restores_it(local_ray) -> None:
    ctx = ray.data.DataContext.get_current()
    try:
        cluster.quiet_data(verbose=True)
        assert ctx.enable_progress_bars and ctx.print_on_execution_start
        cluster.quiet_data()
        assert not ctx.enable_progress_bars and not ctx.print_on_execution_start
    finally:
        cluster.quiet_data()


def test_cli_refuses_local_only_options(photos, tmp_path) -> None:
    args = _cli_args(photos, tmp_path / "o")
    args.maps = str(tmp_path / "maps")
    assert _run(args, photos) == 2
    args.maps, args.out = None, None
    assert _run(args, photos) == 2
