"""Output safety: atomic writes, no half-written files, no overwrite without --overwrite."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from robustness_cases import photo_array

import blindiqa.models.bundle as bundle_mod
import blindiqa.scoring.local as scoring_local
from blindiqa.cli.main import main
from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.models.registry import _MODELS, ModelEntry, register_model
from blindiqa.scoring import score_files
from blindiqa.scoring.outputs import RecordWriter


@pytest.fixture()
def images(tmp_path: Path) -> list[Path]:
    d = tmp_path / "in"
    d.mkdir()
    out = []
    for i in range(4):
        out.append(d / f"{i}.png")
        Image.fromarray(photo_array(i)).save(out[-1])
    return out


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------ score --out
def test_existing_out_needs_overwrite(tmp_path: Path, images: list[Path], model_file: str,
                                      capsys) -> None:
    out = tmp_path / "s.csv"
    out.write_text("precious\n")
    assert main(["score", str(images[0]), "--model", model_file, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"blindiqa: error: --out {out} exists; give --overwrite to replace it"
    assert out.read_text() == "precious\n"
    assert main(["score", str(images[0]), "--model", model_file, "--out", str(out),
                 "--overwrite", "--quiet", "--workers", "0"]) == 0
    assert len(_rows(out)) == 1 and _leftovers(tmp_path) == []


def test_out_is_a_directory(tmp_path: Path, images: list[Path], model_file: str,
                            capsys) -> None:
    assert main(["score", str(images[0]), "--model", model_file, "--out", str(tmp_path),
                 "--overwrite"]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_out_in_an_unwritable_place(tmp_path: Path, images: list[Path], model_file: str,
                                    capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["score", str(images[0]), "--model", model_file, "--out",
                 str(blocker / "sub" / "s.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write" in err and "Traceback" not in err


def test_maps_folder_not_empty_needs_overwrite(tmp_path: Path, images: list[Path],
                                               model_file: str, capsys) -> None:
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "old.png").write_bytes(b"x")
    assert main(["score", str(images[0]), "--model", model_file, "--maps", str(maps)]) == 2
    assert "not empty; give --overwrite" in capsys.readouterr().err
    assert main(["score", str(images[0]), "--model", model_file, "--maps", str(maps),
                 "--overwrite", "--workers", "0", "--quiet"]) == 0
    assert (maps / "0.png.png").is_file() and _leftovers(maps) == []


class _Interrupting:
    """Wraps ``score_files``: yields ``n`` records, then raises ``exc``."""

    def __init__(self, n: int, exc: BaseException) -> None:
        self.n, self.exc = n, exc

    def __call__(self, *args, **kwargs) -> Iterator:
        for i, rec in enumerate(score_files(*args, **kwargs)):
            if i == self.n:
                raise self.exc
            yield rec


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_ctrl_c_mid_run_leaves_no_output(suffix: str, tmp_path: Path, images: list[Path],
                                         model_file: str, monkeypatch, capsys) -> None:
    monkeypatch.setattr(scoring_local, "score_files", _Interrupting(2, KeyboardInterrupt()))
    out = tmp_path / f"s{suffix}"
    code = main(["score", *map(str, images), "--model", model_file, "--out", str(out),
                 "--workers", "0"])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_ctrl_c_keeps_the_previous_output(tmp_path: Path, images: list[Path],
                                          model_file: str, monkeypatch) -> None:
    out = tmp_path / "s.csv"
    out.write_text("path,score,error\nold.png,1.0,\n")
    monkeypatch.setattr(scoring_local, "score_files", _Interrupting(3, KeyboardInterrupt()))
    assert main(["score", *map(str, images), "--model", model_file, "--out", str(out),
                 "--overwrite", "--workers", "0"]) == 130
    assert out.read_text() == "path,score,error\nold.png,1.0,\n"
    assert _leftovers(tmp_path) == []


def test_crash_mid_run_leaves_no_output(tmp_path: Path, images: list[Path],
                                        model_file: str, monkeypatch) -> None:
    monkeypatch.setattr(scoring_local, "score_files", _Interrupting(1, RuntimeError("bug")))
    out = tmp_path / "s.csv"
    with pytest.raises(RuntimeError, match="bug"):
        main(["score", *map(str, images), "--model", model_file, "--out", str(out),
              "--workers", "0"])
    assert not out.exists() and _leftovers(tmp_path) == []


def test_disk_full_mid_run(tmp_path: Path, images: list[Path], model_file: str,
                           monkeypatch, capsys) -> None:
    write = RecordWriter.write
    calls = []

    def failing_write(self, rec) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(self.tmp))
        write(self, rec)

    monkeypatch.setattr(RecordWriter, "write", failing_write)
    out = tmp_path / "s.csv"
    code = main(["score", *map(str, images), "--model", model_file, "--out", str(out),
                 "--workers", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_output_gets_the_usual_permissions(tmp_path: Path, images: list[Path],
                                           model_file: str) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "s.csv"
        main(["score", str(images[0]), "--model", model_file, "--out", str(out), "--quiet",
              "--workers", "0"])
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------ bundles
def test_fit_pristine_refuses_to_replace_a_bundle(tmp_path: Path, images: list[Path],
                                                  capsys) -> None:
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"old")
    code = main(["fit-pristine", str(images[0].parent), "--out", str(out)])
    assert code == 2 and out.read_bytes() == b"old"
    assert "exists; give --overwrite" in capsys.readouterr().err
    assert main(["fit-pristine", str(images[0].parent), "--out", str(tmp_path)]) == 2


def test_fit_pristine_overwrite(tmp_path: Path, images: list[Path]) -> None:
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"old")
    assert main(["fit-pristine", str(images[0].parent), "--out", str(out), "--encoder",
                 "efficientnet_lite0", "--layer", "stage3", "--overwrite", "--quiet"]) == 0
    import blindiqa

    assert blindiqa.load(out).info().feature_dim == 40 and _leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), OSError(28, "No space left")])
def test_bundle_write_interrupted(exc: BaseException, tmp_path: Path, monkeypatch) -> None:
    def half_write(tensors, metadata=None):  # while the temporary file is open
        assert _leftovers(tmp_path) != []
        raise exc

    monkeypatch.setattr(bundle_mod, "save", half_write)
    out = tmp_path / "m.safetensors"
    with pytest.raises(type(exc)):
        bundle_mod.save_bundle(out, {"a": torch.zeros(3)}, {"kind": "x"})
    assert not out.exists() and _leftovers(tmp_path) == []
    out.write_bytes(b"previous")
    with pytest.raises(type(exc)):
        bundle_mod.save_bundle(out, {"a": torch.zeros(3)}, {"kind": "x"})
    assert out.read_bytes() == b"previous" and _leftovers(tmp_path) == []


# ------------------------------------------------------------------------ bench
class _Mean(QualityModel):
    """Score = 1 - mean; interrupts after ``stop_after`` scores when set."""

    stop_after: int | None = None
    calls = 0

    def __init__(self) -> None:
        super().__init__("robust-mean")

    @property
    def min_size(self) -> int:
        return 8

    def score_tensor(self, image: torch.Tensor) -> float:
        cls = type(self)
        if cls.stop_after is not None and cls.calls >= cls.stop_after:
            raise KeyboardInterrupt
        cls.calls += 1
        return 1.0 - float(image.mean())

    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        return np.zeros((1, 1))

    def info(self) -> ModelInfo:
        return ModelInfo("robust-mean", 1, "none")


@pytest.fixture()
def mean_model() -> Iterator[type[_Mean]]:
    _Mean.stop_after, _Mean.calls = None, 0
    register_model(ModelEntry(info=ModelInfo("robust-mean", 1, "none"), factory=_Mean))
    yield _Mean
    _MODELS.pop("robust-mean", None)


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    lines = ["image,mos"]
    for i in range(6):
        Image.new("RGB", (16, 16), (40 * i,) * 3).save(root / "images" / f"{i}.png")
        lines.append(f"{i}.png,{i}")
    (root / "mos.csv").write_text("\n".join(lines) + "\n")
    return root


def _bench(out: Path, dataset: Path, *extra: str) -> int:
    return main(["bench", "--model", "robust-mean", "--dataset", f"ds={dataset}", "--out",
                 str(out), "--workers", "0", "--no-plots", "--quiet", *extra])


def test_bench_resume_is_the_default_and_overwrite_starts_afresh(
        mean_model: type[_Mean], dataset: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench"
    assert _bench(out, dataset) == 0 and mean_model.calls == 6
    (out / "notes.txt").write_text("mine")
    (out / "scores" / "old__pair.csv").write_text("image,score,error,mos\n")
    assert _bench(out, dataset) == 0 and mean_model.calls == 6  # resumed: nothing new
    assert _bench(out, dataset, "--resume") == 0 and mean_model.calls == 6
    assert _bench(out, dataset, "--overwrite") == 0 and mean_model.calls == 12  # afresh
    assert not (out / "scores" / "old__pair.csv").exists()
    assert (out / "notes.txt").read_text() == "mine"  # only our files are removed
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        _bench(out, dataset, "--resume", "--overwrite")
    assert info.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_bench_overwrite_checks_arguments_before_deleting(mean_model: type[_Mean],
                                                          dataset: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "bench"
    assert _bench(out, dataset) == 0
    before = (out / "results.csv").read_text()
    code = main(["bench", "--model", "no-such-model", "--dataset", f"ds={dataset}", "--out",
                 str(out), "--overwrite", "--quiet"])
    assert code == 2 and (out / "results.csv").read_text() == before


def test_bench_interrupted_leaves_no_partial_results(mean_model: type[_Mean], dataset: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "bench"
    assert _bench(out, dataset) == 0
    before = _rows(out / "results.csv")
    mean_model.stop_after = mean_model.calls + 2
    assert _bench(out, dataset, "--overwrite") == 130
    # the earlier results were deleted by --overwrite; nothing half-written replaced them
    assert not (out / "results.csv").exists() and not (out / "results.md").exists()
    for folder in (out, out / "scores"):
        assert _leftovers(folder) == []
    rows = _rows(out / "scores" / "robust-mean__ds.csv")
    assert len(rows) == 2  # the scores done before Ctrl-C are kept for the resume
    mean_model.stop_after, calls = None, mean_model.calls
    assert _bench(out, dataset) == 0 and mean_model.calls == calls + 4  # resumed
    after = _rows(out / "results.csv")
    for row in (*before, *after):
        row.pop("seconds_per_image")
    assert after == before


def test_stdout_closed_by_the_reader(tmp_path: Path, images: list[Path], model_file: str,
                                     monkeypatch, capsys) -> None:
    """``blindiqa score DIR | head -1``: exit 141 (as SIGPIPE) without an error message."""

    def broken(self, rec) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(RecordWriter, "write", broken)
    code = main(["score", *map(str, images), "--model", model_file, "--workers", "0"])
    assert code == 141 and "error" not in capsys.readouterr().err
