"""Random numbers: one seeded generator, drawn on the host so every device agrees."""

from __future__ import annotations

import numpy as np


class Generator:
    """A seedable source of random numbers (PyTorch's `torch.Generator`)."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._seed = 0
        self.rng = np.random.default_rng(0)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: the same seed gives the same numbers."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system and return the seed."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def _rng(generator):
    return (generator or default_generator).rng


def host_uniform(shape, low, high, dtype, generator=None) -> np.ndarray:
    return _rng(generator).uniform(low, high, size=tuple(shape)).astype(dtype, copy=False)


def host_normal(shape, mean, std, dtype, generator=None) -> np.ndarray:
    return _rng(generator).normal(mean, std, size=tuple(shape)).astype(dtype, copy=False)
