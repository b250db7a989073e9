"""``blindiqa train``: train encoders.

``blindiqa train synthetic --images DIR... --encoder NAME --out RUN_DIR [...]`` runs
Stage 1 (synthetic contrastive pre-training, :mod:`blindiqa.train.synthetic`);
``blindiqa train authentic --images DIR... --init RUN_DIR --out RUN_DIR [...]`` runs
Stage 2 (authentic fine-tuning, :mod:`blindiqa.train.authentic`, options in
:mod:`blindiqa.cli.train_authentic`); ``head-synthetic`` and ``head-authentic`` train a
small quality head on the frozen engine's window descriptors
(:mod:`blindiqa.train.head`, options in :mod:`blindiqa.cli.train_head`). Every field of
a stage's config dataclass is an option of the same name; the run options
(:func:`blindiqa.cli.stages.add_run_options`) end every stage.

Also runnable without the ``blindiqa`` entry point, e.g. under torchrun::

    torchrun --nproc_per_node 8 -m blindiqa.cli.train synthetic --images DIR ...
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from blindiqa.cli.common import CommandParser, SubCommands, examples, run_command
from blindiqa.cli.stages import add_run_options, run_stage
from blindiqa.cli.train_authentic import register_subcommand
from blindiqa.cli.train_head import register_subcommands as register_head


def register(subparsers: Any) -> None:
    """Add ``train`` (with its stages) to ``subparsers`` (from ``add_subparsers``)."""
    parser = subparsers.add_parser(
        "train", help="train an encoder or a quality head (synthetic pre-training, authentic "
             "fine-tuning)",
        description="Train a feature encoder. Stages: synthetic (Stage 1, contrastive "
                    "pre-training on pristine images with on-the-fly KADID-10k "
                    "distortions) and authentic (Stage 2, fine-tuning on unlabeled "
                    "authentic photos with SimSiam and a CLUB mutual-information "
                    "penalty).",
        epilog=examples(
            "blindiqa train synthetic --images pristine/ --encoder efficientnet_lite0 "
            "--out runs/s1",
            "blindiqa train authentic --images unlabeled/ --init runs/s1 --mi contrastive "
            "--out runs/s2",
            "blindiqa train authentic --out runs/s2 --resume   # after a kill",
            "blindiqa train head-synthetic --images pristine/ --out runs/h1",
            "blindiqa train synthetic --help                   # a stage's options"))
    parser.set_defaults(func=_usage, _train_parser=parser)
    stages = parser.add_subparsers(dest="train_stage", metavar="STAGE",
                                   parser_class=CommandParser, action=SubCommands)
    register_synthetic(stages)
    register_subcommand(stages)
    register_head(stages)


def _usage(args: argparse.Namespace) -> int:
    args._train_parser.print_help(sys.stderr)
    return 2


def register_synthetic(stages: Any) -> None:
    """Add ``synthetic`` to the stages of ``train`` (its options are added when it is
    chosen: they need torch-side defaults)."""
    stages.add_parser(
        "synthetic", help="Stage 1: synthetic contrastive pre-training",
        description="Stage 1 of Babu et al. (WACV 2023): scenes of k versions of a pristine "
                    "image (itself and k-1 random KADID-10k distortions made on the fly), two "
                    "crops per version from the two halves of the image, the intra-scene "
                    "InfoNCE loss on the pooled features of one encoder layer. Writes "
                    "config.json, log.csv, checkpoint.pt, encoder.pt and summary.json into "
                    "RUN_DIR. With --resume, settings not given again are taken from the "
                    "run (stopping rules excepted).",
        epilog=examples(
            "blindiqa train synthetic --images pristine/ --encoder efficientnet_lite0 "
            "--out runs/s1",
            "blindiqa train synthetic --images pristine/ --encoder resnet50 --init random "
            "--out runs/s1",
            "blindiqa train synthetic --out runs/s1 --resume   # after a kill"),
        populate=_synthetic_options)


def _synthetic_options(p: argparse.ArgumentParser) -> None:
    from blindiqa.encoders import NORMALIZATIONS, list_encoders
    from blindiqa.train.data import VIEW_MODES
    from blindiqa.train.synthetic import OBJECTIVES, SCHEDULES, SyntheticConfig

    d = SyntheticConfig()
    p.add_argument("--images", nargs="+", metavar="DIR",
                   help="folders (recursive) or files of pristine images")
    p.add_argument("--encoder", choices=[e.name for e in list_encoders()],
                   help=f"the network (default: {d.encoder})")
    p.add_argument("--init", metavar="imagenet|random|FILE",
                   help="initial weights: imagenet (EfficientNet-Lite only), random (seeded) "
                        f"or a state dict file (default: {d.init})")
    p.add_argument("--layer", metavar="NAME",
                   help="feature layer whose pooled output is trained (default: the "
                        "encoder's last feature layer: ResNet layer4, EfficientNet-Lite head)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="the run directory")
    p.add_argument("--objective", choices=OBJECTIVES,
                   help=f"infonce (the paper) or contrique (multi-positive NT-Xent over 126 "
                        f"classes) (default: {d.objective})")
    p.add_argument("--epochs", type=int, help=f"epochs (default: {d.epochs})")
    p.add_argument("--steps-per-epoch", type=int, metavar="N",
                   help="steps per epoch (default: images // scenes-per-batch)")
    p.add_argument("--scenes-per-batch", type=int, metavar="N",
                   help=f"scenes per step, over all processes (default: {d.scenes_per_batch})")
    p.add_argument("--k", type=int, help=f"versions per scene, pristine included "
                                         f"(default: {d.k})")
    p.add_argument("--crop", type=int, metavar="N",
                   help="resize the crops to N pixels; 0 keeps min(H, W)/2 of the working "
                        f"image (default: {d.crop})")
    p.add_argument("--work-size", type=int, metavar="N",
                   help="side of the square working image cut from each pristine image; "
                        f"smaller images are enlarged to it (default: {d.work_size})")
    p.add_argument("--views", choices=VIEW_MODES,
                   help="halves (two-halves sampler) or scales (CONTRIQUE: full and half "
                        "scale) (default: halves for infonce, scales for contrique)")
    p.add_argument("--lr", type=float, help=f"Adam learning rate (default: {d.lr})")
    p.add_argument("--weight-decay", type=float, help=f"(default: {d.weight_decay})")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help=f"learning-rate schedule (default: {d.schedule})")
    p.add_argument("--tau", type=float, help=f"loss temperature (default: {d.tau})")
    p.add_argument("--normalization", choices=sorted(NORMALIZATIONS),
                   help=f"input normalisation (default: {d.normalization}; use the same "
                        "with fit-pristine)")
    p.add_argument("--seed", type=int, help=f"seed of every random draw (default: {d.seed})")
    p.add_argument("--distort-on", choices=("workers", "device"),
                   help="where distortions are made: DataLoader workers, or batched on the "
                        "training device (Pillow types stay in the workers) "
                        f"(default: {d.distort_on})")
    add_run_options(p)
    p.set_defaults(func=run_synthetic)


def run_synthetic(args: argparse.Namespace) -> int:
    from blindiqa.train.synthetic import SyntheticConfig, resolve_config, train_synthetic

    return run_stage(args, SyntheticConfig, resolve_config, train_synthetic)


def main(argv: list[str] | None = None) -> int:
    """``python -m blindiqa.cli.train STAGE ...`` (the same as ``blindiqa train ...``)."""
    return run_command("train", register, argv)


if __name__ == "__main__":
    sys.exit(main())
