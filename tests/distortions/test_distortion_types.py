"""Every distortion type: shape, dtype, range, strength ordering, determinism, batching."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from blindiqa.distortions import DISTORTIONS, NAMES, apply_distortion, get_distortion

RANDOM = [d.name for d in DISTORTIONS if d.random]
DETERMINISTIC = [d.name for d in DISTORTIONS if not d.random]
#: Types whose strength we also check with SSIM (PSNR alone is a poor judge of a global
#: brightness or contrast change).
SSIM_TOO = ["brighten", "darken", "mean_shift", "contrast_change"]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.double() - b.double()) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * torch.log10(torch.tensor(1.0 / mse)).item()


def _ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(),
                                       channel_axis=2, data_range=1.0))


def _all_levels(images: torch.Tensor, name: str) -> list[torch.Tensor]:
    return [apply_distortion(images, name, k, _gen(0)) for k in range(1, 6)]


def test_there_are_25_types_in_kadid_order():
    assert len(DISTORTIONS) == 25
    assert [d.kadid_id for d in DISTORTIONS] == list(range(1, 26))
    assert len(set(NAMES)) == 25


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_range_and_effect(images, name):
    for level, out in enumerate(_all_levels(images, name), start=1):
        assert out.shape == images.shape, (name, level)
        assert out.dtype == images.dtype, (name, level)
        assert out.device == images.device
        assert torch.isfinite(out).all(), (name, level)
        assert out.min() >= 0.0 and out.max() <= 1.0, (name, level)
        assert not torch.equal(out, images), f"{name} level {level} changed nothing"


@pytest.mark.parametrize("name", NAMES)
def test_strength_grows_with_level(images, name):
    outs = _all_levels(images, name)
    for i in range(images.shape[0]):
        psnr = [_psnr(o[i], images[i]) for o in outs]
        assert all(a > b for a, b in pairwise(psnr)), f"{name} image {i}: PSNR {psnr}"
        if name in SSIM_TOO:
            ssim = [_ssim(o[i], images[i]) for o in outs]
            assert all(a > b for a, b in pairwise(ssim)), f"{name} image {i}: {ssim}"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output(images, name):
    a = apply_distortion(images, name, 3, _gen(7))
    b = apply_distortion(images, name, 3, _gen(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", RANDOM)
def test_other_seed_other_output(images, name):
    a = apply_distortion(images, name, 4, _gen(1))
    b = apply_distortion(images, name, 4, _gen(2))
    assert not torch.equal(a, b)


@pytest.mark.parametrize("name", RANDOM)
def test_generator_none_uses_global_rng(images, name):
    torch.manual_seed(3)
    a = apply_distortion(images[:1], name, 4)
    torch.manual_seed(3)
    b = apply_distortion(images[:1], name, 4)
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_batch_equals_one_by_one(images, name):
    batch = apply_distortion(images, name, 4)
    single = torch.cat([apply_distortion(images[i:i + 1], name, 4) for i in range(3)])
    torch.testing.assert_close(batch, single, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", RANDOM)
def test_random_draws_differ_between_images_of_a_batch(images, name):
    copies = images[:1].expand(4, -1, -1, -1).contiguous()
    out = apply_distortion(copies, name, 4, _gen(0))
    assert any(not torch.equal(out[0], out[i]) for i in range(1, 4)), name


def test_random_types_are_flagged():
    # a type flagged deterministic must not consume the generator
    for name in DETERMINISTIC:
        g = _gen(5)
        apply_distortion(torch.rand(1, 3, 40, 40), name, 2, g)
        assert torch.equal(g.get_state(), _gen(5).get_state()), name
    assert get_distortion("white_noise").random


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_dtypes_are_kept(images, dtype):
    x = images[:1].to(dtype)
    for name in ("gaussian_blur", "white_noise", "jpeg", "brighten"):
        out = apply_distortion(x, name, 2, _gen(0))
        assert out.dtype == dtype and out.shape == x.shape
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_smallest_and_odd_sizes(name):
    for shape in ((2, 3, 32, 32), (1, 3, 37, 53)):
        x = torch.rand(shape, generator=_gen(0))
        out = apply_distortion(x, name, 5, _gen(0))
        assert out.shape == x.shape
        assert out.min() >= 0 and out.max() <= 1


def test_input_is_not_modified(images):
    before = images.clone()
    for name in NAMES:
        apply_distortion(images, name, 5, _gen(0))
    assert torch.equal(images, before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu(images, name):
    cpu = apply_distortion(images, name, 3, _gen(0))
    gpu = apply_distortion(images.cuda(), name, 3, _gen(0))
    assert gpu.device.type == "cuda"
    diff = (gpu.cpu() - cpu).abs()
    # codecs round to 8 bits: one code value may flip at a rounding boundary
    assert float(diff.mean()) < 2e-3, name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_deterministic_with_cuda_generator(images, name):
    x = images.cuda()
    a = apply_distortion(x, name, 4, torch.Generator(device="cuda").manual_seed(3))
    b = apply_distortion(x, name, 4, torch.Generator(device="cuda").manual_seed(3))
    assert a.device.type == "cuda" and a.shape == x.shape
    assert torch.equal(a, b), name
