"""Fixtures for the engine tests: `fast_path` runs a test with the speed tricks on and off."""

from __future__ import annotations

import pytest

from engine import backend


@pytest.fixture(params=[True, False], ids=["fast", "plain"])
def fast_path(request):
    """Run the test once with the engine's speed tricks and once with the plain code."""
    before = backend.fast_enabled()
    backend.set_fast(request.param)
    yield request.param
    backend.set_fast(before)
