"""Training of encoders: Stage 1, synthetic contrastive pre-training, and Stage 2,
authentic fine-tuning (Babu et al., WACV 2023).

:func:`train_synthetic` runs (or resumes) a run described by a :class:`SyntheticConfig`
(:mod:`blindiqa.train.synthetic`); :func:`blindiqa.train.authentic.train_authentic` one
described by an :class:`~blindiqa.train.authentic.AuthenticConfig`. Both go through the
one loop of :mod:`blindiqa.train.run`, driven by the :class:`~blindiqa.train.stage.Stage`
protocol; :mod:`blindiqa.train.settings` gives the resume rules of the config fields,
:mod:`blindiqa.train.data` makes the scenes, :mod:`blindiqa.train.checkpoint` saves and
restores the full state, :mod:`blindiqa.train.distributed` holds the torchrun / DDP
helpers and :mod:`blindiqa.train.log` the CSV log. docs/training.md has the overview and
the measurements behind the Stage-2 defaults.
"""

from blindiqa.train.synthetic import (
    SyntheticConfig,
    TrainResult,
    resolve_config,
    train_synthetic,
)

__all__ = ["SyntheticConfig", "TrainResult", "resolve_config", "train_synthetic"]
