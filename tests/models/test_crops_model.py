import numpy as np
import pytest
import torch
from PIL import Image

import blindiqa
from blindiqa.models.bundle import save_bundle
from blindiqa.models.crops import load_crops_bundle


def test_score_shape_dtype_flags(small_model, photo):
    s = small_model.score(photo)
    assert s.shape == (1,) and s.dtype == torch.float64 and float(s[0]) > 0
    assert small_model.lower_better and not small_model.higher_is_better


def test_same_image_same_score_in_any_batch(small_model, photo, photo2):
    alone = small_model.score(photo)[0]
    other = small_model.score(photo2)[0]
    mixed = small_model.score([photo2, Image.fromarray(photo), photo.astype(np.float32) / 255])
    assert mixed[1] == alone and mixed[2] == alone and mixed[0] == other
    batch = torch.from_numpy(np.stack([photo, photo])).permute(0, 3, 1, 2).float() / 255
    assert torch.equal(small_model.score(batch), torch.stack([alone, alone]))


def test_blur_scores_worse(small_model, photo):
    from PIL import ImageFilter

    sharp = float(small_model.score(photo)[0])
    blurred_img = Image.fromarray(photo).filter(ImageFilter.GaussianBlur(4))
    blurred = float(small_model.score(blurred_img)[0])
    assert blurred > sharp


def test_quality_map_geometry(small_model, photo):
    m = small_model.quality_map(photo)  # 192x256 -> rows 3, cols 4
    assert m.shape == (3, 4) and m.dtype == torch.float64 and (m > 0).all()


def test_one_patch_image(small_model):
    s = small_model.score(torch.rand(3, 96, 96))
    assert torch.isfinite(s).all()


def test_too_small_and_bad_inputs(small_model, photo):
    with pytest.raises(ValueError, match="at least 96x96"):
        small_model.score(np.zeros((50, 50, 3), np.uint8))
    with pytest.raises(ValueError, match="image 1: image is 50x50"):
        small_model.score([photo, np.zeros((50, 50, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        small_model.score(torch.full((3, 100, 100), 3.0))


def test_bundle_roundtrip_and_load(tmp_path, small_model, photo):
    tensors, meta = small_model.bundle_contents()
    save_bundle(tmp_path / "m.safetensors", tensors, meta)
    loaded = blindiqa.load(tmp_path / "m.safetensors")
    assert torch.equal(loaded.score(photo), small_model.score(photo))
    assert loaded.info().feature_dim == 40
    with pytest.raises(ValueError, match="lacks"):
        load_crops_bundle({}, meta)


def test_trained_weights_are_stored_in_bundle(tmp_path, small_model, photo):
    import copy

    m = copy.deepcopy(small_model)
    with torch.no_grad():
        m.extractor.network._conv_stem.weight.mul_(1.5)
    m.config.weights = "bundle"
    tensors, meta = m.bundle_contents()
    assert any(k.startswith("encoder.") for k in tensors)
    save_bundle(tmp_path / "t.safetensors", tensors, meta)
    loaded = blindiqa.load(tmp_path / "t.safetensors")
    assert torch.equal(loaded.score(photo), m.score(photo))
    assert not torch.equal(loaded.score(photo), small_model.score(photo))


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        blindiqa.load("nope")


def test_config_is_validated():
    from blindiqa.models.crops import CropsConfig

    with pytest.raises(ValueError, match="stride must be at least 1"):
        CropsConfig(stride=0)
    with pytest.raises(ValueError, match="ridge"):
        CropsConfig(ridge=-1.0)


def test_score_and_map_in_one_pass_match_the_separate_calls(small_model, photo):
    from blindiqa.io.decode import to_tensor

    t = to_tensor(photo)
    score, qmap = small_model.score_and_map_tensor(t)
    assert score == small_model.score_tensor(t)
    assert np.array_equal(qmap, small_model.quality_map_tensor(t))
