"""End-to-end scoring throughput and peak memory of blindiqa's models on JPEG photos.

Usage (from the repository root)::

    python benchmarks/throughput.py                       # default, niqe, ilniqe; 3 sizes
    python benchmarks/throughput.py --model niqe --sizes 4000x3000 --repeats 5
    python benchmarks/throughput.py --device cpu --workers 2 --threads 2 --out tp.md
    python benchmarks/throughput.py --quick               # a tiny smoke run

For every size (``WIDTHxHEIGHT``) it writes real JPEG files (quality 90) into a temporary
folder: pristine photos of ``../shared/data/pristine`` (``--pristine``) resized to cover
the size and centre-cropped, or synthetic photos where that folder is absent. Each
(device, model, size) is then measured in a fresh Python process (this script with the
hidden ``--child`` option), so that one measurement's memory never leaks into the next:

* the model is loaded and warmed up on one file (not timed);
* ``--repeats`` runs score all the files of that size end to end through the library's
  file-scoring path, ``blindiqa.scoring.score_files`` (decoding included, in
  ``--workers`` processes); images/s is the median over the runs. The warm-up and the
  runs are one stream (one ``score_files`` call), as ``blindiqa score`` scores a folder:
  its decoding workers start once;
* the decoding alone (``blindiqa.io.decode.decode_image`` to 8-bit pixels, at the
  reduced size a model with ``decode_max_side`` asks for, in the process) is timed
  the same way, to show how much of an image's time it takes;
* peak RSS is the measuring process's peak resident size (``VmHWM`` on Linux, else
  ``ru_maxrss``: model, decoded images, scoring); the decoding workers' is reported
  apart (``RUSAGE_CHILDREN``: the largest worker), since a forked worker's RSS also
  counts the pages it shares with the main process (torch and the rest), so adding the
  two would overstate the total.

Each child sets up its process as ``blindiqa score`` does: ``GOMP_SPINCOUNT=1000``
before torch loads (:func:`blindiqa.runtime.limit_openmp_spinning`; ``--spin passive``
measures ``OMP_WAIT_POLICY=PASSIVE`` instead, ``--spin default`` OpenMP's default, idle
threads that spin 300,000 turns before they sleep) and ``blindiqa.load`` keeps freed
memory for reuse. ``--busy N`` runs N busy-looping
processes beside every measurement, as a second job or a noisy neighbour would: the
speed that holds on a machine that is not quiet. ``--compare REF`` measures the code of
an older commit in the same run, beside the current code.

Devices: ``cpu``, plus ``cuda`` where ``torch.cuda.is_available()`` (``--device`` to
choose). The header gives the machine (CPU model, cores, torch version, threads) and its
reference speed: a 2048x2048 float32 matmul with torch, in GFLOP/s (median of 5).
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PRISTINE = REPO.parent / "shared" / "data" / "pristine"
DEFAULT_MODELS = ("default", "niqe", "ilniqe")
DEFAULT_SIZES = ((500, 500), (1024, 768), (4000, 3000))
QUICK_SIZES = ((160, 128),)
JPEG_QUALITY = 90
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: --spin: the OpenMP waiting settings of the measuring process ("short" is what the
#: blindiqa command sets, blindiqa.runtime.SPIN_SETTINGS, written out rather than
#: imported: the measuring process may run an older commit's package (--compare), and
#: a test checks the two agree).
SPIN_ENV = {"short": {"GOMP_SPINCOUNT": "1000"}, "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
            "default": {}}
COLUMNS = ("model", "device", "size", "workers", "images", "images/s", "images/s per core",
           "s/image", "decode s/image",
           "peak RSS (MB)", "worker peak RSS (MB)")


# --------------------------------------------------------------------------- options
def parse_size(text: str) -> tuple[int, int]:
    """``"WIDTHxHEIGHT"`` -> ``(width, height)``.

    Raises:
        argparse.ArgumentTypeError: not two positive integers joined by ``x``.
    """
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a size is WIDTHxHEIGHT, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, got {text!r}")
    return w, h


def parse_sizes(values: Sequence[str]) -> list[tuple[int, int]]:
    """Sizes given as several arguments and/or comma-separated lists."""
    return [parse_size(part) for value in values for part in value.split(",") if part.strip()]


def default_images_per_run(width: int, height: int) -> int:
    """Files per size: 20 up to 0.5 Mpixel (500x500), 10 up to 2 Mpixel, else 3."""
    pixels = width * height
    if pixels <= 500_000:
        return 20
    return 10 if pixels <= 2_000_000 else 3


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(
        description="Images/s and peak RSS of blindiqa's models, end to end on JPEG files.")
    p.add_argument("--model", action="append", metavar="NAME",
                   help="a model name or bundle file (repeatable; default: "
                        f"{', '.join(DEFAULT_MODELS)})")
    p.add_argument("--sizes", nargs="+", metavar="WxH",
                   help="photo sizes, e.g. 500x500,1024x768 (default: 500x500 1024x768 "
                        "4000x3000)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed runs per measurement, the median is reported (default 3)")
    p.add_argument("--device", action="append", choices=("cpu", "cuda"),
                   help="repeatable (default: cpu, and cuda where available)")
    p.add_argument("--batch-size", type=int, default=8, metavar="B",
                   help="score_files' batch_size where it has one, else its prefetch "
                        "(default 8, as 'blindiqa score')")
    p.add_argument("--workers", type=int, nargs="+", default=[1], metavar="W",
                   help="decoding worker processes; several values give a sweep, one row "
                        "each (default 1, as 'blindiqa score')")
    p.add_argument("--threads", type=int, default=None, metavar="T",
                   help="torch / BLAS threads (default: torch's default)")
    p.add_argument("--images-per-run", type=int, default=None, metavar="N",
                   help="files per size (default: 20 for 500x500, 10 for 1024x768, 3 for "
                        "4000x3000)")
    p.add_argument("--pristine", type=Path, default=PRISTINE,
                   help="folder of photos to make the JPEG files from (default: "
                        "../shared/data/pristine; synthetic photos where absent)")
    p.add_argument("--out", type=Path, default=None, help="also write the report here")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: one tiny size, 1 run of 2 files (explicit options win)")
    p.add_argument("--ray", type=int, nargs="+", default=None, metavar="C",
                   help="also score each size through blindiqa.distributed.score_with_ray "
                        "with C actors on a local Ray instance (a row '<model> (ray xC)' per "
                        "value; the steady-state rate: the files are scored twice, a quarter "
                        "and all, and the difference is timed, so actor start and model "
                        "loading cancel out)")
    p.add_argument("--spin", choices=tuple(SPIN_ENV), default="short",
                   help="how OpenMP's idle threads wait in the measuring process: short "
                        "(GOMP_SPINCOUNT=1000, what 'blindiqa score' sets), passive "
                        "(OMP_WAIT_POLICY=PASSIVE) or default (OpenMP's own)")
    p.add_argument("--compare", nargs="+", default=[], metavar="REF",
                   help="also measure the code of these git commits (extracted with 'git "
                        "archive' into the temporary folder; rows named 'MODEL @ REF'), "
                        "in the same run: before and after on the same machine")
    p.add_argument("--compare-spin", choices=tuple(SPIN_ENV), default="default",
                   help="--spin for the --compare rows (default: default, OpenMP's own, as "
                        "the blindiqa command of commits before 2026-12-06 left it)")
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="busy-looping processes running beside each measurement (default 0)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p


# --------------------------------------------------------------------------- photos
def _sources(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _photo(source: Path | None, width: int, height: int, seed: int) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 photo: ``source`` resized to cover and centre-cropped,
    or (``source`` None) a synthetic one: smooth structure plus texture."""
    from PIL import Image

    if source is not None:
        with Image.open(source) as im:
            im = im.convert("RGB")
            scale = max(width / im.width, height / im.height)
            size = (max(width, round(im.width * scale)), max(height, round(im.height * scale)))
            if size != im.size:
                im = im.resize(size, Image.Resampling.BICUBIC)
            left, top = (im.width - width) // 2, (im.height - height) // 2
            return np.asarray(im.crop((left, top, left + width, top + height)))
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    base = 0.5 + 0.3 * np.sin(12 * xx + 5 * yy + seed)[..., None] * np.array([1.0, 0.8, 0.6])
    noisy = base + 0.05 * rng.standard_normal((height, width, 3))
    return np.clip(noisy * 255.0, 0, 255).astype(np.uint8)


def write_photos(folder: Path, width: int, height: int, count: int,
                 pristine: Path) -> list[Path]:
    """Write ``count`` JPEG photos (quality 90) of ``width x height`` into ``folder``.

    Returns:
        The files, in order.
    """
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    sources = _sources(pristine)
    stride = max(1, len(sources) // max(count, 1))
    files = []
    for i in range(count):
        source = sources[(i * stride) % len(sources)] if sources else None
        path = folder / f"{width}x{height}_{i:03d}.jpg"
        Image.fromarray(_photo(source, width, height, i)).save(path, quality=JPEG_QUALITY)
        files.append(path)
    return files


def extract_commit(ref: str, folder: Path) -> Path:
    """The files of git commit ``ref`` of this repository, written into ``folder``.

    Raises:
        SystemExit: ``ref`` is not a commit of this repository.
    """
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"--compare {ref}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


# --------------------------------------------------------------------------- machine
def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Measured speed of an ``n x n`` float32 matmul with torch on the CPU (median).

    Args:
        n: matrix side.
        repeats: timed products (after one warm-up).

    Returns:
        GFLOP/s, counting ``2 n^3`` operations per product.
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(times) / 1e9


def copy_gbps(megabytes: int = 256, repeats: int = 5) -> float:
    """Measured memory bandwidth: a ``megabytes`` float32 tensor copied into another with
    torch (median of ``repeats``), in GB/s counting the bytes read and written.

    The encoder's depthwise convolutions and the maps between layers are bound by memory
    more than by arithmetic; this figure, beside the matmul's, tells a machine whose
    memory is slow or shared (it varied from run to run on the project's machines while
    the matmul did not).
    """
    import torch

    n = megabytes * (1 << 20) // 4
    src, dst = torch.ones(n), torch.empty(n)
    dst.copy_(src)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        dst.copy_(src)
        times.append(time.perf_counter() - t0)
    return 2 * n * 4 / statistics.median(times) / 1e9


def machine_lines(threads: int | None, gflops: float, matmul_repeats: int) -> list[str]:
    """The header: machine, threads and reference matmul speed."""
    import torch

    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    cuda = (f", CUDA: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "")
    try:
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return [
        f"Machine: {cpu_model()}, {usable} usable of {cores} cores, torch {torch.__version__}, "
        f"{threads if threads else torch.get_num_threads()} threads{cuda}{load}",
        f"Reference: 2048x2048 float32 matmul (torch, CPU): {gflops:.1f} GFLOP/s "
        f"(median of {matmul_repeats}); 256 MB copy: {copy_gbps():.1f} GB/s",
    ]


# --------------------------------------------------------------------------- one measurement
@dataclass
class Measurement:
    """The outcome of one (device, model, size) measurement.

    Attributes:
        model: model name.
        device: ``cpu`` or ``cuda``.
        size: ``WIDTHxHEIGHT``.
        images: files scored per run.
        workers: decoding worker processes (local rows) or Ray actors (Ray rows).
        images_per_s: median images/s over the runs (end to end).
        decode_s: median seconds to decode one file (in the process).
        peak_rss_mb: peak RSS of the measuring process.
        worker_rss_mb: peak RSS of its largest decoding worker (None without workers).
        runs_s: seconds of each timed run.
        error: why the measurement failed (or the first scoring error), else None.
    """

    model: str
    device: str
    size: str
    images: int
    workers: int = 0
    images_per_s: float | None = None
    decode_s: float | None = None
    peak_rss_mb: float | None = None
    worker_rss_mb: float | None = None
    runs_s: list[float] | None = None
    error: str | None = None


def _score_kwargs(score_files, batch_size: int, workers: int) -> dict[str, int]:
    """``workers`` and the batch size under the name ``score_files`` takes it by."""
    params = inspect.signature(score_files).parameters
    kwargs = {"workers": workers}
    if "batch_size" in params:
        kwargs["batch_size"] = batch_size
    elif "prefetch" in params:
        kwargs["prefetch"] = batch_size
    return kwargs


def _vm_hwm_kb() -> int | None:
    """This process's peak resident size since its ``exec`` (``VmHWM``, kB; Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _peak_rss_mb() -> tuple[float, float | None]:
    """Peak RSS (MB) of this process and of its largest waited-for child (None if none).

    On Linux ``ru_maxrss`` survives ``exec``: a measuring process started by this script
    would report at least this script's own peak (the matmul and copy references), so
    the process's ``VmHWM`` is used where there is one.
    """
    scale = 1024.0 if sys.platform != "darwin" else 1.0  # kB on Linux, bytes on macOS
    hwm = _vm_hwm_kb()
    own = hwm * 1024.0 if hwm is not None else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own / 1e6, (children * scale / 1e6 if children else None)


def measure(spec: dict) -> Measurement:
    """Run one measurement in this process (the ``--child`` side).

    Args:
        spec: ``model``, ``device``, ``size``, ``files``, ``repeats``, ``batch_size``,
            ``workers`` and ``threads`` (None for torch's default).

    Returns:
        The measurement; a failure is reported in ``error``, never raised.
    """
    import torch  # run_child put the --spin setting in the environment

    import blindiqa
    from blindiqa.io.decode import decode_image
    from blindiqa.scoring import score_files

    files = [Path(f) for f in spec["files"]]
    out = Measurement(spec.get("label", spec["model"]), spec["device"], spec["size"],
                      len(files), workers=spec["workers"])
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    try:
        model = blindiqa.load(spec["model"], device=spec["device"])
        items = [(f, f.name) for f in files]
        kwargs = _score_kwargs(score_files, spec["batch_size"], spec["workers"])
        # one stream, as 'blindiqa score' scores a folder: the decoding workers start
        # once (forking a process whose heap is large costs copy-on-write faults after)
        stream = score_files(model, items[:1] + items * spec["repeats"], **kwargs)
        records = [next(stream)]  # warm-up
        runs = []
        for _ in range(spec["repeats"]):
            t0 = time.perf_counter()
            records = [next(stream) for _ in items]
            runs.append(time.perf_counter() - t0)
        stream.close()
        decode = []
        side = getattr(model, "decode_max_side", 0)  # what score_files decodes at
        decode_one = (lambda f: decode_image(f, as_uint8=True, max_side=side)) if side \
            else (lambda f: decode_image(f, as_uint8=True))
        for _ in range(spec["repeats"]):
            t0 = time.perf_counter()
            for f in files:
                decode_one(f)
            decode.append((time.perf_counter() - t0) / len(files))
    except Exception as exc:  # reported in the table, the other measurements go on
        out.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        out.peak_rss_mb, out.worker_rss_mb = _peak_rss_mb()
        return out
    failed = [r for r in records if r.error is not None]
    if failed:
        out.error = f"{len(failed)} of {len(records)} failed, e.g. {failed[0].error}"[:200]
    out.runs_s = runs
    out.images_per_s = len(files) / statistics.median(runs)
    out.decode_s = statistics.median(decode)
    out.peak_rss_mb, out.worker_rss_mb = _peak_rss_mb()
    return out


def run_child(spec: dict) -> Measurement:
    """:func:`measure` in a fresh Python process (this script with ``--child``)."""
    env = dict(os.environ)
    for var in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY"):
        env.pop(var, None)
    env.update(SPIN_ENV[spec.get("spin", "short")])
    if spec.get("source"):  # a --compare commit's package first on the path
        env["PYTHONPATH"] = os.pathsep.join([spec["source"], env.get("PYTHONPATH", "")])
    if spec["threads"]:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(spec["threads"])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(spec.get("busy", 0))]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        return Measurement(**json.loads(lines[-1]))
    tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return Measurement(spec.get("label", spec["model"]), spec["device"], spec["size"],
                       len(spec["files"]), error=f"the measuring process failed: {tail}"[:200])


def measure_ray(model: str, device: str, size: str, files: Sequence[Path],
                concurrency: int) -> Measurement:
    """Score ``files`` through :func:`blindiqa.distributed.score_with_ray`, steady state.

    Ray must be initialised already. Each call starts its actors and loads a model in
    each, which takes seconds; so the files are scored twice, the first quarter and then
    all of them, and the rate is that of the difference (the start-up cancels out). The
    run times are kept in ``runs_s`` (quarter, all).
    """
    label = f"{model} (ray x{concurrency})"
    out = Measurement(label, device, size, len(files), workers=concurrency)
    try:
        from blindiqa.scoring import score_with_ray

        times, rows = [], []
        part = max(1, len(files) // 4)
        for subset in (files[:part], files):
            start = time.perf_counter()
            rows = score_with_ray([str(f) for f in subset], model, concurrency=concurrency,
                                  num_gpus_per_worker=1 if device == "cuda" else 0,
                                  ).take_all()
            times.append(time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - a failed row, never a failed benchmark
        out.error = f"{type(exc).__name__}: {exc}"[:200]
        return out
    extra = times[1] - times[0]
    out.runs_s = times
    out.images_per_s = (len(files) - part) / extra if extra > 0 and len(files) > part \
        else len(files) / times[1]
    failed = [r["error"] for r in rows if r["error"]]
    if failed:
        out.error = f"{len(failed)} file(s) failed: {failed[0]}"[:200]
    return out


def _ray_rows(args: argparse.Namespace, devices: Sequence[str], models: Sequence[str],
              photos: dict[tuple[int, int], list[Path]]) -> list[Measurement]:
    import ray

    ray.init(num_cpus=max(max(args.ray), 1), include_dashboard=False,
             ignore_reinit_error=True, log_to_driver=False)
    try:
        return [measure_ray(model, device, f"{w}x{h}", files, c)
                for device in devices for model in models for (w, h), files in photos.items()
                for c in args.ray]
    finally:
        ray.shutdown()


# --------------------------------------------------------------------------- report
def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def available_cores() -> int:
    """The CPU cores this process may run on (images/s per core divides by them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def markdown_table(rows: Sequence[Measurement]) -> str:
    """The measurements as a Markdown table (columns :data:`COLUMNS`, plus notes)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    notes = []
    cores = available_cores()
    for r in rows:
        ips = r.images_per_s
        cells = [r.model, r.device, r.size, str(r.workers), str(r.images), _fmt(ips, 2),
                 _fmt(ips / cores if ips else None, 2),
                 _fmt(1.0 / ips if ips else None, 3), _fmt(r.decode_s, 3),
                 _fmt(r.peak_rss_mb, 0), _fmt(r.worker_rss_mb, 0)]
        if r.error:
            notes.append(f"- {r.model} / {r.device} / {r.size}: {r.error}")
            cells[0] += f" [{len(notes)}]"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        0, or 1 when some measurement failed (its row says why).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("repeats", "batch_size", "threads", "images_per_run"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.workers) < 0:
        parser.error("--workers must be 0 or more")
    if args.busy < 0:
        parser.error("--busy must be 0 or more")
    if args.ray is not None and min(args.ray) < 1:
        parser.error("--ray must be at least 1")
    if args.child is not None:
        print(json.dumps(asdict(measure(json.loads(args.child)))))
        return 0

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = parse_sizes(args.sizes) if args.sizes else list(
        QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeats = args.repeats or (1 if args.quick else 3)
    models = args.model or list(DEFAULT_MODELS)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    matmul_repeats = 1 if args.quick else 5
    header = machine_lines(args.threads, matmul_gflops(repeats=matmul_repeats), matmul_repeats)
    print("\n".join(header), flush=True)

    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="blindiqa-throughput-") as tmp:
        photos = {}
        for w, h in sizes:
            count = args.images_per_run or (2 if args.quick else default_images_per_run(w, h))
            photos[(w, h)] = write_photos(Path(tmp) / f"{w}x{h}", w, h, count, args.pristine)
        sources = [(None, "")] + [(extract_commit(ref, Path(tmp) / f"src-{i}"), f" @ {ref}")
                                  for i, ref in enumerate(args.compare)]
        for device, model, (w, h), workers, (source, suffix) in itertools.product(
                devices, models, photos, args.workers, sources):
            files = photos[(w, h)]
            spec = {"model": model, "label": model + suffix, "device": device,
                    "size": f"{w}x{h}", "files": [str(f) for f in files], "repeats": repeats,
                    "batch_size": args.batch_size, "workers": workers,
                    "threads": args.threads,
                    "spin": args.spin if source is None else args.compare_spin,
                    "busy": args.busy, "source": None if source is None else str(source)}
            rows.append(run_child(spec))
            r = rows[-1]
            print(f"  {device} {model}{suffix} {w}x{h} workers={workers}: "
                  + (f"{r.images_per_s:.2f} images/s" if r.images_per_s else r.error),
                  file=sys.stderr, flush=True)
        if args.ray:
            rows += _ray_rows(args, devices, models, photos)

    spin = " ".join(f"{k}={v}" for k, v in SPIN_ENV[args.spin].items()) or "OpenMP's default"
    settings = (f"Settings: OpenMP waiting: {spin}, {args.busy} busy process(es) "
                f"beside each measurement, "
                f"workers={','.join(map(str, args.workers))} (decoding processes; "
                f"Ray rows: actors, steady-state rate), {available_cores()} cores, "
                f"batch size={args.batch_size}, "
                f"{repeats} run(s) per measurement (median), JPEG quality {JPEG_QUALITY}, "
                f"decoding included; worker RSS includes pages shared with the main process.")
    report = "\n".join(header + [settings, "", markdown_table(rows)])
    print()
    print("\n".join([settings, "", markdown_table(rows)]))
    if args.out is not None:
        args.out.write_text(report + "\n")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
