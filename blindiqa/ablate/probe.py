"""Measurements behind the Stage-2 defaults: how fast ``q(x_c | z)`` learns.

The official code trains ``q`` with lr 1e-7, which leaves it at its random
initialisation (defect 2 in method.md). To choose ``--q-lr`` by measurement,
:func:`collect_pairs` embeds two-halves crops of unlabeled photos with a fixed encoder
and the content network (paired crop by crop), and :func:`sweep_q_lr` trains a fresh
``q`` on batches of them with each candidate learning rate, reporting the CLUB estimate
and ``q``'s likelihood on held-out pairs after a number of steps comparable to a
Stage-2 run (the paper: 5 epochs x 10,000 / 16 = 3,125 steps; our 452 photos: 140).

Usage (also ``python -m blindiqa.ablate.probe --help``)::

    python -m blindiqa.ablate.probe --images data/unlabeled --init runs/s1/encoder.pt \
        --encoder resnet50 --out q_lr.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from blindiqa.crops.features import FeatureExtractor
from blindiqa.encoders import create_network, get_encoder_spec, list_encoders
from blindiqa.losses.club import (
    ConditionalGaussian,
    club_upper_bound,
    gaussian_log_likelihood,
    q_loss,
)
from blindiqa.train.authentic_data import AuthenticDataset
from blindiqa.train.content import ContentNetwork
from blindiqa.train.data import list_training_images


@torch.no_grad()
def collect_pairs(encoder: nn.Module, content: nn.Module, dataset: Any, count: int,
                  batch: int = 16, seed: int = 0, device: str = "cpu"
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Quality and content features of the crops of ``count`` photos (2 crops each).

    Args:
        encoder: crops in ``[0, 1]`` -> ``(N, d)`` (eval mode).
        content: crops in ``[0, 1]`` -> ``(N, classes)`` probabilities.
        dataset: a :class:`blindiqa.train.authentic_data.AuthenticDataset`.
        count: photos to use (the first ``count`` of the dataset).
        batch: photos per forward pass.
        seed: seed key of the crops.
        device: where the networks run.

    Returns:
        ``(z, x_c)``: ``(2 count, d)`` and ``(2 count, classes)`` float32 on the CPU, row
        ``i`` of both from the same crop.
    """
    zs, xs = [], []
    count = min(count, len(dataset))
    for start in range(0, count, batch):
        views = torch.stack([dataset[((seed, i), i)]["views"]
                             for i in range(start, min(count, start + batch))])
        x = views.flatten(0, 1).to(device).float() / 255.0
        zs.append(encoder(x).float().cpu())
        xs.append(content(x).float().cpu())
    return torch.cat(zs), torch.cat(xs)


def sweep_q_lr(z: torch.Tensor, x_c: torch.Tensor, lrs: Sequence[float], steps: int = 140,
               batch: int = 32, objective: str = "loglik", weight_decay: float = 0.1,
               held_out: float = 0.25, seed: int = 0, hidden: int = 1000,
               log_every: int = 0) -> list[dict[str, Any]]:
    """Train a fresh ``q`` per learning rate on random batches of the pairs.

    Args:
        z, x_c: paired features (:func:`collect_pairs`).
        lrs: Adam learning rates to try.
        steps: optimisation steps per learning rate.
        batch: pairs per step (the paper: 32 crops).
        objective: ``"loglik"`` or ``"contrastive"``.
        weight_decay: Adam weight decay (the official code: 0.1).
        held_out: share of the pairs kept for evaluation (split by photo: crops ``2k``
            and ``2k + 1`` stay together).
        seed: seed of the initialisation and the batches.
        hidden: hidden width of ``q``.
        log_every: also record the held-out estimate every this many steps (0: never).

    Returns:
        One dict per learning rate: ``lr``, ``club`` (held-out CLUB estimate, nats),
        ``club_train`` (last training batches, mean of the last 10), ``loglik``
        (held-out mean log q of matched pairs), ``loglik_product`` (of mismatched pairs),
        ``separation`` (share of held-out pairs more likely matched than mismatched),
        ``seconds`` and optionally ``curve``.
    """
    n = z.shape[0] // 2 * 2
    photos = n // 2
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(photos, generator=g)
    n_test = max(2, int(round(photos * held_out)))
    test = torch.cat([2 * order[:n_test], 2 * order[:n_test] + 1])
    train = torch.cat([2 * order[n_test:], 2 * order[n_test:] + 1])
    results = []
    for lr in lrs:
        torch.manual_seed(seed)
        q = ConditionalGaussian(z.shape[1], x_c.shape[1], hidden)
        opt = torch.optim.Adam(q.parameters(), lr=lr, weight_decay=weight_decay)
        gb = torch.Generator().manual_seed(seed + 1)
        t0 = time.perf_counter()
        train_est: list[float] = []
        curve: list[tuple[int, float]] = []
        for step in range(1, steps + 1):
            idx = train[torch.randperm(train.numel(), generator=gb)[:batch]]
            mu, logvar = q(z[idx])
            loss = q_loss(objective, x_c[idx], mu, logvar)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                train_est.append(float(club_upper_bound(x_c[idx], mu, logvar)))
            if log_every and step % log_every == 0:
                curve.append((step, evaluate_q(q, z[test], x_c[test])["club"]))
        res = {"lr": lr, **evaluate_q(q, z[test], x_c[test]),
               "club_train": sum(train_est[-10:]) / len(train_est[-10:]),
               "seconds": round(time.perf_counter() - t0, 2)}
        if log_every:
            res["curve"] = curve
        results.append(res)
    return results


@torch.no_grad()
def evaluate_q(q: ConditionalGaussian, z: torch.Tensor, x_c: torch.Tensor) -> dict[str, float]:
    """Held-out CLUB estimate, matched / mismatched log-likelihoods and their separation.

    Mismatched pairs pair crop ``i`` with the ``z`` of a crop of another photo (rows are
    shifted by half the set, so never the other half of the same photo).
    """
    mu, logvar = q(z)
    ll = gaussian_log_likelihood(x_c, mu, logvar)
    shift = torch.roll(torch.arange(z.shape[0]), z.shape[0] // 2 + 1)
    ll_prod = gaussian_log_likelihood(x_c[shift], mu, logvar)
    return {"club": float(club_upper_bound(x_c, mu, logvar)), "loglik": float(ll.mean()),
            "loglik_product": float(ll_prod.mean()),
            "separation": float((ll > ll_prod).float().mean())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m blindiqa.ablate.probe",
                                description="Sweep q's learning rate on fixed features.")
    p.add_argument("--images", nargs="+", required=True)
    p.add_argument("--init", default="imagenet", help="imagenet or an encoder state dict")
    p.add_argument("--encoder", default="efficientnet_lite0",
                   choices=[e.name for e in list_encoders()])
    p.add_argument("--layer", default=None)
    p.add_argument("--normalization", default="none")
    p.add_argument("--crop-size", type=int, default=256)
    p.add_argument("--photos", type=int, default=452)
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-7, 1e-5, 1e-4, 1e-3, 1e-2])
    p.add_argument("--steps", type=int, default=140)
    p.add_argument("--objective", default="loglik", choices=["loglik", "contrastive"])
    p.add_argument("--pairs", help="read / write the collected features here (.pt)")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    if args.pairs and Path(args.pairs).is_file():
        saved = torch.load(args.pairs, weights_only=True)
        z, x_c = saved["z"], saved["x_c"]
    else:
        net = create_network(args.encoder, pretrained=args.init == "imagenet",
                             checkpoint_path=None if args.init == "imagenet" else args.init)
        layer = args.layer or get_encoder_spec(args.encoder).default_layer
        enc = FeatureExtractor(net, (layer,), args.normalization).eval().to(args.device)
        content = ContentNetwork().to(args.device)
        files = [f for f, _ in list_training_images(args.images)]
        ds = AuthenticDataset(files, args.crop_size)
        t0 = time.perf_counter()
        z, x_c = collect_pairs(enc, content, ds, args.photos, device=args.device)
        print(f"collected {z.shape[0]} pairs in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        if args.pairs:
            torch.save({"z": z, "x_c": x_c}, args.pairs)
    res = sweep_q_lr(z, x_c, args.lrs, steps=args.steps, objective=args.objective)
    for r in res:
        print(f"lr {r['lr']:g}: held-out CLUB {r['club']:.4g} nats (train {r['club_train']:.4g}), "
              f"log q matched {r['loglik']:.6g} vs mismatched {r['loglik_product']:.6g}, "
              f"separation {r['separation']:.2f}, {r['seconds']} s")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    return 0 if all(math.isfinite(r["club"]) for r in res) else 1


if __name__ == "__main__":
    sys.exit(main())
