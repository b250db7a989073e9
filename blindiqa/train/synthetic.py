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
import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from blindiqa.encoders import NORMALIZATIONS, FeatureExtractor, create_network, get_encoder_spec
from blindiqa.losses import IntraSceneInfoNCELoss, NTXentMultiPositiveLoss
from blindiqa.train.checkpoint import load_checkpoint, save_checkpoint, save_encoder
from blindiqa.train.data import (
    NUM_CLASSES,
    TAG_BATCH,
    VIEW_MODES,
    SceneDataset,
    SceneSampler,
    SceneSpec,
    collate_scenes,
    derive_seed,
    finish_device_batch,
    list_training_images,
)
from blindiqa.train.distributed import (
    DistInfo,
    any_across,
    barrier,
    cleanup,
    env_world_size,
    init_distributed,
    mean_across,
    unwrap,
    wrap_model,
)
from blindiqa.train.log import LOG_FIELDS, CsvLog, truncate_log

OBJECTIVES = ("infonce", "contrique")
SCHEDULES = ("constant", "cosine")

#: Settings that define the training trajectory: a resumed run must keep them.
FIXED_FIELDS = ("encoder", "init", "layer", "objective", "steps_per_epoch",
                "scenes_per_batch", "k", "crop", "work_size", "views", "lr", "weight_decay",
                "schedule", "tau", "normalization", "seed", "distort_on")

#: Settings a resumed run takes from the saved run unless given again (the stopping
#: rules ``max_minutes`` and ``max_steps`` are not inherited).
INHERITED_FIELDS = (*FIXED_FIELDS, "images", "epochs", "device", "workers",
                    "checkpoint_every", "amp", "channels_last")

CONFIG_FILE, LOG_FILE, CHECKPOINT_FILE, ENCODER_FILE, SUMMARY_FILE = (
    "config.json", "log.csv", "checkpoint.pt", "encoder.pt", "summary.json")


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
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError("max_minutes must be positive")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        if self.device not in (None, "cpu", "cuda"):
            raise ValueError(f"device must be cpu or cuda, got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda but CUDA is not available")
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
        if self.device is not None:
            return self.device
        return "cuda" if torch.cuda.is_available() else "cpu"

    def scene_spec(self) -> SceneSpec:
        return SceneSpec(k=self.k, work_size=self.work_size, views=self.resolved_views,
                         out_size=self.crop or None, distort_on=self.distort_on)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainResult:
    """What a run did.

    Attributes:
        out_dir: the run directory.
        step: steps done in total.
        total_steps: steps the run is configured for.
        stopped: why the loop ended (``"done"``, ``"max_steps"``, ``"max_minutes"``,
            ``"signal"``, ``"nonfinite"``).
        crops_per_s: crops per second over this session's steps (first 3 left out when
            there are more).
        wall_s: seconds of this session's training loop.
    """

    out_dir: Path
    step: int
    total_steps: int
    stopped: str
    crops_per_s: float
    wall_s: float


# ------------------------------------------------------------------------ config files


def images_digest(names: list[str]) -> str:
    """A short hash of the training image names (detects a changed image set)."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def read_config(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The saved ``config.json`` of a run directory, or None."""
    p = Path(out_dir) / CONFIG_FILE
    return json.loads(p.read_text()) if p.is_file() else None


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
    names = {f.name for f in dataclasses.fields(SyntheticConfig)}
    unknown = set(given) - names
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in given.items() if v is not None}
    saved = read_config(out_dir) if resume else None
    base = {k: v for k, v in (saved or {}).get("settings", {}).items()
            if k in INHERITED_FIELDS}
    merged = {**base, **given}
    if saved is not None:
        changed = [f"{k} ({base.get(k)!r} -> {given[k]!r})" for k in FIXED_FIELDS
                   if k in given and k in base and given[k] != base[k]]
        if changed:
            raise ValueError("cannot resume with different settings: " + ", ".join(changed))
    if not merged.get("images"):
        raise ValueError("no training images given (--images)")
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


def mark_unused_parameters(model: FeatureExtractor, device: torch.device) -> int:
    """Freeze the parameters the chosen layer does not depend on (e.g. the classifier).

    One eval-mode forward / backward on a small input finds them, so that DDP does not
    wait for their gradients and the optimiser does not hold state for them.

    Returns:
        How many parameter tensors were frozen.
    """
    was_training = model.training
    model.eval()
    x = torch.rand(2, 3, 64, 64, device=device)
    model(x).sum().backward()
    frozen = 0
    for p in model.parameters():
        if p.grad is None:
            p.requires_grad_(False)
            frozen += 1
        p.grad = None
    model.train(was_training)
    return frozen


def make_loss(cfg: SyntheticConfig) -> nn.Module:
    if cfg.objective == "infonce":
        return IntraSceneInfoNCELoss(tau=cfg.tau)
    return NTXentMultiPositiveLoss(tau=cfg.tau, num_classes=NUM_CLASSES)


def make_scheduler(optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
                   ) -> torch.optim.lr_scheduler.LambdaLR:
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total_steps)
                                                       / max(1, total_steps))))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)


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


@contextmanager
def stop_on_sigterm() -> Iterator[Callable[[], bool]]:
    """While active, SIGTERM only sets a flag (checked once per step) in the main thread."""
    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum: int, frame: object) -> None:
        flag["stop"] = True

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield lambda: flag["stop"]
    finally:
        signal.signal(signal.SIGTERM, previous)


def default_workers(device_type: str, world_size: int) -> int:
    if device_type != "cuda":
        return 0
    return max(1, min(15, (os.cpu_count() or 2) // world_size - 2))


def throughput(rows: list[tuple[int, float]]) -> float:
    """Crops per second over ``(crops, seconds)`` steps, the first 3 left out if more."""
    use = rows[3:] if len(rows) > 3 else rows
    seconds = sum(s for _, s in use)
    return sum(c for c, _ in use) / seconds if seconds > 0 else 0.0


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


def _say(info: DistInfo, echo: Callable[[str], None] | None, msg: str) -> None:
    if info.is_main:
        (echo or (lambda m: print(m, file=sys.stderr, flush=True)))(msg)


def _train(cfg: SyntheticConfig, out: Path, resume: bool, progress: bool,
           echo: Callable[[str], None] | None, info: DistInfo) -> TrainResult:
    from tqdm import tqdm

    ckpt_path = out / CHECKPOINT_FILE
    if ckpt_path.is_file() and not resume:
        raise ValueError(f"{out} already holds a run: add --resume or choose another --out")
    state = load_checkpoint(ckpt_path) if resume and ckpt_path.is_file() else None
    if resume and state is None:
        _say(info, echo, f"no checkpoint in {out}: starting a new run")

    device = torch.device(cfg.resolved_device)
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank if info.distributed else
                              torch.cuda.current_device())
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    amp = cfg.amp if cfg.amp is not None else device.type == "cuda"
    channels_last = cfg.channels_last if cfg.channels_last is not None else \
        device.type == "cuda"

    with warnings.catch_warnings():
        if not info.is_main:
            warnings.simplefilter("ignore")
        found = list_training_images(cfg.images)
    names = [n for _, n in found]
    steps_per_epoch = cfg.steps_per_epoch or max(1, len(found) // cfg.scenes_per_batch)
    cfg = dataclasses.replace(cfg, steps_per_epoch=steps_per_epoch)
    total_steps = cfg.epochs * steps_per_epoch
    digest = images_digest(names)
    if state is not None:
        saved = state["config"]
        if saved.get("images_digest") != digest:
            raise ValueError(f"the training images differ from those of the run in {out} "
                             f"({saved.get('num_images')} before, {len(names)} now)")
        changed = [k for k in FIXED_FIELDS if saved["settings"].get(k) != getattr(cfg, k)]
        if changed:
            raise ValueError("cannot resume with different settings: " + ", ".join(changed))

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
        from blindiqa.train.checkpoint import set_rng_state

        set_rng_state(state["rng"])
    ddp_model = wrap_model(model, info, device)
    loss_fn = make_loss(cfg)

    sessions = (read_config(out) or {}).get("sessions", []) if state is not None else []
    sessions.append({"start_step": start_step, "device": str(device),
                     "world_size": info.world_size, "workers": workers, "amp": amp,
                     "torch": str(torch.__version__),
                     "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    record["sessions"] = sessions
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n")
        if state is not None:
            truncate_log(out / LOG_FILE, start_step)
        elif (out / LOG_FILE).exists():
            (out / LOG_FILE).unlink()
    barrier(info)

    dataset = SceneDataset([p for p, _ in found], spec, seed=cfg.seed)
    sampler = SceneSampler(len(found), cfg.scenes_per_batch, steps_per_epoch, total_steps,
                           seed=cfg.seed, start_step=start_step, rank=info.rank,
                           world_size=info.world_size)
    loader = DataLoader(dataset, batch_size=sampler.local_scenes, sampler=sampler,
                        num_workers=workers, collate_fn=collate_scenes,
                        pin_memory=device.type == "cuda",
                        prefetch_factor=4 if workers else None,
                        persistent_workers=False)

    def save(step: int) -> None:
        if info.is_main:
            net_state = unwrap(ddp_model).network.state_dict()
            save_checkpoint(ckpt_path, model=net_state, optimizer=optimizer.state_dict(),
                            scheduler=scheduler.state_dict(), step=step,
                            epoch=step // steps_per_epoch, config=record)
            save_encoder(out / ENCODER_FILE, net_state)
        barrier(info)

    crops_per_step = 2 * cfg.k * cfg.scenes_per_batch
    _say(info, echo, f"training {cfg.encoder} ({cfg.resolved_layer}, {model.feature_dim}-d) "
                     f"on {len(found)} images: {cfg.objective}, {cfg.scenes_per_batch} scenes "
                     f"x k={cfg.k} x 2 crops of {spec.crop_size} px per step, steps "
                     f"{start_step}..{total_steps} on {device} x{info.world_size}, "
                     f"{workers} workers, amp={amp}")
    t_start = time.perf_counter()
    deadline = t_start + 60.0 * cfg.max_minutes if cfg.max_minutes else None
    rows: list[tuple[int, float]] = []
    stopped, step = "done", start_step
    ddp_model.train()
    bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
               disable=not (progress and info.is_main),
               mininterval=0.5 if sys.stderr.isatty() else 30.0)
    log = CsvLog(out / LOG_FILE, LOG_FIELDS) if info.is_main else None
    clock = {"prev": time.perf_counter()}

    def finish(rec: dict[str, Any]) -> float:
        """Read a step's loss (waits for its GPU work), then log it; returns the loss."""
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
            _say(info, echo, f"loss is {value} at step {rec['step']}: stopping; the last "
                             "checkpoint is kept")
        return value

    # The loss of step n is read after step n + 1 is queued (so the GPU never idles while
    # Python logs), and always before a checkpoint (so no non-finite state is saved).
    pending: dict[str, Any] | None = None
    check_every = 10 if info.distributed else 1  # stop checks need a collective in DDP
    try:
        with stop_on_sigterm() as sigterm:
            data_iter = iter(loader)
            clock["prev"] = time.perf_counter()
            while step < total_steps:
                t0 = time.perf_counter()
                batch = next(data_iter)
                data_s = time.perf_counter() - t0
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
                step += 1
                record_now = {"step": step, "epoch": epoch + 1, "lr": lr, "data_s": data_s,
                              "loss": mean_across(loss, info)}
                if pending is not None and not math.isfinite(finish(pending)):
                    stopped, pending = "nonfinite", None
                    break
                pending = record_now
                reason = None
                if cfg.max_steps is not None and step >= cfg.max_steps:
                    reason = "max_steps"
                elif deadline is not None and time.perf_counter() >= deadline:
                    reason = "max_minutes"
                elif sigterm():
                    reason = "signal"
                stop = (step % check_every == 0 or (cfg.max_steps is not None
                                                    and step >= cfg.max_steps)) \
                    and any_across(reason is not None, info, device) and step < total_steps
                if stop or step % steps_per_epoch == 0 or step == total_steps or (
                        cfg.checkpoint_every and step % cfg.checkpoint_every == 0):
                    value = finish(pending)
                    pending = None
                    if not math.isfinite(value):
                        stopped = "nonfinite"
                        break
                    save(step)
                if stop:
                    stopped = reason or "signal"
                    break
    finally:
        bar.close()
        if log is not None:
            log.close()
    wall = time.perf_counter() - t_start
    result = TrainResult(out, step, total_steps, stopped, throughput(rows), wall)
    if info.is_main:
        summary = {"step": step, "total_steps": total_steps, "epoch": step / steps_per_epoch,
                   "stopped": stopped, "crops_per_s": round(result.crops_per_s, 2),
                   "steps_this_session": len(rows), "wall_s": round(wall, 2),
                   "device": str(device), "world_size": info.world_size, "workers": workers,
                   "distort_on": cfg.distort_on, "amp": amp}
        if device.type == "cuda":
            summary["gpu"] = torch.cuda.get_device_name(device)
            summary["max_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30,
                                              2)
        (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
        _say(info, echo, f"{stopped}: step {step}/{total_steps}, "
                         f"{result.crops_per_s:.1f} crops/s; wrote {out / ENCODER_FILE}")
    return result
