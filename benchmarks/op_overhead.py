"""Per-op overhead on tiny tensors: stepgrad's engine against PyTorch on one CPU thread."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from types import ModuleType

GOAL_RATIO = 2.0  # the engine may cost at most this many times PyTorch's time per op
SIZE = 10


def time_add(lib: ModuleType, iterations: int) -> float:
    """Seconds for `iterations` of `c = a + b`, each building one graph node."""
    a = lib.tensor([float(i) for i in range(SIZE)], requires_grad=True)
    b = lib.tensor([float(i) / 2 for i in range(SIZE)], requires_grad=True)
    start = time.perf_counter()
    for _ in range(iterations):
        c = a + b
    elapsed = time.perf_counter() - start
    del c
    return elapsed


def time_mul_sum_backward(lib: ModuleType, iterations: int) -> float:
    """Seconds for `iterations` of `(a * b).sum()` forward and backward."""
    a = lib.tensor([float(i) for i in range(SIZE)], requires_grad=True)
    b = lib.tensor([float(i) / 2 for i in range(SIZE)], requires_grad=True)
    start = time.perf_counter()
    for _ in range(iterations):
        a.grad = None
        b.grad = None
        (a * b).sum().backward()
    return time.perf_counter() - start


def median_us_per_iteration(
    bench: Callable[[ModuleType, int], float], lib: ModuleType, iterations: int, repeats: int
) -> float:
    """Median over `repeats` runs of microseconds per iteration, after one warm-up run."""
    bench(lib, min(iterations, 1000))
    runs = [bench(lib, iterations) for _ in range(repeats)]
    return statistics.median(runs) / iterations * 1e6


def load_torch() -> ModuleType | None:
    """PyTorch pinned to one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print µs per iteration and the engine/torch ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--iterations", type=int, default=10_000)
    parser.add_argument("-r", "--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import engine

    engine.backend.tune()

    torch = load_torch()
    if torch is None:
        print("PyTorch is not installed: reporting the engine alone (pip install torch).")

    benches = {
        "c = a + b (forward, builds a node)": time_add,
        "(a * b).sum() forward + backward": time_mul_sum_backward,
    }
    print(
        f"{args.iterations:,} iterations, {SIZE}-element float32 tensors with "
        f"requires_grad=True, median of {args.repeats}"
    )
    print(f"{'benchmark':<38} {'engine µs':>10} {'torch µs':>10} {'ratio':>7}")
    met = True
    for name, bench in benches.items():
        ours = median_us_per_iteration(bench, engine, args.iterations, args.repeats)
        if torch is None:
            print(f"{name:<38} {ours:>10.2f} {'-':>10} {'-':>7}")
            continue
        theirs = median_us_per_iteration(bench, torch, args.iterations, args.repeats)
        ratio = ours / theirs
        met = met and ratio <= GOAL_RATIO
        print(f"{name:<38} {ours:>10.2f} {theirs:>10.2f} {ratio:>6.2f}x")
    if torch is not None:
        verdict = "met" if met else "NOT met"
        print(f"goal: engine/torch <= {GOAL_RATIO:.1f}x per op: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
