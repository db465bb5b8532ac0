"""LSTM language-model training step, engine against PyTorch on the CPU, each in its own process.

The model is the classic word-level LSTM LM at its small size: embedding 200, a
2-layer LSTM with hidden size 200, a linear decoder to a 10,000-word vocabulary;
a step is forward over a batch of 32 sequences of 35 tokens, cross-entropy,
backward and an SGD update. Each library runs in a fresh process with the same
thread count; the figure is the median of several timed repeats.

    python benchmarks/lstm_speed.py [--threads 2] [--steps 10] [--repeats 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

GOAL = 0.5  # engine steps/s as a fraction of PyTorch's
BATCH, SEQ, HIDDEN, EMBED, LAYERS, VOCAB = 32, 35, 200, 200, 2, 10_000


def measure(lib_name: str, steps: int, repeats: int, threads: int) -> dict:
    """Run in the child process: training steps per second."""
    import numpy as np

    if lib_name == "torch":
        import torch as lib

        lib.set_num_threads(threads)
    else:
        import engine as lib
    nn = lib.nn
    lib.manual_seed(0)
    embed = nn.Embedding(VOCAB, EMBED)
    lstm = nn.LSTM(EMBED, HIDDEN, LAYERS)
    decoder = nn.Linear(HIDDEN, VOCAB)
    params = [*embed.parameters(), *lstm.parameters(), *decoder.parameters()]
    opt = lib.optim.SGD(params, lr=1.0)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    data = [lib.tensor(rng.integers(0, VOCAB, (SEQ + 1, BATCH))) for _ in range(4)]
    state = {"hidden": None}

    def step(i: int) -> None:
        tokens = data[i % 4]
        opt.zero_grad()
        hidden = state["hidden"]
        if hidden is not None:  # truncated backpropagation through time
            hidden = tuple(h.detach() for h in hidden)
        output, state["hidden"] = lstm(embed(tokens[:SEQ]), hidden)
        logits = decoder(output).reshape(SEQ * BATCH, VOCAB)
        loss = loss_fn(logits, tokens[1:].reshape(SEQ * BATCH))
        loss.backward()
        opt.step()

    for i in range(3):
        step(i)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            step(i)
        rates.append(steps / (time.perf_counter() - start))
    return {"steps_per_s": statistics.median(rates)}


def run_child(lib_name: str, args) -> dict | None:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    cmd = [sys.executable, __file__, "--child", lib_name, "--steps", str(args.steps)]
    cmd += ["--repeats", str(args.repeats), "--threads", str(args.threads)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        if lib_name == "torch" and "No module named 'torch'" in proc.stderr:
            return None
        raise RuntimeError(f"{lib_name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats in each process")
    parser.add_argument("--rounds", type=int, default=3, help="engine/torch process pairs")
    parser.add_argument("--child", choices=["engine", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import engine

    engine.backend.tune()
    if args.child:
        print(json.dumps(measure(args.child, args.steps, args.repeats, args.threads)))
        return 0

    print(
        f"LSTM LM training step (embedding {EMBED}, {LAYERS}-layer LSTM {HIDDEN}, vocabulary "
        f"{VOCAB}, batch {BATCH} x {SEQ} tokens; forward, loss, backward, SGD), "
        f"{args.threads} threads; {args.rounds} rounds of one engine and one PyTorch "
        f"process, each the median of {args.repeats} x {args.steps} steps; ratio = median "
        "of the rounds' ratios"
    )
    ours, theirs = [], []
    for _ in range(args.rounds):  # alternate, so drift in machine load hits both alike
        ours.append(run_child("engine", args))
        theirs.append(run_child("torch", args))
    rate = statistics.median(r["steps_per_s"] for r in ours)
    print(f"{'engine steps/s':>15}{'torch steps/s':>15}{'ratio':>8}{'range':>12}{'goal':>7}")
    if theirs[0] is None:
        print(f"{rate:>15.2f}  (PyTorch not installed)")
        return 0
    ratios = sorted(o["steps_per_s"] / t["steps_per_s"] for o, t in zip(ours, theirs, strict=True))
    their_rate = statistics.median(r["steps_per_s"] for r in theirs)
    span = f"{ratios[0]:.2f}-{ratios[-1]:.2f}"
    print(
        f"{rate:>15.2f}{their_rate:>15.2f}{statistics.median(ratios):>7.2f}x{span:>12}{GOAL:>6.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
