"""The built-in scorers: importing this module registers every one of them.

Each model module registers its named scorers and bundle kinds with
:mod:`blindiqa.models.registry` when it is imported; this module imports them all, as
``timm.models`` does. Nothing imports it at start-up: ``blindiqa/__init__`` gives the
registry a loader that imports it, and the registry runs that loader on its first lookup
(:func:`~blindiqa.models.registry.ensure_builtins`), so the registry is complete whenever
it is asked while ``import blindiqa`` stays free of torch; the registry itself imports no
model (the imports run one way: catalogue -> model modules -> registry).
"""

from blindiqa.baselines import ilniqe, niqe
from blindiqa.models import dense_model, gaussian_model, shipped

#: The modules that register built-in scorers or bundle kinds.
MODEL_MODULES = (gaussian_model, dense_model, shipped, niqe, ilniqe)

__all__ = ["MODEL_MODULES"]
