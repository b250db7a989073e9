"""Fixtures of the tests of scoring on Ray, the library's (tests/scoring/test_ray_score.py)
and the command's (tests/cli/test_score_ray.py), offered to every test by
``tests/conftest.py``: a local Ray instance (one per test module that asks for it), a
few photos and their scores by the local engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blindiqa.models.load import load
from blindiqa.scoring import score_files

MODEL = "default"


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module: 2 CPUs, no dashboard (skips without Ray)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'blindiqa[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True,
             log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_photos(tmp_path_factory) -> list[Path]:
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
def ray_model():
    return load(MODEL)


@pytest.fixture(scope="module")
def ray_local_scores(ray_photos, ray_model) -> dict[str, tuple[float | None, str | None]]:
    """``{file: (score, error)}`` of the local engine."""
    return {r.name: (r.score, r.error)
            for r in score_files(ray_model, [(p, str(p)) for p in ray_photos])}
