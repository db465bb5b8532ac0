"""Absurd sizes are refused in one line, before any allocation; negative sizes as in PyTorch."""

from __future__ import annotations

import tracemalloc

import pytest

import engine
from engine import nn


@pytest.mark.parametrize(
    "make, names",
    [
        (lambda: nn.Conv2d(2147483646, 4294967291, 3), "Conv2d(2147483646, 4294967291, kernel"),
        (lambda: nn.Conv2d(10**40, 4, 3), "Conv2d(1000000"),
        (lambda: nn.Linear(2**40, 2**30), "Linear(1099511627776, 1073741824)"),
        (lambda: nn.Embedding(2**50, 3), "Embedding(1125899906842624, 3)"),
        (lambda: nn.BatchNorm2d(2**62), "BatchNorm2d(4611686018427387904)"),
        (lambda: nn.LayerNorm(2**62), "LayerNorm([4611686018427387904])"),
        (lambda: engine.zeros(2**62), "zeros(4611686018427387904,)"),
        (lambda: engine.ones(2**40, 2**40), "ones(1099511627776, 1099511627776)"),
        (lambda: engine.empty(2**31, 2**31, 2**31), "empty("),
        (lambda: engine.randn(2**62), "randn("),
        (lambda: engine.rand(2**40), "rand("),
        (lambda: engine.full((2**62,), 1.0), "full("),
    ],
)
def test_absurd_sizes_are_refused_before_allocating(make, names):
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="bytes") as info:
            make()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert names in message and "refusing to allocate" in message
    assert "\n" not in message
    assert peak < 10_000_000


def test_negative_sizes_are_runtime_errors_as_in_torch():
    for make in (lambda: engine.zeros(-1), lambda: engine.ones(2, -3), lambda: engine.randn(-2)):
        with pytest.raises(RuntimeError, match="non-negative"):
            make()


def test_sizes_beyond_64_bits_are_type_errors_as_in_torch():
    with pytest.raises(TypeError):
        engine.zeros(10**40)


def test_ordinary_layers_still_build():
    assert nn.Linear(300, 200).weight.shape == (200, 300)
    assert nn.Conv2d(3, 8, 3).weight.shape == (8, 3, 3, 3)
    assert engine.zeros(0, 3).shape == (0, 3)
