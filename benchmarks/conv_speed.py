"""LeNet-5's convolutions and pools at batch 64: stepgrad's engine against PyTorch on the CPU."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import engine
from engine.nn import functional as F

BATCH = 64
GOAL_RATIO = 1 / 0.75  # the LeNet step may take at most this many times PyTorch's time


def cases(lib, functional, rng: np.random.Generator) -> dict[str, Callable[[], None]]:
    """One forward + backward closure per layer of LeNet-5's feature extractor."""

    def leaf(*shape, grad=True):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=grad)

    def grad(*shape):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32))

    x1, w1, b1, g1 = (
        leaf(BATCH, 1, 28, 28, grad=False),
        leaf(6, 1, 5, 5),
        leaf(6),
        grad(BATCH, 6, 28, 28),
    )
    x2, w2, b2, g2 = leaf(BATCH, 6, 14, 14), leaf(16, 6, 5, 5), leaf(16), grad(BATCH, 16, 10, 10)
    p1, q1 = leaf(BATCH, 6, 28, 28), grad(BATCH, 6, 14, 14)
    p2, q2 = leaf(BATCH, 16, 10, 10), grad(BATCH, 16, 5, 5)

    def features():
        h = functional.max_pool2d(functional.relu(functional.conv2d(x1, w1, b1, padding=2)), 2)
        h = functional.max_pool2d(functional.relu(functional.conv2d(h, w2, b2)), 2)
        h.backward(q2)

    return {
        "conv1 1->6 k5 p2 28x28": lambda: functional.conv2d(x1, w1, b1, padding=2).backward(g1),
        "conv2 6->16 k5 14x14": lambda: functional.conv2d(x2, w2, b2).backward(g2),
        "max_pool2d 2 on 6x28x28": lambda: functional.max_pool2d(p1, 2).backward(q1),
        "max_pool2d 2 on 16x10x10": lambda: functional.max_pool2d(p2, 2).backward(q2),
        "features: conv-relu-pool x2": features,
    }


def best_ms(fn: Callable[[], None], iterations: int, repeats: int) -> float:
    """Fastest of `repeats` runs, in milliseconds per call (the least disturbed by other load)."""
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            fn()
        best = min(best, (time.perf_counter() - start) / iterations)
    return best * 1e3


def main(argv: list[str] | None = None) -> int:
    """Print forward + backward ms per call for each layer, engine against PyTorch."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--iterations", type=int, default=20)
    parser.add_argument("-r", "--repeats", type=int, default=15)
    parser.add_argument("-t", "--threads", type=int, default=2, help="PyTorch's CPU threads")
    args = parser.parse_args(argv)
    engine.backend.tune()
    try:
        import torch
        import torch.nn.functional as torch_f
    except ImportError:
        torch = None
    ours = cases(engine, F, np.random.default_rng(0))
    theirs = {}
    if torch is not None:
        torch.set_num_threads(args.threads)
        theirs = cases(torch, torch_f, np.random.default_rng(0))
    print(f"{'forward + backward, batch 64':32} {'engine ms':>10} {'torch ms':>10} {'ratio':>7}")
    for name, fn in ours.items():
        mine = best_ms(fn, args.iterations, args.repeats)
        if name in theirs:
            ref = best_ms(theirs[name], args.iterations, args.repeats)
            print(f"{name:32} {mine:10.3f} {ref:10.3f} {mine / ref:7.2f}")
        else:
            print(f"{name:32} {mine:10.3f} {'-':>10} {'-':>7}")
    if theirs:
        print(f"ratio = engine / torch time; LeNet's goal is a step within {GOAL_RATIO:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
