"""How well bursts are grouped, and how often the undistorted shot is picked as the best.

Synthetic shoots are made from the shared photos (``pristine/`` and
``unlabeled/imagenet-sample``, never the development sets): each burst is one photo as
it is (the undistorted shot) plus 2-5 variants of it (a crop of 1-5 % of each side, a
rotation under 1.5 degrees, a gain of 0.9-1.1, then one of the 25 distortions at level
1-3), and between the bursts stand single shots of other photos of the same corpus
(similar-looking distinct photos, the negatives). Every shot is saved as a JPEG
(quality 95) with an EXIF capture time: the shots of a burst 0.1-0.7 s apart, 1-30 s
between one burst or single shot and the next; files are named in shooting order.

Printed: pairwise precision and recall of the bursts found (pairs of shots put together
that belong together / pairs that belong together that were put together) and the
adjusted Rand index, for EXIF times only, descriptors only (the colour thumbnail of
:func:`blindiqa.bursts.thumbnail_feature` and the default encoder's globally pooled
features) and both; a sweep of the descriptor threshold; and the share of bursts whose
undistorted shot is marked the best (by the default model's quality), with the true
grouping and with the one found.

    nice -n 10 python benchmarks/bursts.py [--bursts 60] [--singles 30] [--seed 0] \\
        [--work /tmp/blindiqa-bursts] > bursts.log 2>&1

The shots and their scores and encoder features are cached under ``--work`` (delete it
to rebuild).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from blindiqa.bursts import (
    DEFAULT_MAX_DISTANCE,
    DEFAULT_SECONDS,
    best_of_bursts,
    capture_time,
    file_feature,
    group_bursts,
)
from blindiqa.distortions.registry import NAMES, apply_distortion

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CORPORA = {
    "kodak24": SHARED / "pristine" / "kodak24",
    "live1": SHARED / "pristine" / "live1",
    "mcmaster": SHARED / "pristine" / "mcmaster",
    "bsd100": SHARED / "pristine" / "bsd100",
    "imagenet": SHARED / "unlabeled" / "imagenet-sample",
}
#: The shots' long side (the photos are scaled down to it first).
SIDE = 512
START = 1_780_000_000.0  # 2026-05-28, the first shot's time


@dataclass
class Shot:
    """One file of the shoot."""

    name: str
    burst: int  # the true burst (a single shot has its own)
    original: bool  # the undistorted shot of a burst
    kind: str  # "original", "variant:<distortion>:<level>", "single"


def photos(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir()
                  if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif"))


def load_photo(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGB")
    image.thumbnail((SIDE, SIDE), Image.LANCZOS)
    return image


def variant(image: Image.Image, rng: random.Random, gen: torch.Generator,
            ) -> tuple[Image.Image, str]:
    """A shot of the same scene: a small crop, rotation and gain, then a distortion."""
    w, h = image.size
    crop = [rng.uniform(0.01, 0.05) for _ in range(4)]
    box = (crop[0] * w, crop[1] * h, w - crop[2] * w, h - crop[3] * h)
    shot = image.rotate(rng.uniform(-1.5, 1.5), Image.BICUBIC)
    shot = shot.resize((w, h), Image.BICUBIC, box=box)
    x = torch.from_numpy(np.asarray(shot, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    x = (x * rng.uniform(0.9, 1.1)).clamp(0, 1)
    name, level = rng.choice(NAMES), rng.randint(1, 3)
    x = apply_distortion(x, name, level, gen).clamp(0, 1)
    arr = (x[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(arr), f"variant:{name}:{level}"


def save(image: Image.Image, path: Path, when: float) -> None:
    """A JPEG with an EXIF capture time (DateTimeOriginal + SubSecTimeOriginal)."""
    exif = Image.Exif()
    stamp = time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(math.floor(when)))
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = stamp
    sub[0x9291] = f"{int((when - math.floor(when)) * 1000):03d}"
    image.save(path, "JPEG", quality=95, exif=exif)


def make_shoot(work: Path, n_bursts: int, n_singles: int, seed: int) -> list[Shot]:
    """The shoot's files under ``work/shots`` and their truth (cached in shots.json)."""
    truth = work / "shots.json"
    if truth.exists():
        return [Shot(**d) for d in json.loads(truth.read_text())]
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    pools = {k: photos(v) for k, v in CORPORA.items()}
    for pool in pools.values():
        rng.shuffle(pool)
    # units: a burst or a single shot, drawn from the corpora in turn, so that the
    # neighbours of a burst are photos of the same corpus (similar-looking negatives)
    units: list[tuple[str, Path]] = []
    kinds = ["burst"] * n_bursts + ["single"] * n_singles
    rng.shuffle(kinds)
    names = list(CORPORA)
    for i, kind in enumerate(kinds):
        corpus = names[(i // 3) % len(names)]  # three units in a row from one corpus
        units.append((kind, pools[corpus].pop()))
    shots_dir = work / "shots"
    shots_dir.mkdir(parents=True, exist_ok=True)
    shots: list[Shot] = []
    when = START
    for burst, (kind, path) in enumerate(units, 1):
        image = load_photo(path)
        frames = [(image, "original" if kind == "burst" else "single")]
        if kind == "burst":
            frames += [variant(image, rng, gen) for _ in range(rng.randint(2, 5))]
            rng.shuffle(frames)  # the undistorted shot anywhere in the burst
        for j, (frame, what) in enumerate(frames):
            if j:
                when += rng.uniform(0.1, 0.7)
            name = f"IMG_{len(shots) + 1:04d}.jpg"
            save(frame, shots_dir / name, when)
            shots.append(Shot(name, burst, what == "original", what))
        when += rng.uniform(1.0, 30.0)
    truth.write_text(json.dumps([s.__dict__ for s in shots]))
    return shots


def scores_and_encoder_features(work: Path, shots: list[Shot]) -> tuple[list[float],
                                                                        list[np.ndarray]]:
    """Each shot's 0-100 quality by the default model, and the default encoder's
    globally pooled features on the shot scaled to a long side of 224 (cached)."""
    cache = work / "model.pt"
    if cache.exists():
        data = torch.load(cache)
        return data["quality"], [f.numpy() for f in data["pooled"]]
    import blindiqa
    from blindiqa.io.decode import decode_image
    from blindiqa.onepass import limit_side

    model = blindiqa.load("default")
    quality, pooled = [], []
    for shot in shots:
        image = decode_image(work / "shots" / shot.name)
        score = float(model.score_tensor(image))
        quality.append(float(model.quality_scale([score])[0]))
        with torch.inference_mode():
            grid = model.encoder(limit_side(image, 224))
        pooled.append(grid.mean(dim=(1, 2)).double())
    torch.save({"quality": quality, "pooled": pooled}, cache)
    return quality, [f.numpy() for f in pooled]


def pair_scores(truth: list[int], found: list[int]) -> tuple[float, float, float]:
    """Pairwise precision, recall and adjusted Rand index of a grouping."""
    tp = fp = fn = 0
    for i, j in combinations(range(len(truth)), 2):
        same_t, same_f = truth[i] == truth[j], found[i] == found[j]
        tp += same_t and same_f
        fp += same_f and not same_t
        fn += same_t and not same_f
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, adjusted_rand(truth, found)


def adjusted_rand(truth: list[int], found: list[int]) -> float:
    from collections import Counter

    def c2(n: int) -> float:
        return n * (n - 1) / 2

    n = len(truth)
    cells = sum(c2(v) for v in Counter(zip(truth, found, strict=True)).values())
    a = sum(c2(v) for v in Counter(truth).values())
    b = sum(c2(v) for v in Counter(found).values())
    expected = a * b / c2(n)
    top = (a + b) / 2
    return 1.0 if top == expected else (cells - expected) / (top - expected)


def picked_share(shots: list[Shot], groups: list[int], quality: list[float]) -> float:
    """The share of bursts whose undistorted shot is marked the best of its group and
    is the only shot of the burst so marked (a burst split in two has two bests and
    counts as a miss; one merged with another has its best taken away, or not)."""
    best = best_of_bursts(groups, quality)
    hits = n = 0
    for burst in {s.burst for s in shots if s.original}:
        marked = [i for i, s in enumerate(shots) if s.burst == burst and best[i]]
        hits += len(marked) == 1 and shots[marked[0]].original
        n += 1
    return hits / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, default=60)
    parser.add_argument("--singles", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/blindiqa-bursts"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    work = args.work / f"b{args.bursts}-s{args.singles}-seed{args.seed}"
    t0 = time.perf_counter()
    shots = make_shoot(work, args.bursts, args.singles, args.seed)
    t1 = time.perf_counter()
    quality, pooled = scores_and_encoder_features(work, shots)
    t2 = time.perf_counter()
    paths = [work / "shots" / s.name for s in shots]
    names = [s.name for s in shots]
    times = [capture_time(p) for p in paths]
    thumbs = [file_feature(p) for p in paths]
    t3 = time.perf_counter()
    truth = [s.burst for s in shots]
    n_b = sum(s.original for s in shots)
    print(f"{len(shots)} shots: {n_b} bursts of 3-6 and {len(set(truth)) - n_b} single "
          f"shots; {sum(t is not None for t in times)} with an EXIF time read back")
    print(f"timing: shoot {t1 - t0:.1f} s, model scores + encoder features {t2 - t1:.1f} s, "
          f"EXIF + thumbnails {t3 - t2:.2f} s ({(t3 - t2) / len(shots) * 1000:.1f} ms/shot)")
    none = [None] * len(shots)

    def row(label: str, groups: list[int]) -> None:
        p, r, ari = pair_scores(truth, groups)
        print(f"| {label} | {p:.3f} | {r:.3f} | {ari:.3f} | {len(set(groups))} | "
              f"{picked_share(shots, groups, quality):.3f} |")

    # thresholds for the encoder's pooled features: quantiles of consecutive distances
    print("\nthreshold sweep (features only, consecutive shots by name)")
    print("| descriptor | max distance | precision | recall | ARI | groups | best picked |")
    print("|---|---|---|---|---|---|---|")
    sweeps = {"thumbnail 16x16": (thumbs, [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]),
              "encoder pooled": (pooled, [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3])}
    best_ari: dict[str, tuple[float, float]] = {}
    for label, (feats, grid) in sweeps.items():
        for d in grid:
            g = group_bursts(names, none, feats, max_distance=d, join_by="features")
            p, r, ari = pair_scores(truth, g)
            best_ari[label] = max(best_ari.get(label, (-2.0, d)), (ari, d))
            print(f"| {label} | {d:g} | {p:.3f} | {r:.3f} | {ari:.3f} | {len(set(g))} | "
                  f"{picked_share(shots, g, quality):.3f} |")

    print(f"\ngrouping (--burst-seconds {DEFAULT_SECONDS:g}, "
          f"--burst-distance {DEFAULT_MAX_DISTANCE:g} for the thumbnail)")
    print("| joined by | precision | recall | ARI | groups | best picked |")
    print("|---|---|---|---|---|---|")
    row("truth (the true bursts)", truth)
    row("EXIF time only", group_bursts(names, times, thumbs, join_by="time"))
    for seconds in (1.0, 5.0):
        row(f"EXIF time only, {seconds:g} s",
            group_bursts(names, times, thumbs, seconds=seconds, join_by="time"))
    row("thumbnail only (no EXIF)", group_bursts(names, none, thumbs, join_by="features"))
    row("EXIF time or thumbnail", group_bursts(names, times, thumbs))
    for d in (DEFAULT_MAX_DISTANCE, 0.4):
        row(f"EXIF time and thumbnail ({d:g})",
            group_bursts(names, times, thumbs, max_distance=d, join_by="both"))
    enc = best_ari["encoder pooled"][1]  # tuned on this very shoot: an upper bound
    row(f"encoder pooled only ({enc:g})",
        group_bursts(names, none, pooled, max_distance=enc, join_by="features"))
    row(f"EXIF time or encoder pooled ({enc:g})",
        group_bursts(names, times, pooled, max_distance=enc))
    originals = [i for i, s in enumerate(shots) if s.original]
    by_burst = {}
    for i, s in enumerate(shots):
        by_burst.setdefault(s.burst, []).append(i)
    misses = [(shots[i].name, max((quality[j], shots[j].kind) for j in by_burst[shots[i].burst]
                                  if j != i)) for i in originals
              if not best_of_bursts(truth, quality)[i]]
    print(f"\nbursts where a variant beat the undistorted shot (true grouping): {len(misses)}")
    for name, (q, kind) in misses:
        print(f"  {name}: {kind} at quality {q:.1f}")


if __name__ == "__main__":
    main()
