"""Helpers for multi-process training (``torchrun`` + DistributedDataParallel).

Launch with ``torchrun --nproc_per_node N -m blindiqa.cli.train STAGE ...``: every
process reads ``RANK`` / ``LOCAL_RANK`` / ``WORLD_SIZE`` from the environment that
torchrun sets. NCCL is used on CUDA, gloo on the CPU (so the code paths are testable
without a GPU).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands.

    Attributes:
        rank: global rank.
        local_rank: rank on this machine (the CUDA device index).
        world_size: number of processes.
        initialized: whether this module started the process group.
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    initialized: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when unset)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_distributed(device_type: str) -> DistInfo:
    """Start the process group when launched by torchrun with several processes.

    Args:
        device_type: ``"cuda"`` (NCCL, and the process's CUDA device is set to its local
            rank) or ``"cpu"`` (gloo).

    Returns:
        This process's :class:`DistInfo` (single-process defaults without torchrun).
    """
    world = env_world_size()
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if dist.is_initialized():
        return DistInfo(rank, local_rank, world, initialized=False)
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    else:
        dist.init_process_group("gloo")
    return DistInfo(rank, local_rank, world, initialized=True)


def cleanup(info: DistInfo) -> None:
    """Destroy the process group if :func:`init_distributed` created it."""
    if info.initialized and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op in a single process)."""
    if info.distributed:
        dist.barrier()


def mean_across(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Average of a tensor over the processes (a copy; the input is unchanged)."""
    out = value.detach().clone()
    if info.distributed:
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        out /= info.world_size
    return out


def any_across(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True when ``flag`` is true in any process (every process must call it)."""
    if not info.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def wrap_model(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """Wrap in DistributedDataParallel when distributed (else return ``model``)."""
    if not info.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else info.local_rank] \
        if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)
