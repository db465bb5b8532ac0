"""Random numbers: seeded generators, drawn on the host so every device agrees."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

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

    def seed(self) -> int:
        """Seed from the operating system's entropy; return the seed."""
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()
_local = threading.local()  # .generator: this thread's override of the default, or absent


def current_generator() -> Generator:
    """The generator that draws without an explicit `generator=`: this thread's
    `use_generator` one inside that block, else `default_generator`."""
    return getattr(_local, "generator", None) or default_generator


@contextmanager
def use_generator(generator: Generator) -> Iterator[Generator]:
    """In this thread and block, draw from `generator` wherever the default generator
    would be used: parameter init, dropout, `rand`/`randn`, unseeded shuffles, and the
    module-level `manual_seed`, `get_rng_state` and `set_rng_state`.

    Other threads keep their own generator, so two runs in two threads, each under
    its own generator, draw the same numbers however their draws interleave. Blocks
    nest; leaving one restores the generator in force before it.
    """
    previous = getattr(_local, "generator", None)
    _local.generator = generator
    try:
        yield generator
    finally:
        _local.generator = previous


def manual_seed(seed: int) -> Generator:
    """Seed the current generator (normally the default): the same seed gives the same numbers."""
    return current_generator().manual_seed(seed)


def seed() -> int:
    """Seed the current generator from the operating system and return the seed."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed the current generator was last seeded with."""
    return current_generator().initial_seed()


def get_rng_state() -> dict:
    """The current generator's state, for `set_rng_state`."""
    return current_generator().get_state()


def set_rng_state(state: dict) -> None:
    """Put the current generator back in a state `get_rng_state` returned."""
    current_generator().set_state(state)


def _rng(generator):
    return (generator or current_generator()).rng


def host_uniform(shape, low, high, dtype, generator=None) -> np.ndarray:
    return _rng(generator).uniform(low, high, size=tuple(shape)).astype(dtype, copy=False)


def host_normal(shape, mean, std, dtype, generator=None) -> np.ndarray:
    return _rng(generator).normal(mean, std, size=tuple(shape)).astype(dtype, copy=False)


_CHUNK = 1 << 16  # values drawn at a time: 512 KiB of float64


def fill_uniform(out, low, high, generator=None) -> None:
    """Fill the array `out` in place with the numbers `host_uniform` gives for its shape."""
    _fill(out, lambda n: _rng(generator).uniform(low, high, size=n))


def fill_normal(out, mean, std, generator=None) -> None:
    """Fill the array `out` in place with the numbers `host_normal` gives for its shape."""
    _fill(out, lambda n: _rng(generator).normal(mean, std, size=n))


def _fill(out, draw) -> None:
    """Write `draw(n)` float64 values into `out`, a chunk at a time.

    The generator's stream is the same drawn whole or in chunks, so a seed gives the
    numbers it always gave; memory peaks at `out` plus one chunk, where a whole float64
    draw and its cast copy made Linear(4096, 4096)'s initialisation peak at 4x its weight.
    """
    from engine import backend  # backend is imported after this module

    device = backend.device_of(out)
    if not out.flags.c_contiguous:
        out[...] = backend.to_device(draw(out.size).reshape(out.shape), device)
        return
    flat = out.reshape(-1)
    for start in range(0, flat.size, _CHUNK):
        chunk = draw(min(_CHUNK, flat.size - start))
        flat[start : start + chunk.size] = (
            chunk if device == "cpu" else backend.to_device(chunk, device)
        )
