"""The one training loop of every stage: the run directory, resume, the step loop with its
stop handling, checkpoints, the log, the progress report and the summary.

:func:`train_stage` runs a :class:`blindiqa.train.stage.Stage` (Stage 1,
:mod:`blindiqa.train.synthetic`; Stage 2, :mod:`blindiqa.train.authentic`), which builds
its model, data and step; the loop writes the same files for both into the run directory
(``config.json``, ``log.csv``, ``checkpoint.pt``, ``encoder.pt``, ``summary.json``) and
drives the steps with :func:`run_steps`: the loss of step ``n`` is read after step
``n + 1`` is queued, and always before a checkpoint; ``max_steps``, ``max_minutes`` and
SIGTERM stop cleanly at the end of a step, with a checkpoint. A step's time runs from its
start to the start of the next step when that one is already queued, else to the moment
its metrics are read.
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from blindiqa.io.atomic import write_text_atomic
from blindiqa.progress import Progress
from blindiqa.train.checkpoint import (
    load_checkpoint,
    save_checkpoint,
    save_encoder,
    set_rng_state,
)
from blindiqa.train.data import SceneSampler, list_training_images
from blindiqa.train.distributed import (
    DistInfo,
    any_across,
    barrier,
    cleanup,
    init_distributed,
    mean_across,
)
from blindiqa.train.log import CsvLog, truncate_log
from blindiqa.train.settings import fixed_fields, merge_with_saved
from blindiqa.train.stage import RunConfig, RunSetup, Stage, StageParts

SCHEDULES = ("constant", "cosine")

CONFIG_FILE, LOG_FILE, CHECKPOINT_FILE, ENCODER_FILE, SUMMARY_FILE = (
    "config.json", "log.csv", "checkpoint.pt", "encoder.pt", "summary.json")

#: Where messages go: None is stderr of the main process.
Echo = Callable[[str], None] | None


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


def merge_settings(given: dict[str, Any], out_dir: str | os.PathLike, resume: bool,
                   config_type: type) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """:func:`blindiqa.train.settings.merge_with_saved` with the saved ``config.json`` of
    ``out_dir`` when resuming.

    Returns:
        ``(merged, saved)``: the settings, and the saved ``config.json`` (None for a new
        run).
    """
    saved = read_config(out_dir) if resume else None
    return merge_with_saved(given, saved, config_type), saved


# ------------------------------------------------------------------------- run set-up


def say(info: DistInfo, echo: Echo, msg: str) -> None:
    """A message from the main process (to ``echo``, default stderr)."""
    if info.is_main:
        (echo or (lambda m: print(m, file=sys.stderr, flush=True)))(msg)


def load_run_state(out: Path, resume: bool, info: DistInfo, echo: Echo
                   ) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: a new run).

    Raises:
        ValueError: ``out`` already holds a checkpoint while ``resume`` is false.
    """
    ckpt_path = out / CHECKPOINT_FILE
    if ckpt_path.is_file() and not resume:
        raise ValueError(f"{out} already holds a run: add --resume or choose another --out")
    state = load_checkpoint(ckpt_path) if resume and ckpt_path.is_file() else None
    if resume and state is None:
        say(info, echo, f"no checkpoint in {out}: starting a new run")
    return state


def training_device(name: str, info: DistInfo, amp: bool | None, channels_last: bool | None
                    ) -> tuple[torch.device, bool, bool]:
    """The process's device (CUDA: its GPU, cuDNN benchmark and TF32 on) and the resolved
    ``amp`` / ``channels_last`` flags (None: on for CUDA)."""
    device = torch.device(name)
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank if info.distributed else
                              torch.cuda.current_device())
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    amp = amp if amp is not None else device.type == "cuda"
    channels_last = channels_last if channels_last is not None else device.type == "cuda"
    return device, amp, channels_last


def find_images(images: list[str], info: DistInfo) -> list[tuple[Path, str]]:
    """:func:`list_training_images`, its warnings shown by the main process only."""
    with warnings.catch_warnings():
        if not info.is_main:
            warnings.simplefilter("ignore")
        return list_training_images(images)


def check_resume(state: dict[str, Any] | None, out: Path, digest: str, names: list[str],
                 cfg: Any) -> None:
    """Raise ``ValueError`` when a resumed run's images or fixed settings changed."""
    if state is None:
        return
    saved = state["config"]
    if saved.get("images_digest") != digest:
        raise ValueError(f"the training images differ from those of the run in {out} "
                         f"({saved.get('num_images')} before, {len(names)} now)")
    changed = [k for k in fixed_fields(type(cfg))
               if saved["settings"].get(k) != getattr(cfg, k)]
    if changed:
        raise ValueError("cannot resume with different settings: " + ", ".join(changed))


def default_workers(device_type: str, world_size: int) -> int:
    if device_type != "cuda":
        return 0
    return max(1, min(15, (os.cpu_count() or 2) // world_size - 2))


def mark_unused_parameters(model: nn.Module, device: torch.device) -> int:
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


def make_scheduler(optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
                   ) -> torch.optim.lr_scheduler.LambdaLR:
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total_steps)
                                                       / max(1, total_steps))))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)


def start_session(out: Path, record: dict[str, Any], resumed: bool, info: DistInfo, *,
                  start_step: int, device: torch.device, workers: int, amp: bool) -> None:
    """Add this session to ``record["sessions"]`` (after the saved ones when resuming),
    write ``config.json`` and drop the log rows past the checkpoint (all of them for a new
    run); every process waits for the main one."""
    sessions = (read_config(out) or {}).get("sessions", []) if resumed else []
    sessions.append({"start_step": start_step, "device": str(device),
                     "world_size": info.world_size, "workers": workers, "amp": amp,
                     "torch": str(torch.__version__),
                     "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    record["sessions"] = sessions
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / CONFIG_FILE, json.dumps(record, indent=2) + "\n")
        if resumed:
            truncate_log(out / LOG_FILE, start_step)
        elif (out / LOG_FILE).exists():
            (out / LOG_FILE).unlink()
    barrier(info)


def make_loader(dataset: Dataset, num_images: int, per_step: int, steps_per_epoch: int,
                total_steps: int, *, seed: int, start_step: int, info: DistInfo,
                workers: int, collate_fn: Callable[[list[Any]], Any],
                device: torch.device) -> DataLoader:
    """The DataLoader of a :class:`SceneSampler` over ``num_images`` (``per_step`` items
    per step over all processes), from ``start_step`` on."""
    sampler = SceneSampler(num_images, per_step, steps_per_epoch, total_steps,
                           seed=seed, start_step=start_step, rank=info.rank,
                           world_size=info.world_size)
    return DataLoader(dataset, batch_size=sampler.local_scenes, sampler=sampler,
                      num_workers=workers, collate_fn=collate_fn,
                      pin_memory=device.type == "cuda",
                      prefetch_factor=4 if workers else None,
                      persistent_workers=False)


def save_run(out: Path, info: DistInfo, net_state: Callable[[], dict[str, torch.Tensor]],
             optimizer: torch.optim.Optimizer, scheduler: Any, step: int,
             steps_per_epoch: int, record: dict[str, Any],
             extra: Callable[[], dict[str, Any]] | None = None) -> None:
    """Write ``checkpoint.pt`` and ``encoder.pt`` (main process), then wait for it.

    Args:
        net_state: gives the encoder network's state dict.
        extra: gives more checkpoint entries.
    """
    if info.is_main:
        state = net_state()
        save_checkpoint(out / CHECKPOINT_FILE, model=state, optimizer=optimizer.state_dict(),
                        scheduler=scheduler.state_dict(), step=step,
                        epoch=step // steps_per_epoch, config=record,
                        extra=extra() if extra is not None else None)
        save_encoder(out / ENCODER_FILE, state)
    barrier(info)


# ------------------------------------------------------------------------------- loop


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


def throughput(rows: list[tuple[int, float]]) -> float:
    """Crops per second over ``(crops, seconds)`` steps, the first 3 left out if more."""
    use = rows[3:] if len(rows) > 3 else rows
    seconds = sum(s for _, s in use)
    return sum(c for c, _ in use) / seconds if seconds > 0 else 0.0


@contextmanager
def progress_and_log(out: Path, fields: Sequence[str], total_steps: int, start_step: int,
                     progress: bool, info: DistInfo, desc: str = ""
                     ) -> Iterator[tuple[Progress, CsvLog | None]]:
    """The progress report (main process, if ``progress``: a bar on a terminal, plain
    lines elsewhere, see :mod:`blindiqa.progress`) and the CSV log (main process only,
    else None), closed on exit."""
    bar = Progress(total_steps, desc, unit="step", enabled=progress and info.is_main,
                   initial=start_step)
    log = CsvLog(out / LOG_FILE, fields) if info.is_main else None
    try:
        yield bar, log
    finally:
        bar.close()
        if log is not None:
            log.close()


@dataclass
class StopRules:
    """When the loop stops early and checkpoints.

    Attributes:
        max_steps: stop once this many steps are done in total.
        deadline: ``time.perf_counter()`` value after which to stop.
        checkpoint_every: also checkpoint every N steps (0: epoch ends only).
    """

    max_steps: int | None = None
    deadline: float | None = None
    checkpoint_every: int = 0


def run_steps(loader: Iterable[Any], prepare: Callable[[Any], Any],
              step_fn: Callable[[Any, int], dict[str, Any]],
              finish: Callable[[dict[str, Any], float | None], float],
              save: Callable[[int], None], *, start_step: int, total_steps: int,
              steps_per_epoch: int, rules: StopRules, info: DistInfo, device: torch.device
              ) -> tuple[int, str]:
    """The training loop shared by the stages.

    Args:
        loader: the batches.
        prepare: applied to each batch inside the data-time measurement.
        step_fn: ``(batch, step) -> entries`` does the step ``step`` (0-based); the
            entries (e.g. ``lr`` and the loss tensor) join the step's record.
        finish: ``(record, next_start) -> loss`` reads a step's record (waits for its
            device work) and logs it; ``next_start`` is the start of the next step when
            that one is already queued.
        save: checkpoints after the given number of steps.
        start_step: steps already done.
        total_steps: steps of the whole run.
        steps_per_epoch: steps per epoch (checkpoints at epoch ends).
        rules: the stopping rules.
        info: the process group.
        device: the training device (for the stop collective).

    Returns:
        ``(step, stopped)``: steps done in total and why the loop ended.
    """
    # The loss of step n is read after step n + 1 is queued (so the GPU never idles while
    # Python logs), and always before a checkpoint (so no non-finite state is saved).
    stopped, step = "done", start_step
    pending: dict[str, Any] | None = None
    check_every = 10 if info.distributed else 1  # stop checks need a collective in DDP
    with stop_on_sigterm() as sigterm:
        data_iter = iter(loader)
        while step < total_steps:
            t0 = time.perf_counter()
            batch = prepare(next(data_iter))
            data_s = time.perf_counter() - t0
            epoch = step // steps_per_epoch
            entries = step_fn(batch, step)
            step += 1
            record_now = {"step": step, "epoch": epoch + 1, "data_s": data_s, "t0": t0,
                          **entries}
            if pending is not None and not math.isfinite(finish(pending, t0)):
                stopped, pending = "nonfinite", None
                break
            pending = record_now
            reason = None
            if rules.max_steps is not None and step >= rules.max_steps:
                reason = "max_steps"
            elif rules.deadline is not None and time.perf_counter() >= rules.deadline:
                reason = "max_minutes"
            elif sigterm():
                reason = "signal"
            stop = (step % check_every == 0 or (rules.max_steps is not None
                                                and step >= rules.max_steps)) \
                and any_across(reason is not None, info, device) and step < total_steps
            if stop or step % steps_per_epoch == 0 or step == total_steps or (
                    rules.checkpoint_every and step % rules.checkpoint_every == 0):
                value = finish(pending, None)
                pending = None
                if not math.isfinite(value):
                    stopped = "nonfinite"
                    break
                save(step)
            if stop:
                stopped = reason or "signal"
                break
    return step, stopped


def nonfinite_message(value: float, step: int) -> str:
    return f"loss is {value} at step {step}: stopping; the last checkpoint is kept"


# ---------------------------------------------------------------------------- summary


def finish_run(out: Path, info: DistInfo, echo: Echo, *, step: int, total_steps: int,
               steps_per_epoch: int, stopped: str, rows: list[tuple[int, float]],
               t_start: float, device: torch.device, workers: int,
               extra: dict[str, Any]) -> TrainResult:
    """The result of a session; the main process writes ``summary.json`` (``extra``
    after the common entries) and reports.

    Args:
        rows: ``(crops, seconds)`` of this session's steps.
        t_start: ``time.perf_counter()`` at the start of the session's loop.
    """
    wall = time.perf_counter() - t_start
    result = TrainResult(out, step, total_steps, stopped, throughput(rows), wall)
    if info.is_main:
        summary = {"step": step, "total_steps": total_steps, "epoch": step / steps_per_epoch,
                   "stopped": stopped, "crops_per_s": round(result.crops_per_s, 2),
                   "steps_this_session": len(rows), "wall_s": round(wall, 2),
                   "device": str(device), "world_size": info.world_size, "workers": workers,
                   **extra}
        if device.type == "cuda":
            summary["gpu"] = torch.cuda.get_device_name(device)
            summary["max_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30,
                                              2)
        write_text_atomic(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
        say(info, echo, f"{stopped}: step {step}/{total_steps}, "
                        f"{result.crops_per_s:.1f} crops/s; wrote {out / ENCODER_FILE}")
    return result


# ------------------------------------------------------------------------- the stages


def train_stage(stage: Stage, cfg: RunConfig, out_dir: str | os.PathLike,
                resume: bool = False, progress: bool = True, echo: Echo = None
                ) -> TrainResult:
    """Run (or resume) a training stage.

    Args:
        stage: the stage (its model, data and step).
        cfg: the stage's settings.
        out_dir: the run directory.
        resume: continue from ``out_dir/checkpoint.pt`` (a fresh start when there is
            none).
        progress: report progress (main process only).
        echo: where messages go (default: stderr of the main process).

    Raises:
        ValueError: bad settings, no images, or a run directory that already holds a
            checkpoint while ``resume`` is false.
    """
    cfg.validate()
    info = init_distributed(cfg.resolved_device)
    try:
        return _train(stage, cfg, Path(out_dir), resume, progress, echo, info)
    finally:
        cleanup(info)


def restore(state: dict[str, Any], parts: StageParts, scheduler: Any) -> None:
    """Load a checkpoint into the parts a stage built, the scheduler and the RNG."""
    parts.network.load_state_dict(state["model"])
    for key, obj in parts.state.items():
        if obj is not None:
            obj.load_state_dict(state[key])
    parts.optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])


def _train(stage: Stage, cfg: Any, out: Path, resume: bool, progress: bool, echo: Echo,
           info: DistInfo) -> TrainResult:
    state = load_run_state(out, resume, info, echo)
    device, amp, channels_last = training_device(cfg.resolved_device, info, cfg.amp,
                                                 cfg.channels_last)
    found = stage.select_images(cfg, find_images(cfg.images, info))
    names = [n for _, n in found]
    per_step = stage.images_per_step(cfg)
    steps_per_epoch = cfg.steps_per_epoch or max(1, len(found) // per_step)
    cfg = dataclasses.replace(cfg, steps_per_epoch=steps_per_epoch)
    total_steps = cfg.epochs * steps_per_epoch
    digest = images_digest(names)
    check_resume(state, out, digest, names, cfg)
    start_step = int(state["step"]) if state is not None else 0
    workers = cfg.workers if cfg.workers is not None else default_workers(device.type,
                                                                          info.world_size)
    setup = RunSetup(cfg, out, info, device, amp, channels_last, [p for p, _ in found],
                     digest, steps_per_epoch, total_steps, start_step, workers)

    parts = stage.build(setup)
    for key, value in (("settings", cfg.to_json()), ("num_images", len(names)),
                       ("images_digest", digest)):  # what resuming checks
        parts.record.setdefault(key, value)
    scheduler = make_scheduler(parts.optimizer, cfg.schedule, total_steps)
    if state is not None:
        restore(state, parts, scheduler)
    start_session(out, parts.record, state is not None, info, start_step=start_step,
                  device=device, workers=workers, amp=amp)
    loader = make_loader(parts.dataset, len(found), per_step, steps_per_epoch, total_steps,
                         seed=cfg.seed, start_step=start_step, info=info, workers=workers,
                         collate_fn=parts.collate, device=device)

    def save(step: int) -> None:
        save_run(out, info, parts.network.state_dict, parts.optimizer, scheduler, step,
                 steps_per_epoch, parts.record,
                 extra=lambda: {k: (v.state_dict() if v is not None else None)
                                for k, v in parts.state.items()})

    say(info, echo, parts.message)
    t_start = time.perf_counter()
    deadline = t_start + 60.0 * cfg.max_minutes if cfg.max_minutes else None
    crops = parts.crops_per_step
    rows: list[tuple[int, float]] = []
    last: dict[str, float] = {}
    with progress_and_log(out, stage.log_fields, total_steps, start_step, progress, info,
                          stage.name) as (bar, log):

        def finish(rec: dict[str, Any], next_start: float | None = None) -> float:
            """Read a step's metrics (waits for its device work), log them; returns the
            loss."""
            values = [float(v) for v in rec["metrics"].tolist()]
            step_s = (next_start if next_start is not None
                      else time.perf_counter()) - rec["t0"]
            rows.append((crops, step_s))
            metrics = dict(zip(stage.metrics, values, strict=True))
            last.update(metrics)
            if log is not None:
                log.write(step=rec["step"], epoch=rec["epoch"], lr=rec["lr"],
                          crops_per_s=crops / step_s, data_s=rec["data_s"], step_s=step_s,
                          **{k: ("" if stage.blank_nan and math.isnan(v) else v)
                             for k, v in metrics.items()})
            bar.set_postfix_str(f"{stage.postfix(metrics)}, crops_s={crops / step_s:.0f}")
            bar.update(1)
            if not math.isfinite(metrics["loss"]):
                say(info, echo, nonfinite_message(metrics["loss"], rec["step"]))
            return metrics["loss"]

        def step_fn(batch: Any, step: int) -> dict[str, Any]:
            lr = float(parts.optimizer.param_groups[0]["lr"])
            metrics = parts.step(batch, step)
            scheduler.step()
            stacked = torch.stack([metrics[k].detach() for k in stage.metrics])
            return {"lr": lr, "metrics": mean_across(stacked, info)}

        step, stopped = run_steps(
            loader, parts.prepare, step_fn, finish, save, start_step=start_step,
            total_steps=total_steps, steps_per_epoch=steps_per_epoch,
            rules=StopRules(cfg.max_steps, deadline, cfg.checkpoint_every), info=info,
            device=device)
    return finish_run(out, info, echo, step=step, total_steps=total_steps,
                      steps_per_epoch=steps_per_epoch, stopped=stopped, rows=rows,
                      t_start=t_start, device=device, workers=workers,
                      extra=stage.summary(setup, last))
