"""Why a photo scores as it does: a small probe on the frozen window descriptors that
estimates how strongly each family of distortion is present.

- :mod:`~blindiqa.reasons.families`: the six families and which synthetic distortion
  types make each;
- :mod:`~blindiqa.reasons.features`: an image and its window descriptors -> the
  probe's input;
- :mod:`~blindiqa.reasons.probe`: the probe, its fitting and its weight file;
- :mod:`~blindiqa.reasons.dataset`: the training set of distorted pristine photos.

Trained on synthetic distortions of pristine photos only (no opinion scores); see
``docs/reasons.md`` for its accuracy and where it fails.
"""

from blindiqa.reasons.families import FAMILIES, TYPE_FAMILY, family_of
from blindiqa.reasons.features import PIXEL_STATS, pixel_stats, pooled_descriptors, probe_input
from blindiqa.reasons.probe import ProbeConfig, ReasonProbe, fit_probe, load_probe, save_probe

__all__ = [
    "FAMILIES",
    "PIXEL_STATS",
    "TYPE_FAMILY",
    "ProbeConfig",
    "ReasonProbe",
    "family_of",
    "fit_probe",
    "load_probe",
    "pixel_stats",
    "pooled_descriptors",
    "probe_input",
    "save_probe",
]
