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

import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from blindiqa.encoders import NORMALIZATIONS, FeatureExtractor, create_network, get_encoder_spec
from blindiqa.losses import IntraSceneInfoNCELoss, NTXentMultiPositiveLoss
from blindiqa.train.checkpoint import set_rng_state
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
from blindiqa.train.distributed import (
    DistInfo,
    cleanup,
    env_world_size,
    init_distributed,
    mean_across,
    unwrap,
    wrap_model,
)
from blindiqa.train.log import LOG_FIELDS
from blindiqa.train.run import CHECKPOINT_FILE as CHECKPOINT_FILE
from blindiqa.train.run import CONFIG_FILE as CONFIG_FILE
from blindiqa.train.run import (
    ENCODER_FILE,
    SCHEDULES,
    StopRules,
    TrainResult,
    check_resume,
    check_run_limits,
    default_device,
    default_workers,
    find_images,
    finish_run,
    images_digest,
    load_run_state,
    make_loader,
    make_scheduler,
    mark_unused_parameters,
    merge_settings,
    nonfinite_message,
    progress_and_log,
    run_steps,
    save_run,
    say,
    start_session,
    training_device,
)
from blindiqa.train.run import LOG_FILE as LOG_FILE
from blindiqa.train.run import SUMMARY_FILE as SUMMARY_FILE
from blindiqa.train.run import read_config as read_config
from blindiqa.train.run import stop_on_sigterm as stop_on_sigterm
from blindiqa.train.run import throughput as throughput

OBJECTIVES = ("infonce", "contrique")

#: Settings that define the training trajectory: a resumed run must keep them.
FIXED_FIELDS = ("encoder", "init", "layer", "objective", "steps_per_epoch",
                "scenes_per_batch", "k", "crop", "work_size", "views", "lr", "weight_decay",
                "schedule", "tau", "normalization", "seed", "distort_on")

#: Settings a resumed run takes from the saved run unless given again (the stopping
#: rules ``max_minutes`` and ``max_steps`` are not inherited).
INHERITED_FIELDS = (*FIXED_FIELDS, "images", "epochs", "device", "workers",
                    "checkpoint_every", "amp", "channels_last")


@dataclass
class SyntheticConfig:
    """Settings of a synthetic pre-training run.

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
        device: ``"cpu"`` or ``"cuda"`` (None: cuda when available).
        workers: DataLoader worker processes per training process (None: 0 on the CPU,
            up to 15 on CUDA).
        checkpoint_every: also checkpoint every N steps (0: only at epoch ends).
        amp: bf16 autocast (None: on for CUDA, off on the CPU).
        channels_last: channels-last memory format (None: on for CUDA).
        max_minutes: stop cleanly (checkpoint, encoder.pt) after this wall-clock time.
        max_steps: stop cleanly once this many steps are done in total.
    """

    images: list[str] = field(default_factory=list)
    encoder: str = "resnet50"
    init: str = "random"
    layer: str | None = None
    objective: str = "infonce"
    epochs: int = 5
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
    device: str | None = None
    workers: int | None = None
    checkpoint_every: int = 0
    amp: bool | None = None
    channels_last: bool | None = None
    max_minutes: float | None = None
    max_steps: int | None = None

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
        if self.checkpoint_every < 0 or (self.workers is not None and self.workers < 0):
            raise ValueError("checkpoint_every and workers must be >= 0")
        check_run_limits(self.max_minutes, self.max_steps, self.device)
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

    @property
    def resolved_device(self) -> str:
        return default_device(self.device)

    def scene_spec(self) -> SceneSpec:
        return SceneSpec(k=self.k, work_size=self.work_size, views=self.resolved_views,
                         out_size=self.crop or None, distort_on=self.distort_on)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------------ config files


def resolve_config(given: dict[str, Any], out_dir: str | os.PathLike, resume: bool
                   ) -> SyntheticConfig:
    """Merge explicitly given settings with a resumed run's saved ones (or the defaults).

    Args:
        given: settings given on the command line (``None`` values are "not given").
        out_dir: the run directory.
        resume: continue the run in ``out_dir``.

    Raises:
        ValueError: unknown settings, or a resumed run given a different value of one of
            :data:`FIXED_FIELDS`.
    """
    merged, _ = merge_settings(given, out_dir, resume, SyntheticConfig, FIXED_FIELDS,
                               INHERITED_FIELDS)
    return SyntheticConfig(**merged)


# ---------------------------------------------------------------------------- pieces


def build_encoder(cfg: SyntheticConfig) -> FeatureExtractor:
    """The network (seeded / ImageNet / checkpoint init) wrapped to pool ``layer``."""
    torch.manual_seed(cfg.seed)
    if cfg.init == "imagenet":
        net = create_network(cfg.encoder, pretrained=True)
    elif cfg.init == "random":
        net = create_network(cfg.encoder)
    else:
        net = create_network(cfg.encoder, checkpoint_path=cfg.init)
    return FeatureExtractor(net, (cfg.resolved_layer,), cfg.normalization)


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


# ------------------------------------------------------------------------------ main


def train_synthetic(cfg: SyntheticConfig, out_dir: str | os.PathLike, resume: bool = False,
                    progress: bool = True, echo: Callable[[str], None] | None = None
                    ) -> TrainResult:
    """Run (or resume) synthetic pre-training.

    Args:
        cfg: the settings.
        out_dir: the run directory.
        resume: continue from ``out_dir/checkpoint.pt`` (a fresh start when there is
            none).
        progress: show a progress bar (main process only).
        echo: where messages go (default: stderr of the main process).

    Raises:
        ValueError: bad settings, no images, or a run directory that already holds a
            checkpoint while ``resume`` is false.
    """
    cfg.validate()
    out = Path(out_dir)
    device_type = cfg.resolved_device
    info = init_distributed(device_type)
    try:
        return _train(cfg, out, resume, progress, echo, info)
    finally:
        cleanup(info)


def _train(cfg: SyntheticConfig, out: Path, resume: bool, progress: bool,
           echo: Callable[[str], None] | None, info: DistInfo) -> TrainResult:
    state = load_run_state(out, resume, info, echo)
    device, amp, channels_last = training_device(cfg.resolved_device, info, cfg.amp,
                                                 cfg.channels_last)

    found = find_images(cfg.images, info)
    names = [n for _, n in found]
    steps_per_epoch = cfg.steps_per_epoch or max(1, len(found) // cfg.scenes_per_batch)
    cfg = dataclasses.replace(cfg, steps_per_epoch=steps_per_epoch)
    total_steps = cfg.epochs * steps_per_epoch
    digest = images_digest(names)
    check_resume(state, out, digest, names, cfg, FIXED_FIELDS)

    spec = cfg.scene_spec()
    start_step = int(state["step"]) if state is not None else 0
    workers = cfg.workers if cfg.workers is not None else default_workers(device.type,
                                                                          info.world_size)
    record = {"settings": cfg.to_json(), "num_images": len(names), "images_digest": digest,
              "layer": cfg.resolved_layer, "views": cfg.resolved_views,
              "crop_size": spec.crop_size, "total_steps": total_steps,
              "crops_per_step": 2 * cfg.k * cfg.scenes_per_batch,
              "feature_dim": None, "fit_pristine": None}

    model = build_encoder(cfg).to(device)
    record["feature_dim"] = model.feature_dim
    record["fit_pristine"] = (f"blindiqa fit-pristine DIR --encoder {cfg.encoder} --layer "
                              f"{cfg.resolved_layer} --normalization {cfg.normalization} "
                              f"--encoder-checkpoint {out / ENCODER_FILE} --out MODEL")
    if state is not None:
        model.network.load_state_dict(state["model"])
    mark_unused_parameters(model, device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = make_scheduler(optimizer, cfg.schedule, total_steps)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
    ddp_model = wrap_model(model, info, device)
    loss_fn = make_loss(cfg)

    start_session(out, record, state is not None, info, start_step=start_step,
                  device=device, workers=workers, amp=amp)

    dataset = SceneDataset([p for p, _ in found], spec, seed=cfg.seed)
    loader = make_loader(dataset, len(found), cfg.scenes_per_batch, steps_per_epoch,
                         total_steps, seed=cfg.seed, start_step=start_step, info=info,
                         workers=workers, collate_fn=collate_scenes, device=device)

    def save(step: int) -> None:
        save_run(out, info, lambda: unwrap(ddp_model).network.state_dict(), optimizer,
                 scheduler, step, steps_per_epoch, record)

    crops_per_step = 2 * cfg.k * cfg.scenes_per_batch
    say(info, echo, f"training {cfg.encoder} ({cfg.resolved_layer}, {model.feature_dim}-d) "
                    f"on {len(found)} images: {cfg.objective}, {cfg.scenes_per_batch} scenes "
                    f"x k={cfg.k} x 2 crops of {spec.crop_size} px per step, steps "
                    f"{start_step}..{total_steps} on {device} x{info.world_size}, "
                    f"{workers} workers, amp={amp}")
    t_start = time.perf_counter()
    deadline = t_start + 60.0 * cfg.max_minutes if cfg.max_minutes else None
    rows: list[tuple[int, float]] = []
    ddp_model.train()
    with progress_and_log(out, LOG_FIELDS, total_steps, start_step, progress,
                          info) as (bar, log):
        clock = {"prev": time.perf_counter()}

        def finish(rec: dict[str, Any], next_start: float | None = None) -> float:
            """Read a step's loss (waits for its GPU work), then log it; returns the loss.

            The step's time runs from the previous read to this one.
            """
            value = float(rec["loss"].item())
            now = time.perf_counter()
            step_s, clock["prev"] = now - clock["prev"], now
            rows.append((crops_per_step, step_s))
            if log is not None:
                log.write(step=rec["step"], epoch=rec["epoch"], loss=value, lr=rec["lr"],
                          crops_per_s=crops_per_step / step_s, data_s=rec["data_s"],
                          step_s=step_s)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}", crops_s=f"{crops_per_step / step_s:.0f}",
                            refresh=False)
            if not math.isfinite(value):
                say(info, echo, nonfinite_message(value, rec["step"]))
            return value

        def step_fn(batch: Any, step: int) -> dict[str, Any]:
            epoch, in_epoch = divmod(step, steps_per_epoch)
            batch_seed = derive_seed(cfg.seed, TAG_BATCH, epoch, in_epoch, info.rank)
            view1, view2, labels = finish_device_batch(batch, spec, batch_seed, device)
            lr = float(optimizer.param_groups[0]["lr"])
            loss = compute_loss(ddp_model, loss_fn, cfg.objective, view1, view2, labels,
                                amp, channels_last)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            return {"lr": lr, "loss": mean_across(loss, info)}

        def reset_clock() -> None:
            clock["prev"] = time.perf_counter()

        step, stopped = run_steps(
            loader, lambda batch: batch, step_fn, finish, save, start_step=start_step,
            total_steps=total_steps, steps_per_epoch=steps_per_epoch,
            rules=StopRules(cfg.max_steps, deadline, cfg.checkpoint_every), info=info,
            device=device, on_start=reset_clock)
    return finish_run(out, info, echo, step=step, total_steps=total_steps,
                      steps_per_epoch=steps_per_epoch, stopped=stopped, rows=rows,
                      t_start=t_start, device=device, workers=workers,
                      extra={"distort_on": cfg.distort_on, "amp": amp})
