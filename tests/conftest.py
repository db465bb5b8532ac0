"""Skips `torch` and `gpu` tests where PyTorch or a CUDA GPU is missing; Hypothesis profiles."""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests are reproducible in every run (derandomize): a failure in CI fails again
# on a laptop. STEPGRAD_FUZZ=explore draws fresh random cases instead, for hunting bugs.
# Each property sets its own max_examples; the `slow` ones ask for many more.
_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("default", derandomize=True, **_COMMON)
settings.register_profile("explore", derandomize=False, max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("STEPGRAD_FUZZ", "default"))


def _cuda_available() -> bool:
    from engine.backend import is_cuda_available

    return is_cuda_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `torch` and `gpu` tests as skipped where their requirement is absent."""
    marked_torch = [item for item in items if item.get_closest_marker("torch")]
    marked_gpu = [item for item in items if item.get_closest_marker("gpu")]
    if marked_torch and importlib.util.find_spec("torch") is None:
        skip = pytest.mark.skip(reason="needs PyTorch as a reference (pip install torch)")
        for item in marked_torch:
            item.add_marker(skip)
    # Probing the GPU imports CuPy, so do it only when a gpu test was collected.
    if marked_gpu and not _cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU and the 'gpu' extra (cupy-cuda12x)")
        for item in marked_gpu:
            item.add_marker(skip)
