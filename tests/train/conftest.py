"""Fixtures of the training tests: one torch thread (the folder of small smooth images,
``pristine_dir``, is in ``tests/conftest.py``)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _one_thread():
    # Package scope, so that module-scoped runs (e.g. the uninterrupted reference run
    # of the resume test) use the same thread count as the tests that compare with them:
    # bitwise equality needs the same reduction order.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
