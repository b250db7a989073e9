"""Train the reasons probe (``blindiqa/weights/reasons.safetensors``) and measure its
accuracy on held-out scenes.

1. The training set (:func:`blindiqa.reasons.dataset.build_reason_set`): each of the 171
   pristine photos as it is and under ``--versions - 1`` seeded random distortions (one
   or two families each), through the shipped default's engine; cached in ``--cache``.
2. Held-out accuracy, two splits by scene (whole photos, never a version of a test
   photo in training): *corpus*: train on BSD100 + McMaster, test on Kodak + LIVE1
   (LIVE1's references include Kodak scenes, so the two are held out together);
   *5-fold*: photos of all four corpora in 5 seeded folds. Per family: presence AUC
   (present = level >= 1), accuracy of "present" at a predicted strength >= 0.5 and at
   >= 1 (the report cards' threshold; with its recall and false-alarm rate, and the
   share of versions without the family, what always saying "absent" scores), level MAE
   and Spearman of predicted vs true level over all test versions.
3. The shipped probe: fitted on all 171 photos, written to ``--out``; the numbers go
   to ``--json``.

    nice -n 10 python benchmarks/train_reasons.py [--versions 20] [--hidden 64]
        [--cache /tmp/blindiqa-reasons/set.pt] [--out blindiqa/weights/reasons.safetensors]
        [--json /tmp/blindiqa-reasons/accuracy.json]

An existing cache is kept (delete it to rebuild).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from blindiqa.io.files import iter_image_files
from blindiqa.models.load import load
from blindiqa.onepass import OnePassConfig
from blindiqa.reasons import FAMILIES, fit_probe, save_probe
from blindiqa.reasons.dataset import build_reason_set

ROOT = Path(__file__).resolve().parents[1]
PRISTINE = ROOT.parent / "shared" / "data" / "pristine"


def corpus_of(name: str) -> str:
    return Path(name).parent.name


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (ties counted half)."""
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    def ranks(v: np.ndarray) -> np.ndarray:
        order = v.argsort(kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for u in np.unique(v):  # average ties
            r[v == u] = r[v == u].mean()
        return r

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def family_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for j, fam in enumerate(FAMILIES):
        p, t = pred[:, j], true[:, j]
        present = t >= 1
        out[fam] = {"auc": auc(p, present),
                    "accuracy": float(((p >= 0.5) == present).mean()),
                    "accuracy_at_1": float(((p >= 1.0) == present).mean()),
                    "recall_at_1": float((p[present] >= 1.0).mean()),
                    "false_alarms_at_1": float((p[~present] >= 1.0).mean()),
                    "absent_share": float((~present).mean()),
                    "mae": float(np.abs(p - t).mean()),
                    "mae_present": float(np.abs(p - t)[present].mean()),
                    "spearman": spearman(p, t),
                    "n_present": int(present.sum())}
    return out


def evaluate(data: dict, train_idx: list[int], test_idx: list[int], args) -> tuple:
    x, y = data["features"], data["targets"]
    xtr = x[train_idx].flatten(0, 1)
    ytr = y[train_idx].flatten(0, 1)
    probe = fit_probe(xtr, ytr, hidden=args.hidden, epochs=args.epochs, lr=args.lr,
                      weight_decay=args.weight_decay, seed=args.seed)
    pred = probe.predict(x[test_idx].flatten(0, 1)).numpy()
    return pred, y[test_idx].flatten(0, 1).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--versions", type=int, default=20)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=1500)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, default=Path("/tmp/blindiqa-reasons/set.pt"))
    p.add_argument("--out", type=Path, default=ROOT / "blindiqa/weights/reasons.safetensors")
    p.add_argument("--json", type=Path, default=Path("/tmp/blindiqa-reasons/accuracy.json"))
    p.add_argument("--build-only", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)

    config = OnePassConfig.from_json(load("default").config.to_json())
    if args.cache.is_file():
        data = torch.load(args.cache, weights_only=False)
    else:
        files = [f for f, _ in iter_image_files([PRISTINE])]
        t0 = time.time()
        with tqdm(total=len(files), desc="reasons set") as bar:
            data = build_reason_set(files, config, versions=args.versions, seed=args.seed,
                                    progress=bar.update)
        data["seconds"] = time.time() - t0
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(data, args.cache)
    if args.build_only:
        return
    names = data["names"]
    n = len(names)
    results: dict = {"photos": n, "versions": int(data["features"].shape[1]),
                     "settings": {k: getattr(args, k) for k in
                                  ("hidden", "epochs", "lr", "weight_decay", "seed")}}
    held = [i for i, nm in enumerate(names) if corpus_of(nm) in ("kodak24", "live1")]
    rest = [i for i in range(n) if i not in held]
    pred, true = evaluate(data, rest, held, args)
    results["corpus"] = {"train": len(rest), "test": len(held),
                         "families": family_metrics(pred, true)}
    order = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed)).tolist()
    preds, trues = [], []
    for k in range(5):
        test = sorted(order[k::5])
        train = [i for i in range(n) if i not in set(test)]
        pr, tr = evaluate(data, train, test, args)
        preds.append(pr)
        trues.append(tr)
    results["five_fold"] = {"families": family_metrics(np.concatenate(preds),
                                                       np.concatenate(trues))}
    x, y = data["features"].flatten(0, 1), data["targets"].flatten(0, 1)
    probe = fit_probe(x, y, hidden=args.hidden, epochs=args.epochs, lr=args.lr,
                      weight_decay=args.weight_decay, seed=args.seed,
                      engine=config.to_json())
    training = {"photos": n, "versions": results["versions"], "seed": args.seed,
                "data": "pristine corpus (Kodak24, LIVE1, McMaster, BSD100) under seeded "
                        "synthetic distortions", "script": "benchmarks/train_reasons.py",
                **results["settings"]}
    save_probe(probe, args.out, training)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    for split in ("corpus", "five_fold"):
        print(f"\n{split}: family  AUC  acc  acc@1 recall@1 false@1 absent  MAE  "
              "MAE(present)  Spearman")
        for fam, m in results[split]["families"].items():
            print(f"  {fam:12s} {m['auc']:.3f} {m['accuracy']:.3f} {m['accuracy_at_1']:.3f} "
                  f"{m['recall_at_1']:.3f} {m['false_alarms_at_1']:.3f} "
                  f"{m['absent_share']:.3f} {m['mae']:.2f} {m['mae_present']:.2f} "
                  f"{m['spearman']:.3f}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
