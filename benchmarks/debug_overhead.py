"""What looking inside costs: a LeNet-5 training step (batch 64) plain and instrumented.

Prints each mode's time per step as a ratio to the plain step. Goals: stats
<= 1.3x, values <= 2x; with no instrument active an op pays one flag check.

    python benchmarks/debug_overhead.py [--steps 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from train_speed import build

import engine
import engine.debug as debug

GOALS = {"trace(level='stats')": 1.3, "trace(level='values')": 2.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    engine.backend.tune()

    engine.manual_seed(0)
    net = build(engine, "lenet")
    opt = engine.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = engine.tensor(rng.random((64, 1, 28, 28), dtype=np.float32))
    y = engine.tensor(rng.integers(0, 10, 64))

    def step():
        opt.zero_grad()
        loss = engine.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    def stepper_to_end():
        s = debug.Stepper(step)
        s.resume()
        s.close()

    traced = {
        "plain": step,
        "trace(level='graph')": lambda: debug.trace(step, "graph"),
        "trace(level='stats')": lambda: debug.trace(step, "stats"),
        "trace(level='values')": lambda: debug.trace(step, "values"),
    }
    # The stepper runs the step on a thread of its own, after which the next matrix
    # product on the main thread pays to move OpenBLAS's helpers back: measured in
    # turn with the traced modes it slowed the plain step by a quarter. So it is
    # paired with a plain step of its own.
    stepped = {"plain": step, "Stepper, resume() to the end": stepper_to_end}
    rounds = args.repeats * args.steps
    print(f"LeNet-5 training step, batch 64, median of {rounds} steps each")
    print(f"{'mode':<32}{'ms/step':>9}{'ratio':>8}{'goal':>7}")
    for modes in (traced, stepped):
        times = interleaved(modes, rounds)
        plain = statistics.median(times["plain"])
        for name in modes if modes is traced else list(modes)[1:]:
            t = statistics.median(times[name])
            goal = f"{GOALS[name]:.1f}x" if name in GOALS else ""
            print(f"{name:<32}{t * 1e3:>9.2f}{t / plain:>7.2f}x{goal:>7}")
    return 0


def interleaved(modes: dict, rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each mode, taken one call of each in turn, so that drift
    in the machine's load hits every mode alike."""
    for fn in modes.values():
        fn()
    times = {name: [] for name in modes}
    for _ in range(rounds):
        for name, fn in modes.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


if __name__ == "__main__":
    sys.exit(main())
