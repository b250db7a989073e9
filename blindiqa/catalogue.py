"""The built-in scorers and bundle kinds, and the modules that register them.

Each model module registers its named scorers and bundle kinds with
:mod:`blindiqa.models.registry` when it is imported (as ``timm.models`` does). This
module knows which module registers which name, and imports them on demand:
``blindiqa/__init__`` gives the registry :func:`register_builtins` as its loader, and
the registry's lookups call it (:func:`~blindiqa.models.registry.ensure_builtins`). Looking
up ``default`` imports the one-pass model's modules only; listing the models, or a name
this table does not know, imports them all. The imports still run one way (catalogue ->
model modules -> registry); this module itself is light (no torch).
"""

from __future__ import annotations

import importlib

#: Every module that registers built-ins, in the order a full load imports them.
MODEL_MODULES = (
    "blindiqa.models.crops",
    "blindiqa.models.one_pass",
    "blindiqa.models.shipped",
    "blindiqa.baselines.niqe",
    "blindiqa.baselines.ilniqe",
)

#: Scorer name or bundle kind -> the module that registers it when imported (a test
#: checks that this covers everything a full load registers).
BUILTINS: dict[str, str] = {
    "default": "blindiqa.models.shipped",
    "contentsep": "blindiqa.models.shipped",
    "niqe": "blindiqa.baselines.niqe",
    "ilniqe": "blindiqa.baselines.ilniqe",
    "one-pass": "blindiqa.models.one_pass",
    "dense-gaussian": "blindiqa.models.one_pass",  # one-pass's old name
    "crops": "blindiqa.models.crops",
    "gaussian-distance": "blindiqa.models.crops",  # crops' old name
}


def register_builtins(key: str | None = None) -> bool:
    """Import the module that registers ``key`` (a scorer name or bundle kind), or, for
    ``None`` or a key not in :data:`BUILTINS`, every module of :data:`MODEL_MODULES`.

    Returns:
        True when every built-in is now registered, False when only ``key``'s module was
        imported.
    """
    module = BUILTINS.get(key) if key is not None else None
    if module is not None:
        importlib.import_module(module)
        return False
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return True


__all__ = ["BUILTINS", "MODEL_MODULES", "register_builtins"]
