"""Skips `torch` tests without PyTorch; runs `gpu` tests on a GPU or the fake CuPy; Hypothesis."""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import HealthCheck, settings

from tests import fake_cupy

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


# What `gpu` tests run on: "real" CuPy on a GPU, the NumPy-backed "fake" CuPy of
# tests/fake_cupy.py, or nothing (None: they skip). Decided once, at collection.
GPU_BACKEND = pytest.StashKey[str | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cuda",
        choices=("auto", "real", "fake"),
        default=os.environ.get("STEPGRAD_TEST_CUDA", "auto"),
        help="what `gpu` tests run on: auto (the default) uses a CUDA GPU where CuPy finds "
        "one and the fake CuPy of tests/fake_cupy.py elsewhere; real skips them without a "
        "GPU; fake always uses the fake (also STEPGRAD_TEST_CUDA=auto|real|fake)",
    )


def _cuda_available() -> bool:
    from engine.backend import is_cuda_available

    return is_cuda_available()


def _gpu_backend(mode: str) -> str | None:
    if mode == "fake":
        return "fake"
    if _cuda_available():
        return "real"
    return "fake" if mode == "auto" else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `torch` tests without PyTorch; choose what `gpu` tests run on."""
    marked_torch = [item for item in items if item.get_closest_marker("torch")]
    marked_gpu = [item for item in items if item.get_closest_marker("gpu")]
    if marked_torch and importlib.util.find_spec("torch") is None:
        skip = pytest.mark.skip(reason="needs PyTorch as a reference (pip install torch)")
        for item in marked_torch:
            item.add_marker(skip)
    # Probing the GPU imports CuPy, so do it only when a gpu test was collected.
    config.stash[GPU_BACKEND] = _gpu_backend(config.getoption("cuda")) if marked_gpu else None
    if marked_gpu and config.stash[GPU_BACKEND] is None:
        skip = pytest.mark.skip(reason="needs a CUDA GPU and the 'gpu' extra (cupy-cuda12x)")
        for item in marked_gpu:
            item.add_marker(skip)


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    backend = config.stash.get(GPU_BACKEND, None)
    if backend == "fake":
        return "gpu tests: on the fake CuPy (tests/fake_cupy.py), NumPy on the CPU"
    return "gpu tests: on CuPy and a CUDA GPU" if backend == "real" else None


@pytest.fixture(autouse=True)
def _cuda_for_gpu_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `gpu` test sees the fake CuPy as CuPy and a GPU as present, where that is chosen."""
    if (
        request.node.get_closest_marker("gpu")
        and request.config.stash.get(GPU_BACKEND, None) == "fake"
    ):
        fake_cupy.install(monkeypatch)
