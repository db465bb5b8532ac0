"""LeNet-5 on MNIST for one epoch (Adam 1e-3, batch 128, seed 0): engine against PyTorch.

Both libraries start from the same initial weights and see the same images in
the same order (one seeded permutation);
each runs in its own process with the same thread count. Prints test accuracy
and wall time for both.

    python benchmarks/mnist_accuracy.py --data ../shared/data/mnist [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from train_speed import build


def _initial_weights() -> dict:
    import engine

    engine.manual_seed(0)
    return {k: v.numpy() for k, v in build(engine, "lenet").state_dict().items()}


def run(lib_name: str, data: str, epochs: int) -> dict:
    import numpy as np

    from engine.datasets import MNIST

    train, test = MNIST(data, train=True), MNIST(data, train=False)
    x_train = train.data.numpy().astype(np.float32)[:, None] / 255
    y_train = train.targets.numpy()
    x_test = test.data.numpy().astype(np.float32)[:, None] / 255
    y_test = test.targets.numpy()
    if lib_name == "torch":
        import torch as lib

        lib.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    else:
        import engine as lib
    lib.manual_seed(0)
    net = build(lib, "lenet")
    # both libraries start from the engine's seeded initial weights
    engine_init = _initial_weights()
    net.load_state_dict({k: lib.tensor(v) for k, v in engine_init.items()})
    opt = lib.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    order_rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        order = order_rng.permutation(len(x_train))
        for i in range(0, len(order), 128):
            idx = order[i : i + 128]
            opt.zero_grad()
            loss = loss_fn(net(lib.tensor(x_train[idx])), lib.tensor(y_train[idx]))
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - start
    net.eval()
    correct = 0
    with lib.no_grad():
        for i in range(0, len(x_test), 1000):
            out = net(lib.tensor(x_test[i : i + 1000]))
            correct += int((out.argmax(1).numpy() == y_test[i : i + 1000]).sum())
    return {"accuracy": correct / len(x_test), "train_s": train_s, "last_loss": loss.item()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", required=True, help="folder with the four MNIST IDX files")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--child", choices=["engine", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import engine

    engine.backend.tune()
    if args.child:
        print(json.dumps(run(args.child, args.data, args.epochs)))
        return 0
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    results = {}
    for lib_name in ("engine", "torch"):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            lib_name,
            "--data",
            args.data,
            "--epochs",
            str(args.epochs),
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            if lib_name == "torch" and "No module named 'torch'" in proc.stderr:
                print("PyTorch is not installed: engine figures only")
                continue
            print(proc.stderr, file=sys.stderr)
            return 1
        results[lib_name] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"LeNet-5, MNIST, {args.epochs} epoch(s), Adam 1e-3, batch 128, seed 0, "
        f"{args.threads} threads"
    )
    for name, r in results.items():
        print(f"{name:<7} test accuracy {r['accuracy']:.4f}   train time {r['train_s']:.1f} s")
    if len(results) == 2:
        ratio = results["torch"]["train_s"] / results["engine"]["train_s"]
        print(
            f"engine speed / torch speed = {ratio:.2f}x (goal >= 0.5x: no more than twice the time)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
