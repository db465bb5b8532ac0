"""Debug screen latency: one step (key `n`) to the screen redrawn, on LeNet-5 at batch 64.

Runs the app headless (App.run_test) on sample_models/lenet_mnist.json with batch size 64,
steps through the whole pass (forward, backward, update) with `n`, and measures from each key
press to the last frame the app drew for it: the stepper's move, the graph
list, the inspector (stats, histogram, heatmap, raw values), layout and rendering. Also
prints the memory the recorded history holds at the end of the pass. Goal: under 50 ms.
The batch is the first of MNIST when its IDX files are in DIR (default ../shared/data/mnist),
else 64 random images of the same shape: the work per step is the same.
Run: .venv/bin/python benchmarks/debug_latency.py [DIR]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp())  # keep the recovery file private

from tui_frames import FrameClock  # noqa: E402  (beside this script)

import engine  # noqa: E402
from app.model.design import Design  # noqa: E402
from app.model.editor import DesignEditor  # noqa: E402
from app.sessions.debugging import DebugBatch, DebugSession  # noqa: E402
from app.tui.app import StepgradApp  # noqa: E402

GOAL_MS = 50.0
BATCH = 64


def lenet_session(data_dir: Path) -> tuple[Design, DebugSession]:
    design = Design.load(ROOT / "sample_models" / "lenet_mnist.json")
    design.training["batch_size"] = BATCH
    if (data_dir / "train-images-idx3-ubyte.gz").exists():
        return design, DebugSession(design, data_dir=data_dir)
    engine.manual_seed(0)
    x, y = engine.rand(BATCH, 1, 28, 28), engine.randint(0, 10, (BATCH,))
    batch = DebugBatch(x, y, engine.get_rng_state(), f"{BATCH} random images")
    return design, DebugSession(design, batch=batch)


async def measure(size: tuple[int, int], data_dir: Path) -> tuple[list[float], DebugSession]:
    design, session = lenet_session(data_dir)
    app = StepgradApp(DesignEditor(design), offer_recovery=False)
    times = []
    async with app.run_test(size=size) as pilot:
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        if screen.session is not None:
            screen.session.close()
        screen.session = session
        screen.show_alert(None)
        screen.show_state()
        await pilot.pause()
        clock = FrameClock(app)
        while session.phase not in ("done", "error"):
            ms = await clock.press(pilot, "n")
            if ms is not None:
                times.append(ms)
    return times, session


def main() -> int:
    engine.backend.tune()
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "mnist"
    worst = 0.0
    print(f"{'size':<10}{'steps':>6}{'median':>10}{'p90':>10}{'max':>10}")
    for size in [(80, 24), (160, 48)]:
        times, session = asyncio.run(measure(size, data_dir))
        times.sort()
        median, p90 = statistics.median(times), times[int(0.9 * (len(times) - 1))]
        worst = max(worst, median)
        label = f"{size[0]}x{size[1]}"
        print(f"{label:<10}{len(times):>6}{median:>8.1f} ms{p90:>7.1f} ms{times[-1]:>7.1f} ms")
    mb = session.history_bytes / 2**20
    print(
        f"batch: {session.batch.origin}; history at the end of the pass: {mb:.1f} MB "
        f"of a {session.value_cap / 2**20:.0f} MB cap; full-pass record "
        f"{session.trace.value_bytes / 2**20:.1f} MB"
    )
    verdict = "meets" if worst <= GOAL_MS else "misses"
    print(f"worst median {worst:.1f} ms: {verdict} the {GOAL_MS:.0f} ms goal")
    return 0 if worst <= GOAL_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
