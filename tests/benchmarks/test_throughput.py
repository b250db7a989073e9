"""benchmarks/throughput.py: a quick end-to-end run and its pieces."""

from __future__ import annotations

import argparse

import pytest


@pytest.fixture(scope="module")
def throughput(load_benchmark):
    """The script, imported as a module."""
    return load_benchmark("throughput")


def _table(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]


def test_quick_run_prints_machine_and_one_row_per_size(throughput, capsys, tmp_path) -> None:
    # Synthetic photos (an empty pristine folder), so the test needs no shared data.
    code = throughput.main(["--quick", "--model", "niqe", "--sizes", "128x96,160x128",
                            "--device", "cpu", "--workers", "0", "--pristine",
                            str(tmp_path / "none"), "--out", str(tmp_path / "tp.md")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "GFLOP/s" in out and "torch" in out and "cores" in out
    table = _table(out)
    assert table[0] == list(throughput.COLUMNS)
    rows = table[2:]
    assert [tuple(r[:5]) for r in rows] == [("niqe", "cpu", "128x96", "0", "2"),
                                            ("niqe", "cpu", "160x128", "0", "2")]
    cores = throughput.available_cores()
    for r in rows:  # no decoding workers: no worker RSS
        assert float(r[5]) > 0 and float(r[6]) == pytest.approx(float(r[5]) / cores, abs=0.01)
        # s/image and decode s/image print at three decimals: on a fast enough machine
        # either reads 0.000, so only their being numbers is checked (no speed assumed)
        assert float(r[7]) >= 0 and float(r[8]) >= 0 and float(r[9]) > 0
        assert r[10] == "-"
    assert _table((tmp_path / "tp.md").read_text()) == table


def test_workers_sweep_gives_one_row_per_value(throughput, capsys, tmp_path) -> None:
    code = throughput.main(["--quick", "--model", "niqe", "--sizes", "128x96", "--device",
                            "cpu", "--workers", "0", "1", "--pristine", str(tmp_path / "x")])
    assert code == 0
    rows = _table(capsys.readouterr().out)[2:]
    assert [r[3] for r in rows] == ["0", "1"]
    assert rows[0][10] == "-" and float(rows[1][10]) > 0  # the worker's RSS


def test_sizes_and_defaults(throughput) -> None:
    assert throughput.parse_sizes(["500x500,1024x768", "4000X3000"]) == [
        (500, 500), (1024, 768), (4000, 3000)]
    with pytest.raises(argparse.ArgumentTypeError):
        throughput.parse_size("500")
    assert [throughput.default_images_per_run(w, h)
            for w, h in throughput.DEFAULT_SIZES] == [20, 10, 3]


def test_batch_size_goes_where_score_files_takes_it(throughput) -> None:
    def with_batch(model, items, *, workers=0, batch_size=4):
        pass

    def with_prefetch(model, items, *, workers=0, prefetch=4):
        pass

    assert throughput._score_kwargs(with_batch, 8, 2) == {"workers": 2, "batch_size": 8}
    assert throughput._score_kwargs(with_prefetch, 8, 0) == {"workers": 0, "prefetch": 8}


def test_failed_measurement_is_a_table_note(throughput) -> None:
    rows = [throughput.Measurement("niqe", "cpu", "10x10", 2, error="ValueError: too small")]
    text = throughput.markdown_table(rows)
    assert "| niqe [1] | cpu | 10x10 | 0 | 2 | - | - |" in text and "- niqe / cpu / 10x10" in text


def test_compare_measures_an_older_commit_beside_the_current_code(throughput, capsys,
                                                                   tmp_path) -> None:
    import subprocess

    head = subprocess.run(["git", "-C", str(throughput.REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    if not head:
        pytest.skip("not a git checkout")
    code = throughput.main(["--quick", "--model", "niqe", "--sizes", "128x96", "--device",
                            "cpu", "--workers", "0", "--busy", "1", "--compare", head,
                            "--pristine", str(tmp_path / "x")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert [r[0] for r in _table(out)[2:]] == ["niqe", f"niqe @ {head}"]
    assert "1 busy process(es)" in out and "GOMP_SPINCOUNT=1000" in out
    from blindiqa.runtime import SPIN_SETTINGS

    assert throughput.SPIN_ENV["short"] == SPIN_SETTINGS  # what the command sets
    with pytest.raises(SystemExit, match="--compare no-such-ref"):
        throughput.extract_commit("no-such-ref", tmp_path / "src")
