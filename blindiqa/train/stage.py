"""The protocol of a training stage, as :func:`blindiqa.train.run.train_stage` drives it.

The loop of :mod:`blindiqa.train.run` owns what every stage does alike: the run
directory and resume, the learning-rate schedule, restoring the optimiser, the scheduler
and the RNG, the data loader, checkpoints, the log, the progress report and the
summary. A :class:`Stage` keeps only what is its own: how many images a step takes, the
model and its optimiser (:meth:`Stage.build`), its data, its step, its extra checkpoint
state, and its log columns. :func:`init_encoder` makes the encoder both stages start from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch
from torch import nn
from torch.utils.data import Dataset

from blindiqa.crops import FeatureExtractor
from blindiqa.encoders import create_network
from blindiqa.train.distributed import DistInfo


class RunConfig(Protocol):
    """The settings every stage's config dataclass has (see :mod:`blindiqa.train.settings`
    for the resume rules of its fields)."""

    images: list[str]
    epochs: int
    steps_per_epoch: int | None
    schedule: str
    seed: int
    workers: int | None
    checkpoint_every: int
    amp: bool | None
    channels_last: bool | None
    max_minutes: float | None
    max_steps: int | None

    @property
    def resolved_device(self) -> str: ...

    def validate(self) -> None: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass
class RunSetup:
    """What the loop has settled before a stage builds its parts.

    Attributes:
        cfg: the stage's config, ``steps_per_epoch`` resolved.
        out: the run directory.
        info: the process group.
        device: this process's training device.
        amp: bf16 autocast on.
        channels_last: channels-last memory format on.
        files: the training images.
        digest: hash of their names (:func:`blindiqa.train.run.images_digest`).
        steps_per_epoch: steps per epoch.
        total_steps: steps of the whole run.
        start_step: steps already done (a resumed run).
        workers: DataLoader workers per process.
    """

    cfg: Any
    out: Path
    info: DistInfo
    device: torch.device
    amp: bool
    channels_last: bool
    files: list[Path]
    digest: str
    steps_per_epoch: int
    total_steps: int
    start_step: int
    workers: int


def _unchanged(batch: Any) -> Any:
    return batch


@dataclass
class StageParts:
    """What a stage builds for a run.

    Attributes:
        network: the encoder network; its state dict is the checkpoint's ``model`` entry
            and ``encoder.pt``.
        optimizer: its optimiser (the loop adds the learning-rate schedule).
        step: ``(batch, step) -> metrics`` does optimisation step ``step`` (0-based) and
            returns the stage's :attr:`Stage.metrics` as scalar tensors (the loop
            averages them over the processes and steps the scheduler).
        dataset: items addressed by :class:`blindiqa.train.data.SceneSampler`.
        collate: the DataLoader's ``collate_fn``.
        record: the run's ``config.json``; the loop adds ``sessions``, and ``settings``,
            ``num_images`` and ``images_digest`` (which resuming checks) at the end
            unless the stage placed them.
        message: the line said when the run starts.
        crops_per_step: crops of one step over all processes (for crops/s).
        prepare: applied to each batch inside the data-time measurement (e.g. to the
            device).
        state: more checkpoint entries: objects with ``state_dict`` /
            ``load_state_dict`` (saved and restored by the loop), or None (saved as
            None).
    """

    network: nn.Module
    optimizer: torch.optim.Optimizer
    step: Callable[[Any, int], dict[str, torch.Tensor]]
    dataset: Dataset
    collate: Callable[[list[Any]], Any]
    record: dict[str, Any]
    message: str
    crops_per_step: int
    prepare: Callable[[Any], Any] = _unchanged
    state: dict[str, Any] = field(default_factory=dict)


class Stage:
    """A training stage: what differs between Stage 1 and Stage 2.

    Attributes:
        name: the stage (``"synthetic"``, ``"authentic"``), also the progress label.
        log_fields: the columns of ``log.csv``.
        metrics: the names of a step's metrics, ``"loss"`` among them; each is a column.
        blank_nan: log NaN metrics as empty cells (metrics a run does not compute).
    """

    name: ClassVar[str]
    log_fields: ClassVar[tuple[str, ...]]
    metrics: ClassVar[tuple[str, ...]] = ("loss",)
    blank_nan: ClassVar[bool] = False

    def images_per_step(self, cfg: Any) -> int:
        """Images one step takes over all processes."""
        raise NotImplementedError

    def select_images(self, cfg: Any, found: Sequence[tuple[Path, str]]
                      ) -> list[tuple[Path, str]]:
        """The ``(path, name)`` pairs to train on, of those found (default: all)."""
        return list(found)

    def build(self, setup: RunSetup) -> StageParts:
        """Make the model, its optimiser, the data and the step for a run (the loop
        restores a resumed run's state into them afterwards)."""
        raise NotImplementedError

    def postfix(self, metrics: dict[str, float]) -> str:
        """The metrics shown by the progress report."""
        return f"loss={metrics['loss']:.4f}"

    def summary(self, setup: RunSetup, last: dict[str, float]) -> dict[str, Any]:
        """Entries of ``summary.json`` after the common ones (``last``: the last step's
        metrics)."""
        return {}


def init_encoder(encoder: str, weights: str, layer: str, normalization: str, seed: int
                 ) -> FeatureExtractor:
    """The network a stage trains, pooled at one layer.

    Args:
        encoder: registry name of the network.
        weights: ``"imagenet"`` (its ImageNet weights), ``"random"`` (a random
            initialisation drawn after seeding torch with ``seed``) or a state-dict file.
        layer: the feature layer whose pooled output is the embedding.
        normalization: input normalisation (:data:`blindiqa.encoders.NORMALIZATIONS`).
        seed: torch's global seed, set before the network is made.
    """
    torch.manual_seed(seed)
    if weights == "imagenet":
        net = create_network(encoder, pretrained=True)
    elif weights == "random":
        net = create_network(encoder)
    else:
        net = create_network(encoder, checkpoint_path=weights)
    return FeatureExtractor(net, (layer,), normalization)
