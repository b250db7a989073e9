import numpy as np
import pytest
import torch
from PIL import Image

from blindiqa.io.decode import (
    ImageDecodeError,
    decode_image,
    decode_image_sized,
    draft_scale,
    to_tensor,
    to_tensor_list,
)


def test_path_pil_numpy_tensor_agree(tmp_path, photo):
    p = tmp_path / "a.png"
    Image.fromarray(photo).save(p)
    ref = to_tensor(photo)
    assert ref.shape == (3, *photo.shape[:2]) and ref.dtype == torch.float32
    for other in (str(p), p, Image.fromarray(photo), photo.astype(np.float32) / 255, ref.clone()):
        assert torch.equal(to_tensor(other), ref)


def test_grayscale_and_alpha_become_rgb(tmp_path, photo):
    gray = photo.mean(2).astype(np.uint8)
    t = to_tensor(gray)
    assert t.shape == (3, *gray.shape) and torch.equal(t[0], t[2])
    rgba = np.dstack([photo, np.full(photo.shape[:2], 7, np.uint8)])
    assert torch.equal(to_tensor(rgba), to_tensor(photo))
    p = tmp_path / "g.png"
    Image.fromarray(gray).save(p)
    assert torch.equal(decode_image(p), t)


def test_sixteen_bit_png(tmp_path):
    arr = (np.arange(100 * 100, dtype=np.uint32).reshape(100, 100) * 6).astype(np.uint16)
    p = tmp_path / "s.png"
    Image.fromarray(arr).save(p)
    t = decode_image(p)
    assert t.shape == (3, 100, 100) and float(t.min()) >= 0 and float(t.max()) <= 1


def test_batch_tensor_and_mixed_list(photo, photo2):
    lst = to_tensor_list([photo, Image.fromarray(photo2)])
    assert [tuple(t.shape) for t in lst] == [(3, 192, 256), (3, 192, 200)]
    batch = torch.rand(4, 3, 100, 120)
    assert len(to_tensor_list(batch)) == 4


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((5, 5, 2), np.uint8), "channels"),
    (np.zeros((5,), np.uint8), "shape"),
    (np.full((5, 5, 3), 2.0), r"\[0, 1\]"),
    (np.full((5, 5, 3), np.nan), "NaN"),
    (np.zeros((5, 5, 3), np.int64), "dtype"),
    (torch.rand(5, 5), r"\(C, H, W\)"),
    (torch.rand(5, 5, 3), "channels first"),
    (torch.full((3, 5, 5), -0.5), r"\[0, 1\]"),
    (12, "unsupported image type"),
])
def test_bad_inputs_raise_value_error(bad, msg):
    with pytest.raises(ValueError, match=msg):
        to_tensor(bad)


def test_list_error_names_the_index(photo):
    with pytest.raises(ValueError, match="image 1"):
        to_tensor_list([photo, "missing-file.png"])
    with pytest.raises(ValueError, match="no images"):
        to_tensor_list([])


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageDecodeError, match="bad.jpg"):
        decode_image(bad)
    with pytest.raises(ImageDecodeError, match="no such file"):
        decode_image(tmp_path / "none.png")
    with pytest.raises(ImageDecodeError, match="directory"):
        decode_image(tmp_path)


def test_truncated_jpeg(tmp_path, photo):
    p = tmp_path / "t.jpg"
    Image.fromarray(photo).save(p, quality=90)
    p.write_bytes(p.read_bytes()[:600])
    with pytest.raises(ImageDecodeError, match="t.jpg"):
        decode_image(p)


def test_uint8_pixels_convert_to_exactly_the_float_image(tmp_path, photo):
    from blindiqa.io.decode import uint8_to_float

    Image.fromarray(photo).save(tmp_path / "p.jpg", quality=80)
    pixels = decode_image(tmp_path / "p.jpg", as_uint8=True)
    assert pixels.dtype == torch.uint8 and pixels.shape == (3, *photo.shape[:2])
    assert torch.equal(uint8_to_float(pixels), decode_image(tmp_path / "p.jpg"))


@pytest.mark.parametrize(("size", "max_side", "scale"), [
    ((4000, 3000), 1024, 2), ((3000, 4000), 1024, 2), ((8000, 6000), 1024, 4),
    ((9000, 9000), 1024, 8), ((20000, 100), 1024, 8), ((1025, 1025), 1024, 1),
    ((1024, 768), 1024, 1), ((4000, 3000), 0, 1)])
def test_draft_scale(size, max_side, scale):
    assert draft_scale(*size, max_side) == scale


def _jpeg(path, width, height, **save):
    yy, xx = np.mgrid[0:height, 0:width]
    arr = np.stack([(xx * 7 + yy) % 256, (yy * 3) % 256, (xx ^ yy) % 256], -1).astype(np.uint8)
    Image.fromarray(arr).save(path, quality=90, **save)
    return path


def test_a_large_jpeg_decodes_reduced_towards_max_side(tmp_path):
    p = _jpeg(tmp_path / "big.jpg", 1300, 600)
    assert decode_image(p).shape == (3, 600, 1300)
    reduced = decode_image(p, as_uint8=True, max_side=600)  # scaled: 600 x 277 -> 1/2
    assert reduced.shape == (3, 300, 650) and reduced.dtype == torch.uint8
    assert decode_image(p, max_side=1300).shape == (3, 600, 1300)  # not above max_side
    assert torch.equal(to_tensor(str(p), max_side=600), decode_image(p, max_side=600))
    png = tmp_path / "big.png"
    Image.open(p).save(png)
    assert decode_image(png, max_side=600).shape == (3, 600, 1300)  # JPEG only


def test_the_reduced_decode_turns_by_the_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    p = _jpeg(tmp_path / "turned.jpg", 1300, 600, exif=exif)
    assert decode_image(p).shape == (3, 1300, 600)
    assert decode_image(p, max_side=600).shape == (3, 650, 300)


def test_a_camera_mpo_file_is_decoded_reduced_as_a_jpeg(tmp_path):
    p = tmp_path / "camera.jpg"
    first = Image.open(_jpeg(tmp_path / "first.jpg", 1300, 600))
    first.save(p, format="MPO", save_all=True, append_images=[first])
    with Image.open(p) as im:
        assert im.format == "MPO"
    assert decode_image(p, max_side=600).shape == (3, 300, 650)
    assert decode_image(p).shape == (3, 600, 1300)


def test_the_size_is_the_full_size_as_viewed_even_when_decoded_reduced(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: viewed 600 wide, 1300 high
    turned = _jpeg(tmp_path / "turned.jpg", 1300, 600, exif=exif)
    pixels, size = decode_image_sized(turned, max_side=600)
    assert pixels.shape == (3, 650, 300) and size == (600, 1300)
    assert decode_image_sized(turned)[1] == (600, 1300)
    plain = _jpeg(tmp_path / "plain.jpg", 1300, 600)
    assert decode_image_sized(plain, as_uint8=True, max_side=600)[1] == (1300, 600)
    assert torch.equal(decode_image_sized(plain, max_side=600)[0],
                       decode_image(plain, max_side=600))


def test_the_sized_decoder_refuses_what_the_decoder_refuses(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_image_sized(bad)
