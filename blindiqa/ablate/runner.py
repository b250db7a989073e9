"""The ablation of the poster: what each training stage adds to the blind scorer.

Babu, Kannan, Soundararajan (WACV 2023) report, on CLIVE: synthetic only < + authentic
< + MI loss (log-likelihood q) < + MI loss (contrastive-likelihood q). The four variants:

=================  =====================================================================
``synthetic``      the Stage-1 encoder as it is (``--init``)
``authentic``      + Stage 2 without the MI term (SimSiam only)
``mi-loglik``      + Stage 2 with the CLUB penalty, ``q`` trained by likelihood
``mi-contrastive`` + Stage 2 with the CLUB penalty, ``q`` trained by contrastive likelihood
=================  =====================================================================

For each variant: train (or reuse a finished run), fit the pristine Gaussian
(:func:`blindiqa.models.fit.fit_crops`), benchmark (:func:`blindiqa.bench.run_bench`),
then write ``results.md``, ``results.json`` and ``ablation.png`` (matplotlib optional).

Layout of the output folder::

    runs/<variant>/       Stage-2 runs (train authentic): resumed if interrupted
    models/<variant>.safetensors (+ .json stamp)   fitted bundles, refitted when the
                          encoder or the pristine images change
    bench/                run_bench's folder (scores are reused where the bundle is)
    results.md, results.json, ablation.png

With ``budget_minutes`` the runs are sized to the machine: the ``synthetic`` variant is
evaluated first and timed; what remains after the three other evaluations (estimated
at the same cost) is split between the three trainings. ``mi-loglik`` trains first,
for its share of the time; ``authentic`` and ``mi-contrastive`` then train for the same
number of steps, so that the variants differ in their loss only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blindiqa.ablate.report import write_report
from blindiqa.bench import run_bench
from blindiqa.bench.datasets import load_dataset
from blindiqa.io.files import iter_image_files
from blindiqa.models.bundle import save_bundle
from blindiqa.models.crops import CropsConfig
from blindiqa.models.fit import fit_crops
from blindiqa.train.authentic import (
    AuthenticConfig,
    build_encoder,
    init_settings,
    resolve_config,
    train_authentic,
)
from blindiqa.train.checkpoint import save_encoder
from blindiqa.train.log import read_log

#: Files of a Stage-2 run directory.
ENCODER_FILE, SUMMARY_FILE, CONFIG_FILE = "encoder.pt", "summary.json", "config.json"

#: Reasons a finished run stopped (any other means it was interrupted: resume it).
FINISHED = ("done", "max_steps", "max_minutes")


@dataclass(frozen=True)
class Variant:
    """One bar of the ablation.

    Attributes:
        key: short name (run folder, bundle file, ``--variants``).
        label: the poster's wording.
        mi: ``None`` (no Stage 2) or the ``--mi`` of the Stage-2 run.
    """

    key: str
    label: str
    mi: str | None


VARIANTS: tuple[Variant, ...] = (
    Variant("synthetic", "synthetic only", None),
    Variant("authentic", "+ authentic", "none"),
    Variant("mi-loglik", "+ MI loss (log-likelihood)", "loglik"),
    Variant("mi-contrastive", "+ MI loss (contrastive likelihood)", "contrastive"),
)
VARIANT_KEYS = tuple(v.key for v in VARIANTS)


@dataclass
class AblationConfig:
    """Settings of an ablation.

    Attributes:
        init: the Stage-1 encoder (run directory, checkpoint, state dict, ``imagenet``).
        pristine: pristine images or folders (the blind scorer's corpus).
        unlabeled: unlabeled authentic photos or folders (Stage 2).
        datasets: ``(name, root)`` pairs to benchmark (e.g. ``("clive", ".../clive-dev")``).
        out: the output folder.
        encoder: network name (None: from the Stage-1 run, see
            :func:`blindiqa.train.authentic.resolve_config`).
        variants: which variants, in :data:`VARIANT_KEYS` order.
        runs: finished Stage-2 run directories to use instead of training, by variant.
        train: more :class:`blindiqa.train.authentic.AuthenticConfig` settings for every
            Stage-2 run (``epochs``, ``batch_images``, ``crop_size``, ``limit_images``,
            ``q_lr``, ``mi_weight``...).
        budget_minutes: size the runs to this wall-clock budget (None: full runs).
        limit: benchmark the first N images of each dataset only.
        pristine_limit: fit on the first N pristine images only.
        device: ``cpu`` / ``cuda`` (None: cuda when available) for training, fitting and
            scoring.
        seed: seed of the Stage-2 runs.
    """

    init: str
    pristine: list[str]
    unlabeled: list[str]
    datasets: list[tuple[str, str]]
    out: str
    encoder: str | None = None
    variants: tuple[str, ...] = VARIANT_KEYS
    runs: dict[str, str] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    budget_minutes: float | None = None
    limit: int | None = None
    pristine_limit: int | None = None
    device: str | None = None
    seed: int = 0

    def validate(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANT_KEYS]
        if unknown or not self.variants:
            raise ValueError(f"unknown variant(s) {unknown}; known: {', '.join(VARIANT_KEYS)}")
        for key in self.runs:
            if key not in VARIANT_KEYS or key == "synthetic":
                raise ValueError(f"--run takes a Stage-2 variant "
                                 f"({', '.join(VARIANT_KEYS[1:])}), got {key!r}")
            if not (Path(self.runs[key]) / ENCODER_FILE).is_file():
                raise ValueError(f"{self.runs[key]} holds no {ENCODER_FILE}")
        if not self.datasets:
            raise ValueError("no dataset to benchmark (--dataset NAME=ROOT)")
        if not self.pristine:
            raise ValueError("no pristine images (--pristine)")
        if any(v != "synthetic" and v not in self.runs for v in self.variants) and \
                not self.unlabeled:
            raise ValueError("no unlabeled photos for Stage 2 (--unlabeled)")
        if self.budget_minutes is not None and not self.budget_minutes > 0:
            raise ValueError("budget_minutes must be positive")
        for name in ("limit", "pristine_limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")

        fields = {f.name for f in dataclasses.fields(AuthenticConfig)}
        bad = set(self.train) - fields
        if bad:
            raise ValueError(f"unknown training settings: {', '.join(sorted(bad))}")


@dataclass
class VariantResult:
    """What one variant gave.

    Attributes:
        variant: the variant.
        metrics: ``{dataset: {"n", "srcc", "plcc", "krcc"}}``.
        steps: Stage-2 steps trained (0 for ``synthetic``).
        epochs: Stage-2 epochs trained.
        train_minutes: wall-clock minutes of training (this and earlier sessions).
        mi: last logged CLUB estimate (nats), if any.
        simsiam: last logged SimSiam loss, if any.
        feat_std: last logged collapse check, if any.
        eval_minutes: minutes of fitting and scoring (this session).
        run_dir: the Stage-2 run directory, if any.
        reused: the run was finished before this session.
        stopped: why the Stage-2 run ended (``"done"``: all its epochs; ``"max_steps"`` /
            ``"max_minutes"``: cut by the budget), None for ``synthetic``.
    """

    variant: Variant
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    steps: int = 0
    epochs: float = 0.0
    train_minutes: float = 0.0
    mi: float | None = None
    simsiam: float | None = None
    feat_std: float | None = None
    eval_minutes: float = 0.0
    run_dir: str | None = None
    reused: bool = False
    stopped: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["variant"] = dataclasses.asdict(self.variant)
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VariantResult:
        """The inverse of :meth:`to_json` (fields missing from older files keep their
        defaults)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"variant"}
        return cls(Variant(**data["variant"]), **{k: v for k, v in data.items() if k in names})


# ---------------------------------------------------------------------------- helpers


def _digest(items: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    p = Path(run_dir) / SUMMARY_FILE
    try:
        return json.loads(p.read_text()) if p.is_file() else None
    except ValueError:
        return None


def run_is_finished(run_dir: str | os.PathLike) -> bool:
    """A run whose ``summary.json`` says it stopped by design (not killed or diverged)."""
    s = read_summary(run_dir)
    return bool(s) and s.get("stopped") in FINISHED and (Path(run_dir) / ENCODER_FILE).is_file()


def _train_minutes(run_dir: Path) -> float:
    """Wall-clock minutes over the sessions of a run (from its CSV log)."""

    rows = read_log(run_dir / "log.csv")
    return sum(float(r["step_s"]) for r in rows if r.get("step_s")) / 60.0


def _last_logged(run_dir: Path, key: str, steps: int = 10) -> float | None:
    """Mean of ``key`` over the last ``steps`` logged steps (None where never logged)."""

    values = [float(r[key]) for r in read_log(run_dir / "log.csv") if r.get(key)]
    return sum(values[-steps:]) / len(values[-steps:]) if values else None


def _stamp(encoder_file: str | None, pristine: list[str], cfg_json: dict[str, Any]
           ) -> dict[str, Any]:
    stamp: dict[str, Any] = {"pristine": _digest(pristine), "n_pristine": len(pristine),
                             "config": cfg_json}
    if encoder_file is not None:
        st = Path(encoder_file).stat()
        stamp.update(encoder=os.fspath(Path(encoder_file).resolve()), size=st.st_size,
                     mtime_ns=st.st_mtime_ns)
    return stamp


# ------------------------------------------------------------------------------ main


class _Echo:
    def __init__(self, echo: Callable[[str], None] | None) -> None:
        self.echo = echo or (lambda m: print(m, file=sys.stderr, flush=True))

    def __call__(self, msg: str) -> None:
        self.echo(f"[ablate] {msg}")


def run_ablation(cfg: AblationConfig, echo: Callable[[str], None] | None = None,
                 progress: bool = False) -> list[VariantResult]:
    """Run the ablation (resumable: finished pieces are reused) and write the report.

    Args:
        cfg: the settings.
        echo: where progress lines go (default stderr).
        progress: progress bars for training and scoring.

    Returns:
        One :class:`VariantResult` per variant, in :data:`VARIANTS` order.

    Raises:
        ValueError: bad settings, or a budget too small for even the evaluations.
    """

    cfg.validate()
    say = _Echo(echo)
    t_start = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    weights, stage1 = init_settings(cfg.init)
    base = resolve_config({"images": cfg.unlabeled or ["-"], "init": cfg.init,
                           "encoder": cfg.encoder, "seed": cfg.seed,
                           "device": cfg.device, **cfg.train}, out / "runs" / "_", False)
    encoder = str(base.encoder)
    layer, normalization = base.resolved_layer, base.resolved_normalization
    pristine = [os.fspath(p) for p, _ in iter_image_files(cfg.pristine)]
    if cfg.pristine_limit is not None:
        pristine = pristine[:cfg.pristine_limit]
    if not pristine:
        raise ValueError(f"no pristine images in {', '.join(cfg.pristine)}")
    datasets = [load_dataset(root, name) for name, root in cfg.datasets]
    wanted = [v for v in VARIANTS if v.key in cfg.variants]
    say(f"{encoder} ({layer}, normalization {normalization}) from {weights}; "
        f"{len(pristine)} pristine images; datasets "
        + ", ".join(f"{d.name} ({min(len(d), cfg.limit or len(d))} images)" for d in datasets)
        + f"; variants {', '.join(v.key for v in wanted)}"
        + (f"; budget {cfg.budget_minutes:g} min" if cfg.budget_minutes else ""))

    results: dict[str, VariantResult] = {}

    def evaluate(variant: Variant, encoder_file: str | None) -> VariantResult:
        t0 = time.perf_counter()
        res = results.setdefault(variant.key, VariantResult(variant))
        model_path = fit_variant(variant.key, encoder_file, encoder, layer, normalization,
                                 pristine, out, say, progress)
        res.metrics = bench_variant(model_path, datasets, out, cfg.device, cfg.limit,
                                    progress)
        res.eval_minutes = (time.perf_counter() - t0) / 60.0
        say(f"{variant.key}: " + "; ".join(
            f"{name} SRCC {m['srcc']:.4f} PLCC {m['plcc']:.4f} (n={m['n']})"
            for name, m in res.metrics.items()) + f" [{res.eval_minutes:.1f} min to fit "
            "and score]")
        write_report(out, [results[v.key] for v in VARIANTS if v.key in results],
                     _report_context(cfg, encoder, layer, normalization, weights, pristine,
                                     t_start))
        return res

    # 1. the Stage-1 encoder as it is
    eval_minutes = None
    if any(v.key == "synthetic" for v in wanted):
        init_file = None if weights == "imagenet" else materialise_init(weights, base, out)
        eval_minutes = evaluate(VARIANTS[0], init_file).eval_minutes

    # 2. the Stage-2 variants
    stage2 = [v for v in wanted if v.mi is not None]
    to_train = [v for v in stage2 if v.key not in cfg.runs
                and not run_is_finished(out / "runs" / v.key)]
    per_run = None
    if cfg.budget_minutes is not None and to_train:
        elapsed = (time.perf_counter() - t_start) / 60.0
        est_eval = eval_minutes if eval_minutes is not None else 0.2 * cfg.budget_minutes
        left = cfg.budget_minutes - elapsed - est_eval * len(stage2) * 1.1
        per_run = left / len(to_train)
        if per_run < 0.25:
            raise ValueError(
                f"a budget of {cfg.budget_minutes:g} min is too small: one evaluation takes "
                f"{est_eval:.1f} min, leaving {max(0.0, left):.1f} min for "
                f"{len(to_train)} training run(s); raise --budget-minutes or lower --limit / "
                "--pristine-limit")
        say(f"budget: {per_run:.1f} min of training per Stage-2 variant")
    ordered = sorted(stage2, key=lambda v: (v.key != "mi-loglik", VARIANT_KEYS.index(v.key)))
    matched_steps: int | None = None
    for variant in ordered:
        res = results.setdefault(variant.key, VariantResult(variant))
        run_dir = Path(cfg.runs.get(variant.key) or out / "runs" / variant.key)
        res.run_dir = os.fspath(run_dir)
        if variant.key in cfg.runs or run_is_finished(run_dir):
            res.reused = True
            say(f"{variant.key}: reusing the finished run {run_dir}")
        else:
            limits: dict[str, Any] = {}
            if per_run is not None:
                limits["max_minutes"] = per_run
                if matched_steps is not None:
                    limits = {"max_steps": matched_steps, "max_minutes": per_run * 1.5}
            train_variant(variant, run_dir, cfg, limits, progress, say)
        summary = read_summary(run_dir) or {}
        res.steps = int(summary.get("step", 0))
        res.epochs = float(summary.get("epoch", 0.0))
        res.train_minutes = _train_minutes(run_dir)
        res.mi = _last_logged(run_dir, "mi")
        res.simsiam = _last_logged(run_dir, "simsiam")
        res.feat_std = _last_logged(run_dir, "feat_std")
        res.stopped = summary.get("stopped")
        if variant.key == "mi-loglik" and per_run is not None:
            matched_steps = max(1, res.steps)
        evaluate(variant, os.fspath(run_dir / ENCODER_FILE))

    final = [results[v.key] for v in VARIANTS if v.key in results]
    write_report(out, final, _report_context(cfg, encoder, layer, normalization, weights,
                                             pristine, t_start))
    say(f"wrote {out / 'results.md'} in {(time.perf_counter() - t_start) / 60:.1f} min")
    return final


def _report_context(cfg: AblationConfig, encoder: str, layer: str, normalization: str,
                    weights: str, pristine: list[str], t_start: float) -> dict[str, Any]:
    return {"encoder": encoder, "layer": layer, "normalization": normalization,
            "init": weights, "pristine_images": len(pristine),
            "budget_minutes": cfg.budget_minutes, "limit": cfg.limit,
            "train": cfg.train, "seed": cfg.seed, "unlabeled": cfg.unlabeled,
            "wall_minutes": round((time.perf_counter() - t_start) / 60.0, 2),
            "datasets": [{"name": n, "root": r} for n, r in cfg.datasets]}


def materialise_init(weights: str, base: Any, out: Path) -> str:
    """The Stage-1 weights as a file (a seeded random init is written once)."""
    if weights != "random":
        return weights

    path = out / "runs" / "synthetic-random-init.pt"
    if not path.is_file():
        save_encoder(path, build_encoder(base).network.state_dict())
    return os.fspath(path)


def train_variant(variant: Variant, run_dir: Path, cfg: AblationConfig,
                  limits: dict[str, Any], progress: bool, say: Callable[[str], None]) -> None:
    """Train (or resume) the Stage-2 run of a variant."""

    resume = (run_dir / "checkpoint.pt").is_file()
    given = {"images": cfg.unlabeled, "init": cfg.init, "encoder": cfg.encoder,
             "mi": variant.mi, "seed": cfg.seed, "device": cfg.device, **cfg.train, **limits}
    if resume:  # settings come from the run; only the stopping rules are new
        given = {k: v for k, v in given.items() if k in ("max_minutes", "max_steps")}
    tcfg = resolve_config(given, run_dir, resume)
    say(f"{variant.key}: {'resuming' if resume else 'training'} in {run_dir} "
        + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in limits.items()))
    result = train_authentic(tcfg, run_dir, resume=resume, progress=progress,
                             echo=lambda m: say(f"{variant.key}: {m}"))
    if result.stopped not in FINISHED:
        raise RuntimeError(f"the {variant.key} run stopped early ({result.stopped}); rerun "
                           "to resume it")


def fit_variant(key: str, encoder_file: str | None, encoder: str, layer: str,
                normalization: str, pristine: list[str], out: Path,
                say: Callable[[str], None], progress: bool = False) -> Path:
    """Fit (or reuse) the bundle of a variant; a refit drops its old bench scores.

    Fitting runs on the CPU (as ``blindiqa fit-pristine``); the bundle is reused while
    its stamp (encoder file, pristine images, feature settings) is unchanged.
    """

    fcfg = CropsConfig(encoder=encoder, layers=(layer,), normalization=normalization,
                       weights="pretrained" if encoder_file is None else "bundle")
    path = out / "models" / f"{key}.safetensors"
    stamp_path = path.with_suffix(".json")
    stamp = _stamp(encoder_file, pristine, fcfg.to_json())
    if path.is_file() and stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text()) == stamp:
                return path
        except ValueError:
            pass
    say(f"{key}: fitting the pristine model on {len(pristine)} images")
    model = fit_crops(pristine, fcfg, checkpoint_path=encoder_file, name=key,
                      progress=progress)
    tensors, meta = model.bundle_contents()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_bundle(path, tensors, meta)
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
    scores = out / "bench" / "scores"
    if scores.is_dir():
        for f in scores.glob(f"{key}__*"):
            f.unlink()
    return path


def bench_variant(model_path: Path, datasets: list[Any], out: Path, device: str | None,
                  limit: int | None, progress: bool = False) -> dict[str, dict[str, float]]:
    """Benchmark one bundle on every dataset (run_bench's resumable score files)."""

    bench_dir = out / "bench"
    results = run_bench([model_path], datasets, bench_dir, device=device, limit=limit,
                        quiet=not progress, plots=False)
    return {r.dataset: {"n": r.n, "srcc": r.srcc, "plcc": r.plcc, "krcc": r.krcc}
            for r in results}


def clean(out: str | os.PathLike, what: Sequence[str] = ("models", "bench")) -> None:
    """Remove the fitted bundles and scores (runs are kept) to force a re-evaluation."""
    for name in what:
        shutil.rmtree(Path(out) / name, ignore_errors=True)
