"""blindiqa.scoring.ray on a local Ray instance (2 CPUs): the local engine's scores and
sizes, and Ray kept quiet (the command, score --engine ray, is tested in
tests/cli/test_score_ray.py)."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'blindiqa[ray]')")

from ray_fixtures import MODEL  # noqa: E402

from blindiqa.distributed import cluster  # noqa: E402
from blindiqa.scoring import ray as ray_score  # noqa: E402
from blindiqa.scoring import score_files  # noqa: E402
from blindiqa.scoring.rows import COLUMNS  # noqa: E402


def test_scores_and_sizes_equal_the_local_path(local_ray, ray_photos, ray_local_scores,
                                               ray_model) -> None:
    rows = ray_score.score_with_ray(ray_photos, MODEL, concurrency=2, batch_size=2).take_all()
    assert sorted(rows[0]) == sorted(ray_score.OUTPUT_COLUMNS) == sorted(COLUMNS)
    got = {r["path"]: r for r in rows}
    want = ray_local_scores
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
    first = [(p, str(p)) for p in ray_photos[:1]]
    sizes = {r.name: (r.width, r.height) for r in score_files(ray_model, first)}
    assert (got[str(ray_photos[0])]["width"], got[str(ray_photos[0])]["height"]) == (160, 120)
    assert sizes[str(ray_photos[0])] == (160, 120)
    assert got[str(ray_photos[4])]["width"] is None  # broken.jpg: not decoded


def test_quiet_data_hides_ray_data_progress_and_verbose_restores_it(local_ray) -> None:
    ctx = ray.data.DataContext.get_current()
    try:
        cluster.quiet_data(verbose=True)
        assert ctx.enable_progress_bars and ctx.print_on_execution_start
        cluster.quiet_data()
        assert not ctx.enable_progress_bars and not ctx.print_on_execution_start
    finally:
        cluster.quiet_data()
