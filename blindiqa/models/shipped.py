"""Models whose bundles ship inside the package (``blindiqa/weights``)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from safetensors import safe_open

from blindiqa.models import crops  # noqa: F401  (registers the kind of contentsep's file)
from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.models.load import load_file
from blindiqa.models.one_pass import BUNDLE_KINDS as ONE_PASS_KINDS
from blindiqa.models.registry import ModelEntry, bundle_options, register_model

WEIGHTS_DIR = Path(str(resources.files("blindiqa.weights")))

#: name -> (bundle file, description)
SHIPPED: dict[str, tuple[str, str]] = {
    "default": ("default.safetensors",
                "the recommended scorer: untrained ImageNet EfficientNet-Lite features from "
                "one pass over the whole image, pristine Gaussian fitted on the pristine "
                "corpus"),
    "contentsep": ("contentsep.safetensors",
                   "the paper's formulation: 96-px crops at stride 48, each through the "
                   "encoder, untrained ImageNet EfficientNet-Lite2 stage 4 (the default "
                   "before the one-pass engine; score trained encoders with it as published)"),
}


def shipped_path(filename: str) -> Path:
    return WEIGHTS_DIR / filename


def _header(path: Path) -> tuple[int, dict]:
    """A bundle's feature size and metadata, read from its header in one opening."""
    with safe_open(str(path), framework="pt") as f:
        dim = int(f.get_slice("pristine.mean").get_shape()[0])
        return dim, json.loads((f.metadata() or {}).get("metadata", "{}"))


def _describe(filename: str, meta: dict) -> str:
    cfg = meta.get("config", {})
    layers = cfg.get("layers") or cfg.get("taps") or []
    if "taps" in cfg:  # one-pass engine: say how large photos are treated
        side = cfg.get("max_side", 0)
        engine = f", one pass, long side <= {side} px" if side else ", one pass, native size"
    else:
        engine = f", {cfg.get('patch_size')}-px crops"
    return (f"shipped bundle {filename}: {cfg.get('encoder')} [{'+'.join(layers)}]"
            f" {cfg.get('weights')}, norm={cfg.get('normalization')}{engine}")


def _factory(name: str, filename: str):
    def factory(**options) -> QualityModel:
        model = load_file(shipped_path(filename), **options)
        model.name = name
        return model

    return factory


for _name, (_file, _desc) in SHIPPED.items():
    _path = shipped_path(_file)
    if _path.is_file():
        _dim, _meta = _header(_path)
        register_model(ModelEntry(info=ModelInfo(name=_name, feature_dim=_dim,
                                                 weights=_describe(_file, _meta),
                                                 description=_desc),
                                  factory=_factory(_name, _file),
                                  options=bundle_options(_meta["kind"]),
                                  differentiable=_meta.get("kind") in ONE_PASS_KINDS))
