"""``blindiqa fit-scale``: a copy of a bundle with its quality and window scales, and the
quality column that ``blindiqa score`` then writes."""

import pytest

import blindiqa
from blindiqa.cli.main import main
from blindiqa.scoring.rows import read_rows


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory, small_model):
    from PIL import Image

    data = pytest.importorskip("skimage.data")
    folder = tmp_path_factory.mktemp("qs_photos")
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera"):
        img = getattr(data, name)()
        Image.fromarray(img).convert("RGB").resize((160, 128)).save(folder / f"{name}.png")
    return folder


def test_fit_scale_command_and_quality_column(tmp_path, model_file, sample_folder):
    out = tmp_path / "scaled.safetensors"
    assert main(["fit-scale", model_file, str(sample_folder), "--out", str(out),
                 "--workers", "0", "--quiet"]) == 0
    assert main(["fit-scale", model_file, str(sample_folder), "--out", str(out)]) == 2
    windows = blindiqa.load(out).window_scale  # the maps' scale, from the same photos
    assert windows is not None and windows.photos == 5 and windows.windows > 5
    rows_csv = tmp_path / "rows.csv"
    assert main(["score", str(sample_folder), "--model", str(out), "--workers", "0",
                 "--quiet", "--out", str(rows_csv)]) == 0
    rows = read_rows(rows_csv)
    assert rows_csv.read_text().splitlines()[0] == "path,score,quality,error,width,height"
    # the reference is the same photos: the best scores 100 x (n-1)/n, the worst 0
    qualities = sorted(r.quality for r in rows)
    assert qualities[0] == 0.0 and qualities[-1] == pytest.approx(100 * (len(rows) - 1)
                                                                 / len(rows), abs=0.01)
    by_score = sorted(rows, key=lambda r: r.score)
    assert [r.quality for r in by_score] == sorted(qualities, reverse=True)


def test_fit_scale_refuses_a_file_that_is_no_model(tmp_path, sample_folder, capsys):
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"not a bundle")
    out = tmp_path / "scaled.safetensors"
    assert main(["fit-scale", str(bogus), str(sample_folder), "--out", str(out),
                 "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("blindiqa: error: ")
    assert not out.exists()


def test_fit_scale_without_reference_photos(tmp_path, model_file, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "scaled.safetensors"
    assert main(["fit-scale", model_file, str(tmp_path / "empty"), "--out", str(out),
                 "--quiet"]) == 1
    assert "no images found in" in capsys.readouterr().err
    assert not out.exists()
