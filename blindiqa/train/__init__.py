"""Training of encoders: Stage 1, synthetic contrastive pre-training.

:func:`train_synthetic` runs (or resumes) a run described by a :class:`SyntheticConfig`;
:mod:`blindiqa.train.data` makes the scenes, :mod:`blindiqa.train.checkpoint` saves and
restores the full state, :mod:`blindiqa.train.distributed` holds the torchrun / DDP
helpers and :mod:`blindiqa.train.log` the CSV log.
"""

from blindiqa.train.synthetic import (
    SyntheticConfig,
    TrainResult,
    resolve_config,
    train_synthetic,
)

__all__ = ["SyntheticConfig", "TrainResult", "resolve_config", "train_synthetic"]
