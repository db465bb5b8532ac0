"""What PyTorch's `torch.cuda` answers: is there a usable GPU."""

from __future__ import annotations

from engine import backend


def is_available() -> bool:
    """True only when CuPy is installed and memory can be allocated on a GPU."""
    return backend.is_cuda_available()


def device_count() -> int:
    if not is_available():
        return 0
    return backend.xp("cuda").cuda.runtime.getDeviceCount()


def manual_seed(seed: int) -> None:
    """Seeds the one generator (random numbers are drawn on the host for every device)."""
    from engine.random import manual_seed as seed_all

    seed_all(seed)


manual_seed_all = manual_seed


def synchronize() -> None:
    """Wait for queued GPU work to finish (nothing to wait for without a GPU)."""
    if is_available():
        backend.xp("cuda").cuda.Device().synchronize()
