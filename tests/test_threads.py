"""One thread policy for every command (role_classifier.threads)."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info

from role_classifier.threads import current_workers, default_workers, thread_limits

pytestmark = pytest.mark.torch


def test_thread_limits_caps_every_pool_and_restores_them() -> None:
    before_torch = torch.get_num_threads()
    before = {p["filepath"]: p["num_threads"] for p in threadpool_info()}
    with thread_limits(1) as n:
        assert n == 1 and current_workers() == 1
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
        with thread_limits(2):
            assert current_workers() == 2 and torch.get_num_threads() == 2
        assert current_workers() == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before_torch
    assert {p["filepath"]: p["num_threads"] for p in threadpool_info()} == before
    assert current_workers() == default_workers() >= 1


def test_default_is_one_thread_per_core() -> None:
    with thread_limits(None) as n:
        assert n == default_workers()
