"""Stage 1: synthetic contrastive pre-training of an encoder (``blindiqa train synthetic``).

Babu, Kannan, Soundararajan, "No Reference Opinion Unaware Quality Assessment of
Authentically Distorted Images", WACV 2023: scenes of ``k`` versions of a pristine image
(the pristine one and ``k - 1`` synthetic distortions made on the fly), two crops of each
version from the two halves of the image, the intra-scene InfoNCE loss on the pooled
features of one encoder layer; Adam, lr 1e-2. ``objective="contrique"`` trains with
CONTRIQUE's multi-positive NT-Xent over the 126 distortion classes instead.

The run directory gets ``config.json``, ``log.csv`` (one row per step),
``checkpoint.pt`` (the full state: ``--resume`` continues exactly), ``encoder.pt`` (the
encoder's state dict, for ``blindiqa fit-pristine --encoder-checkpoint``) and
``summary.json``.

Usage::

    blindiqa train synthetic --images data/pristine --encoder resnet50 --out runs/s1
    blindiqa train synthetic --out runs/s1 --resume          # after a kill / preemption
    torchrun --nproc_per_node 4 -m blindiqa.cli.train synthetic --images ... --out ...
    blindiqa fit-pristine data/pristine --encoder resnet50 \
        --encoder-checkpoint runs/s1/encoder.pt --out model.safetensors

``--scenes-per-batch`` counts scenes over all processes, so a multi-GPU run takes the
same steps as a single-GPU one (BatchNorm statistics are per process). The InfoNCE loss
needs no communication (its negatives are in the same scene); CONTRIQUE's loss gathers
the features of all processes. ``--max-minutes`` stops cleanly for a fixed budget; a
SIGTERM does the same at the end of the current step.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import NORMALIZATIONS, get_encoder_spec
from blindiqa.losses import IntraSceneInfoNCELoss, NTXentMultiPositiveLoss
from blindiqa.train.data import (
    NUM_CLASSES,
    TAG_BATCH,
    VIEW_MODES,
    SceneDataset,
    SceneSpec,
    collate_scenes,
    derive_seed,
    finish_device_batch,
)
from blindiqa.train.distributed import env_world_size, wrap_model
from blindiqa.train.log import LOG_FIELDS
from blindiqa.train.run import (
    SCHEDULES,
    TrainResult,
    mark_unused_parameters,
    merge_settings,
    train_stage,
)
from blindiqa.train.settings import INHERITED, RunOptions
from blindiqa.train.stage import RunSetup, Stage, StageParts, init_encoder

OBJECTIVES = ("infonce", "contrique")


@dataclass
class _SyntheticFields:
    """The fields of :class:`SyntheticConfig` that are its own (the run options follow)."""

    images: list[str] = field(default_factory=list, metadata=INHERITED)
    encoder: str = "resnet50"
    init: str = "random"
    layer: str | None = None
    objective: str = "infonce"
    epochs: int = field(default=5, metadata=INHERITED)
    steps_per_epoch: int | None = None
    scenes_per_batch: int = 16
    k: int = 4
    crop: int = 0
    work_size: int = 384
    views: str | None = None
    lr: float = 1e-2
    weight_decay: float = 0.0
    schedule: str = "constant"
    tau: float = 0.1
    normalization: str = "none"
    seed: int = 0
    distort_on: str = "workers"


@dataclass
class SyntheticConfig(RunOptions, _SyntheticFields):
    """Settings of a synthetic pre-training run.

    Each field is a ``blindiqa train synthetic`` option with the resume rule in its
    metadata (:mod:`blindiqa.train.settings`); the run options and stopping rules of
    :class:`~blindiqa.train.settings.RunOptions` come last.

    Attributes:
        images: folders (walked recursively) or files of pristine images.
        encoder: registry name of the network (``resnet50``, ``efficientnet_lite0``...).
        init: ``"imagenet"`` (the ImageNet weights; EfficientNet-Lite only), ``"random"``
            (seeded random init) or a state-dict file.
        layer: the feature layer whose pooled output is the embedding (None: the
            encoder's default, ResNet ``layer4``, EfficientNet-Lite ``head``).
        objective: ``"infonce"`` (the paper's intra-scene InfoNCE) or ``"contrique"``.
        epochs: number of epochs.
        steps_per_epoch: steps per epoch (None: images // scenes_per_batch, at least 1).
        scenes_per_batch: scenes per step over all processes (the paper: 16).
        k: versions per scene, pristine included (the paper: 4).
        crop: side the crops are resized to; 0 keeps ``work_size // 2`` (= min(H, W)/2).
        work_size: side of the square working image cut from each pristine image.
        views: ``"halves"`` or ``"scales"`` (None: halves for infonce, scales for
            contrique).
        lr: Adam learning rate (the paper: 1e-2).
        weight_decay: Adam weight decay.
        schedule: ``"constant"`` (the paper) or ``"cosine"`` (to zero at the last step).
        tau: loss temperature.
        normalization: input normalisation of :data:`blindiqa.encoders.NORMALIZATIONS`
            (``"none"``, as the official code and ``fit-pristine``'s default).
        seed: seed of every random draw.
        distort_on: ``"workers"`` (DataLoader workers make whole scenes) or ``"device"``
            (torch distortions batched on the training device).
    """

    def validate(self) -> None:
        """Raise ``ValueError`` on impossible settings."""
        spec = get_encoder_spec(self.encoder)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.views is not None and self.views not in VIEW_MODES:
            raise ValueError(f"views must be one of {VIEW_MODES}, got {self.views!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {self.normalization!r}")
        if self.init == "imagenet" and spec.weights_package is None:
            raise ValueError(f"{self.encoder} has no ImageNet weights here: use --init "
                             "random or a checkpoint file")
        if self.init not in ("imagenet", "random") and not Path(self.init).is_file():
            raise ValueError(f"--init must be imagenet, random or a file; {self.init!r} is "
                             "none of these")
        for name in ("epochs", "scenes_per_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be at least 1")
        if self.crop < 0 or 0 < self.crop < 16:
            raise ValueError(f"crop must be 0 or at least 16, got {self.crop}")
        if not self.lr > 0 or self.weight_decay < 0 or not self.tau > 0:
            raise ValueError("lr and tau must be positive and weight_decay >= 0")
        self.check_run_options()
        self.scene_spec()  # validates k, work_size, views, crop, distort_on
        if self.scenes_per_batch % env_world_size():
            raise ValueError(f"--scenes-per-batch {self.scenes_per_batch} must be divisible "
                             f"by the number of processes ({env_world_size()})")

    @property
    def resolved_views(self) -> str:
        if self.views is not None:
            return self.views
        return "halves" if self.objective == "infonce" else "scales"

    @property
    def resolved_layer(self) -> str:
        return self.layer or get_encoder_spec(self.encoder).default_layer

    def scene_spec(self) -> SceneSpec:
        return SceneSpec(k=self.k, work_size=self.work_size, views=self.resolved_views,
                         out_size=self.crop or None, distort_on=self.distort_on)


# ------------------------------------------------------------------------ config files


def resolve_config(given: dict[str, Any], out_dir: str | os.PathLike, resume: bool
                   ) -> SyntheticConfig:
    """Merge explicitly given settings with a resumed run's saved ones (or the defaults).

    Args:
        given: settings given on the command line (``None`` values are "not given").
        out_dir: the run directory.
        resume: continue the run in ``out_dir``.

    Raises:
        ValueError: unknown settings, or a resumed run given a different value of a
            setting that defines the trajectory.
    """
    merged, _ = merge_settings(given, out_dir, resume, SyntheticConfig)
    return SyntheticConfig(**merged)


# ---------------------------------------------------------------------------- pieces


def build_encoder(cfg: SyntheticConfig) -> FeatureExtractor:
    """The network (seeded / ImageNet / checkpoint init) wrapped to pool ``layer``."""
    return init_encoder(cfg.encoder, cfg.init, cfg.resolved_layer, cfg.normalization,
                        cfg.seed)


def make_loss(cfg: SyntheticConfig) -> nn.Module:
    if cfg.objective == "infonce":
        return IntraSceneInfoNCELoss(tau=cfg.tau)
    return NTXentMultiPositiveLoss(tau=cfg.tau, num_classes=NUM_CLASSES)


def compute_loss(model: nn.Module, loss_fn: nn.Module, objective: str, view1: torch.Tensor,
                 view2: torch.Tensor, labels: torch.Tensor, amp: bool, channels_last: bool
                 ) -> torch.Tensor:
    """Embed both views of every version in one pass and apply the objective.

    Args:
        view1, view2: ``(B, k, 3, c, c)``.
        labels: ``(B, k)`` classes (used by ``contrique``).

    Returns:
        The scalar loss (float32).
    """
    b, k = view1.shape[:2]
    x = torch.cat([view1.flatten(0, 1), view2.flatten(0, 1)])
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
        z = model(x)
    z1, z2 = z.float().chunk(2)
    if objective == "infonce":
        return loss_fn(z1.reshape(b, k, -1), z2.reshape(b, k, -1))
    flat = labels.flatten()
    return loss_fn(torch.cat([z1, z2]), torch.cat([flat, flat]))


# ----------------------------------------------------------------------------- stage


class SyntheticStage(Stage):
    """Stage 1 for :func:`blindiqa.train.run.train_stage`: scenes of ``k`` versions, one
    loss per step."""

    name = "synthetic"
    log_fields = LOG_FIELDS

    def images_per_step(self, cfg: SyntheticConfig) -> int:
        return cfg.scenes_per_batch

    def build(self, setup: RunSetup) -> StageParts:
        cfg, device, info = setup.cfg, setup.device, setup.info
        spec = cfg.scene_spec()
        model = build_encoder(cfg).to(device)
        record = {"settings": cfg.to_json(), "num_images": len(setup.files),
                  "images_digest": setup.digest, "layer": cfg.resolved_layer,
                  "views": cfg.resolved_views, "crop_size": spec.crop_size,
                  "total_steps": setup.total_steps,
                  "crops_per_step": 2 * cfg.k * cfg.scenes_per_batch,
                  "feature_dim": model.feature_dim}
        mark_unused_parameters(model, device)
        if setup.channels_last:
            model = model.to(memory_format=torch.channels_last)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        ddp_model = wrap_model(model, info, device)
        loss_fn = make_loss(cfg)
        ddp_model.train()

        def step(batch: Any, step: int) -> dict[str, torch.Tensor]:
            epoch, in_epoch = divmod(step, setup.steps_per_epoch)
            batch_seed = derive_seed(cfg.seed, TAG_BATCH, epoch, in_epoch, info.rank)
            view1, view2, labels = finish_device_batch(batch, spec, batch_seed, device)
            loss = compute_loss(ddp_model, loss_fn, cfg.objective, view1, view2, labels,
                                setup.amp, setup.channels_last)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return {"loss": loss.detach()}

        message = (f"training {cfg.encoder} ({cfg.resolved_layer}, {model.feature_dim}-d) "
                   f"on {len(setup.files)} images: {cfg.objective}, {cfg.scenes_per_batch} "
                   f"scenes x k={cfg.k} x 2 crops of {spec.crop_size} px per step, steps "
                   f"{setup.start_step}..{setup.total_steps} on {device} "
                   f"x{info.world_size}, {setup.workers} workers, amp={setup.amp}")
        return StageParts(network=model.network, optimizer=optimizer, step=step,
                          dataset=SceneDataset(setup.files, spec, seed=cfg.seed),
                          collate=collate_scenes, record=record, message=message,
                          crops_per_step=2 * cfg.k * cfg.scenes_per_batch)

    def summary(self, setup: RunSetup, last: dict[str, float]) -> dict[str, Any]:
        return {"distort_on": setup.cfg.distort_on, "amp": setup.amp}


# ------------------------------------------------------------------------------ main


def train_synthetic(cfg: SyntheticConfig, out_dir: str | os.PathLike, resume: bool = False,
                    progress: bool = True, echo: Callable[[str], None] | None = None
                    ) -> TrainResult:
    """Run (or resume) synthetic pre-training: :func:`blindiqa.train.run.train_stage` of
    a :class:`SyntheticStage` (the same arguments and errors)."""
    return train_stage(SyntheticStage(), cfg, out_dir, resume, progress, echo)
