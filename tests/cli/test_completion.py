"""``blindiqa completion``: a completion script generated from the parser, checked in a
real bash."""

from __future__ import annotations

import builtins
import shutil
import subprocess

import pytest

from blindiqa.cli.main import COMMANDS, main


def _script(shell: str, capsys) -> str:
    pytest.importorskip("shtab")
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_commands_and_options(tmp_path, capsys):
    script = tmp_path / "blindiqa.bash"
    script.write_text(_script("bash", capsys))

    def complete(*words: str) -> list[str]:
        line = " ".join(("blindiqa", *words))
        cmd = (f"source {script}; COMP_WORDS=(blindiqa {' '.join(words)}); "
               f"COMP_CWORD={len(words)}; COMP_LINE='{line}'; COMP_POINT={len(line)}; "
               "_shtab_blindiqa; printf '%s\\n' \"${COMPREPLY[@]}\"")
        out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True)
        return out.stdout.split()

    assert complete("sc") == ["score"]
    assert complete("score", "--max") == ["--max-side"]
    assert "--stars-at" in complete("rate", "--st")


def test_zsh_script_names_every_command(capsys):
    script = _script("zsh", capsys)
    for name in COMMANDS:
        assert name.replace("_", "-") in script, name


def test_without_shtab_the_error_names_the_extra(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_shtab(name, *args, **kwargs):
        if name == "shtab":
            raise ImportError("no shtab")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_shtab)
    assert main(["completion", "bash"]) == 2
    assert "pip install 'blindiqa[shell]'" in capsys.readouterr().err


def test_an_unknown_shell_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["completion", "fish"])
    assert exc.value.code == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err
