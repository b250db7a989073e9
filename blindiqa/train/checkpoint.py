"""Training checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts:
``format``, ``model`` (the encoder network's state dict, so that
``create_network(name, checkpoint_path=...)`` accepts the checkpoint as it is),
``optimizer``, ``scheduler``, ``step`` (optimisation steps done), ``epoch`` (the epoch
the next step belongs to), ``rng`` (the global torch CPU / CUDA generator states) and
``config``. The data generators need no saved state: every scene's generator is seeded
from (seed, epoch, slot), so ``step`` fixes where the data stream continues.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch

from blindiqa.io.atomic import atomic_write

#: Value of the ``format`` entry.
CHECKPOINT_FORMAT = "blindiqa.train/1"


def rng_state() -> dict[str, Any]:
    """States of torch's global generators (CPU, and every CUDA device if initialised)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (CUDA states only where CUDA is in use)."""
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def _atomic_save(obj: Any, path: str | os.PathLike) -> None:
    with atomic_write(path, "wb") as fh:
        torch.save(obj, fh)


def save_checkpoint(path: str | os.PathLike, *, model: dict[str, torch.Tensor],
                    optimizer: dict[str, Any], scheduler: dict[str, Any], step: int,
                    epoch: int, config: dict[str, Any], extra: dict[str, Any] | None = None
                    ) -> None:
    """Write a full training state, atomically (a crash never leaves half a file).

    Args:
        path: the file.
        model: the encoder's state dict.
        optimizer: ``optimizer.state_dict()``.
        scheduler: ``scheduler.state_dict()``.
        step: optimisation steps done.
        epoch: the epoch of the next step.
        config: the run's configuration (JSON-like).
        extra: more JSON-like entries.
    """
    state = {"format": CHECKPOINT_FORMAT, "model": model, "optimizer": optimizer,
             "scheduler": scheduler, "step": int(step), "epoch": int(epoch),
             "rng": rng_state(), "config": config, **(extra or {})}
    _atomic_save(state, path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` onto the CPU.

    Raises:
        ValueError: not a checkpoint of this format.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ValueError(f"cannot read the checkpoint {path}: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a blindiqa training checkpoint")
    return state


def save_encoder(path: str | os.PathLike, state_dict: dict[str, torch.Tensor],
                 half: bool = False) -> None:
    """Write an encoder state dict (loadable by ``create_network(checkpoint_path=...)``).

    Args:
        path: the file.
        state_dict: the network's state dict.
        half: store floating tensors as float16 where they fit its range (to make the
            file small; ``load_state_dict`` casts them back).
    """
    out = {}
    for key, value in state_dict.items():
        value = value.detach().cpu()
        if half and value.is_floating_point() and value.numel() and \
                float(value.abs().max()) < 6e4:
            value = value.half()
        out[key] = value.clone()
    _atomic_save(out, path)
