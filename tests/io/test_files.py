import os

from PIL import Image

from blindiqa.io.files import is_image_file, iter_image_files


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
