"""Stage 2: authentic fine-tuning with positives only (``blindiqa train authentic``).

Babu, Kannan, Soundararajan, "No Reference Opinion Unaware Quality Assessment of
Authentically Distorted Images", WACV 2023, Stage 2. The encoder of Stage 1 is
fine-tuned on unlabeled authentic photos: the two crops of one photo (the two-halves
sampler, each crop resized to 256) share its distortion, so the SimSiam loss makes them
agree (:mod:`blindiqa.losses.simsiam`); a mutual-information penalty keeps the content
out of the quality feature (:mod:`blindiqa.losses.club`): the CLUB bound between the
encoder output ``z`` and the softmax ``x_c`` of a frozen ImageNet classifier on the same
crop (:mod:`blindiqa.train.content`), with a variational network ``q(x_c | z)`` trained
by its own optimiser on detached features, one step per batch.

Two defects of the official code are fixed here:

1. *Pairing.* The official code orders its content features image by image but the
   quality features view by view, so most "matching" pairs ``(i, i)`` of the CLUB bound
   are crops of different photos. Here both come from one stacked tensor of crops
   (:func:`embed_crops`): row ``i`` of ``x_c`` and of ``z`` is the same crop.
2. *q's learning rate.* The official 1e-7 leaves ``q`` at its random initialisation, so
   the "bound" measures nothing. Here it is a setting (``q_lr``, default chosen by
   measurement, see :data:`DEFAULT_Q_LR` and docs/training.md) and the CLUB estimate
   (nats) is logged every step, with ``q``'s own loss.

Freezing (:mod:`blindiqa.train.freeze`): by default the blocks up to stride 8 are frozen,
the paper's cut. Frozen blocks are also kept in eval mode, so their BatchNorm statistics
stay those of Stage 1.

The run directory gets the files of Stage 1: ``config.json``, ``log.csv`` (one row per
step: total loss, SimSiam loss, MI estimate, MI penalty, q's loss, the per-dimension std
of the normalised features as a collapse check, crops/s), ``checkpoint.pt`` (full state,
``--resume`` continues exactly), ``encoder.pt`` (for ``blindiqa fit-pristine
--encoder-checkpoint``) and ``summary.json``.

The crop pairs (the dataset and its sampler) are in :mod:`blindiqa.train.authentic_data`;
this module holds the stage: its settings, model, step and :class:`AuthenticStage`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.func import functional_call

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import NORMALIZATIONS, create_network, get_encoder_spec
from blindiqa.losses.club import Q_OBJECTIVES, ConditionalGaussian, club_penalty, q_loss
from blindiqa.losses.simsiam import SimSiamPredictor, feature_std, simsiam_loss
from blindiqa.train.authentic_data import TAG_AUTHENTIC, AuthenticDataset, collate_views
from blindiqa.train.checkpoint import load_checkpoint
from blindiqa.train.content import DEFAULT_CONTENT_NETWORK, ContentNetwork
from blindiqa.train.data import derive_seed
from blindiqa.train.distributed import DistInfo, env_world_size, wrap_model
from blindiqa.train.freeze import apply_freeze, parse_freeze
from blindiqa.train.run import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    ENCODER_FILE,
    SCHEDULES,
    TrainResult,
    mark_unused_parameters,
    merge_settings,
    train_stage,
)
from blindiqa.train.settings import INHERITED, RunOptions
from blindiqa.train.stage import RunSetup, Stage, StageParts, init_encoder

#: ``--mi`` values: no MI term, or the CLUB penalty with ``q`` trained by likelihood or
#: by contrastive likelihood.
MI_MODES = ("none", *Q_OBJECTIVES)

#: q's learning rate: the best held-out CLUB estimate over 140 and 500 steps of the
#: rates measured (docs/training.md, "q's learning rate"); the official 1e-7 leaves q
#: untrained.
DEFAULT_Q_LR = 1e-4

#: Columns of ``log.csv`` (``mi``: the CLUB estimate in nats; ``mi_penalty``: the
#: weighted penalty added to the loss, 0 before ``mi_start_epoch``; ``feat_std``: mean
#: per-dimension std of the L2-normalised encoder outputs, about 1/sqrt(d) when healthy,
#: 0 when collapsed).
LOG_FIELDS = ("step", "epoch", "loss", "simsiam", "mi", "mi_penalty", "q_loss", "feat_std",
              "lr", "crops_per_s", "data_s", "step_s")


# ------------------------------------------------------------------------------ config


@dataclass
class _AuthenticFields:
    """The fields of :class:`AuthenticConfig` that are its own (the run options follow)."""

    images: list[str] = field(default_factory=list, metadata=INHERITED)
    init: str = "imagenet"
    encoder: str | None = None
    layer: str | None = None
    normalization: str | None = None
    freeze: str | None = None
    mi: str = "contrastive"
    mi_weight: float = 1000.0
    mi_start_epoch: int = 1
    q_lr: float = DEFAULT_Q_LR
    q_weight_decay: float = 0.1
    q_loglik_weight: float = 1.0
    q_hidden: int = 1000
    content_network: str = DEFAULT_CONTENT_NETWORK
    crop_size: int = 256
    epochs: int = field(default=5, metadata=INHERITED)
    steps_per_epoch: int | None = None
    batch_images: int = 16
    lr: float = 1e-3
    predictor_lr: float = 1e-4
    weight_decay: float = 0.0
    schedule: str = "constant"
    seed: int = 0
    limit_images: int | None = None


@dataclass
class AuthenticConfig(RunOptions, _AuthenticFields):
    """Settings of an authentic fine-tuning run.

    Each field is a ``blindiqa train authentic`` option with the resume rule in its
    metadata (:mod:`blindiqa.train.settings`); the run options and stopping rules of
    :class:`~blindiqa.train.settings.RunOptions` come last.

    Attributes:
        images: folders (walked recursively) or files of unlabeled authentic photos.
        init: the Stage-1 encoder: a run directory of ``train synthetic``, its
            ``checkpoint.pt`` or ``encoder.pt``, any state-dict file, or ``"imagenet"`` /
            ``"random"``.
        encoder: network name (None: that of the Stage-1 run, else ``resnet50``).
        layer: pooled feature layer (None: that of the Stage-1 run, else the encoder's
            default).
        normalization: input normalisation (None: that of the Stage-1 run, else
            ``"none"``).
        freeze: comma-separated blocks to freeze (``stem``, ``layer1``.. / ``stage1``..,
            ``head``; ranges like ``stage1-3``), ``"none"``, or None for
            :data:`~blindiqa.train.freeze.DEFAULT_FREEZE`.
        mi: ``"none"``, ``"loglik"`` or ``"contrastive"`` (how ``q`` is trained).
        mi_weight: lambda, the weight of the CLUB penalty (the paper: 1000).
        mi_start_epoch: first epoch (1-based) with the penalty; ``q`` trains from the
            start.
        q_lr: Adam learning rate of ``q``.
        q_weight_decay: Adam weight decay of ``q`` (the official code: 0.1).
        q_loglik_weight: for ``mi="contrastive"``, weight of an added likelihood term in
            ``q``'s loss. 0 is the paper's objective, which has no minimum (its CLUB
            estimate runs away once q trains), so the default is 1 (bounded; measured
            in docs/training.md).
        q_hidden: hidden width of ``q`` (the paper: 1000).
        content_network: the frozen ImageNet classifier giving ``x_c``.
        crop_size: side the crops are resized to (the paper: 256).
        epochs: epochs (the paper: 5).
        steps_per_epoch: steps per epoch (None: images // batch_images, at least 1).
        batch_images: photos per step over all processes, 2 crops each (the paper: 16).
        lr: Adam learning rate of the encoder (the paper: 1e-3).
        predictor_lr: Adam learning rate of the predictor (the paper: 1e-4).
        weight_decay: Adam weight decay of encoder and predictor.
        schedule: ``"constant"`` or ``"cosine"``.
        seed: seed of every random draw.
        limit_images: train on the first N photos only (smoke tests).
    """

    def validate(self) -> None:
        """Raise ``ValueError`` on impossible settings (call after :func:`resolve_init`)."""
        if self.encoder is None:
            raise ValueError("encoder not resolved")
        spec = get_encoder_spec(self.encoder)
        if self.mi not in MI_MODES:
            raise ValueError(f"mi must be one of {MI_MODES}, got {self.mi!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.normalization is not None and self.normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {self.normalization!r}")
        if self.init == "imagenet" and spec.weights_package is None:
            raise ValueError(f"{self.encoder} has no ImageNet weights here: give a Stage-1 "
                             "checkpoint as --init")
        if self.init not in ("imagenet", "random") and not Path(self.init).exists():
            raise ValueError(f"--init {self.init!r} is not imagenet, random, a file or a run "
                             "directory")
        for name in ("epochs", "batch_images", "mi_start_epoch", "q_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be at least 1")
        if self.crop_size < 32:
            raise ValueError(f"crop_size must be at least 32, got {self.crop_size}")
        if not (self.lr > 0 and self.predictor_lr > 0 and self.q_lr > 0):
            raise ValueError("lr, predictor_lr and q_lr must be positive")
        if min(self.weight_decay, self.q_weight_decay, self.q_loglik_weight,
               self.mi_weight) < 0:
            raise ValueError("weight decays, q_loglik_weight and mi_weight must be >= 0")
        if self.limit_images is not None and self.limit_images < 1:
            raise ValueError("limit_images must be at least 1")
        self.check_run_options()
        if self.batch_images % env_world_size():
            raise ValueError(f"--batch-images {self.batch_images} must be divisible by the "
                             f"number of processes ({env_world_size()})")
        if self.batch_images // env_world_size() < 2:
            raise ValueError("at least 2 photos per process and step are needed (BatchNorm "
                             "in the predictor, pairs in the MI bound)")
        parse_freeze(self.freeze, create_network(self.encoder))

    @property
    def resolved_layer(self) -> str:
        return self.layer or get_encoder_spec(str(self.encoder)).default_layer

    @property
    def resolved_normalization(self) -> str:
        return self.normalization or "none"



def init_settings(init: str) -> tuple[str, dict[str, Any]]:
    """Where the initial encoder weights are and the Stage-1 settings that go with them.

    Args:
        init: ``"imagenet"``, ``"random"``, a run directory (``encoder.pt`` in it), a
            training checkpoint, or a state-dict file (the ``config.json`` beside it, if
            any, gives the settings).

    Returns:
        ``(weights, settings)``: ``weights`` is ``"imagenet"``, ``"random"`` or a file;
        ``settings`` holds the Stage-1 run's ``encoder``, ``layer`` and
        ``normalization`` where known.

    Raises:
        ValueError: a run directory without ``encoder.pt`` / ``checkpoint.pt``.
    """
    if init in ("imagenet", "random"):
        return init, {}
    path = Path(init)
    config: dict[str, Any] | None = None
    if path.is_dir():
        weights = next((path / n for n in (ENCODER_FILE, CHECKPOINT_FILE)
                        if (path / n).is_file()), None)
        if weights is None:
            raise ValueError(f"{path} holds neither {ENCODER_FILE} nor {CHECKPOINT_FILE}")
        path = weights
    if path.is_file():
        cfg_file = path.parent / CONFIG_FILE
        if cfg_file.is_file():
            try:
                config = json.loads(cfg_file.read_text())
            except (OSError, ValueError):
                config = None
        if config is None and path.name == CHECKPOINT_FILE:
            try:
                config = load_checkpoint(path).get("config")
            except ValueError:
                config = None
    settings = dict((config or {}).get("settings", {}))
    for key in ("layer", "normalization"):  # as resolved by the run
        if config and config.get(key):
            settings[key] = config[key]
    keep = {k: settings[k] for k in ("encoder", "layer", "normalization")
            if settings.get(k) is not None}
    return os.fspath(path), keep


def resolve_config(given: dict[str, Any], out_dir: str | os.PathLike, resume: bool
                   ) -> AuthenticConfig:
    """Merge the given settings with a resumed run's (or the defaults) and with what the
    Stage-1 run given as ``init`` says (encoder, layer, normalisation).

    Args:
        given: settings given on the command line (``None`` values are "not given").
        out_dir: the run directory.
        resume: continue the run in ``out_dir``.

    Raises:
        ValueError: unknown settings, missing images or init, a resumed run given a
            different value of a setting that defines the trajectory, or an encoder that
            contradicts the Stage-1 run.
    """
    merged, saved = merge_settings(given, out_dir, resume, AuthenticConfig)
    if not merged.get("init"):
        raise ValueError("no initial encoder given (--init)")
    if saved is None:
        _, stage1 = init_settings(str(merged["init"]))
        if "encoder" in stage1 and merged.get("encoder") not in (None, stage1["encoder"]):
            raise ValueError(f"--encoder {merged['encoder']} but the Stage-1 run used "
                             f"{stage1['encoder']}")
        for key in ("encoder", "layer", "normalization"):
            if merged.get(key) is None and key in stage1:
                merged[key] = stage1[key]
        merged["encoder"] = merged.get("encoder") or "resnet50"
    return AuthenticConfig(**merged)


# ------------------------------------------------------------------------------- model


class AuthenticModel(nn.Module):
    """Encoder and SimSiam predictor: ``x -> (z, p)``; frozen blocks stay in eval mode.

    Args:
        encoder: the pooled feature extractor (its network is what Stage 2 trains).
        predictor: the SimSiam predictor ``h``.
        frozen: modules kept in eval mode whatever the training mode.
    """

    def __init__(self, encoder: FeatureExtractor, predictor: nn.Module,
                 frozen: Sequence[nn.Module] = ()) -> None:
        super().__init__()
        self.encoder = encoder
        self.predictor = predictor
        self._frozen = list(frozen)

    def train(self, mode: bool = True) -> AuthenticModel:
        super().train(mode)
        for m in self._frozen:
            m.eval()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.predictor(z)


def embed_crops(model: nn.Module, content: nn.Module | None, view1: torch.Tensor,
                view2: torch.Tensor, amp: bool = False, channels_last: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Quality features, predictions and content features of both views, paired.

    The two views are stacked once (``[view1; view2]``) and that very tensor goes through
    the encoder and through the content network, so row ``i`` of ``z``, ``p`` and ``x_c``
    is the same crop (defect 1 of the official code was to order the content features
    differently from the quality features).

    Args:
        model: ``x -> (z, p)`` (:class:`AuthenticModel`, possibly DDP-wrapped).
        content: the content network, or None (no MI term).
        view1, view2: ``(B, 3, c, c)`` crops of the two halves of ``B`` photos.
        amp: bf16 autocast for both networks.
        channels_last: channels-last memory format.

    Returns:
        ``(z, p, x_c)``: ``(2B, d)``, ``(2B, d)`` float32 and ``(2B, classes)`` float32 or
        None; rows ``0..B-1`` are the half-1 crops, ``B..2B-1`` the half-2 crops.
    """
    x = torch.cat([view1, view2])
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
        z, p = model(x)
        x_c = content(x) if content is not None else None
    return z.float(), p.float(), (x_c.float() if x_c is not None else None)


def q_without_grad_to_params(q: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor,
                                                                      torch.Tensor]:
    """``q(z)`` with ``q``'s parameters detached: gradients reach ``z`` only (the encoder's
    penalty must not train ``q``)."""
    params = {k: v.detach() for k, v in q.named_parameters()}
    buffers = dict(q.named_buffers())
    return functional_call(q, {**params, **buffers}, (z,))


# -------------------------------------------------------------------------------- step


@dataclass
class StepParts:
    """The pieces of one authentic training step (see :func:`authentic_step`)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    content: nn.Module | None = None
    q: ConditionalGaussian | None = None
    q_optimizer: torch.optim.Optimizer | None = None
    mi: str = "none"
    mi_weight: float = 1000.0
    q_loglik_weight: float = 0.0
    amp: bool = False
    channels_last: bool = False
    info: DistInfo = field(default_factory=DistInfo)


def average_gradients(module: nn.Module, info: DistInfo) -> None:
    """Average the gradients of ``module`` over the processes (``q`` is not DDP-wrapped)."""
    if not info.distributed:
        return
    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= info.world_size


def authentic_step(parts: StepParts, view1: torch.Tensor, view2: torch.Tensor,
                   penalise: bool) -> dict[str, torch.Tensor]:
    """One optimisation step: ``q`` first (on detached features), then encoder and
    predictor on ``SimSiam + mi_weight * L_MI`` (the penalty with the updated ``q``).

    Args:
        parts: networks, optimisers and settings.
        view1, view2: ``(B, 3, c, c)`` float crops in ``[0, 1]`` on the device.
        penalise: add the MI penalty (from ``mi_start_epoch`` on).

    Returns:
        Detached scalars: ``loss``, ``simsiam``, ``mi`` (the CLUB estimate, nats),
        ``mi_penalty`` (weighted, 0 when not penalised), ``q_loss``, ``feat_std``; the
        last four are NaN without an MI term.
    """
    nan = torch.tensor(float("nan"), device=view1.device)
    z, p, x_c = embed_crops(parts.model, parts.content if parts.mi != "none" else None,
                            view1, view2, parts.amp, parts.channels_last)
    z1, z2 = z.chunk(2)
    p1, p2 = p.chunk(2)
    sim = simsiam_loss(p1, p2, z1, z2)
    loss = sim
    out = {"simsiam": sim.detach(), "mi": nan, "mi_penalty": nan, "q_loss": nan,
           "feat_std": feature_std(z)}
    if parts.mi != "none":
        assert parts.q is not None and parts.q_optimizer is not None and x_c is not None
        mu, logvar = parts.q(z.detach())
        lq = q_loss(parts.mi, x_c, mu, logvar, parts.q_loglik_weight)
        parts.q_optimizer.zero_grad(set_to_none=True)
        lq.backward()
        average_gradients(parts.q, parts.info)
        parts.q_optimizer.step()
        mu, logvar = q_without_grad_to_params(parts.q, z)
        penalty = club_penalty(x_c, mu, logvar)
        weighted = parts.mi_weight * penalty if penalise else penalty.new_zeros(())
        loss = loss + weighted
        out.update(mi=0.5 * penalty.detach(), mi_penalty=weighted.detach(),
                   q_loss=lq.detach())
    parts.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parts.optimizer.step()
    out["loss"] = loss.detach()
    return out


# ------------------------------------------------------------------------------ main


def build_encoder(cfg: AuthenticConfig) -> FeatureExtractor:
    """The Stage-1 network (or ImageNet / seeded random) pooled at ``cfg.layer``."""
    weights, _ = init_settings(cfg.init)
    assert cfg.encoder is not None
    return init_encoder(cfg.encoder, weights, cfg.resolved_layer, cfg.resolved_normalization,
                        cfg.seed)


class AuthenticStage(Stage):
    """Stage 2 for :func:`blindiqa.train.run.train_stage`: SimSiam on crop pairs, the
    CLUB penalty with ``q`` and its optimiser as extra checkpoint state.

    Args:
        content: a content network to use instead of ``cfg.content_network`` with its
            ImageNet weights (for tests).
    """

    name = "authentic"
    log_fields = LOG_FIELDS
    metrics = ("loss", "simsiam", "mi", "mi_penalty", "q_loss", "feat_std")
    blank_nan = True

    def __init__(self, content: nn.Module | None = None) -> None:
        self.content = content

    def images_per_step(self, cfg: AuthenticConfig) -> int:
        return cfg.batch_images

    def select_images(self, cfg: AuthenticConfig, found: Sequence[tuple[Path, str]]
                      ) -> list[tuple[Path, str]]:
        return list(found[:cfg.limit_images] if cfg.limit_images is not None else found)

    def build(self, setup: RunSetup) -> StageParts:
        cfg, device, info = setup.cfg, setup.device, setup.info
        encoder = build_encoder(cfg)
        net = encoder.network
        frozen_names = parse_freeze(cfg.freeze, net)
        frozen = apply_freeze(net, frozen_names)
        dim = encoder.feature_dim
        torch.manual_seed(derive_seed(cfg.seed, TAG_AUTHENTIC, 1))
        model = AuthenticModel(encoder, SimSiamPredictor(dim), frozen).to(device)
        use_mi = cfg.mi != "none"
        content = self.content
        if use_mi and content is None:
            content = ContentNetwork(cfg.content_network)
        x_dim = int(getattr(content, "num_classes", 1000))
        q = ConditionalGaussian(dim, x_dim, cfg.q_hidden).to(device) if use_mi else None
        mark_unused_parameters(encoder, device)
        model.train()
        if setup.channels_last:
            model = model.to(memory_format=torch.channels_last)
        enc_params = [p for p in encoder.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(
            [{"params": enc_params, "lr": cfg.lr},
             {"params": list(model.predictor.parameters()), "lr": cfg.predictor_lr}],
            weight_decay=cfg.weight_decay)
        q_optimizer = torch.optim.Adam(q.parameters(), lr=cfg.q_lr,
                                       weight_decay=cfg.q_weight_decay) if q is not None else None
        if content is not None:
            content = content.to(device)
            if setup.channels_last:
                content = content.to(memory_format=torch.channels_last)
        parts = StepParts(wrap_model(model, info, device), optimizer,
                          content if use_mi else None, q, q_optimizer, cfg.mi, cfg.mi_weight,
                          cfg.q_loglik_weight, setup.amp, setup.channels_last, info)

        def step(views: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
            epoch = step // setup.steps_per_epoch
            return authentic_step(parts, views[:, 0], views[:, 1],
                                  penalise=epoch + 1 >= cfg.mi_start_epoch)

        record = {"settings": cfg.to_json(), "stage": "authentic",
                  "num_images": len(setup.files), "images_digest": setup.digest,
                  "layer": cfg.resolved_layer, "normalization": cfg.resolved_normalization,
                  "frozen": list(frozen_names),
                  "trainable_params": sum(p.numel() for p in enc_params),
                  "encoder_params": sum(p.numel() for p in net.parameters()),
                  "feature_dim": dim, "feat_std_healthy": 1.0 / math.sqrt(dim),
                  "total_steps": setup.total_steps, "crops_per_step": 2 * cfg.batch_images,
                  "crop_size": cfg.crop_size, "init_weights": init_settings(cfg.init)[0]}
        mi = (f" + MI, q {cfg.mi} (weight {cfg.mi_weight:g} from epoch "
              f"{cfg.mi_start_epoch}, q lr {cfg.q_lr:g})" if use_mi else "")
        message = (f"authentic fine-tuning of {cfg.encoder} ({cfg.resolved_layer}, {dim}-d; "
                   f"frozen: {', '.join(frozen_names) or 'nothing'}) on {len(setup.files)} "
                   f"photos: SimSiam{mi}, {cfg.batch_images} photos x 2 crops of "
                   f"{cfg.crop_size} px per step, steps {setup.start_step}.."
                   f"{setup.total_steps} on {device} x{info.world_size}")
        return StageParts(
            network=net, optimizer=optimizer, step=step,
            dataset=AuthenticDataset(setup.files, cfg.crop_size, seed=cfg.seed),
            collate=collate_views, record=record, message=message,
            crops_per_step=2 * cfg.batch_images,
            prepare=lambda batch: batch.to(device, non_blocking=True).float().div_(255.0),
            state={"predictor": model.predictor, "q": q, "q_optimizer": q_optimizer})

    def postfix(self, metrics: dict[str, float]) -> str:
        text = f"loss={metrics['loss']:.4f}, sim={metrics['simsiam']:.3f}"
        return text if math.isnan(metrics["mi"]) else f"{text}, mi={metrics['mi']:.3g}"

    def summary(self, setup: RunSetup, last: dict[str, float]) -> dict[str, Any]:
        return {"amp": setup.amp, "mi": setup.cfg.mi,
                "last": {k: (None if math.isnan(v) else v) for k, v in last.items()}}


def train_authentic(cfg: AuthenticConfig, out_dir: str | os.PathLike, resume: bool = False,
                    progress: bool = True, echo: Callable[[str], None] | None = None,
                    content: nn.Module | None = None) -> TrainResult:
    """Run (or resume) authentic fine-tuning: :func:`blindiqa.train.run.train_stage` of an
    :class:`AuthenticStage` (the same arguments and errors; ``cfg`` from
    :func:`resolve_config`).

    Args:
        content: a content network to use instead of ``cfg.content_network`` with its
            ImageNet weights (for tests).
    """
    return train_stage(AuthenticStage(content), cfg, out_dir, resume, progress, echo)
