"""Run every bad input of the robustness tests for real and print what each one gets.

Produces the tables of ``docs/robustness.md``: for each input file, what the API
(``model.score(path)``) and the CLI (``blindiqa score PATH``: the row's error and the
exit code) give; then bad in-memory inputs, bad model files, bad encoder checkpoints and
the output-safety checks. The inputs are built by ``benchmarks/robustness_cases.py``
(the same ones the tests check); the model is the tests' cheap one (EfficientNet-Lite0
``stage3`` features, patch 96), saved as a bundle.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/robustness_table.py > /tmp/table.md
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import robustness_cases as rc  # noqa: E402

import blindiqa  # noqa: E402
from blindiqa.cli.main import main  # noqa: E402
from blindiqa.models.bundle import save_bundle  # noqa: E402


class Runner:
    """Runs the CLI in-process and shortens the temporary folder to ``DIR``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def clean(self, text: str) -> str:
        text = text.replace(str(self.folder), "DIR").strip()
        return text.replace("|", "\\|").replace("\n", " ")

    def cli(self, argv: Sequence[str]) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse usage errors
                code = int(exc.code or 0)
        return code, out.getvalue(), err.getvalue()

    def api(self, call: Callable[[], object]) -> str:
        try:
            result = call()
        except Exception as exc:  # what a user of the API would see
            return self.clean(f"`{type(exc).__name__}`: {exc}")
        try:
            value = float(result[0])  # a score tensor
        except (TypeError, IndexError, KeyError):
            return "loaded"
        return "finite score" if math.isfinite(value) else f"score {value}"


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _csv_error(stdout: str) -> str:
    rows = list(csv.DictReader(io.StringIO(stdout)))
    if len(rows) != 1:
        return f"{len(rows)} rows"
    return rows[0]["error"] or "(scored)"


def _stderr_line(r: Runner, err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return r.clean(lines[-1]) if lines else ""


def file_table(r: Runner, model, model_file: Path) -> list[str]:
    out = ["| input | API: `model.score(path)` | CLI: the row's `error` | exit |",
           "|---|---|---|---:|"]
    for case in rc.FILE_CASES:
        folder = r.folder / "files" / case.name
        folder.mkdir(parents=True)
        path = case.make(folder)
        api = r.api(lambda path=path: model.score(path))
        if case.cli:
            code, stdout, _ = r.cli(["score", str(path), "--model", str(model_file),
                                     "--workers", "0", "--quiet"])
            cli, exit_code = r.clean(_csv_error(stdout)), code
        else:
            cli, exit_code = "a folder argument is walked: its images are scored", "-"
        out.append(_row([case.what, api, cli, exit_code]))
    black = rc.make_black(r.folder / "files")
    code, stdout, _ = r.cli(["score", str(black), "--model", "niqe", "--workers", "0",
                             "--quiet"])
    niqe = blindiqa.load("niqe")
    out.append(_row(["all-black 128x128 PNG scored by `--model niqe`",
                     r.api(lambda: niqe.score(black)), r.clean(_csv_error(stdout)), code]))
    return out


def array_table(r: Runner, model) -> list[str]:
    out = ["| input | API: `model.score(value)` |", "|---|---|"]
    for case in rc.ARRAY_CASES:
        out.append(_row([case.what, r.api(lambda case=case: model.score(case.make()))]))
    return out


def model_table(r: Runner, model_file: Path, image: Path) -> list[str]:
    out = ["| model file | API: `blindiqa.load(path)` | CLI: `score --model FILE` stderr | "
           "exit |", "|---|---|---|---:|"]
    for case in rc.MODEL_CASES:
        folder = r.folder / "models" / case.name
        folder.mkdir(parents=True)
        path = case.make(folder, model_file)
        api = r.api(lambda path=path: blindiqa.load(path))
        code, _, err = r.cli(["score", str(image), "--model", str(path)])
        ran = " **(payload ran!)**" if rc.marker_path(folder).exists() else ""
        out.append(_row([case.what + ran, api, _stderr_line(r, err), code]))
    return out


def checkpoint_table(r: Runner, model_file: Path, image: Path) -> list[str]:
    import torch

    folder = r.folder / "checkpoints"
    folder.mkdir()
    cases = [
        ("pickle whose unpickling runs `open(marker)`",
         rc.make_model_pickle(folder, model_file, "evil.pth")),
        ("`torch.save` file with the same payload",
         rc.make_model_torch_zip(folder, model_file, "evil.pt")),
    ]
    empty = folder / "empty.pt"
    empty.write_bytes(b"")
    other = folder / "other.pt"
    torch.save({"conv.weight": torch.zeros(2, 2)}, other)
    cases += [("an empty file", empty), ("the state dict of another network", other),
              ("a path that does not exist", folder / "missing.pt")]
    out = ["| `fit-pristine --encoder resnet18 --encoder-checkpoint FILE` | stderr | exit | "
           "payload ran |", "|---|---|---:|---|"]
    for what, path in cases:
        code, _, err = r.cli(["fit-pristine", str(image), "--encoder", "resnet18",
                              "--layer", "layer1", "--encoder-checkpoint", str(path),
                              "--out", str(folder / "m.safetensors"), "--quiet"])
        ran = "yes" if rc.marker_path(folder).exists() else "no"
        out.append(_row([what, _stderr_line(r, err), code, ran]))
    return out


def output_table(r: Runner, model_file: Path, image: Path) -> list[str]:
    import blindiqa.scoring.local as scoring_local
    from blindiqa.scoring import score_files

    folder = r.folder / "outputs"
    folder.mkdir()
    existing = folder / "scores.csv"
    existing.write_text("previous\n")
    maps = folder / "maps"
    maps.mkdir()
    (maps / "old.png").write_bytes(b"x")
    bundle = folder / "model.safetensors"
    bundle.write_bytes(b"previous")
    m = str(model_file)
    cases = [
        ("`score --out FILE` where FILE exists",
         ["score", str(image), "--model", m, "--out", str(existing)]),
        ("`score --out DIR` (a folder)",
         ["score", str(image), "--model", m, "--out", str(folder), "--overwrite"]),
        ("`score --out` under a regular file",
         ["score", str(image), "--model", m, "--out", str(existing / "x" / "s.csv")]),
        ("`score --maps DIR` where DIR is not empty",
         ["score", str(image), "--model", m, "--maps", str(maps)]),
        ("`fit-pristine --out FILE` where FILE exists",
         ["fit-pristine", str(image), "--out", str(bundle)]),
        ("`bench --resume --overwrite`",
         ["bench", "--model", "niqe", "--dataset", f"x={folder}", "--out", str(folder),
          "--resume", "--overwrite"]),
    ]
    out = ["| situation | stderr | exit | output afterwards |", "|---|---|---:|---|"]
    for what, argv in cases:
        code, _, err = r.cli(argv)
        after = {"score --out FILE": existing.read_text() == "previous\n",
                 "fit-pristine": bundle.read_bytes() == b"previous"}
        note = ("unchanged" if any(k in what and v for k, v in after.items())
                else "nothing written")
        out.append(_row([what, _stderr_line(r, err), code, note]))

    def interrupted(*args, **kwargs):
        for i, rec in enumerate(score_files(*args, **kwargs)):
            if i == 1:
                raise KeyboardInterrupt
            yield rec

    target = folder / "interrupted.csv"
    real = scoring_local.score_files
    scoring_local.score_files = interrupted
    try:
        code, _, err = r.cli(["score", str(image), str(image), "--model", m, "--out",
                              str(target), "--workers", "0"])
    finally:
        scoring_local.score_files = real
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    note = ("no target, no temporary file" if not target.exists() and not leftovers
            else f"target exists: {target.exists()}, leftovers: {leftovers}")
    out.append(_row(["Ctrl-C after the first row of `score --out FILE`",
                     _stderr_line(r, err), code, note]))
    return out


def main_() -> None:
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        r = Runner(Path(tmp))
        model = rc.build_small_model()
        model_file = r.folder / "small.safetensors"
        save_bundle(model_file, *model.bundle_contents())
        image = r.folder / "photo.png"
        Image.fromarray(rc.photo_array()).save(image)
        sections = [
            ("Input files", file_table(r, model, model_file)),
            ("In-memory inputs (API only)", array_table(r, model)),
            ("Model files", model_table(r, model_file, image)),
            ("Encoder checkpoints", checkpoint_table(r, model_file, image)),
            ("Outputs", output_table(r, model_file, image)),
        ]
    for title, lines in sections:
        print(f"### {title}\n")
        print("\n".join(lines))
        print()


if __name__ == "__main__":
    main_()
