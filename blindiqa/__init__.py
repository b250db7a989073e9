"""blindiqa: completely blind (opinion-unaware) image quality assessment.

>>> import blindiqa
>>> model = blindiqa.load("default")
>>> scores = model.score(["a.jpg", "b.jpg"])   # lower is better
"""

from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.models.load import load
from blindiqa.models.registry import create_model, list_models

__version__ = "0.1.0"

__all__ = ["ModelInfo", "QualityModel", "__version__", "create_model", "list_models", "load"]
