"""What a stage's config dataclass says about its settings: the CLI options and the
resume rules come from its fields.

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

#: Key of the resume rule in a field's metadata.
RESUME_KEY = "resume"
#: The resume rules.
RULES = ("fixed", "inherited", "fresh")
#: Field metadata: a resumed run takes the saved value unless it is given again.
INHERITED = MappingProxyType({RESUME_KEY: "inherited"})
#: Field metadata: a resumed run never takes the saved value.
FRESH = MappingProxyType({RESUME_KEY: "fresh"})


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
