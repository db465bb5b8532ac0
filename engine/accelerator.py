"""torch.accelerator: the one accelerator the engine knows is CUDA, through CuPy."""

from __future__ import annotations

from engine import backend


def is_available() -> bool:
    return backend.is_cuda_available()


def current_accelerator(check_available: bool = False):
    """torch.device("cuda") when a GPU answers, else None."""
    from engine import device

    return device("cuda") if backend.is_cuda_available() else None


def device_count() -> int:
    from engine import cuda

    return cuda.device_count()
