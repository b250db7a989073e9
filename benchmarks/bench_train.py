"""Throughput of Stage-1 training: the data pipeline and the model step, apart.

Usage::

    python benchmarks/bench_train.py --images DIR [DIR ...] [--encoder resnet50]
        [--parts data,model] [--distort-on workers,device] [--device cuda]
        [--workers N] [--scenes-per-batch 16] [--k 4] [--work-size 384] [--crop 0]
        [--seconds 20] [--amp/--no-amp] [--json FILE]

``data`` times the scene pipeline alone, as the trainer runs it (DataLoader workers and,
for ``--distort-on device``, the distortions finished batched on the device), in crops
per second it can deliver; ``model`` times forward + backward + Adam of the encoder on
random crops of the same size, in crops per second it can consume. Training runs at
about the smaller of the two: when ``data`` is below ``model`` the device waits for the
workers. Each measurement runs ``--seconds`` after a warm-up of a few steps; the JSON
lists every result, an estimate of the training rate of each ``distort_on`` mode
(:func:`estimate_training_rate`) and the mode with the best estimate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import islice

import torch
from torch.utils.data import DataLoader

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import create_network, get_encoder_spec
from blindiqa.losses import IntraSceneInfoNCELoss
from blindiqa.train.data import (
    SceneDataset,
    SceneSampler,
    SceneSpec,
    collate_scenes,
    finish_device_batch,
    list_training_images,
)
from blindiqa.train.run import default_workers


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_data(files: list, spec: SceneSpec, scenes: int, workers: int,
               device: torch.device, seconds: float, warmup: int = 3) -> dict:
    """Crops per second that the scene pipeline delivers on ``device``."""
    ds = SceneDataset(files, spec, seed=0)
    sampler = SceneSampler(len(files), scenes, 10**6, 10**6, seed=0)
    loader = DataLoader(ds, batch_size=scenes, sampler=sampler, num_workers=workers,
                        collate_fn=collate_scenes, pin_memory=device.type == "cuda",
                        prefetch_factor=4 if workers else None)
    it = iter(loader)
    t_start = time.perf_counter()
    for step, batch in enumerate(islice(it, warmup)):
        finish_device_batch(batch, spec, step, device)
    _sync(device)
    startup = time.perf_counter() - t_start
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        v1, _, _ = finish_device_batch(next(it), spec, warmup + n, device)
        n += 1
    _sync(device)
    elapsed = time.perf_counter() - t0
    del it
    crops = n * scenes * spec.k * 2
    return {"part": "data", "distort_on": spec.distort_on, "workers": workers,
            "steps": n, "seconds": round(elapsed, 2), "startup_s": round(startup, 2),
            "crops_per_s": round(crops / elapsed, 1)}


def bench_model(encoder: str, layer: str, crop: int, crops: int, device: torch.device,
                amp: bool, channels_last: bool, seconds: float, warmup: int = 5) -> dict:
    """Crops per second of forward + backward + Adam on random crops."""
    torch.manual_seed(0)
    model = FeatureExtractor(create_network(encoder), (layer,)).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam([p for p in model.parameters()], lr=1e-4)
    loss_fn = IntraSceneInfoNCELoss()
    x = torch.rand(crops, 3, crop, crop, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    k = 4 if crops % 8 == 0 else 2

    def step() -> float:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            z = model(x)
        z1, z2 = z.float().chunk(2)
        loss = loss_fn(z1.reshape(-1, k, z.shape[1]), z2.reshape(-1, k, z.shape[1]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.item())

    for _ in range(warmup):
        step()
    _sync(device)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    elapsed = time.perf_counter() - t0
    out = {"part": "model", "encoder": encoder, "layer": layer, "crop": crop,
           "crops_per_step": crops, "amp": amp, "steps": n, "seconds": round(elapsed, 2),
           "crops_per_s": round(n * crops / elapsed, 1)}
    if device.type == "cuda":
        out["max_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return out


def estimate_training_rate(mode: str, data_rate: float, model_rate: float | None) -> float:
    """Training crops/s expected from the two parts measured apart.

    With ``workers`` the pipeline runs beside the model step: the slower part sets the
    pace. With ``device`` part of the pipeline shares the device with the model step;
    assumed (conservatively) to add up: ``1 / (1 / data + 1 / model)``.
    """
    if model_rate is None or model_rate <= 0:
        return data_rate
    if mode == "workers":
        return min(data_rate, model_rate)
    return 1.0 / (1.0 / data_rate + 1.0 / model_rate)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", nargs="+", required=True)
    p.add_argument("--encoder", default="resnet50")
    p.add_argument("--layer", default=None)
    p.add_argument("--parts", default="data,model")
    p.add_argument("--distort-on", default="workers,device")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scenes-per-batch", type=int, default=16)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--work-size", type=int, default=384)
    p.add_argument("--crop", type=int, default=0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    amp = args.amp if args.amp is not None else device.type == "cuda"
    workers = args.workers if args.workers is not None else default_workers(device.type, 1)
    layer = args.layer or get_encoder_spec(args.encoder).default_layer
    files = [f for f, _ in list_training_images(args.images)]
    parts = [x for x in args.parts.split(",") if x]
    results: list[dict] = []
    print(f"# {args.scenes_per_batch} scenes x k={args.k} x 2 crops, working size "
          f"{args.work_size}, crop {args.crop or args.work_size // 2}, {len(files)} images, "
          f"{device}, {workers} workers, {torch.get_num_threads()} torch threads", flush=True)
    if "data" in parts:
        for mode in [m for m in args.distort_on.split(",") if m]:
            spec = SceneSpec(k=args.k, work_size=args.work_size, out_size=args.crop or None,
                             distort_on=mode)
            try:
                r = bench_data(files, spec, args.scenes_per_batch, workers, device,
                               args.seconds)
            except Exception as exc:  # noqa: BLE001 - report and go on (e.g. no /dev/shm)
                r = {"part": "data", "distort_on": mode, "workers": workers,
                     "error": f"{type(exc).__name__}: {exc}"}
            results.append(r)
            print(json.dumps(r), flush=True)
    if "model" in parts:
        crop = args.crop or args.work_size // 2
        r = bench_model(args.encoder, layer, crop, 2 * args.k * args.scenes_per_batch, device,
                        amp, device.type == "cuda", args.seconds)
        results.append(r)
        print(json.dumps(r), flush=True)
    data = [r for r in results if r["part"] == "data" and "crops_per_s" in r]
    model = next((r["crops_per_s"] for r in results if r["part"] == "model"), None)
    for r in data:
        r["est_train_crops_per_s"] = round(estimate_training_rate(r["distort_on"],
                                                                  r["crops_per_s"], model), 1)
    best = max(data, key=lambda r: r["est_train_crops_per_s"])["distort_on"] if data \
        else "workers"
    summary = {"device": str(device), "gpu": torch.cuda.get_device_name(device)
               if device.type == "cuda" else None, "torch": str(torch.__version__),
               "results": results, "best_distort_on": best}
    print(f"best distort_on: {best}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
