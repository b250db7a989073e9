import os

from PIL import Image

from blindiqa.io.files import folder_prefix, is_image_file, iter_image_files


def _img(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(path)


def test_folders_recursive_sorted_relative(tmp_path):
    for name in ("b.png", "a.jpg", "sub/z.webp", "sub/c.PNG", "notes.txt"):
        if name.endswith(".txt"):
            (tmp_path / name).write_text("x")
        else:
            _img(tmp_path / name)
    got = [name for _, name in iter_image_files([tmp_path])]
    assert got == ["a.jpg", "b.png", "sub/c.PNG", "sub/z.webp"]


def test_files_are_yielded_as_given_even_without_image_extension(tmp_path):
    f = tmp_path / "x.dat"
    f.write_text("x")
    assert [n for _, n in iter_image_files([str(f)])] == [str(f)]
    assert not is_image_file(f) and is_image_file("a.JPEG")


def test_symlink_loop_is_visited_once(tmp_path):
    _img(tmp_path / "d" / "a.png")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    got = [n for _, n in iter_image_files([tmp_path])]
    assert got == ["d/a.png"]


def test_full_names_keep_the_folder_as_typed(tmp_path, monkeypatch):
    _img(tmp_path / "photos" / "sub" / "y.png")
    _img(tmp_path / "photos" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    for typed, prefix in (("./photos", "./photos"), ("photos/", "photos"),
                          (str(tmp_path / "photos"), str(tmp_path / "photos"))):
        got = [n for _, n in iter_image_files([typed], full_names=True)]
        assert got == [f"{prefix}/a.jpg", f"{prefix}/sub/y.png"]
    # without full_names: relative to the folder argument (as before)
    assert [n for _, n in iter_image_files(["photos"])] == ["a.jpg", "sub/y.png"]


def test_full_names_tell_two_folders_apart(tmp_path):
    _img(tmp_path / "dupA" / "x.jpg")
    _img(tmp_path / "dupB" / "x.jpg")
    got = [n for _, n in iter_image_files([tmp_path / "dupA", tmp_path / "dupB"],
                                          full_names=True)]
    assert got == [f"{tmp_path}/dupA/x.jpg", f"{tmp_path}/dupB/x.jpg"]


def test_folder_prefix():
    assert folder_prefix("./photos/") == "./photos"
    assert folder_prefix("a//") == "a"
    assert folder_prefix("/") == ""
    assert folder_prefix(".") == "."
