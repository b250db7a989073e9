"""Choose the default model: untrained ImageNet encoders x feature layers x input
normalisations, each fitted on the pristine corpus and measured on clive-dev.

One forward pass per (encoder, normalisation) taps all candidate layers; the pristine
statistics of each layer group are a slice of the statistics of all taps together.
Besides |SRCC| / PLCC / KRCC on clive-dev, each candidate is checked on the demo's
distortion ladder (blur, JPEG, noise at three strengths of one photo): ``ladder`` counts
the distorted versions that score worse than the original (9 = all).

    python benchmarks/select_default.py --out bench/select
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from blindiqa.gaussian import GaussianStats, gaussian_distance
from blindiqa.io.decode import decode_image, to_tensor
from blindiqa.io.files import iter_image_files
from blindiqa.models.fit import pristine_stats
from blindiqa.models.gaussian_model import FeatureConfig, build_extractor, patch_features
from blindiqa.patches import extract_patches

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TAPS = ("stage4", "stage5", "stage6", "stage7", "head")
GROUPS = (("stage4",), ("stage5",), ("stage6",), ("stage7",), ("head",),
          ("stage5", "stage6"), ("stage4", "stage5", "stage6"))


def _key(group: tuple[str, ...]) -> str:
    return "+".join(group)


def _index(extractor, group: tuple[str, ...]) -> torch.Tensor:
    starts, pos = {}, 0
    for name, d in zip(TAPS, extractor.dims, strict=True):
        starts[name] = (pos, pos + d)
        pos += d
    return torch.cat([torch.arange(*starts[n]) for n in group])


def _slice(stats: GaussianStats, idx: torch.Tensor) -> GaussianStats:
    return GaussianStats(stats.count, stats.total[idx], stats.outer[idx][:, idx])


def _distances(feats: torch.Tensor, prist: dict[str, GaussianStats],
               idx: dict[str, torch.Tensor]) -> dict[str, float]:
    out = {}
    for key, p in prist.items():
        t = GaussianStats.from_features(feats[:, idx[key]])
        out[key] = gaussian_distance(p.mean, p.cov, t.mean, t.cov)
    return out


def _write_cache(cache: Path, rows: dict[str, dict], names: list[str]) -> None:
    with open(cache, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["image", *map(_key, GROUPS)])
        w.writeheader()
        w.writerows(rows[n] for n in names if n in rows)


def _ladder(extractor, prist, idx) -> dict[str, int]:
    """How many of the demo's 9 distorted versions score worse than the original."""
    from blindiqa.cli.demo import DISTORTIONS, sample_photo

    photo = sample_photo()
    versions = [fn(photo) for _, levels in DISTORTIONS for _, fn in levels]
    score = [_distances(patch_features(extractor, extract_patches(to_tensor(im))), prist, idx)
             for im in [photo, *versions]]
    return {k: sum(s[k] > score[0][k] for s in score[1:]) for k in prist}


def run(encoder: str, norm: str, clive: Path, pristine: Path, out: Path,
        limit: int | None, every: int = 1) -> dict:
    """Score clive-dev with every candidate layer group; per-image distances are cached."""
    cache = out / f"{encoder}__{norm}.csv"
    extractor = build_extractor(FeatureConfig(encoder=encoder, layers=TAPS,
                                              normalization=norm))
    idx = {_key(g): _index(extractor, g) for g in GROUPS}
    stats, _ = pristine_stats(extractor, [p for p, _ in iter_image_files([pristine])])
    prist = {k: _slice(stats, i) for k, i in idx.items()}
    with open(clive / "mos.csv", newline="") as fh:
        mos = {r["image"]: float(r["mos"]) for r in csv.DictReader(fh)}
    names = sorted(mos)[:limit][::every]
    rows: dict[str, dict] = {}
    if cache.exists():
        with open(cache, newline="") as fh:
            rows = {r["image"]: r for r in csv.DictReader(fh)
                    if all(r.get(k) for k in idx)}
    t0, n_new = time.perf_counter(), 0
    for name in tqdm(names, desc=f"{encoder}/{norm}"):
        if name in rows:
            continue
        feats = patch_features(extractor, extract_patches(decode_image(clive / "images" / name)))
        rows[name] = {"image": name, **_distances(feats, prist, idx)}
        n_new += 1
        if n_new % 20 == 0:
            _write_cache(cache, rows, names)
    spi = (time.perf_counter() - t0) / n_new if n_new else math.nan
    _write_cache(cache, rows, names)
    return {"rows": rows, "names": names, "mos": mos, "spi": spi,
            "ladder": _ladder(extractor, prist, idx),
            "dims": {k: len(i) for k, i in idx.items()}}


def evaluate_groups(encoder: str, norm: str, res: dict) -> list[dict]:
    from blindiqa.bench.metrics import evaluate

    results = []
    for key, dim in res["dims"].items():
        pred = [float(res["rows"][n][key]) for n in res["names"]]
        m = evaluate(pred, [res["mos"][n] for n in res["names"]])
        results.append({"encoder": encoder, "layer": key, "normalization": norm, "dim": dim,
                        "ladder": res["ladder"][key], "seconds_per_image": res["spi"], **m})
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clive", type=Path, default=SHARED / "clive-dev")
    ap.add_argument("--pristine", type=Path, default=SHARED / "pristine")
    ap.add_argument("--encoders", nargs="+", default=["efficientnet_lite0", "efficientnet_lite2"])
    ap.add_argument("--norms", nargs="+", default=["none", "imagenet"])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--every", type=int, default=1, help="use every K-th image only")
    ap.add_argument("--out", type=Path, default=Path("bench/select"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [(enc, norm, run(enc, norm, args.clive, args.pristine, args.out, args.limit,
                            args.every))
            for enc in args.encoders for norm in args.norms]
    allres = [r for enc, norm, res in runs for r in evaluate_groups(enc, norm, res)]
    lines = ["| encoder | layers | dim | normalization | n | SRCC | PLCC | KRCC | ladder (of 9) "
             "| s/image |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(allres, key=lambda r: -r["srcc"]):
        lines.append(f"| {r['encoder']} | {r['layer']} | {r['dim']} | {r['normalization']} | "
                     f"{r['n']} | {r['srcc']:.4f} | {r['plcc']:.4f} | {r['krcc']:.4f} | "
                     f"{r['ladder']} | {r['seconds_per_image']:.3f} |")
    table = "\n".join(lines)
    (args.out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
