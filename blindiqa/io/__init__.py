"""Decoding and validating inputs: files, PIL images, arrays and tensors."""

from blindiqa.io.decode import ImageDecodeError, decode_image, to_tensor
from blindiqa.io.files import iter_image_files

__all__ = ["ImageDecodeError", "decode_image", "iter_image_files", "to_tensor"]
