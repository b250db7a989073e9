"""Joining or starting Ray, quietly: the set-up shared by scoring on Ray
(:mod:`blindiqa.scoring.ray`) and fitting on Ray (:mod:`blindiqa.distributed.fit`).

Ray is an optional dependency (``pip install "blindiqa[ray]"``); it is imported only
when these functions run.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["connect", "import_ray", "quiet_data"]


def import_ray() -> Any:
    """The ``ray`` module (with Ray Data); ``ImportError`` naming the extra if absent."""
    try:
        import ray
        import ray.data  # noqa: F401  (the Data library is part of the extra)
    except ImportError as exc:
        raise ImportError('Ray is not installed: pip install "blindiqa[ray]"') from exc
    return ray


def quiet_data(verbose: bool = False) -> None:
    """Make Ray Data quiet in this process (``verbose`` restores its defaults): no
    progress bars or progress log lines, no execution plan at the start, and only errors
    on the console (its log files keep everything)."""
    import_ray()
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = verbose
    if hasattr(ctx, "print_on_execution_start"):  # newer Ray versions
        ctx.print_on_execution_start = verbose
    level = logging.INFO if verbose else logging.ERROR
    for handler in logging.getLogger("ray.data").handlers:
        if handler.get_name() == "console":
            handler.setLevel(level)


def connect(address: str | None = None, *, verbose: bool = False, **init_args: Any) -> None:
    """Start or join Ray (``ray.init``) unless this process already is connected.

    Args:
        address: ``"auto"``, ``"ray://head:10001"`` ...; None uses ``RAY_ADDRESS`` where
            set, else starts a local instance.
        verbose: Ray's own logs on the console (worker output, Ray Data progress and
            plans, the dashboard); else only errors (:func:`quiet_data`).
        **init_args: more ``ray.init`` arguments (e.g. ``num_cpus`` locally); they win
            over the quiet settings.
    """
    ray = import_ray()
    if not ray.is_initialized():
        if not verbose:
            init_args = {"log_to_driver": False, "include_dashboard": False,
                         "logging_level": logging.ERROR, **init_args}
        ray.init(address=address, ignore_reinit_error=True, **init_args)
    quiet_data(verbose)
