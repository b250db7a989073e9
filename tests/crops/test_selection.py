import torch

from blindiqa.crops import colourfulness, patch_sharpness, select_pristine_patches


def test_colourfulness_by_hand():
    gray = torch.full((1, 3, 4, 4), 0.5)
    assert float(colourfulness(gray)) == 0.0
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 1.0
    # rg = 1, yb = 0.5 everywhere: no spread, mean part sqrt(1 + 0.25)
    assert abs(float(colourfulness(red)) - 1.25 ** 0.5) < 1e-12


def test_selection_keeps_sharp_colourful_patches():
    img = torch.full((3, 192, 192), 0.5)
    g = torch.Generator().manual_seed(1)
    img[:, :96, :96] = torch.rand(3, 96, 96, generator=g)  # sharp, colourful
    # gray noise, a little less sharp than the colour noise's luma: kept, then dropped as gray
    img[:, 96:, 96:] = 0.5 + 0.6 * (torch.rand(1, 96, 96, generator=g) - 0.5).expand(3, -1, -1)
    sharp = patch_sharpness(img, 96)
    assert sharp.shape == (4,) and sharp[3] > 0.75 * sharp.max() and sharp[0] > 0.75 * sharp.max()
    assert sharp[1] < 0.05 * sharp.max()  # flat but for the edge it shares
    sel = select_pristine_patches(img, 96, 0.75, 0.8)
    assert sel.shape == (1, 3, 96, 96) and torch.equal(sel[0], img[:, :96, :96])


def test_flat_or_small_image_gives_no_patch():
    assert select_pristine_patches(torch.full((3, 200, 200), 0.2)).shape[0] == 0
    assert select_pristine_patches(torch.rand(3, 50, 50)).shape[0] == 0
