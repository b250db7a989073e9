"""The reasons probe: pooled window descriptors -> how strongly each family of
distortion is present, and its weight file.

A small regressor (linear, or one hidden ReLU layer) on standardised inputs, with one
output per family of :data:`~blindiqa.reasons.families.FAMILIES`: the estimated level of
that family's distortion, 0 (absent) to 5 (KADID-10k's strongest level). Fitted by
full-batch Adam on the squared error, seeded, so the same data gives the same probe.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from blindiqa.distortions import NUM_LEVELS
from blindiqa.head.model import init_linear_layers
from blindiqa.reasons.families import FAMILIES

#: The ``kind`` in a probe file's metadata.
PROBE_KIND = "reasons-probe"
#: Engine settings that change the window descriptors: a probe only reads descriptors
#: computed with the same values.
ENGINE_KEYS = ("encoder", "taps", "normalization", "weights", "grid_stride", "window",
               "window_fraction", "window_stride", "window_shape", "group_norm")


@dataclass(frozen=True)
class ProbeConfig:
    """The shape of a :class:`ReasonProbe`.

    Attributes:
        in_dim: width of the input (twice the descriptor width: mean and std).
        hidden: width of the hidden layer; 0: a linear probe.
        families: the outputs, in order.
    """

    in_dim: int
    hidden: int = 0
    families: tuple[str, ...] = FAMILIES

    def __post_init__(self) -> None:
        if self.in_dim < 1 or self.hidden < 0:
            raise ValueError(f"probe widths must be positive (hidden may be 0), got "
                             f"in_dim={self.in_dim}, hidden={self.hidden}")
        if not self.families or len(set(self.families)) != len(self.families):
            raise ValueError(f"probe families must be distinct and not empty, got "
                             f"{self.families}")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "families": list(self.families)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProbeConfig:
        unknown = sorted(set(d) - {"in_dim", "hidden", "families"})
        if unknown:
            raise ValueError(f"unknown probe setting(s) {', '.join(unknown)}")
        return cls(**{**d, "families": tuple(d.get("families", FAMILIES))})


class ReasonProbe(nn.Module):
    """Pooled descriptors ``(N, in_dim)`` -> family strengths ``(N, families)``.

    Args:
        config: the probe's shape.
        engine: the engine settings (``OnePassConfig.to_json()``) of the descriptors it
            reads; None: unknown (no check).
        generator: seeds the initial weights.
    """

    def __init__(self, config: ProbeConfig, engine: dict[str, Any] | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        self.engine = dict(engine) if engine is not None else None
        n_out = len(config.families)
        if config.hidden:
            self.layers = nn.Sequential(nn.Linear(config.in_dim, config.hidden), nn.ReLU(),
                                        nn.Linear(config.hidden, n_out))
        else:
            self.layers = nn.Sequential(nn.Linear(config.in_dim, n_out))
        self.register_buffer("input_mean", torch.zeros(config.in_dim))
        self.register_buffer("input_std", torch.ones(config.in_dim))
        init_linear_layers(self.layers, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs (not clipped) of ``(N, in_dim)`` inputs."""
        if x.ndim != 2 or x.shape[1] != self.config.in_dim:
            raise ValueError(f"the probe takes (N, {self.config.in_dim}) inputs, got shape "
                             f"{tuple(x.shape)}")
        return self.layers((x.float() - self.input_mean) / self.input_std)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Family strengths ``(N, families)``, clipped to ``[0, 5]`` (float64)."""
        return self(x).clamp(0.0, float(NUM_LEVELS)).double()

    def check_engine(self, engine: dict[str, Any]) -> None:
        """Raise ``ValueError`` unless descriptors of ``engine`` settings suit the probe."""
        if self.engine is None:
            return
        differ = [k for k in ENGINE_KEYS if _norm(self.engine.get(k)) != _norm(engine.get(k))]
        if differ:
            raise ValueError("the reasons probe was trained on descriptors of other engine "
                             f"settings ({', '.join(differ)} differ)")


def _norm(v: Any) -> Any:
    return list(v) if isinstance(v, tuple | list) else v


def fit_probe(x: torch.Tensor, y: torch.Tensor, *, hidden: int = 0, epochs: int = 2000,
              lr: float = 1e-2, weight_decay: float = 1e-3, seed: int = 0,
              engine: dict[str, Any] | None = None) -> ReasonProbe:
    """Fit a probe on inputs ``x (N, in_dim)`` and targets ``y (N, families)`` (levels
    0..5), full-batch, seeded.

    Raises:
        ValueError: shapes that disagree, fewer than 2 samples, or bad settings.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"inputs {tuple(x.shape)} and targets {tuple(y.shape)} disagree")
    if x.shape[0] < 2:
        raise ValueError("need at least 2 samples to fit a probe")
    if y.shape[1] != len(FAMILIES):
        raise ValueError(f"targets need one column per family ({len(FAMILIES)}), got "
                         f"{y.shape[1]}")
    if epochs < 1 or lr <= 0 or weight_decay < 0:
        raise ValueError(f"bad fitting settings: epochs={epochs}, lr={lr}, "
                         f"weight_decay={weight_decay}")
    gen = torch.Generator().manual_seed(seed)
    probe = ReasonProbe(ProbeConfig(in_dim=x.shape[1], hidden=hidden), engine, generator=gen)
    x, y = x.float(), y.float()
    probe.input_mean.copy_(x.mean(0))
    probe.input_std.copy_(x.std(0, unbiased=False).clamp_min(1e-6))
    opt = torch.optim.Adam(probe.layers.parameters(), lr=lr, weight_decay=weight_decay)
    probe.train()
    for _ in range(epochs):
        opt.zero_grad()
        loss = ((probe(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return probe.eval()


def save_probe(probe: ReasonProbe, path: str | Path,
               training: dict[str, Any] | None = None) -> Path:
    """Write the probe to a ``.safetensors`` file (weights and metadata: its shape, the
    engine settings and ``training``, what it was trained on)."""
    path = Path(path)
    meta = {"kind": PROBE_KIND, "probe": probe.config.to_json(), "engine": probe.engine,
            "training": training or {}}
    tensors = {k: v.detach().contiguous().float() for k, v in probe.state_dict().items()}
    save_file(tensors, str(path), metadata={"metadata": json.dumps(meta, sort_keys=True)})
    return path


def load_probe(path: str | Path) -> ReasonProbe:
    """Read a probe written by :func:`save_probe`.

    Raises:
        ValueError: the file is not a reasons probe.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no reasons probe file at {path}")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("metadata", "{}"))
    if meta.get("kind") != PROBE_KIND:
        raise ValueError(f"{path} is not a reasons probe (kind {meta.get('kind')!r})")
    probe = ReasonProbe(ProbeConfig.from_json(meta["probe"]), meta.get("engine"))
    probe.load_state_dict(load_file(str(path)))
    probe.training_info = meta.get("training", {})
    return probe.eval()


#: The shipped probe's file name in ``blindiqa/weights``.
SHIPPED_PROBE = "reasons.safetensors"


@functools.lru_cache(maxsize=1)
def shipped_probe() -> ReasonProbe:
    """The probe that ships in ``blindiqa/weights`` (read once), trained by
    ``benchmarks/train_reasons.py`` on the shipped default's descriptors.

    Raises:
        ValueError: the file is missing (a broken install).
    """
    from importlib import resources

    return load_probe(Path(str(resources.files("blindiqa.weights"))) / SHIPPED_PROBE)
