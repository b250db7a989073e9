"""The six families of distortion the reasons probe estimates, and the synthetic types
(KADID-10k's 25) that make each.

KADID-10k groups its types in seven families; ours map onto six: ``brightness`` becomes
``exposure`` and also takes ``contrast_change`` (a tone curve, like brightening and
darkening); ``color`` is spelt ``colour``. ``high_sharpen`` (over-sharpening, KADID's
``sharpness`` family with ``contrast_change``) is in none: it is the opposite of blur and
no family asked for fits it, so the probe is neither trained on it nor asked about it.
"""

from __future__ import annotations

from blindiqa.distortions import DISTORTIONS

#: The families, in the order of the probe's outputs and of the ``reason_*`` columns.
FAMILIES: tuple[str, ...] = ("blur", "noise", "compression", "exposure", "colour", "spatial")

_RENAME = {"brightness": "exposure", "color": "colour"}
_SPECIAL: dict[str, str | None] = {"contrast_change": "exposure", "high_sharpen": None}

#: distortion type name -> reasons family (None: not in any family).
TYPE_FAMILY: dict[str, str | None] = {
    d.name: _SPECIAL[d.name] if d.name in _SPECIAL else _RENAME.get(d.family, d.family)
    for d in DISTORTIONS
}


def family_of(name: str) -> str | None:
    """The reasons family of distortion type ``name`` (None where it has none).

    Raises:
        ValueError: ``name`` is not a distortion type.
    """
    if name not in TYPE_FAMILY:
        raise ValueError(f"unknown distortion type {name!r}")
    return TYPE_FAMILY[name]


def family_types(family: str) -> list[str]:
    """The distortion types of ``family``, in KADID-10k's order.

    Raises:
        ValueError: ``family`` is not one of :data:`FAMILIES`.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    return [n for n, f in TYPE_FAMILY.items() if f == family]
