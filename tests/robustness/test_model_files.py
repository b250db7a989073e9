"""Bad, foreign and hostile model files: clear errors, exit code 2, no code ever run."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from PIL import Image
from robustness_cases import (
    MODEL_CASES,
    ModelCase,
    Payload,
    make_model_pickle,
    make_model_torch_zip,
    marker_path,
    photo_array,
)

import blindiqa
from blindiqa.cli.main import main
from blindiqa.models.bundle import BundleError


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    path = tmp_path / "img.png"
    Image.fromarray(photo_array()).save(path)
    return path


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blindiqa: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_the_payload_is_real(tmp_path: Path) -> None:
    """Unpickling the payload with plain pickle does run it (so the tests below mean
    something)."""
    pickle.loads(pickle.dumps(Payload(marker_path(tmp_path)))).close()
    assert marker_path(tmp_path).exists()


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
def test_load_refuses_bad_model_files(case: ModelCase, tmp_path: Path,
                                      model_bundle: Path) -> None:
    path = case.make(tmp_path, model_bundle)
    with pytest.raises(BundleError, match=case.message):
        blindiqa.load(path)
    assert not marker_path(tmp_path).exists()


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
def test_score_model_file_exit_2_one_line(case: ModelCase, tmp_path: Path, model_bundle: Path,
                                          image: Path, capsys) -> None:
    path = case.make(tmp_path, model_bundle)
    out = tmp_path / "s.csv"
    code = main(["score", str(image), "--model", str(path), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    line = _one_line_error(captured.err)
    assert case.message.split("|")[0] in line
    assert not out.exists() and not marker_path(tmp_path).exists()


def test_good_bundle_still_loads(model_bundle: Path) -> None:
    m = blindiqa.load(model_bundle)
    assert torch.isfinite(m.score(photo_array())).all()


def test_options_that_do_not_apply_are_refused(model_bundle: Path) -> None:
    with pytest.raises(ValueError, match="do not apply"):
        blindiqa.load(model_bundle, params="x.npz")


# ------------------------------------------------------------------------ encoder checkpoints
def _fit_args(tmp_path: Path, image: Path, checkpoint: Path) -> list[str]:
    return ["fit-pristine", str(image), "--encoder", "resnet18", "--layer", "layer1",
            "--encoder-checkpoint", str(checkpoint), "--out", str(tmp_path / "m.safetensors"),
            "--quiet"]


@pytest.mark.parametrize("make, name", [(make_model_pickle, "evil.pth"),
                                        (make_model_torch_zip, "evil.pt")],
                         ids=["pickle", "torch-save"])
def test_malicious_encoder_checkpoint_is_refused_unrun(make, name: str, tmp_path: Path,
                                                        model_bundle: Path, image: Path,
                                                        capsys) -> None:
    checkpoint = make(tmp_path, model_bundle, name)
    code = main(_fit_args(tmp_path, image, checkpoint))
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "refused" in line and "not a plain tensor checkpoint" in line
    assert not marker_path(tmp_path).exists()  # the payload never ran
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("content, message", [
    (b"", "not a usable resnet18 checkpoint"),
    (b"\x80\x04garbage" * 50, "not a usable resnet18 checkpoint|refused"),
], ids=["empty", "garbage"])
def test_broken_encoder_checkpoint(content: bytes, message: str, tmp_path: Path, image: Path,
                                   capsys) -> None:
    checkpoint = tmp_path / "enc.pt"
    checkpoint.write_bytes(content)
    assert main(_fit_args(tmp_path, image, checkpoint)) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert any(m in line for m in message.split("|")), line


def test_checkpoint_of_another_network(tmp_path: Path, image: Path, capsys) -> None:
    checkpoint = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(2, 2)}, checkpoint)
    assert main(_fit_args(tmp_path, image, checkpoint)) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "not a usable resnet18 checkpoint" in line and "state_dict" in line
    missing = tmp_path / "none.pt"
    assert main(_fit_args(tmp_path, image, missing)) == 2
    assert "no such file" in capsys.readouterr().err


def test_newer_bundle_format_asks_for_an_upgrade(tmp_path: Path, model_bundle: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(model_bundle), framework="pt") as f:
        header = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    path = tmp_path / "future.safetensors"
    save_file(tensors, str(path), metadata={**header, "format_version": "99"})
    with pytest.raises(BundleError, match="version '99' is not supported.*upgrade"):
        blindiqa.load(path)


def test_bundle_metadata_that_is_not_an_object(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    save_file({"a": torch.zeros(1)}, str(path), metadata={
        "format": "blindiqa-bundle", "format_version": "1", "metadata": "[1, 2]",
        "sha256": "0"})
    with pytest.raises(BundleError, match="metadata is corrupt"):
        blindiqa.load(path)
