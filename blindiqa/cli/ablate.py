"""``blindiqa ablate``: the poster's ablation (synthetic only, + authentic, + MI loglik,
+ MI contrastive), trained or reused, fitted, benchmarked and charted.

Examples::

    blindiqa ablate --init runs/s1 --pristine data/pristine --unlabeled data/unlabeled \
        --dataset clive=data/clive-dev --out out/ablation
    blindiqa ablate --init imagenet --encoder efficientnet_lite0 --pristine data/pristine \
        --unlabeled data/unlabeled --dataset clive=data/clive-dev --out out/smoke \
        --budget-minutes 10 --limit 100 --pristine-limit 40 --crop-size 128 \
        --batch-images 8 --limit-images 200
"""

from __future__ import annotations

import argparse
from typing import Any

from blindiqa.cli.choices import ABLATION_VARIANTS as VARIANT_KEYS
from blindiqa.cli.choices import ENCODERS
from blindiqa.cli.common import examples, fail, run_command, show_progress

#: Options passed on to every Stage-2 run (AuthenticConfig fields).
_TRAIN_OPTIONS = ("epochs", "steps_per_epoch", "batch_images", "crop_size", "limit_images",
                  "lr", "predictor_lr", "q_lr", "q_weight_decay", "q_loglik_weight",
                  "mi_weight", "mi_start_epoch", "freeze", "workers", "amp")


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def register(subparsers: Any) -> None:
    """Add ``ablate`` to the sub-commands of ``blindiqa``."""
    p = subparsers.add_parser(
        "ablate", help="the training-stage ablation (synthetic / + authentic / + MI)",
        description="Run (or reuse finished runs of) the four variants of the paper's "
                    "ablation: synthetic only; + authentic; + authentic + MI (loglik q); "
                    "+ authentic + MI (contrastive q). Each encoder is fitted on the "
                    "pristine images and benchmarked; writes results.md, results.json and "
                    "ablation.png (needs matplotlib) into OUT. Rerunning continues where "
                    "it stopped.",
        epilog=examples(
            "blindiqa ablate --init runs/s1 --pristine pristine/ --unlabeled unlabeled/ "
            "--dataset clive=../shared/data/clive-dev --out ablation/ --budget-minutes 90",
            "blindiqa ablate --init imagenet --pristine pristine/ --unlabeled unlabeled/ "
            "--dataset clive=../shared/data/clive-dev --out ablation/quick --limit 100 "
            "--variants authentic mi-contrastive",
            "blindiqa ablate --init runs/s1 --pristine pristine/ "
            "--dataset clive=../shared/data/clive-dev --out ablation/ "
            "--run authentic=runs/s2   # reuse a finished Stage-2 run"))
    p.add_argument("--init", required=True, metavar="RUN_DIR|FILE|imagenet",
                   help="the Stage-1 encoder (a `train synthetic` run directory, its "
                        "checkpoint.pt / encoder.pt, or imagenet for a stand-in)")
    p.add_argument("--pristine", nargs="+", required=True, metavar="DIR",
                   help="pristine images (the blind scorer's corpus)")
    p.add_argument("--unlabeled", nargs="+", default=[], metavar="DIR",
                   help="unlabeled authentic photos for Stage 2 (never a test set)")
    p.add_argument("--dataset", action="append", type=_pair, required=True,
                   metavar="NAME=ROOT", help="a dataset to benchmark; repeatable")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--encoder", choices=ENCODERS,
                   help="the network (default: that of the Stage-1 run)")
    p.add_argument("--variants", nargs="+", choices=VARIANT_KEYS, metavar="VARIANT",
                   help=f"which variants (default: all: {', '.join(VARIANT_KEYS)})")
    p.add_argument("--run", action="append", type=_pair, default=[],
                   metavar="VARIANT=RUN_DIR",
                   help="use this finished Stage-2 run for a variant instead of training")
    p.add_argument("--budget-minutes", type=float, metavar="M",
                   help="size the training runs so that everything fits in M minutes "
                        "(default: full runs)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="benchmark the first N images of each dataset only")
    p.add_argument("--pristine-limit", type=int, metavar="N",
                   help="fit on the first N pristine images only")
    p.add_argument("--device", choices=("cpu", "cuda"),
                   help="device for training and scoring (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0, help="seed of the Stage-2 runs")
    g = p.add_argument_group("Stage-2 settings (as for `blindiqa train authentic`, whose "
                             "defaults they keep)")
    g.add_argument("--epochs", type=int, help="epochs of each Stage-2 run")
    g.add_argument("--steps-per-epoch", type=int, metavar="N", help="steps per epoch")
    g.add_argument("--batch-images", type=int, metavar="N",
                   help="photos per step, 2 crops each")
    g.add_argument("--crop-size", type=int, metavar="N", help="side the crops are resized to")
    g.add_argument("--limit-images", type=int, metavar="N",
                   help="train on the first N unlabeled photos only")
    g.add_argument("--lr", type=float, help="encoder learning rate")
    g.add_argument("--predictor-lr", type=float, help="predictor learning rate")
    g.add_argument("--q-lr", type=float, help="Adam learning rate of the MI network q")
    g.add_argument("--q-weight-decay", type=float, help="Adam weight decay of q")
    g.add_argument("--q-loglik-weight", type=float,
                   help="contrastive q only: weight of the added likelihood loss")
    g.add_argument("--mi-weight", type=float, help="weight of the MI penalty")
    g.add_argument("--mi-start-epoch", type=int,
                   help="first epoch (1-based) with the MI penalty")
    g.add_argument("--freeze", metavar="BLOCKS",
                   help="blocks to freeze (comma list, ranges like stage1-3, or none)")
    g.add_argument("--workers", type=int, metavar="N", help="DataLoader workers per process")
    g.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast (default: on for cuda)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blindiqa.ablate.runner import VARIANT_KEYS, AblationConfig, run_ablation

    train = {k: getattr(args, k) for k in _TRAIN_OPTIONS if getattr(args, k) is not None}
    cfg = AblationConfig(init=args.init, pristine=args.pristine, unlabeled=args.unlabeled,
                         datasets=list(args.dataset), out=args.out, encoder=args.encoder,
                         variants=tuple(k for k in VARIANT_KEYS
                                        if k in (args.variants or VARIANT_KEYS)),
                         runs=dict(args.run), train=train,
                         budget_minutes=args.budget_minutes, limit=args.limit,
                         pristine_limit=args.pristine_limit, device=args.device,
                         seed=args.seed)
    try:
        results = run_ablation(cfg, echo=(lambda m: None) if args.quiet else None,
                               progress=show_progress(args))
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        return fail(str(exc), code=1)
    if not args.quiet:
        for r in results:
            cells = "; ".join(f"{name}: SRCC {m['srcc']:.4f} PLCC {m['plcc']:.4f}"
                              for name, m in r.metrics.items())
            print(f"{r.variant.label:40s} {cells}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m blindiqa.cli.ablate ...`` (the same as ``blindiqa ablate ...``)."""
    return run_command("ablate", register, argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
