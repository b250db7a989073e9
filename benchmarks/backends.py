"""The default model's encoder pass on three CPU inference backends: torch, ONNX Runtime,
OpenVINO.

Usage (from the repository root)::

    pip install onnx onnxruntime openvino      # the backends measured beside torch
    python benchmarks/backends.py              # 512x512 and 768x1024, 2 threads
    python benchmarks/backends.py --sizes 512x512 --threads 1 --repeats 30

The network measured is what ``blindiqa score`` runs for the shipped ``default``: the
folded, channels-last EfficientNet-Lite2 of :mod:`blindiqa.onepass.fused`, from the
normalised, padded image to its four tapped maps. It is exported once to ONNX (opset
17, height and width dynamic) into a temporary folder; ONNX Runtime runs that file with
all graph optimisations, OpenVINO compiles it for the CPU in float32 with the latency
hint. Each backend gets the same input; the calls are interleaved (torch, ORT, OpenVINO,
torch, ...) so that a change in the machine's load hits all of them alike, and the
median is reported with the largest deviation of each backend's maps from torch's
(relative to the map's largest magnitude). A backend that is not installed is listed
as such. Nothing here is used at scoring time: it decides whether one would be.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import cpu_model, matmul_gflops, parse_sizes  # noqa: E402

DEFAULT_SIZES = ("512x512", "768x1024")


def _tap_module(model) -> tuple[torch.nn.Module, tuple[str, ...]]:
    """The default model's folded network as a module returning its taps in order."""
    runner, taps = model.encoder.runner, model.config.taps

    class Taps(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.runner = runner

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.runner.forward_features(x, taps)
            return tuple(out[t] for t in taps)

    return Taps().eval(), taps


def export_onnx(module: torch.nn.Module, taps: Sequence[str], path: Path) -> None:
    """Write ``module`` to ``path`` as ONNX with dynamic height and width."""
    dynamic = {"x": {2: "h", 3: "w"}, **{t: {2: f"h_{t}", 3: f"w_{t}"} for t in taps}}
    torch.onnx.export(module, (torch.rand(1, 3, 512, 512),), str(path), input_names=["x"],
                      output_names=list(taps), dynamic_axes=dynamic, opset_version=17,
                      dynamo=False)


def backends(module: torch.nn.Module, onnx_path: Path | None, threads: int
             ) -> dict[str, Callable[[np.ndarray], list[np.ndarray]] | str]:
    """Name -> a function of the input, or why the backend is unavailable."""
    out: dict[str, Callable[[np.ndarray], list[np.ndarray]] | str] = {}

    @torch.inference_mode()
    def run_torch(x: np.ndarray) -> list[np.ndarray]:
        return [t.numpy() for t in module(torch.from_numpy(x))]

    out["torch (folded, channels-last)"] = run_torch
    if onnx_path is None:
        out["onnxruntime"] = out["openvino"] = "no ONNX file (pip install onnx)"
        return out
    try:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        out[f"onnxruntime {ort.__version__}"] = lambda x: sess.run(None, {"x": x})
    except ImportError:
        out["onnxruntime"] = "not installed (pip install onnxruntime)"
    try:
        import openvino as ov

        compiled = ov.Core().compile_model(str(onnx_path), "CPU", {
            "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32"})
        request = compiled.create_infer_request()

        def run_openvino(x: np.ndarray) -> list[np.ndarray]:
            request.infer({0: x})
            return [request.get_output_tensor(i).data.copy() for i in range(len(compiled.outputs))]

        out[f"openvino {ov.__version__.split('-')[0]}"] = run_openvino
    except ImportError:
        out["openvino"] = "not installed (pip install openvino)"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), metavar="WxH",
                   help="padded input sizes, multiples of 32 (default: 512x512 768x1024)")
    p.add_argument("--threads", type=int, default=2, help="threads per backend (default 2)")
    p.add_argument("--repeats", type=int, default=15, help="timed calls each (default 15)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    import blindiqa

    model = blindiqa.load("default")
    module, taps = _tap_module(model)
    print(f"Machine: {cpu_model()}, torch {torch.__version__}, {args.threads} threads; "
          f"2048x2048 matmul {matmul_gflops():.1f} GFLOP/s")
    print("| backend | input | ms per pass (median) | min | max deviation from torch |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path: Path | None = Path(tmp) / "default_encoder.onnx"
        try:
            export_onnx(module, taps, onnx_path)
        except Exception as exc:  # noqa: BLE001 - reported, torch is still measured
            print(f"(ONNX export failed: {type(exc).__name__}: {exc})")
            onnx_path = None
        runs = backends(module, onnx_path, args.threads)
        ready = {k: f for k, f in runs.items() if callable(f)}
        for w, h in parse_sizes(args.sizes):
            x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
            ref = ready["torch (folded, channels-last)"](x)
            times: dict[str, list[float]] = {k: [] for k in ready}
            dev = {}
            for k, f in ready.items():
                out = f(x)
                dev[k] = max(float(np.abs(a - b).max() / np.abs(b).max())
                             for a, b in zip(out, ref, strict=True))
            for _ in range(args.repeats):
                for k, f in ready.items():
                    t0 = time.perf_counter()
                    f(x)
                    times[k].append(time.perf_counter() - t0)
            for k in ready:
                print(f"| {k} | {w}x{h} | {statistics.median(times[k]) * 1e3:.1f} | "
                      f"{min(times[k]) * 1e3:.1f} | {dev[k]:.1e} |")
        for k, why in runs.items():
            if not callable(why):
                print(f"| {k} | - | {why} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
