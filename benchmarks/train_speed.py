"""Training-step throughput, engine against PyTorch on the CPU, each in its own process.

A step is forward, cross-entropy, backward and an SGD-with-momentum update on
random data of MNIST's shape (CIFAR-10's for the two CIFAR CNNs). Each library runs
in a fresh process with the same thread count; the figure is the median of several
timed repeats.

    python benchmarks/train_speed.py [--model NAME|all] [--threads 2] [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# engine samples/s as a fraction of PyTorch's
GOALS = {"mlp": 1.0, "lenet": 0.75, "cifar": 0.5, "cifar_bn": 0.5}
BATCH = {"mlp": 128, "lenet": 64, "cifar": 4, "cifar_bn": 32}
SHAPE = {"mlp": (1, 28, 28), "lenet": (1, 28, 28), "cifar": (3, 32, 32), "cifar_bn": (3, 32, 32)}


def build(lib, model: str):
    nn = lib.nn
    if model == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256),
            nn.ReLU(),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )
    if model == "cifar":  # PyTorch's CIFAR-10 tutorial network, at the tutorial's batch of 4
        return nn.Sequential(
            nn.Conv2d(3, 6, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, 10),
        )
    if model == "cifar_bn":  # a wider CIFAR-10 CNN with BatchNorm, as courses build next
        return nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 8 * 8, 256),
            nn.ReLU(),
            nn.Linear(256, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def measure(lib_name: str, model: str, steps: int, repeats: int, threads: int) -> dict:
    """Run in the child process: samples/s of the training step, and peak RSS."""
    import numpy as np

    if lib_name == "torch":
        import torch as lib

        lib.set_num_threads(threads)
    else:
        import engine as lib
    lib.manual_seed(0)
    net = build(lib, model)
    opt = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    batch = BATCH[model]
    xs = [lib.tensor(rng.random((batch, *SHAPE[model]), dtype=np.float32)) for _ in range(4)]
    ys = [lib.tensor(rng.integers(0, 10, batch)) for _ in range(4)]

    def step(i: int) -> None:
        opt.zero_grad()
        loss = loss_fn(net(xs[i % 4]), ys[i % 4])
        loss.backward()
        opt.step()

    for i in range(5):
        step(i)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            step(i)
        rates.append(steps * batch / (time.perf_counter() - start))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"samples_per_s": statistics.median(rates), "peak_rss_mb": peak_mb}


def run_child(lib_name: str, model: str, args) -> dict | None:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    cmd = [
        sys.executable,
        __file__,
        "--child",
        lib_name,
        "--model",
        model,
        "--steps",
        str(args.steps),
        "--repeats",
        str(args.repeats),
        "--threads",
        str(args.threads),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        if lib_name == "torch" and "No module named 'torch'" in proc.stderr:
            return None
        raise RuntimeError(f"{lib_name} {model} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats in each process")
    parser.add_argument("--rounds", type=int, default=5, help="engine/torch process pairs")
    parser.add_argument("--model", choices=[*BATCH, "all"], default="all")
    parser.add_argument("--child", choices=["engine", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import engine

    engine.backend.tune()
    if args.child:
        print(json.dumps(measure(args.child, args.model, args.steps, args.repeats, args.threads)))
        return 0

    models = list(BATCH) if args.model == "all" else [args.model]
    print(
        f"training step (forward, loss, backward, SGD momentum), {args.threads} threads; "
        f"{args.rounds} rounds of one engine and one PyTorch process, each the median of "
        f"{args.repeats} x {args.steps} steps; ratio = median of the rounds' ratios"
    )
    print(
        f"{'model':<8}{'batch':>6}{'engine/s':>11}{'torch/s':>10}{'ratio':>8}{'range':>14}"
        f"{'goal':>7}{'engine MB':>11}{'torch MB':>10}"
    )
    for model in models:
        ours, theirs = [], []
        for _ in range(args.rounds):  # alternate, so drift in machine load hits both alike
            ours.append(run_child("engine", model, args))
            theirs.append(run_child("torch", model, args))
        rate = statistics.median(r["samples_per_s"] for r in ours)
        mb = max(r["peak_rss_mb"] for r in ours)
        if theirs[0] is None:
            print(f"{model:<8}{BATCH[model]:>6}{rate:>11.0f}  (PyTorch not installed)")
            continue
        ratios = sorted(
            o["samples_per_s"] / t["samples_per_s"] for o, t in zip(ours, theirs, strict=True)
        )
        their_rate = statistics.median(r["samples_per_s"] for r in theirs)
        span = f"{ratios[0]:.2f}-{ratios[-1]:.2f}"
        print(
            f"{model:<8}{BATCH[model]:>6}{rate:>11.0f}{their_rate:>10.0f}"
            f"{statistics.median(ratios):>7.2f}x{span:>14}{GOALS[model]:>6.2f}x{mb:>11.0f}"
            f"{max(r['peak_rss_mb'] for r in theirs):>10.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
