"""Training in the terminal app: its speed against the headless session, and its keys.

Runs the app headless (App.run_test), opens the Train screen, presses space and
waits for the run to finish; the headless figure is TrainingSession.run() alone.
Goal: the app trains at >= 90% of the headless speed (the best of five runs of
each, taken in turn). Then, while a run trains,
presses `?` and Escape in turn and times each from the key to the first frame
drawn with the help screen opened or closed. Goal: within 100 ms.

    python benchmarks/train_tui_speed.py [DESIGN_NAME EPOCHS] ...
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp())  # keep the recovery file private

from textual import events  # noqa: E402

import engine  # noqa: E402
from app.model.design import Design  # noqa: E402
from app.model.editor import DesignEditor  # noqa: E402
from app.sessions.training import TrainingSession  # noqa: E402
from app.tui.app import StepgradApp  # noqa: E402
from app.tui.dialogs.help import HelpScreen  # noqa: E402
from app.tui.train.screen import TrainScreen  # noqa: E402
from widgets._textual_internals import on_frame_written  # noqa: E402

RUNS = [("mlp_digits", 150), ("cnn_digits", 8)]
GOAL = 0.9
KEY_GOAL_MS = 100.0
PRESSES = 10  # of each key
REPEATS = 5  # runs of each kind, the best counted


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
        while not screen.running:
            await asyncio.sleep(0.005)
        # waiting in a thread of its own: a loop that polls would wake the app (and take
        # the interpreter from training) fifty times a second, which the app never does
        await asyncio.to_thread(screen.finished.wait)
        session = screen.session
        assert session.status == "finished", session.status
        return session.global_step * session.batch_size / (time.perf_counter() - start)


async def key_latency(name: str, epochs: int) -> list[float]:
    """Milliseconds from each key to the first frame showing its effect, mid-run."""
    app = StepgradApp(DesignEditor(design(name, epochs)), offer_recovery=False)
    frames: list[tuple[float, object]] = []
    on_frame_written(app, lambda screen: frames.append((time.perf_counter(), screen)))
    times = []
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        screen = app.screen
        app.post_message(events.Key("space", " "))
        while screen.session is None or screen.session.global_step < 5:
            await asyncio.sleep(0.02)
        for _ in range(PRESSES):
            for key, char, shown in (
                ("question_mark", "?", HelpScreen),
                ("escape", None, TrainScreen),
            ):
                seen = len(frames)
                start = time.perf_counter()
                app.post_message(events.Key(key, char))
                while not any(isinstance(s, shown) for _, s in frames[seen:]):
                    await asyncio.sleep(0.002)
                drawn = next(t for t, s in frames[seen:] if isinstance(s, shown))
                times.append((drawn - start) * 1000)
                await asyncio.sleep(0.2)
        if screen.session.status == "running":
            screen.action_stop()
        while screen.running:
            await asyncio.sleep(0.02)
    return times


def main(argv: list[str]) -> int:
    engine.backend.tune()
    runs = [(argv[i], int(argv[i + 1])) for i in range(0, len(argv), 2)] or RUNS
    print(f"{'design':<14}{'epochs':>7}{'headless/s':>12}{'app/s':>9}{'ratio':>7}  goal {GOAL:.2f}")
    for name, epochs in runs:
        # taken in turn, best of REPEATS each: this machine's speed drifts between runs
        alone = app_rate = 0.0
        for _ in range(REPEATS):
            alone = max(alone, headless(name, epochs))
            app_rate = max(app_rate, asyncio.run(in_app(name, epochs)))
        print(f"{name:<14}{epochs:>7}{alone:>12,.0f}{app_rate:>9,.0f}{app_rate / alone:>7.2f}")
    print(f"\nkeys while training (? and Escape, {PRESSES} each): key to first frame")
    print(f"{'design':<14}{'median':>9}{'p90':>9}{'max':>9}  goal {KEY_GOAL_MS:.0f} ms")
    for name, epochs in runs:
        times = sorted(asyncio.run(key_latency(name, epochs)))
        p90 = times[int(0.9 * (len(times) - 1))]
        print(f"{name:<14}{statistics.median(times):>7.0f}ms{p90:>7.0f}ms{times[-1]:>7.0f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
