"""``blindiqa train head-synthetic`` and ``head-authentic``: train a small quality head on
the frozen one-pass engine's window descriptors (:mod:`blindiqa.train.head`).

Registered by :mod:`blindiqa.cli.train` (:func:`register_subcommands`)::

    blindiqa train head-synthetic --images data/pristine --out runs/h1
    blindiqa train head-authentic --images data/unlabeled --init runs/h1 --out runs/h2
    blindiqa train head-authentic --out runs/h2 --resume
    blindiqa fit-pristine data/pristine --head runs/h2 --out model.safetensors
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from blindiqa.cli.common import examples
from blindiqa.cli.stages import add_run_options, run_stage

_ABOUT = ("The shipped default's frozen EfficientNet-Lite2 window descriptors are computed "
          "once per image into RUN_DIR/windows.pt (or read from --cache); the steps train "
          "only the head, in minutes on a CPU. Writes config.json, log.csv, checkpoint.pt, "
          "encoder.pt (the head) and summary.json into RUN_DIR; `blindiqa fit-pristine DIR "
          "--head RUN_DIR` makes a model of it.")


def _add_head_options(p: argparse.ArgumentParser, d: Any, what: str) -> None:
    from blindiqa.head import COMBINES, KINDS
    from blindiqa.train.run import SCHEDULES

    p.add_argument("--images", nargs="+", metavar="DIR",
                   help=f"folders (recursive) or files of {what}")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="the run directory")
    p.add_argument("--kind", choices=KINDS,
                   help="head: linear (must reduce the dimension), mlp, or residual (x + "
                        f"MLP(x), starts as the training-free score) (default: {d.kind})")
    p.add_argument("--hidden", type=int, metavar="N", help=f"hidden width (default: {d.hidden})")
    p.add_argument("--out-dim", type=int, metavar="N",
                   help=f"embedding width (default: {d.out_dim})")
    p.add_argument("--combine", choices=COMBINES,
                   help="the distance on the embedding (head) or on the descriptor and the "
                        f"embedding side by side (concat) (default: {d.combine})")
    p.add_argument("--windows", type=int, metavar="N",
                   help=f"window positions cached per image (default: {d.windows})")
    p.add_argument("--cache", metavar="FILE",
                   help="a window cache built beforehand (benchmarks/head_cache.py)")
    p.add_argument("--epochs", type=int, help=f"epochs (default: {d.epochs})")
    p.add_argument("--steps-per-epoch", type=int, metavar="N",
                   help="steps per epoch (default: images // batch)")
    p.add_argument("--batch", type=int, metavar="N",
                   help=f"images (scenes) per step (default: {d.batch})")
    p.add_argument("--lr", type=float, help=f"Adam learning rate (default: {d.lr:g})")
    p.add_argument("--weight-decay", type=float, help=f"(default: {d.weight_decay:g})")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help=f"learning-rate schedule (default: {d.schedule})")
    p.add_argument("--seed", type=int, help=f"seed of every random draw (default: {d.seed})")


def register_subcommands(stages: Any) -> None:
    """Add ``head-synthetic`` and ``head-authentic`` to the stages of ``blindiqa train``
    (their options are added when one is chosen: they need torch-side defaults)."""
    stages.add_parser(
        "head-synthetic", help="train a quality head on synthetic distortions",
        description="Stage 1 on a head: scenes of a pristine image under TYPES seeded "
                    "KADID-10k distortions at all 5 levels. Objectives: the paper's "
                    "intra-scene InfoNCE (windows of one version are positives, the same "
                    "windows in the other versions negatives), QualiCLIP-style level ranking "
                    "plus consistency, or both. " + _ABOUT,
        epilog=examples(
            "blindiqa train head-synthetic --images pristine/ --out runs/h1",
            "blindiqa train head-synthetic --images pristine/ --types 8 --epochs 5 "
            "--out runs/h1-small",
            "blindiqa fit-pristine pristine/ --head runs/h1 --out my_head.safetensors"),
        populate=_synthetic_options)
    stages.add_parser(
        "head-authentic", help="train a quality head on unlabeled photos",
        description="Stage 2 on a head: SimSiam on two windows of one unlabeled photo, the "
                    "CLUB penalty between the embedding and the window's content (the "
                    "frozen classifier's softmax over the window; q trained by the "
                    "contrastive likelihood or the log-likelihood), and optional "
                    "self-training on the training-free distances. " + _ABOUT,
        epilog=examples(
            "blindiqa train head-authentic --images my_photos/ --init runs/h1 "
            "--mi contrastive --out runs/h2",
            "blindiqa train head-authentic --out runs/h2 --resume   # after a kill",
            "blindiqa fit-pristine pristine/ --head runs/h2 --out my_head.safetensors"),
        populate=_authentic_options)


def _synthetic_options(p: argparse.ArgumentParser) -> None:
    from blindiqa.train.head import SYNTHETIC_OBJECTIVES, HeadSyntheticConfig

    d = HeadSyntheticConfig()
    _add_head_options(p, d, "pristine images")
    p.add_argument("--types", type=int, metavar="N",
                   help=f"distortion types per scene, all 5 levels each (default: {d.types})")
    p.add_argument("--objective", choices=SYNTHETIC_OBJECTIVES,
                   help=f"(default: {d.objective})")
    p.add_argument("--tau", type=float, help=f"InfoNCE temperature (default: {d.tau:g})")
    p.add_argument("--margin", type=float,
                   help=f"relative margin between consecutive levels (default: {d.margin:g})")
    p.add_argument("--consistency-weight", type=float,
                   help=f"weight of the consistency term (default: {d.consistency_weight:g})")
    add_run_options(p)
    p.set_defaults(func=partial(_run, "synthetic"))


def _authentic_options(p: argparse.ArgumentParser) -> None:
    from blindiqa.train.head import MI_MODES, HeadAuthenticConfig

    d = HeadAuthenticConfig()
    _add_head_options(p, d, "unlabeled authentic photos")
    p.add_argument("--init", metavar="RUN_DIR",
                   help="a head-synthetic run to start from (its head's shape is kept)")
    p.add_argument("--positives-weight", type=float,
                   help=f"weight of the SimSiam loss (default: {d.positives_weight:g})")
    p.add_argument("--mi", choices=MI_MODES, help=f"CLUB q objective or none (default: {d.mi})")
    p.add_argument("--mi-weight", type=float, help=f"weight of the penalty (default: "
                                                   f"{d.mi_weight:g})")
    p.add_argument("--q-lr", type=float, help=f"q's learning rate (default: {d.q_lr:g})")
    p.add_argument("--q-hidden", type=int, metavar="N", help=f"q's hidden width (default: "
                                                             f"{d.q_hidden})")
    p.add_argument("--q-loglik-weight", type=float,
                   help=f"likelihood term of the contrastive q (default: {d.q_loglik_weight:g})")
    p.add_argument("--selftrain-weight", type=float,
                   help="weight of self-training on the training-free distances "
                        f"(default: {d.selftrain_weight:g})")
    add_run_options(p)
    p.set_defaults(func=partial(_run, "authentic"))


def _run(which: str, args: argparse.Namespace) -> int:
    from blindiqa.train import head

    config_type = head.HeadSyntheticConfig if which == "synthetic" else head.HeadAuthenticConfig
    train = head.train_head_synthetic if which == "synthetic" else head.train_head_authentic
    return run_stage(args, config_type, partial(head.resolve_head_config, config_type), train)
