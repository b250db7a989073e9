"""blindiqa: completely blind (opinion-unaware) image quality assessment.

>>> import blindiqa
>>> model = blindiqa.load("default")
>>> scores = model.score(["a.jpg", "b.jpg"])   # lower is better
"""

import blindiqa.catalogue  # noqa: F401  (registers the built-in scorers)
from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.models.load import load
from blindiqa.models.registry import create_model, is_model, list_models
from blindiqa.version import __version__

__all__ = ["ModelInfo", "QualityModel", "__version__", "create_model", "is_model",
           "list_models", "load"]
