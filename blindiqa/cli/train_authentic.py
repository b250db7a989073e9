"""``blindiqa train authentic``: Stage 2, authentic fine-tuning (SimSiam + CLUB).

Registered by :mod:`blindiqa.cli.train` (:func:`register_subcommand`)::

    blindiqa train authentic --images data/unlabeled --init runs/s1 --out runs/s2
    blindiqa train authentic --images data/unlabeled --init runs/s1 --out runs/s2-none \
        --mi none
    blindiqa train authentic --out runs/s2 --resume
    torchrun --nproc_per_node 4 -m blindiqa.cli.train authentic --images ... --init ...
"""

from __future__ import annotations

import argparse
from typing import Any

from blindiqa.cli.common import examples
from blindiqa.cli.stages import add_run_options, run_stage


def register_subcommand(stages: Any) -> None:
    """Add ``authentic`` to the stages of ``blindiqa train`` (its options are added when
    it is chosen: they need torch-side defaults)."""
    stages.add_parser(
        "authentic", help="Stage 2: authentic fine-tuning (SimSiam + CLUB MI penalty)",
        description="Stage 2 of Babu et al. (WACV 2023): fine-tune a Stage-1 encoder on "
                    "unlabeled authentic photos with positives only (two crops from the two "
                    "halves of each photo, SimSiam loss) and a CLUB mutual-information "
                    "penalty between the encoder output and the softmax of a frozen ImageNet "
                    "classifier on the same crop; q(x_c|z) trains with its own optimiser. "
                    "Content and quality features are paired crop by crop, and q's learning "
                    "rate is a setting with the MI estimate logged (the two defects of the "
                    "official code, fixed). Writes config.json, log.csv, checkpoint.pt, "
                    "encoder.pt and summary.json into RUN_DIR.",
        epilog=examples(
            "blindiqa train authentic --images unlabeled/ --init runs/s1 --mi contrastive "
            "--out runs/s2",
            "blindiqa train authentic --images unlabeled/ --init imagenet --mi none "
            "--out runs/s2-no-mi",
            "blindiqa train authentic --out runs/s2 --resume   # after a kill",
            "blindiqa fit-pristine pristine/ --encoder efficientnet_lite0 "
            "--encoder-checkpoint runs/s2/encoder.pt --out trained.safetensors"),
        populate=_options)


def _options(p: argparse.ArgumentParser) -> None:
    from blindiqa.encoders import NORMALIZATIONS, list_encoders
    from blindiqa.train.authentic import MI_MODES, AuthenticConfig
    from blindiqa.train.freeze import DEFAULT_FREEZE
    from blindiqa.train.run import SCHEDULES

    d = AuthenticConfig()
    p.add_argument("--images", nargs="+", metavar="DIR",
                   help="folders (recursive) or files of unlabeled authentic photos")
    p.add_argument("--init", metavar="RUN_DIR|FILE|imagenet|random",
                   help="the Stage-1 encoder: a `train synthetic` run directory, its "
                        "checkpoint.pt / encoder.pt, a state dict, or imagenet / random "
                        "(required for a new run)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="the run directory")
    p.add_argument("--encoder", choices=[e.name for e in list_encoders()],
                   help="the network (default: that of the Stage-1 run, else resnet50)")
    p.add_argument("--layer", metavar="NAME",
                   help="pooled feature layer (default: that of the Stage-1 run)")
    p.add_argument("--normalization", choices=sorted(NORMALIZATIONS),
                   help="input normalisation (default: that of the Stage-1 run, else none)")
    frz = "; ".join(f"{k}: {','.join(v)}" for k, v in DEFAULT_FREEZE.items())
    p.add_argument("--freeze", metavar="BLOCKS",
                   help="blocks to freeze: comma list of stem, layer1..4 (ResNet) / "
                        "stage1..7 (EfficientNet-Lite), head; ranges like stage1-3; none "
                        f"(default: {frz})")
    p.add_argument("--mi", choices=MI_MODES,
                   help="MI term: none, or the CLUB penalty with q trained by likelihood "
                        f"(loglik) or contrastive likelihood (contrastive) (default: {d.mi})")
    p.add_argument("--mi-weight", type=float, metavar="LAMBDA",
                   help=f"weight of the MI penalty (default: {d.mi_weight:g})")
    p.add_argument("--mi-start-epoch", type=int, metavar="E",
                   help=f"first epoch (1-based) with the penalty (default: {d.mi_start_epoch})")
    p.add_argument("--q-lr", type=float, metavar="LR",
                   help=f"Adam learning rate of q (default: {d.q_lr:g}; the official code's "
                        "1e-7 leaves q untrained)")
    p.add_argument("--q-weight-decay", type=float, metavar="WD",
                   help=f"Adam weight decay of q (default: {d.q_weight_decay:g})")
    p.add_argument("--q-loglik-weight", type=float, metavar="W",
                   help="contrastive q only: add W x the likelihood loss, which bounds the "
                        f"objective (default: {d.q_loglik_weight:g}; 0 is the paper's "
                        "objective, unbounded: its estimate runs away once q trains)")
    p.add_argument("--q-hidden", type=int, metavar="N",
                   help=f"hidden width of q (default: {d.q_hidden})")
    p.add_argument("--content-network", choices=["efficientnet_lite0", "efficientnet_lite1",
                                                 "efficientnet_lite2"],
                   help=f"frozen ImageNet classifier for x_c (default: {d.content_network})")
    p.add_argument("--crop-size", type=int, metavar="N",
                   help=f"side the crops are resized to (default: {d.crop_size})")
    p.add_argument("--epochs", type=int, help=f"epochs (default: {d.epochs})")
    p.add_argument("--steps-per-epoch", type=int, metavar="N",
                   help="steps per epoch (default: photos // batch-images)")
    p.add_argument("--batch-images", type=int, metavar="N",
                   help=f"photos per step over all processes, 2 crops each "
                        f"(default: {d.batch_images})")
    p.add_argument("--lr", type=float, help=f"encoder learning rate (default: {d.lr:g})")
    p.add_argument("--predictor-lr", type=float,
                   help=f"predictor learning rate (default: {d.predictor_lr:g})")
    p.add_argument("--weight-decay", type=float,
                   help=f"encoder / predictor weight decay (default: {d.weight_decay:g})")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help=f"learning-rate schedule (default: {d.schedule})")
    p.add_argument("--seed", type=int, help=f"seed of every random draw (default: {d.seed})")
    p.add_argument("--limit-images", type=int, metavar="N",
                   help="train on the first N photos only (smoke tests)")
    add_run_options(p)
    p.set_defaults(func=run_authentic)


def run_authentic(args: argparse.Namespace) -> int:
    from blindiqa.train.authentic import AuthenticConfig, resolve_config, train_authentic

    return run_stage(args, AuthenticConfig, resolve_config, train_authentic)
