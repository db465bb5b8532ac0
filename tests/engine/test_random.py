"""Generators: per-thread overrides of the default generator."""

import threading

import numpy as np

import engine
import engine.nn as nn
from engine.random import current_generator, default_generator, use_generator


def _draws(gen: engine.Generator, out: list, turns: list[threading.Event], me: int) -> None:
    """Draw in four rounds, each waiting for its turn so two threads interleave."""
    with use_generator(gen):
        for round_ in range(4):
            turns[2 * round_ + me].wait(5)
            out.append(engine.randn(3).numpy().copy())
            out.append(nn.Linear(2, 2).weight.detach().numpy().copy())
            out.append(nn.functional.dropout(engine.ones(8), 0.5, training=True).numpy().copy())
            turns[2 * round_ + me + 1].set()


def test_two_threads_with_same_seeded_generators_draw_the_same_interleaved() -> None:
    engine.manual_seed(123)
    global_before = engine.get_rng_state()
    turns = [threading.Event() for _ in range(9)]
    turns[0].set()
    a, b = [], []
    threads = [
        threading.Thread(target=_draws, args=(engine.Generator().manual_seed(7), a, turns, 0)),
        threading.Thread(target=_draws, args=(engine.Generator().manual_seed(7), b, turns, 1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(a) == len(b) == 12
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], a[3])  # the stream moves on between rounds
    assert engine.get_rng_state() == global_before  # nobody drew from the global one


def test_use_generator_matches_a_seeded_default_and_restores_it() -> None:
    engine.manual_seed(5)
    expected = engine.randn(4).numpy().copy()
    engine.manual_seed(99)
    before = engine.get_rng_state()
    with use_generator(engine.Generator().manual_seed(5)) as gen:
        assert current_generator() is gen
        np.testing.assert_array_equal(engine.randn(4).numpy(), expected)
        state = engine.get_rng_state()  # the module-level functions act on it too
        assert state == gen.get_state()
    assert current_generator() is default_generator
    assert engine.get_rng_state() == before


def test_use_generator_nests() -> None:
    outer, inner = engine.Generator(), engine.Generator()
    with use_generator(outer):
        with use_generator(inner):
            assert current_generator() is inner
        assert current_generator() is outer
    assert current_generator() is default_generator
