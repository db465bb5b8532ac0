"""Training speed in the terminal app against the headless session, on the same design.

Runs the app headless (App.run_test), opens the Train screen, presses space and
waits for the run to finish; the headless figure is TrainingSession.run() alone.
Goal: the app trains at >= 90% of the headless speed.

    python benchmarks/train_tui_speed.py [DESIGN_NAME EPOCHS] ...
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp())  # keep the recovery file private

from textual import events  # noqa: E402

from app.design import Design  # noqa: E402
from app.editor import DesignEditor  # noqa: E402
from app.session import TrainingSession  # noqa: E402
from app.tui import StepgradApp  # noqa: E402

RUNS = [("mlp_digits", 150), ("cnn_digits", 8)]
GOAL = 0.9


def design(name: str, epochs: int) -> Design:
    d = Design.load(ROOT / "sample_models" / f"{name}.json")
    d.training["epochs"] = epochs
    return d


def headless(name: str, epochs: int) -> float:
    session = TrainingSession(design(name, epochs))
    start = time.perf_counter()
    session.run(epochs)
    return session.global_step * session.batch_size / (time.perf_counter() - start)


async def in_app(name: str, epochs: int) -> float:
    app = StepgradApp(DesignEditor(design(name, epochs)), offer_recovery=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        screen = app.screen
        start = time.perf_counter()
        app.post_message(events.Key("space", " "))
        while screen.session is None or screen.session.status != "finished":
            await asyncio.sleep(0.02)
        session = screen.session
        return session.global_step * session.batch_size / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    runs = [(argv[i], int(argv[i + 1])) for i in range(0, len(argv), 2)] or RUNS
    print(f"{'design':<14}{'epochs':>7}{'headless/s':>12}{'app/s':>9}{'ratio':>7}  goal {GOAL:.2f}")
    for name, epochs in runs:
        alone = headless(name, epochs)
        app_rate = asyncio.run(in_app(name, epochs))
        print(f"{name:<14}{epochs:>7}{alone:>12,.0f}{app_rate:>9,.0f}{app_rate / alone:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
