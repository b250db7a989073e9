"""Choose the default model: untrained ImageNet encoders x feature layers x input
normalisations, each fitted on the pristine corpus and measured on clive-dev.

One forward pass per (encoder, normalisation) taps all candidate layers; the pristine
statistics of each layer are a slice of the concatenated statistics.

    python benchmarks/select_default.py --out bench/select
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch
from tqdm import tqdm

from blindiqa.gaussian import GaussianStats, gaussian_distance
from blindiqa.io.decode import decode_image
from blindiqa.io.files import iter_image_files
from blindiqa.models.fit import pristine_stats
from blindiqa.models.gaussian_model import FeatureConfig, build_extractor, patch_features
from blindiqa.patches import extract_patches

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LAYERS = ("stage5", "stage6", "stage7", "head")


def _slice(stats: GaussianStats, idx: slice) -> GaussianStats:
    return GaussianStats(stats.count, stats.total[idx], stats.outer[idx, idx])


def _write_cache(cache: Path, rows: dict[str, dict], names: list[str]) -> None:
    with open(cache, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["image", *LAYERS])
        w.writeheader()
        w.writerows(rows[n] for n in names if n in rows)


def run(encoder: str, norm: str, clive: Path, pristine: Path, out: Path,
        limit: int | None, every: int = 1
        ) -> tuple[dict[str, dict], list[str], dict[str, float], dict, float]:
    """Score clive-dev with every candidate layer; per-image distances are cached."""
    cache = out / f"{encoder}__{norm}.csv"
    extractor = build_extractor(FeatureConfig(encoder=encoder, layers=LAYERS,
                                              normalization=norm))
    bounds, start = {}, 0
    for name, d in zip(LAYERS, extractor.dims, strict=True):
        bounds[name] = slice(start, start + d)
        start += d
    stats, _ = pristine_stats(extractor, [p for p, _ in iter_image_files([pristine])])
    prist = {n: _slice(stats, s) for n, s in bounds.items()}
    with open(clive / "mos.csv", newline="") as fh:
        mos = {r["image"]: float(r["mos"]) for r in csv.DictReader(fh)}
    names = sorted(mos)[:limit][::every]
    rows: dict[str, dict] = {}
    if cache.exists():
        with open(cache, newline="") as fh:
            rows = {r["image"]: r for r in csv.DictReader(fh)}
    t0, n_new = time.perf_counter(), 0
    for name in tqdm(names, desc=f"{encoder}/{norm}"):
        if name in rows:
            continue
        feats = patch_features(extractor, extract_patches(decode_image(clive / "images" / name)))
        row = {"image": name}
        for layer, s in bounds.items():
            f = feats[:, s]
            t = GaussianStats.from_features(f)
            row[layer] = gaussian_distance(prist[layer].mean, prist[layer].cov, t.mean, t.cov)
        rows[name] = row
        n_new += 1
        if n_new % 20 == 0:
            _write_cache(cache, rows, names)
    spi = (time.perf_counter() - t0) / max(n_new, 1)
    _write_cache(cache, rows, names)
    return rows, names, mos, bounds, (spi if n_new else float("nan"))


def evaluate_layers(encoder: str, norm: str, rows: dict[str, dict], names: list[str],
                    mos: dict[str, float], bounds: dict, spi: float) -> list[dict]:
    from blindiqa.bench.metrics import evaluate

    results = []
    for layer in LAYERS:
        pred = [float(rows[n][layer]) for n in names]
        m = evaluate(pred, [mos[n] for n in names])
        results.append({"encoder": encoder, "layer": layer, "normalization": norm,
                        "dim": bounds[layer].stop - bounds[layer].start,
                        "seconds_per_image": spi, **m})
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
    torch.manual_seed(0)
    runs = [(enc, norm, run(enc, norm, args.clive, args.pristine, args.out, args.limit,
                                   args.every))
            for enc in args.encoders for norm in args.norms]
    allres = [r for enc, norm, res in runs for r in evaluate_layers(enc, norm, *res)]
    lines = ["| encoder | layer | dim | normalization | SRCC | PLCC | KRCC | s/image |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(allres, key=lambda r: -r["srcc"]):
        lines.append(f"| {r['encoder']} | {r['layer']} | {r['dim']} | {r['normalization']} | "
                     f"{r['srcc']:.4f} | {r['plcc']:.4f} | {r['krcc']:.4f} | "
                     f"{r['seconds_per_image']:.3f} |")
    table = "\n".join(lines)
    (args.out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
