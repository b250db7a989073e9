import pytest
import torch

from blindiqa.crops import extract_patches, grid_shape


def test_500x500_gives_81_patches():
    img = torch.rand(3, 500, 500)
    p = extract_patches(img, 96, 48)
    assert p.shape == (81, 3, 96, 96) and grid_shape(500, 500, 96, 48) == (9, 9)


def test_patch_order_is_row_major():
    img = torch.arange(3 * 200 * 300, dtype=torch.float32).reshape(3, 200, 300)
    p = extract_patches(img, 96, 48)
    rows, cols = grid_shape(200, 300, 96, 48)
    assert p.shape[0] == rows * cols
    assert torch.equal(p[1], img[:, 0:96, 48:144])
    assert torch.equal(p[cols], img[:, 48:144, 0:96])


def test_too_small_names_minimum():
    with pytest.raises(ValueError, match="minimum size is 96x96"):
        extract_patches(torch.rand(3, 50, 500))
    assert grid_shape(50, 500, 96, 48) == (0, 0)
