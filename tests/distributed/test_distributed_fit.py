"""Fits split over workers equal the single-process fits (1e-9 relative)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from PIL import Image

from blindiqa.baselines import ilniqe, niqe
from blindiqa.distributed import fit as dfit
from blindiqa.gaussian.share import merge_shares
from blindiqa.models.bundle import load_bundle
from blindiqa.models.fit import fit_one_pass
from blindiqa.onepass import OnePassConfig

#: A small one-pass recipe (as in tests/models/test_one_pass_model.py).
CFG = OnePassConfig(encoder="efficientnet_lite0", taps=("stage2", "stage3"), grid_stride=8,
                    window=4, window_stride=2, normalization="imagenet")
TOL = 1e-9


def rel_diff(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """``max |a - b| / max |b|`` (0 for two zero arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale else float(np.abs(a).max())


def _models_agree(a, b) -> float:
    return max(rel_diff(a.pristine_mean, b.pristine_mean),
               rel_diff(a.pristine_cov, b.pristine_cov))


def _bundles_agree(one: Path, two: Path) -> float:
    a, meta_a = load_bundle(one)
    b, meta_b = load_bundle(two)
    assert sorted(a) == sorted(b)
    assert {k: v for k, v in meta_a.items() if k != "source"} == \
        {k: v for k, v in meta_b.items() if k != "source"}
    return max(rel_diff(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Five textured 200x200 photos in two folders, and a file that is no image."""
    root = tmp_path_factory.mktemp("pristine")
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:200, 0:200]
    for i in range(5):
        folder = root / ("a" if i < 3 else "b")
        folder.mkdir(exist_ok=True)
        base = 120 + 60 * np.sin(xx / (6.0 + i)) * np.cos(yy / (9.0 + i))
        rgb = base[..., None] + rng.normal(0, 6 + 3 * i, (200, 200, 3)) + [8, 0, -8]
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(folder / f"p{i}.png")
    (root / "b" / "broken.png").write_bytes(b"no image")
    return root


def _shares(kind: str, dirs: list[Path], settings: dict, workers: int = 3):
    plan = dfit.plan_fit(kind, dirs)
    parts = [list(range(k, len(plan), workers)) for k in range(workers)]
    return plan, merge_shares(dfit.fit_share(kind, plan, p, settings) for p in parts)


def test_niqe_shares_merge_to_the_single_process_fit(pristine, tmp_path) -> None:
    niqe.fit([pristine], tmp_path / "one.safetensors")
    plan, share = _shares("niqe", [pristine], {})
    dfit.finish_fit("niqe", plan, share, [pristine], tmp_path / "two.safetensors", {})
    assert _bundles_agree(tmp_path / "one.safetensors", tmp_path / "two.safetensors") <= TOL


def test_niqe_fit_is_the_pooled_nanmean_nancov(pristine, tmp_path) -> None:
    """The sums give what nanmean / nancov of the pooled blocks give (the former fit)."""
    from blindiqa.baselines.matlab import nancov, nanmean
    from blindiqa.io.decode import decode_image

    pool = []
    for path, _, _ in niqe.fit_plan([pristine]):
        if path.name == "broken.png":
            continue
        feats, sharp, _ = niqe.image_features(niqe.tensor_to_gray(decode_image(path)))
        pool.append(feats[niqe.select_sharp_blocks(sharp)])
    pool = np.concatenate(pool)
    meta = niqe.fit([pristine], tmp_path / "n.safetensors")
    t, _ = load_bundle(tmp_path / "n.safetensors")
    assert meta["images_skipped"] == [f"{pristine.name}/b/broken.png"]
    assert rel_diff(t["mu_pris_param"], nanmean(pool)) <= TOL
    assert rel_diff(t["cov_pris_param"], nancov(pool)) <= TOL


def _fake_ilniqe_features(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    seed = int(levels[:4, :4].sum())  # deterministic per image, fast
    r = np.random.default_rng(seed)
    feats = r.standard_normal((6, 6, 468)) * np.linspace(3, 0.5, 468) + np.linspace(0, 4, 468)
    return feats, r.uniform(0.5, 1, (6, 6))


@pytest.fixture()
def many(tmp_path) -> Path:
    """Twenty random 90x100 photos (IL-NIQE's PCA needs more patches than features)."""
    rng = np.random.default_rng(9)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (90, 100, 3), dtype=np.uint8)).save(
            folder / f"{i:02d}.png")
    return folder


def test_ilniqe_shares_merge_to_the_single_process_fit(many, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ilniqe, "patch_features", _fake_ilniqe_features)
    ilniqe.fit([many], tmp_path / "one.safetensors", sharpness_threshold=0.6)
    settings = {"sharpness_threshold": 0.6}
    plan, share = _shares("ilniqe", [many], settings)
    assert share.stats.count > 468
    dfit.finish_fit("ilniqe", plan, share, [many], tmp_path / "two.safetensors", settings)
    assert _bundles_agree(tmp_path / "one.safetensors", tmp_path / "two.safetensors") <= TOL


def test_ilniqe_template_is_the_pca_of_the_pooled_patches(many, tmp_path,
                                                          monkeypatch) -> None:
    """The template from the sums equals the former fit: PCA and nancov of the pool."""
    from blindiqa.baselines.matlab import nancov
    from blindiqa.io.decode import decode_image

    monkeypatch.setattr(ilniqe, "patch_features", _fake_ilniqe_features)
    pool = []
    for path, _ in ilniqe.fit_plan([many]):
        f, s = _fake_ilniqe_features(ilniqe.tensor_to_levels(decode_image(path)))
        f = f.reshape(-1, 468)
        pool.append(f[ilniqe.select_patches(f, s, 0.6)])
    data = np.concatenate(pool)
    centred = data - data.mean(axis=0)
    ilniqe.fit([many], tmp_path / "t.safetensors", sharpness_threshold=0.6)
    t, _ = load_bundle(tmp_path / "t.safetensors")
    basis = t["principle_vectors"].numpy()
    assert rel_diff(t["mean_of_sample_data"].reshape(-1), data.mean(axis=0)) <= TOL
    assert rel_diff(t["cov"], nancov(centred @ basis)) <= TOL
    assert np.abs(t["mu"].numpy()).max() <= TOL * np.abs(data).max()


def test_pristine_shares_merge_to_the_single_process_fit(pristine) -> None:
    one = fit_one_pass([pristine], CFG)
    plan, share = _shares("pristine", [pristine], {"config": CFG}, workers=2)
    two = dfit.finish_fit("pristine", plan, share, [pristine], None, {"config": CFG})
    assert two.provenance == one.provenance
    assert _models_agree(two, one) <= TOL


# --------------------------------------------------------------------------- torchrun
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, dirs: list[str], out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), OMP_NUM_THREADS="1")
    dfit.fit_torchrun("niqe", dirs, out)


def test_torchrun_processes_give_the_single_process_fit(pristine, tmp_path) -> None:
    niqe.fit([pristine], tmp_path / "one.safetensors")
    mp.spawn(_rank_main, args=(2, _free_port(), [str(pristine)],
                               str(tmp_path / "two.safetensors")), nprocs=2, join=True)
    assert _bundles_agree(tmp_path / "one.safetensors", tmp_path / "two.safetensors") <= TOL


# --------------------------------------------------------------------------- Ray
@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the Ray tests: 2 CPUs, no dashboard."""
    ray = pytest.importorskip("ray", reason="Ray is not installed "
                                            "(pip install 'blindiqa[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True,
             log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_tasks_give_the_single_process_fits(local_ray, pristine, tmp_path) -> None:
    niqe.fit([pristine], tmp_path / "one.safetensors")
    dfit.fit_with_ray("niqe", [pristine], tmp_path / "two.safetensors", workers=2)
    assert _bundles_agree(tmp_path / "one.safetensors", tmp_path / "two.safetensors") <= TOL
    # Ray workers run torch with one thread; the reference does too, because float32
    # convolutions summed by another number of threads differ at ~1e-8 (the merge of the
    # statistics itself is exact)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = fit_one_pass([pristine], CFG)
    finally:
        torch.set_num_threads(threads)
    two = dfit.fit_with_ray("pristine", [pristine], tmp_path / "p.safetensors", workers=2,
                            config=CFG)
    assert two.provenance == one.provenance
    assert _models_agree(two, one) <= TOL
    assert (tmp_path / "p.safetensors").is_file()
