"""blindiqa.scoring.inputs: the inputs of a run, walked once (count, shard, resume skip,
the --maps base), spooled and read back as often as needed."""

from __future__ import annotations

import io
import sys
from collections import Counter
from pathlib import Path

import pytest

from blindiqa.scoring import inputs as inputs_module
from blindiqa.scoring.inputs import walk_inputs


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    """``photos/{a,b,c}.jpg``, ``photos/sub/d.jpg``, ``more/e.png`` and an empty
    folder, below the working directory."""
    monkeypatch.chdir(tmp_path)
    for name in ("photos/a.jpg", "photos/b.jpg", "photos/c.jpg", "photos/sub/d.jpg",
                 "more/e.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    return tmp_path


def _names(inputs) -> list[str]:
    return [name for _, name in inputs]


def test_one_walk_gives_the_names_the_count_and_the_maps_base(tree) -> None:
    with walk_inputs(["photos"]) as inputs:
        assert _names(inputs) == ["photos/a.jpg", "photos/b.jpg", "photos/c.jpg",
                                  "photos/sub/d.jpg"]
        assert _names(inputs) == _names(inputs)  # read back as often as needed
        assert (inputs.count, len(inputs), inputs.maps_base) == (4, 4, "photos")
        assert [path for path, _ in inputs][0] == Path("photos/a.jpg")


def test_the_folders_are_walked_once(tree, monkeypatch) -> None:
    walked = Counter()
    real = inputs_module.iter_image_files

    def counting(paths, **kwargs):
        for raw in paths:
            walked[raw] += 1
        return real(paths, **kwargs)

    monkeypatch.setattr(inputs_module, "iter_image_files", counting)
    with walk_inputs(["photos", "more"], shard=(0, 2)) as inputs:
        assert _names(inputs) == ["photos/a.jpg", "photos/c.jpg", "more/e.png"]
        assert inputs.count == 3 and inputs.maps_base == ""
    assert walked == Counter({"photos": 1, "more": 1})


@pytest.mark.parametrize(("paths", "base"), [
    (["dupA", "dupB"], ""),
    (["photos"], "photos"),
    (["./photos/"], "photos"),
    (["photos/a.jpg", "photos/sub/d.jpg"], "photos"),
    (["/abs/a", "rel"], ""),
])
def test_maps_base(tree, paths, base) -> None:
    for p in ("dupA", "dupB"):
        (tree / p).mkdir()
    with walk_inputs(paths) as inputs:
        assert inputs.maps_base == base


def test_shards_partition_the_inputs_and_skip_drops_each_name_as_often_as_counted(tree):
    shards = [_names(walk_inputs(["photos", "more"], shard=(i, 3))) for i in range(3)]
    assert sorted(sum(shards, [])) == sorted(_names(walk_inputs(["photos", "more"])))
    assert shards[1] == ["photos/b.jpg", "more/e.png"]
    skip = Counter({"photos/b.jpg": 1, "photos/sub/d.jpg": 1})
    with walk_inputs(["photos", "photos/b.jpg"], skip=skip) as inputs:
        assert _names(inputs) == ["photos/a.jpg", "photos/c.jpg", "photos/b.jpg"]
        assert inputs.count == 3
    assert skip == Counter({"photos/b.jpg": 0, "photos/sub/d.jpg": 0})


def test_a_manifest_on_stdin_is_read_once(tree, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("# a comment\nphotos/sub\n\nmore/e.png\n"))
    with walk_inputs(["photos/a.jpg"], "-") as inputs:
        assert _names(inputs) == ["photos/a.jpg", "photos/sub/d.jpg", "more/e.png"]
        assert inputs.maps_base == ""  # photos and more share no folder
    assert sys.stdin.read() == ""


def test_names_of_any_characters_come_back_unchanged(tree) -> None:
    odd = ["tab\there.jpg", "new\nline.jpg", "ünï cödé.jpg", 'quote".jpg']
    if sys.platform != "win32":  # a name that is not valid UTF-8, as Linux allows
        odd.append(b"bad-\xff.jpg".decode("utf-8", "surrogateescape"))
    for name in odd:
        (tree / "odd" / name).parent.mkdir(exist_ok=True)
        (tree / "odd" / name).write_bytes(b"x")
    with walk_inputs(["odd"]) as inputs:
        got = list(inputs)
    assert sorted(name for _, name in got) == sorted(f"odd/{n}" for n in odd)
    assert all(path == Path(name) for path, name in got)


def test_empty_folders_warn_only_beside_other_inputs(tree, capsys) -> None:
    assert walk_inputs(["empty"]).count == 0
    assert "no images" not in capsys.readouterr().err  # the caller's error, not a warning
    assert walk_inputs(["empty", "more"]).count == 1
    assert "blindiqa: warning: no images found in empty/" in capsys.readouterr().err


def test_an_unreadable_manifest_raises(tree) -> None:
    with pytest.raises(OSError):
        walk_inputs([], "missing.txt")
