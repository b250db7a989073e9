"""Training a quality head on frozen window descriptors: the paper's two stages, and
ours, at the cost of minutes on a CPU.

The one-pass engine's descriptors (the shipped default's frozen ImageNet
EfficientNet-Lite2 taps) are computed once per image into a window cache
(:mod:`blindiqa.head.cache`, kept in the run directory as ``windows.pt``); the steps
then train only a :class:`~blindiqa.head.QualityHead` on them, through the one loop of
:mod:`blindiqa.train.run` (resume, stopping rules, atomic checkpoints, log, progress).

* ``head-synthetic`` (:class:`HeadSyntheticStage`): scenes of one pristine image under
  ``types`` distortion types at all 5 levels. ``objective="infonce"``: the paper's
  intra-scene InfoNCE (Babu et al., WACV 2023, Stage 1) with two window positions of
  one version as positives and the same positions in the scene's other versions as
  negatives; ``"ranking"``: our QualiCLIP-style level ranking plus consistency
  (:mod:`blindiqa.losses.level_ranking`); ``"infonce+ranking"``: both.
* ``head-authentic`` (:class:`HeadAuthenticStage`): unlabeled photos, optionally from a
  ``head-synthetic`` run (``init``). SimSiam on two windows of one photo (Stage 2 of the
  paper, positives only), the CLUB penalty between the embedding and the window's
  content (the frozen classifier's softmax over the window), ``q`` trained by the
  paper's contrastive likelihood or the log-likelihood; and, beyond the paper,
  ``selftrain_weight``: self-training on pseudo-labels, each window's training-free
  distance to the default's pristine Gaussian (``1 - Pearson`` between it and the head's
  badness).

``encoder.pt`` holds the head's state dict and ``config.json`` its shape (``head``) and
the engine settings (``engine``): ``blindiqa fit-pristine DIR --head RUN_DIR`` makes a
model of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from blindiqa.head import COMBINES, KINDS, HeadConfig, QualityHead
from blindiqa.head.cache import build_authentic_cache, build_synthetic_cache, check_cache
from blindiqa.io.atomic import atomic_write
from blindiqa.losses import (
    Q_OBJECTIVES,
    ConditionalGaussian,
    SimSiamPredictor,
    club_penalty,
    club_upper_bound,
    feature_std,
    intra_scene_infonce,
    q_loss,
    simsiam_loss,
)
from blindiqa.losses.level_ranking import LevelRankingLoss, badness
from blindiqa.onepass import OnePassConfig
from blindiqa.progress import Progress
from blindiqa.train.data import make_generator
from blindiqa.train.log import LOG_FIELDS
from blindiqa.train.run import (
    CONFIG_FILE,
    ENCODER_FILE,
    SCHEDULES,
    TrainResult,
    merge_settings,
    train_stage,
)
from blindiqa.train.settings import INHERITED, RunOptions
from blindiqa.train.stage import RunSetup, Stage, StageParts

#: The run directory's window cache.
CACHE_FILE = "windows.pt"
SYNTHETIC_OBJECTIVES = ("infonce", "ranking", "infonce+ranking")
MI_MODES = ("none", *Q_OBJECTIVES)
_TAG_STEP = 7


@dataclass
class _HeadFields:
    """Settings both head stages have (the run options follow)."""

    images: list[str] = field(default_factory=list, metadata=INHERITED)
    kind: str = "mlp"
    hidden: int = 256
    out_dim: int = 64
    combine: str = "concat"
    windows: int = 48
    epochs: int = field(default=20, metadata=INHERITED)
    steps_per_epoch: int | None = None
    batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"
    seed: int = 0
    cache: str | None = None

    def head_config(self, in_dim: int) -> HeadConfig:
        return HeadConfig(in_dim, self.kind, self.hidden, self.out_dim, self.combine)

    def _check_common(self) -> None:
        if self.kind not in KINDS or self.combine not in COMBINES:
            raise ValueError(f"kind must be one of {KINDS} and combine one of {COMBINES}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("epochs", "batch", "hidden", "out_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.windows < 2:
            raise ValueError("windows must be at least 2 (pairs of windows are compared)")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be at least 1")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueError("lr must be positive and weight_decay >= 0")
        if self.cache is not None and not Path(self.cache).is_file():
            raise ValueError(f"--cache {self.cache!r} is not a file")
        self.check_run_options()  # type: ignore[attr-defined]


@dataclass
class _HeadSyntheticFields(_HeadFields):
    types: int = 3
    objective: str = "infonce"
    tau: float = 0.1
    margin: float = 0.05
    consistency_weight: float = 1.0


@dataclass
class HeadSyntheticConfig(RunOptions, _HeadSyntheticFields):
    """Settings of ``blindiqa train head-synthetic`` (each field an option).

    Attributes:
        images: pristine images (folders walked recursively, or files).
        kind, hidden, out_dim, combine: the head (:class:`~blindiqa.head.HeadConfig`).
        windows: window positions cached per image (the same in every version).
        epochs, steps_per_epoch, batch: scenes per step and run length.
        lr, weight_decay, schedule: Adam and its schedule.
        seed: seeds the cache, the head's initial weights and every step's draws.
        cache: a window cache built beforehand (else built into the run directory).
        types: distortion types per scene (all 5 levels each).
        objective: ``infonce``, ``ranking`` or ``infonce+ranking``.
        tau: InfoNCE temperature (the paper: 0.1).
        margin: relative margin between consecutive levels.
        consistency_weight: weight of the consistency term of ``ranking``.
    """

    def validate(self) -> None:
        self._check_common()
        if self.objective not in SYNTHETIC_OBJECTIVES:
            raise ValueError(f"objective must be one of {SYNTHETIC_OBJECTIVES}, "
                             f"got {self.objective!r}")
        if not 1 <= self.types <= 25 or not self.tau > 0 or self.margin < 0 \
                or self.consistency_weight < 0:
            raise ValueError("types must be in 1..25, tau > 0, margin and "
                             "consistency_weight >= 0")


@dataclass
class _HeadAuthenticFields(_HeadFields):
    init: str | None = None
    positives_weight: float = 1.0
    mi: str = "contrastive"
    mi_weight: float = 1.0
    q_lr: float = 1e-4
    q_hidden: int = 256
    q_loglik_weight: float = 1.0
    selftrain_weight: float = 0.0


@dataclass
class HeadAuthenticConfig(RunOptions, _HeadAuthenticFields):
    """Settings of ``blindiqa train head-authentic`` (each field an option).

    Attributes (besides those of :class:`HeadSyntheticConfig`'s common part):
        images: unlabeled authentic photos.
        init: a ``head-synthetic`` (or ``head-authentic``) run directory to start from;
            its head's shape replaces ``kind``, ``hidden``, ``out_dim`` and ``combine``.
        positives_weight: weight of the SimSiam loss (0: none).
        mi: the CLUB penalty's ``q`` objective: ``contrastive`` (the paper),
            ``loglik``, or ``none`` (no penalty).
        mi_weight: weight of the penalty.
        q_lr: ``q``'s Adam learning rate; q_hidden: its hidden width.
        q_loglik_weight: log-likelihood term added to the contrastive ``q`` objective.
        selftrain_weight: weight of self-training on the training-free distances.
    """

    def validate(self) -> None:
        self._check_common()
        if self.mi not in MI_MODES:
            raise ValueError(f"mi must be one of {MI_MODES}, got {self.mi!r}")
        if min(self.positives_weight, self.mi_weight, self.selftrain_weight,
               self.q_loglik_weight) < 0 or not self.q_lr > 0 or self.q_hidden < 1:
            raise ValueError("loss weights must be >= 0, q_lr > 0 and q_hidden >= 1")
        if self.positives_weight == 0 and self.selftrain_weight == 0 and (
                self.mi == "none" or self.mi_weight == 0):
            raise ValueError("nothing to train: every loss weight is 0")
        if self.init is not None and not (Path(self.init) / ENCODER_FILE).is_file():
            raise ValueError(f"--init {self.init!r} is not a head run directory (no "
                             f"{ENCODER_FILE})")


# ------------------------------------------------------------------------- pieces


def load_head(run_dir: str | os.PathLike) -> tuple[QualityHead, OnePassConfig]:
    """The trained head of a run directory and the engine settings it was trained on.

    Raises:
        ValueError: not a head run directory.
    """
    run = Path(run_dir)
    cfg_path, weights = run / CONFIG_FILE, run / ENCODER_FILE
    if not cfg_path.is_file() or not weights.is_file():
        raise ValueError(f"{run} is not a head run directory (needs {CONFIG_FILE} and "
                         f"{ENCODER_FILE})")
    record = json.loads(cfg_path.read_text())
    if "head" not in record or "engine" not in record:
        raise ValueError(f"{run} holds an encoder run, not a head run")
    head = QualityHead(HeadConfig.from_json(record["head"]))
    head.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return head.eval(), OnePassConfig.from_json(record["engine"])


def training_free_reference() -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped training-free default's pristine mean and covariance: the reference of
    the self-training pseudo-labels (the head caches use the default's engine settings)."""
    from blindiqa.models.load import load

    default = load("default")
    if default.config.to_json() != OnePassConfig().to_json():
        raise ValueError("the shipped default's engine settings differ from the head "
                         "caches'; rebuild the default or the caches")
    return default.pristine_mean, default.pristine_cov


def window_cache(setup: RunSetup, kind: str, build: Callable[..., dict[str, Any]],
                 **kwargs: Any) -> dict[str, Any]:
    """The run's window cache: ``--cache``, the run directory's ``windows.pt`` (a resumed
    run), or built now from the training images and saved there."""
    cfg = setup.cfg
    path = Path(cfg.cache) if cfg.cache else setup.out / CACHE_FILE
    if path.is_file():
        cache = torch.load(path, map_location="cpu", weights_only=False)
        check_cache(cache, kind)
    else:
        bar = Progress(len(setup.files), f"caching {kind} windows", unit="img",
                       enabled=setup.info.is_main)
        try:
            cache = build(setup.files, OnePassConfig(), windows_per_image=cfg.windows,
                          seed=cfg.seed, progress=bar.update, **kwargs)
        finally:
            bar.close()
        setup.out.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "wb") as fh:
            torch.save(cache, fh)
    if len(cache["names"]) != len(setup.files):
        raise ValueError(f"the window cache holds {len(cache['names'])} images, the run "
                         f"{len(setup.files)}")
    return cache


class _Rows(torch.utils.data.Dataset):
    """Row ``i`` of every tensor, for the items ``((epoch, slot), i)`` of
    :class:`~blindiqa.train.data.SceneSampler`."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __getitem__(self, item: tuple[tuple[int, int], int]) -> tuple[torch.Tensor, ...]:
        i = int(item[1])
        return tuple(t[i] for t in self.tensors)


def _stack(items: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.stack(parts) for parts in zip(*items, strict=True))


def position_pairs(windows: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint halves of a random permutation of ``windows`` positions: ``(a, b)``, the
    pairs ``(a[j], b[j])``."""
    perm = torch.randperm(windows, generator=generator)
    half = windows // 2
    return perm[:half], perm[half:2 * half]


def level_chains(levels: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
    """Version indices ``(T, 6)`` of each distortion's chain pristine, level 1 .. 5, from
    the cache layout (version 0 pristine, then 5 levels per type).

    Raises:
        ValueError: a cache that does not follow the layout.
    """
    v = levels.shape[-1]
    if (v - 1) % 5 or bool((levels[..., 0] != 0).any()):
        raise ValueError("the synthetic cache must hold the pristine version first, then "
                         "5 levels per type")
    t = (v - 1) // 5
    chains = torch.stack([torch.cat([torch.zeros(1, dtype=torch.long),
                                     torch.arange(1 + 5 * i, 6 + 5 * i)]) for i in range(t)])
    if not bool((levels[..., chains[:, 1:]] == torch.arange(1, 6)).all()):
        raise ValueError("the synthetic cache's levels are not 1..5 per type")
    return chains


def synthetic_losses(head: nn.Module, feats: torch.Tensor, levels: torch.Tensor,
                     types: torch.Tensor, cfg: HeadSyntheticConfig,
                     generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The head-synthetic losses of a batch ``feats (B, V, S, D)``: ``loss``,
    ``infonce`` and ``ranking`` (NaN when not part of the objective)."""
    z = head(feats.float())  # B, V, S, d
    a, b = position_pairs(z.shape[2], generator)
    nan = torch.tensor(float("nan"))
    out = {"infonce": nan, "ranking": nan}
    loss = z.new_zeros(())
    if "infonce" in cfg.objective:
        z1 = z[:, :, a].permute(0, 2, 1, 3).flatten(0, 1)  # B * P, V, d
        z2 = z[:, :, b].permute(0, 2, 1, 3).flatten(0, 1)
        nce = intra_scene_infonce(z1, z2, cfg.tau)
        out["infonce"], loss = nce.detach(), loss + nce
    if "ranking" in cfg.objective:
        chains = level_chains(levels, types)
        centre = z[:, 0].reshape(-1, z.shape[-1]).mean(0).detach()
        s = badness(z, centre)  # B, V, S
        s1 = s[:, chains][..., a].transpose(-1, -2)  # B, T, P, 6
        s2 = s[:, chains][..., b].transpose(-1, -2)
        rank = LevelRankingLoss(cfg.margin, cfg.consistency_weight)(s1, s2)
        out["ranking"], loss = rank.detach(), loss + rank
    out["loss"] = loss
    return out


def pearson_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``1 - Pearson(a, b)`` over all elements."""
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return 1 - (a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12)


class Centre(nn.Module):
    """A learned centre of the head's space (the self-training badness is measured from
    it)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.zeros(dim))


# --------------------------------------------------------------------------- stages


def _train_head(head: nn.Module, extra_params: list[nn.Parameter], cfg: Any
                ) -> torch.optim.Optimizer:
    params = [*head.parameters(), *extra_params]
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _record(setup: RunSetup, head: QualityHead, cache: dict[str, Any]) -> dict[str, Any]:
    return {"settings": setup.cfg.to_json(), "num_images": len(setup.files),
            "images_digest": setup.digest, "head": head.config.to_json(),
            "engine": cache["config"], "total_steps": setup.total_steps}


class HeadSyntheticStage(Stage):
    """``head-synthetic`` for :func:`blindiqa.train.run.train_stage`."""

    name = "head-synthetic"
    metrics = ("loss", "infonce", "ranking")
    log_fields = (*LOG_FIELDS, "infonce", "ranking")
    blank_nan = True

    def images_per_step(self, cfg: HeadSyntheticConfig) -> int:
        return cfg.batch

    def build(self, setup: RunSetup) -> StageParts:
        cfg = setup.cfg
        cache = window_cache(setup, "synthetic", build_synthetic_cache, types=cfg.types)
        feats = cache["features"]
        head = QualityHead(cfg.head_config(feats.shape[-1]),
                           generator=torch.Generator().manual_seed(cfg.seed))
        optimizer = _train_head(head, [], cfg)
        head.train()

        def step(batch: Any, step: int) -> dict[str, torch.Tensor]:
            f, levels, types = batch
            gen = make_generator(cfg.seed, _TAG_STEP, step)
            out = synthetic_losses(head, f, levels, types, cfg, gen)
            optimizer.zero_grad(set_to_none=True)
            out["loss"].backward()
            optimizer.step()
            return {k: v.detach() for k, v in out.items()}

        message = (f"training a {head.extra_repr()} head on {feats.shape[0]} scenes x "
                   f"{feats.shape[1]} versions x {feats.shape[2]} windows: {cfg.objective}")
        return StageParts(head, optimizer, step, _Rows(feats, cache["levels"], cache["types"]),
                          _stack, _record(setup, head, cache), message,
                          crops_per_step=cfg.batch * feats.shape[1] * feats.shape[2])


class HeadAuthenticStage(Stage):
    """``head-authentic`` for :func:`blindiqa.train.run.train_stage`."""

    name = "head-authentic"
    metrics = ("loss", "positives", "mi", "club_nats", "q_loss", "selftrain", "z_std")
    log_fields = (*LOG_FIELDS, "positives", "mi", "club_nats", "q_loss", "selftrain", "z_std")
    blank_nan = True

    def images_per_step(self, cfg: HeadAuthenticConfig) -> int:
        return cfg.batch

    def build(self, setup: RunSetup) -> StageParts:
        cfg = setup.cfg
        def build_with_pseudo_labels(*args: Any, **kwargs: Any) -> dict[str, Any]:
            # the default model is loaded only when the cache is built, not when read
            return build_authentic_cache(*args, reference=training_free_reference(),
                                         **kwargs)

        cache = window_cache(setup, "authentic", build_with_pseudo_labels)
        feats, content = cache["features"], cache["content"]
        if cfg.selftrain_weight and "pseudo" not in cache:
            raise ValueError("self-training needs a cache with pseudo-labels ('pseudo')")
        pseudo = cache.get("pseudo", torch.zeros(feats.shape[:2]))
        if cfg.init is not None:
            head, _ = load_head(cfg.init)
            head.train()
        else:
            head = QualityHead(cfg.head_config(feats.shape[-1]),
                               generator=torch.Generator().manual_seed(cfg.seed))
        dim = head.config.out_dim
        torch.manual_seed(cfg.seed)  # the predictor's, q's and the centre's init
        predictor = SimSiamPredictor(dim, max(1, dim // 4))
        q = ConditionalGaussian(dim, content.shape[-1], cfg.q_hidden)
        centre = Centre(dim)
        optimizer = _train_head(head, [*predictor.parameters(), *centre.parameters()], cfg)
        q_opt = torch.optim.Adam(q.parameters(), lr=cfg.q_lr, weight_decay=0.1)
        head.train()
        predictor.train()
        nan = torch.tensor(float("nan"))

        def step(batch: Any, step: int) -> dict[str, torch.Tensor]:
            f, c, p = batch
            gen = make_generator(cfg.seed, _TAG_STEP, step)
            a, b = position_pairs(f.shape[1], gen)
            x1, x2 = f[:, a].flatten(0, 1).float(), f[:, b].flatten(0, 1).float()
            z1, z2 = head(x1), head(x2)
            out = {k: nan for k in self.metrics}
            loss = z1.new_zeros(())
            if cfg.positives_weight:
                pos = simsiam_loss(predictor(z1), predictor(z2), z1, z2)
                loss = loss + cfg.positives_weight * pos
                out["positives"] = pos.detach()
            if cfg.mi != "none" and cfg.mi_weight:
                xc = torch.softmax(c[:, a].flatten(0, 1).float(), dim=1)
                mu, logvar = q(z1)
                mi = club_penalty(xc, mu, logvar)
                loss = loss + cfg.mi_weight * mi
                out["mi"] = mi.detach()
                out["club_nats"] = club_upper_bound(xc, mu, logvar).detach()
            if cfg.selftrain_weight:
                zs = torch.cat([z1, z2])
                target = torch.cat([p[:, a].flatten(), p[:, b].flatten()]).float()
                st = pearson_loss(badness(zs, centre.value), target)
                loss = loss + cfg.selftrain_weight * st
                out["selftrain"] = st.detach()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if cfg.mi != "none" and cfg.mi_weight:
                mu, logvar = q(z1.detach())
                ql = q_loss(cfg.mi, xc, mu, logvar, cfg.q_loglik_weight)
                q_opt.zero_grad(set_to_none=True)
                ql.backward()
                q_opt.step()
                out["q_loss"] = ql.detach()
            out["loss"] = loss.detach()
            out["z_std"] = feature_std(z1.detach())
            return out

        record = _record(setup, head, cache)
        message = (f"training a {head.extra_repr()} head on {feats.shape[0]} photos x "
                   f"{feats.shape[1]} windows: positives {cfg.positives_weight}, mi {cfg.mi} "
                   f"x {cfg.mi_weight}, self-training {cfg.selftrain_weight}")
        return StageParts(head, optimizer, step, _Rows(feats, content, pseudo), _stack,
                          record, message, crops_per_step=cfg.batch * feats.shape[1],
                          state={"predictor": predictor, "q": q, "q_optimizer": q_opt,
                                 "centre": centre})


def resolve_head_config(config_type: type, given: dict[str, Any], out_dir: str | os.PathLike,
                        resume: bool) -> Any:
    """Given settings over a resumed run's saved ones (or the defaults)."""
    merged, _ = merge_settings(given, out_dir, resume, config_type)
    return config_type(**merged)


def train_head_synthetic(cfg: HeadSyntheticConfig, out_dir: str | os.PathLike,
                         resume: bool = False, progress: bool = True,
                         echo: Callable[[str], None] | None = None) -> TrainResult:
    """Run (or resume) ``head-synthetic`` through :func:`blindiqa.train.run.train_stage`."""
    return train_stage(HeadSyntheticStage(), cfg, out_dir, resume, progress, echo)


def train_head_authentic(cfg: HeadAuthenticConfig, out_dir: str | os.PathLike,
                         resume: bool = False, progress: bool = True,
                         echo: Callable[[str], None] | None = None) -> TrainResult:
    """Run (or resume) ``head-authentic`` through :func:`blindiqa.train.run.train_stage`."""
    return train_stage(HeadAuthenticStage(), cfg, out_dir, resume, progress, echo)
