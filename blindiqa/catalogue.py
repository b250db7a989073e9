"""The built-in scorers: importing this module registers every one of them.

Each model module registers its named scorers and bundle kinds with
:mod:`blindiqa.models.registry` when it is imported; this module imports them all, once
and eagerly, as ``timm.models`` does. ``import blindiqa`` imports it, so the registry is
complete before any ``blindiqa`` module can be used, while the registry itself imports no
model (the imports run one way: catalogue -> model modules -> registry).
"""

from blindiqa.baselines import ilniqe, niqe
from blindiqa.models import dense_model, gaussian_model, shipped

#: The modules that register built-in scorers or bundle kinds.
MODEL_MODULES = (gaussian_model, dense_model, shipped, niqe, ilniqe)

__all__ = ["MODEL_MODULES"]
