"""blindiqa.distributed.ray_score and score --engine ray (blindiqa.cli.score_ray) on a local
Ray instance (2 CPUs): the local scores."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'blindiqa[ray]')")

from blindiqa.cli import score_ray  # noqa: E402
from blindiqa.distributed import ray_score  # noqa: E402
from blindiqa.models.load import load  # noqa: E402
from blindiqa.scoring import score_files  # noqa: E402

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
def local(photos) -> dict[str, tuple[float | None, str | None]]:
    """``{file: (score, error)}`` of the local path."""
    model = load(MODEL)
    return {r.name: (r.score, r.error)
            for r in score_files(model, [(p, str(p)) for p in photos])}


def test_scores_equal_the_local_path(local_ray, photos, local) -> None:
    rows = ray_score.score_with_ray(photos, MODEL, concurrency=2, batch_size=2).take_all()
    assert sorted(rows[0]) == sorted(ray_score.OUTPUT_COLUMNS)
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


def _cli_args(photos: list[Path], out: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    score_ray.add_ray_options(parser)
    args = parser.parse_args(["--engine", "ray", "--concurrency", "2", *extra])
    args.__dict__.update(paths=[str(photos[0].parent)], manifest=None, shard=None,
                         model=MODEL, params=None, device="cpu", max_side=None,
                         batch_size=2, out=str(out), overwrite=False, quiet=True,
                         maps=None, resume=False, sort=False)
    return args


def _run(args: argparse.Namespace, photos: list[Path]) -> int:
    return score_ray.run_ray_cli(args, [(p, str(p)) for p in photos])


def _check_parts(out: Path, fmt: str, photos: list[Path], local: dict) -> None:
    rows = ray_score.read_parts(out)
    assert all(p.suffix == f".{fmt}" for p in out.iterdir())
    by_name = {Path(r["path"]).name: r for r in rows}
    assert len(rows) == len(photos)
    assert sorted(by_name) == sorted(p.name for p in photos)
    assert by_name["broken.jpg"]["score"] is None and by_name["broken.jpg"]["error"]
    for r in rows:
        score = local[str(photos[0].parent / Path(r["path"]).name)][0]
        assert r["score"] == pytest.approx(score, rel=1e-6) if score else r["score"] is None


def _main(photos: list[Path], out: Path, *extra: str) -> int:
    """``blindiqa score --engine ray`` through the real command line."""
    from blindiqa.cli.main import main

    return main(["score", str(photos[0].parent), "--engine", "ray", "--concurrency", "2",
                 "--model", MODEL, "--batch-size", "2", "--out", str(out), "--quiet",
                 *extra])


def test_cli_writes_parquet_parts_with_the_local_columns(local_ray, photos, local,
                                                         tmp_path) -> None:
    out = tmp_path / "out"
    assert _main(photos, out) == 1  # two inputs fail, as with the local CLI
    _check_parts(out, "parquet", photos, local)
    assert _main(photos, out) == 2  # a non-empty --out needs --overwrite
    assert _main(photos, out, "--overwrite", "--ray-format", "csv") == 1
    _check_parts(out, "csv", photos, local)  # the old parts were replaced


def test_cli_refuses_local_only_options(photos, tmp_path) -> None:
    args = _cli_args(photos, tmp_path / "o")
    args.maps = str(tmp_path / "maps")
    assert _run(args, photos) == 2
    args.maps, args.out = None, None
    assert _run(args, photos) == 2
