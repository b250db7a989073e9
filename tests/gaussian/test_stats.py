import numpy as np
import pytest
import torch

from blindiqa.gaussian import GaussianStats


def test_mean_cov_match_numpy():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(50, 6, generator=g)
    s = GaussianStats.from_features(f)
    x = f.double().numpy()
    np.testing.assert_allclose(s.mean.numpy(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(s.cov.numpy(), np.cov(x, rowvar=False), rtol=1e-10, atol=1e-12)
    assert s.mean.dtype == torch.float64


def test_merge_by_addition_equals_all_at_once():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(90, 5, generator=g)
    parts = [GaussianStats.from_features(f[i:i + 30]) for i in (0, 30, 60)]
    merged = GaussianStats.empty(5)
    for p in parts:
        merged = merged + p
    whole = GaussianStats.from_features(f)
    assert merged.count == 90
    torch.testing.assert_close(merged.cov, whole.cov, rtol=1e-12, atol=1e-12)


def test_from_moments_roundtrip():
    g = torch.Generator().manual_seed(2)
    s = GaussianStats.from_features(torch.randn(20, 4, generator=g))
    r = GaussianStats.from_moments(s.count, s.mean, s.cov)
    torch.testing.assert_close(r.outer, s.outer, rtol=1e-10, atol=1e-10)


def test_errors():
    with pytest.raises(ValueError, match="dimension"):
        GaussianStats.empty(3) + GaussianStats.empty(4)
    with pytest.raises(ValueError, match="at least 2"):
        _ = GaussianStats.from_features(torch.ones(1, 3)).cov
    with pytest.raises(ValueError, match="undefined"):
        _ = GaussianStats.empty(3).mean
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        GaussianStats.from_features(torch.ones(3))
