"""blindiqa.distributed.quiet: standard error (descriptor 2) sent to a log file for a
while, the real one still reachable."""

from __future__ import annotations

import os
import subprocess
import sys

from blindiqa.distributed.quiet import new_log_path, stderr_to_file


def test_descriptor_2_goes_to_the_log_and_the_console_to_the_real_stderr(capfd) -> None:
    log = new_log_path()
    try:
        assert log.name.startswith("blindiqa-ray-") and log.stat().st_size == 0
        with stderr_to_file(log) as console:
            os.write(2, b"from C++\n")
            subprocess.run([sys.executable, "-c", "import os; os.write(2, b'child\\n')"],
                           check=True)
            print("progress", file=console)
        os.write(2, b"after\n")
        assert log.read_text().splitlines() == ["from C++", "child"]
        err = capfd.readouterr().err
        assert "progress" in err and "after" in err and "C++" not in err
    finally:
        log.unlink()


def test_stderr_comes_back_after_an_error(tmp_path, capfd) -> None:
    log = tmp_path / "r.log"
    try:
        with stderr_to_file(log):
            raise KeyError("boom")
    except KeyError:
        pass
    os.write(2, b"back\n")
    assert "back" in capfd.readouterr().err and log.read_text() == ""
