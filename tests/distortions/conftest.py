"""Fixtures of the distortion tests: one torch thread (their three small natural images,
``images``, are in ``tests/conftest.py``)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors run faster on one thread (and timings are stabler on a busy CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
