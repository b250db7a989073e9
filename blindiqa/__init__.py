"""blindiqa: completely blind (opinion-unaware) image quality assessment.

>>> import blindiqa
>>> model = blindiqa.load("default")
>>> scores = model.score(["a.jpg", "b.jpg"])   # lower is better
>>> metric = blindiqa.create_metric("default")  # an nn.Module over (B, 3, H, W) tensors

``import blindiqa`` is cheap: it imports no torch, scipy or model. The names that need
them (``load``, ``QualityModel``, ``ModelInfo``, ``create_metric``, ``list_metrics``,
``QualityMetric``) are imported on first access (PEP 562),
and the built-in scorers are registered on the registry's first lookup (see
:mod:`blindiqa.models.registry`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from blindiqa.lazy import lazy_exports
from blindiqa.models import registry as _registry
from blindiqa.models.registry import create_model, is_model, list_models
from blindiqa.version import __version__

if TYPE_CHECKING:
    from blindiqa.metric import QualityMetric, create_metric, list_metrics
    from blindiqa.models.base import ModelInfo, QualityModel
    from blindiqa.models.load import load

__all__ = ["ModelInfo", "QualityMetric", "QualityModel", "__version__", "create_metric",
           "create_model", "is_model", "list_metrics", "list_models", "load"]

#: name -> the module that defines it, imported on first access.
_LAZY = {
    "ModelInfo": "blindiqa.models.base",
    "QualityModel": "blindiqa.models.base",
    "load": "blindiqa.models.load",
    "QualityMetric": "blindiqa.metric",
    "create_metric": "blindiqa.metric",
    "list_metrics": "blindiqa.metric",
}


def _register_builtins(key: str | None = None) -> bool:
    """:func:`blindiqa.catalogue.register_builtins`, imported on first use."""
    return importlib.import_module("blindiqa.catalogue").register_builtins(key)


_registry.set_builtins_loader(_register_builtins)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
