"""A stage's settings: the CLI options and the resume rules come from the fields of its
config dataclass; merging given settings with a resumed run's; the checks every stage's
settings share.

Every field of a stage's config is a command-line option of the same name
(``steps_per_epoch`` is ``--steps-per-epoch``). Its metadata gives its resume rule:

* *fixed* (no metadata, the default): the setting defines the training trajectory, so a
  resumed run keeps the saved value and refuses a different one;
* :data:`INHERITED`: a resumed run takes the saved value unless it is given again (the
  images, the epochs, the device and other run options);
* :data:`FRESH`: never taken from the saved run (the stopping rules).

For example::

    epochs: int = field(default=5, metadata=INHERITED)
    max_steps: int | None = field(default=None, metadata=FRESH)
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import torch

#: Key of the resume rule in a field's metadata.
RESUME_KEY = "resume"
#: The resume rules.
RULES = ("fixed", "inherited", "fresh")
#: Field metadata: a resumed run takes the saved value unless it is given again.
INHERITED = MappingProxyType({RESUME_KEY: "inherited"})
#: Field metadata: a resumed run never takes the saved value.
FRESH = MappingProxyType({RESUME_KEY: "fresh"})


#: Field metadata keys of a run option's command-line flag (see :func:`run_option`).
HELP_KEY, METAVAR_KEY, CHOICES_KEY = "help", "metavar", "choices"


def run_option(default: Any, rule: str, help: str, metavar: str | None = None,
               choices: tuple[str, ...] | None = None) -> Any:
    """A :class:`RunOptions` field: its default, resume rule and what its command-line
    flag says (``blindiqa.cli.stages.add_run_options`` builds the flag from it)."""
    return dataclasses.field(default=default, metadata=MappingProxyType({
        RESUME_KEY: rule, HELP_KEY: help, METAVAR_KEY: metavar, CHOICES_KEY: choices}))


@dataclasses.dataclass
class RunOptions:
    """The run options and stopping rules every stage's config ends with.

    A stage's config is ``class XConfig(RunOptions, _XFields)``: its own fields come
    first, these last (dataclass fields follow the reversed method resolution order).

    Attributes:
        device: ``"cpu"`` or ``"cuda"`` (None: cuda when available).
        workers: DataLoader worker processes per training process (None: 0 on the CPU,
            up to 15 on CUDA).
        checkpoint_every: also checkpoint every N steps (0: only at epoch ends).
        amp: bf16 autocast (None: on for CUDA, off on the CPU).
        channels_last: channels-last memory format (None: on for CUDA).
        max_minutes: stop cleanly (checkpoint, encoder.pt) after this wall-clock time.
        max_steps: stop cleanly once this many steps are done in total.
    """

    device: str | None = run_option(
        None, "inherited", "training device (default: cuda when available)",
        choices=("cpu", "cuda"))
    workers: int | None = run_option(
        None, "inherited", "DataLoader workers per process (default: 0 on cpu, up to 15 on "
        "cuda)", metavar="N")
    checkpoint_every: int = run_option(
        0, "inherited", "also checkpoint every N steps (default: 0, at epoch ends only)",
        metavar="N")
    amp: bool | None = run_option(None, "inherited", "bf16 autocast (default: on for cuda)")
    channels_last: bool | None = run_option(
        None, "inherited", "channels-last memory format (default: on for cuda)")
    max_minutes: float | None = run_option(
        None, "fresh", "stop cleanly after M minutes (checkpoint and encoder.pt written)",
        metavar="M")
    max_steps: int | None = run_option(
        None, "fresh", "stop cleanly once N steps are done in total", metavar="N")

    def check_run_options(self) -> None:
        """Raise ``ValueError`` on impossible run options: negative ``checkpoint_every``
        or ``workers``, stopping rules or device (:func:`check_run_limits`)."""
        if self.checkpoint_every < 0 or (self.workers is not None and self.workers < 0):
            raise ValueError("checkpoint_every and workers must be >= 0")
        check_run_limits(self.max_minutes, self.max_steps, self.device)

    @property
    def resolved_device(self) -> str:
        """``device``, or cuda when available, else cpu."""
        return default_device(self.device)

    def to_json(self) -> dict[str, Any]:
        """Every setting, as ``config.json`` stores it."""
        return dataclasses.asdict(self)


def resume_rule(f: dataclasses.Field) -> str:
    """The resume rule of a config field (``"fixed"`` unless its metadata says otherwise).

    Raises:
        ValueError: an unknown rule in the metadata.
    """
    rule = f.metadata.get(RESUME_KEY, "fixed")
    if rule not in RULES:
        raise ValueError(f"field {f.name}: resume rule must be one of {RULES}, got {rule!r}")
    return rule


def option_names(config_type: Any) -> tuple[str, ...]:
    """The settings of a config dataclass (each is a command-line option), in order."""
    return tuple(f.name for f in dataclasses.fields(config_type))


def fixed_fields(config_type: Any) -> tuple[str, ...]:
    """The settings a resumed run must keep."""
    return tuple(f.name for f in dataclasses.fields(config_type)
                 if resume_rule(f) == "fixed")


def inherited_fields(config_type: Any) -> tuple[str, ...]:
    """The settings a resumed run takes from the saved run unless given again (the fixed
    ones included)."""
    return tuple(f.name for f in dataclasses.fields(config_type)
                 if resume_rule(f) != "fresh")


def merge_with_saved(given: dict[str, Any], saved: dict[str, Any] | None,
                     config_type: Any) -> dict[str, Any]:
    """Explicitly given settings over a resumed run's saved ones.

    Args:
        given: settings given on the command line (``None`` values are "not given").
        saved: the resumed run's ``config.json`` (None: a new run).
        config_type: the stage's config dataclass: its fields are the known settings and
            their metadata the resume rules.

    Returns:
        The settings: the given ones, and of the saved ones those not given that a
        resumed run inherits.

    Raises:
        ValueError: unknown settings, a resumed run given a different value of a fixed
            setting, or no training images.
    """
    unknown = set(given) - set(option_names(config_type))
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in given.items() if v is not None}
    inherited = inherited_fields(config_type)
    base = {k: v for k, v in (saved or {}).get("settings", {}).items() if k in inherited}
    if saved is not None:
        changed = [f"{k} ({base.get(k)!r} -> {given[k]!r})" for k in fixed_fields(config_type)
                   if k in given and k in base and given[k] != base[k]]
        if changed:
            raise ValueError("cannot resume with different settings: " + ", ".join(changed))
    merged = {**base, **given}
    if not merged.get("images"):
        raise ValueError("no training images given (--images)")
    return merged


def check_run_limits(max_minutes: float | None, max_steps: int | None,
                     device: str | None) -> None:
    """Raise ``ValueError`` on impossible stopping rules or device."""
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError("max_minutes must be positive")
    if max_steps is not None and max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    if device not in (None, "cpu", "cuda"):
        raise ValueError(f"device must be cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda but CUDA is not available")


def default_device(device: str | None) -> str:
    """``device``, or cuda when available, else cpu."""
    if device is not None:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"
