"""Imports the modules that register the built-in scorers."""

import importlib
import importlib.util

for _mod in ("blindiqa.models.gaussian_model", "blindiqa.models.dense_model",
             "blindiqa.models.shipped",
             "blindiqa.baselines.niqe",
             "blindiqa.baselines.ilniqe"):
    if importlib.util.find_spec(_mod) is not None:
        importlib.import_module(_mod)
