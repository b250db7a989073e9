"""Pristine fits on many workers: Ray tasks or ``torchrun`` processes.

Every fit (the one-pass ``pristine`` model, ``niqe``, ``ilniqe``) lists its images once
(the plan); each worker reduces its share of them to sufficient statistics (count, sum
and sum of outer products, float64: :class:`~blindiqa.gaussian.FitShare`); the shares
are merged by addition and the fit is finished from the merged statistics, by the same
code as the single-process fit, which is the one share of all the images. The results
agree to rounding (the sums are added in another order).

Ray::

    from blindiqa.distributed.fit import fit_with_ray
    fit_with_ray("niqe", ["photos/"], "niqe.safetensors", workers=8)

torchrun (each process takes the images ``rank, rank + world, ...``; gloo backend)::

    torchrun --nproc_per_node 4 -m blindiqa.distributed.fit niqe photos/ --out niqe.safetensors
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch.distributed as dist

from blindiqa.baselines import ilniqe, niqe
from blindiqa.distributed.cluster import connect, import_ray
from blindiqa.gaussian.share import FitShare, merge_shares
from blindiqa.models.bundle import save_bundle
from blindiqa.models.fit import (
    fit_files,
    one_pass_encoder,
    one_pass_model,
    one_pass_pristine_stats,
    one_pass_provenance,
    require_samples,
)
from blindiqa.onepass import OnePassConfig

__all__ = ["KINDS", "fit_share", "fit_torchrun", "fit_with_ray", "finish_fit", "main",
           "plan_fit"]

#: What can be fitted: the one-pass deep-feature model, NIQE and IL-NIQE.
KINDS = ("pristine", "niqe", "ilniqe")
#: The settings each kind's workers take (the rest only finish the fit).
_SHARE_SETTINGS = {"pristine": ("config", "checkpoint_path"),
                   "niqe": ("block_size", "sharpness_threshold"),
                   "ilniqe": ("sharpness_threshold",)}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown fit {kind!r}; choose one of {', '.join(KINDS)}")


def _baseline(kind: str) -> Any:
    return niqe if kind == "niqe" else ilniqe


def plan_fit(kind: str, dirs: Sequence[str | os.PathLike]) -> list[Any]:
    """The images a fit of ``kind`` reads, in order (the same on every worker)."""
    _check_kind(kind)
    if kind == "pristine":
        return fit_files(dirs)
    return _baseline(kind).fit_plan(dirs)


def _pristine_config(settings: dict[str, Any]) -> Any:
    return settings.get("config") or OnePassConfig()


def fit_share(kind: str, plan: Sequence[Any], indices: Sequence[int],
              settings: dict[str, Any]) -> FitShare:
    """Reduce the images ``plan[i]``, ``i`` in ``indices``, to the statistics of a fit.

    Args:
        kind: ``"pristine"``, ``"niqe"`` or ``"ilniqe"``.
        plan: from :func:`plan_fit`.
        indices: this worker's images.
        settings: the fit's settings (see :func:`fit_with_ray`).
    """
    _check_kind(kind)
    given = {k: v for k, v in settings.items() if k in _SHARE_SETTINGS[kind]}
    if kind != "pristine":
        return _baseline(kind).fit_share(plan, indices, **given)
    _, encoder = one_pass_encoder(_pristine_config(settings), settings.get("checkpoint_path"))
    share: FitShare | None = None
    for i in indices:  # image by image, as the single-process fit adds them
        stats, prov = one_pass_pristine_stats(encoder, [plan[i]], minimum=0)
        one = FitShare(stats, [i] if prov["images"] else [],
                       [(i, text) for text in prov["skipped"]])
        share = one if share is None else share + one
    if share is None:
        share = FitShare(one_pass_pristine_stats(encoder, [], minimum=0)[0])
    return share


def finish_fit(kind: str, plan: Sequence[Any], share: FitShare,
               dirs: Sequence[str | os.PathLike], out: str | os.PathLike | None,
               settings: dict[str, Any]) -> Any:
    """Finish a fit from the merged share of all its images.

    Returns:
        ``pristine``: the fitted :class:`~blindiqa.models.one_pass.OnePassModel`
        (also saved to ``out`` when given); ``niqe`` / ``ilniqe``: the metadata of the
        bundle written to ``out``.
    """
    _check_kind(kind)
    if kind != "pristine":
        if out is None:
            raise ValueError(f"a {kind} fit needs out= (the bundle to write)")
        keys = ("block_size", "sharpness_threshold", "reserved_ratio", "dtype")
        given = {k: v for k, v in settings.items() if k in keys}
        return _baseline(kind).fit_finish(plan, share, out, dirs, **given)
    checkpoint = settings.get("checkpoint_path")
    config, encoder = one_pass_encoder(_pristine_config(settings), checkpoint)
    require_samples(share.stats, "window")
    prov = one_pass_provenance(config, share.stats, len(share.used),
                               [text for _, text in share.skipped])
    model = one_pass_model(encoder, share.stats, prov, dirs, checkpoint,
                           settings.get("name", "model"))
    if out is not None:
        save_bundle(out, *model.bundle_contents())
    return model


def _split(n: int, workers: int) -> list[list[int]]:
    return [list(range(k, n, workers)) for k in range(workers) if k < n]


def fit_with_ray(kind: str, dirs: Sequence[str | os.PathLike],
                 out: str | os.PathLike | None = None, *, workers: int = 2,
                 num_cpus_per_worker: float = 1, address: str | None = None,
                 **settings: Any) -> Any:
    """Fit with Ray tasks, each reducing the images ``k, k + workers, ...``.

    Args:
        kind: ``"pristine"``, ``"niqe"`` or ``"ilniqe"``.
        dirs: folders or image files (the same paths on every node).
        out: the bundle to write (required for ``niqe`` / ``ilniqe``).
        workers: Ray tasks.
        num_cpus_per_worker: CPUs each task reserves.
        address: the cluster (see :func:`blindiqa.distributed.cluster.connect`).
        **settings: ``pristine``: ``config`` (an :class:`~blindiqa.onepass.OnePassConfig`,
            default the shipped recipe), ``checkpoint_path``, ``name``; ``niqe``:
            ``block_size``, ``sharpness_threshold``; ``ilniqe``: ``sharpness_threshold``,
            ``reserved_ratio``, ``dtype``.

    Returns:
        As :func:`finish_fit`.
    """
    ray = import_ray()
    connect(address)
    plan = plan_fit(kind, dirs)
    task = ray.remote(num_cpus=num_cpus_per_worker)(fit_share)
    plan_ref = ray.put(plan)
    shares = ray.get([task.remote(kind, plan_ref, part, settings)
                      for part in _split(len(plan), max(1, workers))])
    return finish_fit(kind, plan, merge_shares(shares), dirs, out, settings)


def fit_torchrun(kind: str, dirs: Sequence[str | os.PathLike],
                 out: str | os.PathLike | None = None, **settings: Any) -> Any:
    """Fit in each process of a ``torchrun`` (or any ``torch.distributed``) group.

    Each rank reduces the images ``rank, rank + world, ...``; the shares are gathered
    (``all_gather_object`` on gloo) and rank 0 finishes and writes the fit. A process
    group is started from the ``torchrun`` environment unless one exists.

    Returns:
        On rank 0 as :func:`finish_fit`; None on the other ranks.
    """
    own = not dist.is_initialized()
    if own:
        dist.init_process_group("gloo")
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        plan = plan_fit(kind, dirs)
        share = fit_share(kind, plan, list(range(rank, len(plan), world)), settings)
        shares: list[Any] = [None] * world
        dist.all_gather_object(shares, share)
        result = None
        if rank == 0:
            result = finish_fit(kind, plan, merge_shares(shares), dirs, out, settings)
        dist.barrier()
        return result
    finally:
        if own:
            dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m blindiqa.distributed.fit KIND DIR... --out FILE`` (under torchrun)."""
    p = argparse.ArgumentParser(prog="python -m blindiqa.distributed.fit",
                                description="fit NIQE, IL-NIQE or a one-pass pristine "
                                            "model in each process of a torchrun")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--config", metavar="JSON", help="pristine: an OnePassConfig as JSON "
                                                    "(default: the shipped recipe)")
    p.add_argument("--encoder-checkpoint", metavar="FILE", help="pristine: encoder weights")
    args = p.parse_args(argv)
    settings: dict[str, Any] = {}
    if args.config:
        settings["config"] = OnePassConfig.from_json(json.loads(Path(args.config).read_text()))
    if args.encoder_checkpoint:
        settings["checkpoint_path"] = args.encoder_checkpoint
    try:
        fit_torchrun(args.kind, args.dirs, args.out, **settings)
    except ValueError as exc:
        print(f"blindiqa: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
