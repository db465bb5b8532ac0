"""A person's PyTorch script under `stepgrad run` against the same script on the engine
under plain python, and against PyTorch itself.

The script is `user_scripts/lenet_mnist.py`, LeNet-5 on MNIST as the classic tutorials
write it (`import torch`, a DataLoader of batch 64, SGD with momentum), trained for a
fixed number of batches. Each way of running it is a fresh process, in turn, several
times; the figures are the best of those runs (on a shared machine the others carry
other people's load), the median loop time beside them:

- plain: `python COPY.py`, COPY being the script with its torch and torchvision imports
  rewritten to the engine's modules (`import engine as torch`, ...);
- plain, tuned malloc: the same with glibc set as `stepgrad` sets it at start
  (`engine.backend.tune`), so that it differs from `run` by the import hook alone;
- run: `python -m app run lenet_mnist.py` (the import hook, no instrument);
- run --explain-nan: the same with every op's output, gradient and update checked;
- debug, no stop: the Debug screen's session over the script, headless, with no
  breakpoint, so that it records every op until its first stop, the script's end;
- torch: `python lenet_mnist.py` on PyTorch, when it is installed (a reference).

Times are the whole process (start, imports, data loading, training) and the training
loop alone, as the script prints it. The goals: `run` at >= 0.9x the speed of plain;
`debug` at <= 1.3x plain's time until its first stop.

    python benchmarks/script_speed.py [--data ../shared/data/mnist] [--batches 200]
        [--repeats 5] [--threads 2]

Without the MNIST files the script trains on the 8x8 digits that ship with stepgrad
(padded to 28x28) and PyTorch is left out (torchvision has no such dataset).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve().parent / "user_scripts" / "lenet_mnist.py"
GOAL = 0.9  # run's speed as a fraction of plain python's
DEBUG_GOAL = 1.3  # debug's time until its first stop as a multiple of plain python's

# the script's imports, line for line, as `import engine as torch` style writes them
ENGINE_IMPORTS = {
    "import torch": "import engine as torch",
    "import torch.nn as nn": "import engine.nn as nn",
    "import torch.nn.functional as F": "import engine.nn.functional as F",
    "import torch.optim as optim": "import engine.optim as optim",
    "import torchvision.datasets as datasets": "import engine.datasets as datasets",
    "import torchvision.transforms as transforms": (
        "import engine.datasets.transforms as transforms"
    ),
}

# torchvision's MNIST and the three transforms the script uses, for a PyTorch without
# torchvision: items are read the way torchvision reads them (one image at a time)
TORCHVISION_STAND_IN = {
    "__init__.py": "from . import datasets, transforms\n",
    "datasets.py": """
import gzip
import os

import numpy as np


def _idx(path):
    with gzip.open(path) as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    if data[3] == 3:
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)


class MNIST:
    def __init__(self, root, train=True, download=False, transform=None):
        part = "train" if train else "t10k"
        raw = os.path.join(root, "MNIST", "raw")
        self.data = _idx(os.path.join(raw, f"{part}-images-idx3-ubyte.gz"))
        self.targets = _idx(os.path.join(raw, f"{part}-labels-idx1-ubyte.gz"))
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        image = self.data[i]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[i])
""",
    "transforms.py": """
import numpy as np
import torch


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class ToTensor:
    def __call__(self, image):
        return torch.from_numpy(image.astype(np.float32) / 255)[None]


class Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]

    def __call__(self, x):
        return (x - self.mean) / self.std
""",
}


def engine_copy(folder: Path) -> Path:
    """The script with its torch imports rewritten to the engine's modules, in `folder`."""
    lines = SCRIPT.read_text().splitlines()
    rewritten = [ENGINE_IMPORTS.get(line, line) for line in lines]
    left = [line for line in rewritten if re.match(r"(import|from) torch", line)]
    if left:
        raise SystemExit(f"script_speed: no engine import for {left[0]!r}")
    copy = folder / "lenet_mnist_engine.py"
    copy.write_text("\n".join(rewritten) + "\n")
    return copy


def mnist_root(data: Path, folder: Path) -> Path | None:
    """A folder in torchvision's layout (MNIST/raw/) linking to the files in `data`."""
    files = sorted(data.glob("*-ubyte*")) if data.is_dir() else []
    if len(files) < 2:
        return None
    raw = folder / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in files:
        (raw / f.name).symlink_to(f.resolve())
    return raw.parents[1]


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def timed(command: list[str], env: dict, loop: bool = True) -> tuple[float, float]:
    """(whole process, training loop) seconds of one run of `command` (the loop's only
    when `loop`: the script prints it at its end)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"script_speed: {' '.join(command)} failed:\n{done.stderr}")
    if not loop:
        return wall, 0.0
    found = re.search(r"trained \d+ batches in ([\d.]+) s", done.stdout)
    return wall, float(found.group(1))


# ----- stepgrad debug, headless, stats recorded until the first stop ---------------------
# The Debug screen's session over the script with no breakpoint, so that its first stop is
# the script's end: every op, gradient and update of the training loop recorded with its
# statistics (and the newest iteration's values), as `stepgrad debug` records them.
DEBUG_DRIVER = """
import sys
import engine.backend
from app.sessions.script_debugging import ScriptDebugSession
engine.backend.tune()  # as the stepgrad command does at start
session = ScriptDebugSession(sys.argv[1], sys.argv[2:])
event = session.start() if FIRST_STOP else session.run_to_error()
print("\\n".join(session.output))
session.close()
sys.exit(0 if event.phase in ("done", "backward") else 1)
"""
# the first stop that `stepgrad debug` makes by default: the first call of backward()
FIRST_STOP_DRIVER = DEBUG_DRIVER.replace("FIRST_STOP", "True")
DEBUG_DRIVER = DEBUG_DRIVER.replace("FIRST_STOP", "False")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    threads = str(args.threads)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        root = mnist_root(Path(args.data), folder)
        script_args = ["--batches", str(args.batches)]
        if root is not None:
            script_args += ["--data", str(root)]
        data = f"MNIST from {args.data}" if root else "the shipped 8x8 digits (no MNIST found)"
        python = sys.executable
        # glibc's settings that `stepgrad` (engine.backend.tune) makes at start, for a plain
        # run that differs from `run` by the import hook alone
        tuned = {
            **env,
            "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
            "MALLOC_TRIM_THRESHOLD_": str(128 << 20),
        }
        copy = str(engine_copy(folder))
        modes = {
            "plain": ([python, copy, *script_args], env),
            "plain, tuned malloc": ([python, copy, *script_args], tuned),
            "run": ([python, "-m", "app", "run", str(SCRIPT), *script_args], env),
            "run --explain-nan": (
                [python, "-m", "app", "run", "--explain-nan", str(SCRIPT), *script_args],
                env,
            ),
            "debug, no stop": ([python, "-c", DEBUG_DRIVER, str(SCRIPT), *script_args], env),
        }
        # until the first stop: the whole process of a one-batch plain run (start, data,
        # one step) against debug's, which stops at that batch's backward()
        one = ["--batches", "1", *script_args[2:]]
        first = {
            "plain, 1 batch": ([python, copy, *one], env),
            "debug, to first stop": ([python, "-c", FIRST_STOP_DRIVER, str(SCRIPT), *one], env),
        }
        if root is not None and torch_available():
            stand_in = folder / "stand_in"
            try:
                import torchvision  # noqa: F401
            except ImportError:
                (stand_in / "torchvision").mkdir(parents=True)
                for name, text in TORCHVISION_STAND_IN.items():
                    (stand_in / "torchvision" / name).write_text(text)
            modes["torch"] = (
                [python, str(SCRIPT), *script_args],
                {**env, "PYTHONPATH": str(stand_in)},
            )

        print(f"LeNet-5, {args.batches} batches of 64 on {data}, {args.threads} threads, "
              f"best of {args.repeats} runs each")  # fmt: skip
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
        walls: dict[str, list[float]] = {}
        for _ in range(args.repeats):  # in turn, so that a slow spell hits every mode
            for name, (command, mode_env) in modes.items():
                times[name].append(timed(command, mode_env))
            for name, (command, mode_env) in first.items():
                walls.setdefault(name, []).append(timed(command, mode_env, loop=False)[0])

    best = {
        name: (min(w for w, _ in runs), min(t for _, t in runs)) for name, runs in times.items()
    }
    print(f"{'mode':<22} {'process s':>10} {'loop s':>8} {'batches/s':>10} {'median loop s':>14}")
    for name, (wall, loop) in best.items():
        median = statistics.median(t for _, t in times[name])
        print(f"{name:<22} {wall:>10.3f} {loop:>8.3f} {args.batches / loop:>10.1f} {median:>14.3f}")
    plain, tuned, run = best["plain"], best["plain, tuned malloc"], best["run"]
    speed_wall, speed_loop = plain[0] / run[0], plain[1] / run[1]
    print(
        f"run's speed / plain's (time plain / time run): {speed_wall:.3f} whole process, "
        f"{speed_loop:.3f} training loop; goal >= {GOAL}: "
        f"{'met' if min(speed_wall, speed_loop) >= GOAL else 'NOT met'}"
    )
    print(
        f"the same against plain with stepgrad's malloc settings (the import hook's own cost): "
        f"{tuned[0] / run[0]:.3f} whole process, {tuned[1] / run[1]:.3f} training loop"
    )
    nan = best["run --explain-nan"]
    print(f"--explain-nan costs {nan[1] / run[1]:.2f}x run's training loop")
    first_plain, first_debug = min(walls["plain, 1 batch"]), min(walls["debug, to first stop"])
    ratio = first_debug / first_plain
    print(
        f"debug until its first stop (the first backward()): {first_debug:.3f} s against "
        f"plain's {first_plain:.3f} s for one batch, {ratio:.2f}x; goal <= {DEBUG_GOAL}: "
        f"{'met' if ratio <= DEBUG_GOAL else 'NOT met'}"
    )
    debug = best["debug, no stop"]
    print(
        f"debug with no stop, recording every value's and gradient's statistics through all "
        f"{args.batches} batches: {debug[1] / plain[1]:.2f}x plain's training loop, "
        f"{debug[0] / plain[0]:.2f}x its whole process"
    )
    if "torch" in best:
        print(f"PyTorch's loop is {plain[1] / best['torch'][1]:.2f}x faster than plain's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
