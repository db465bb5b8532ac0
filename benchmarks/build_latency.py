"""Build screen latency: key press to screen updated, for edit keys on every sample model.

Runs the app headless (App.run_test), presses each key with Pilot and measures from the key
press to the last frame the app drew for it (the write of a rendered screen
update): the edit, the shape inference, the widgets' updates, layout and rendering. Pilot's
own waiting for the app to go idle is left out. Goal: at most 50 ms per edit.
Run: .venv/bin/python benchmarks/build_latency.py [ROUNDS]
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

from app.model.editor import DesignEditor  # noqa: E402
from app.tui.app import StepgradApp  # noqa: E402

# each edit, then its undo: the design stays the same size however many rounds run
EDIT_KEYS = ("c", "ctrl+z", "shift+down", "ctrl+z", "w", "ctrl+z", "d", "ctrl+z", "ctrl+y")
GOAL_MS = 50.0


async def measure(sample: Path, rounds: int, size: tuple[int, int] = (160, 48)) -> list[float]:
    app = StepgradApp(DesignEditor.open(sample), offer_recovery=False)
    times = []
    async with app.run_test(size=size) as pilot:
        clock = FrameClock(app)
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()
        for _ in range(rounds):
            for key in EDIT_KEYS:
                ms = await clock.press(pilot, key)
                if ms is not None:
                    times.append(ms)
    return times


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    worst = 0.0
    sizes = [(80, 24), (160, 48)]
    print(f"{'sample':<24}{'edits':>6}" + "".join(f"{f'median {w}x{h}':>17}" for w, h in sizes))
    for sample in sorted((ROOT / "sample_models").glob("*.json")):
        medians = []
        for size in sizes:
            times = asyncio.run(measure(sample, rounds, size))
            medians.append(statistics.median(times))
        worst = max(worst, *medians)
        print(f"{sample.stem:<24}{len(times):>6}" + "".join(f"{m:>14.1f} ms" for m in medians))
    verdict = "meets" if worst <= GOAL_MS else "misses"
    print(f"worst median {worst:.1f} ms: {verdict} the {GOAL_MS:.0f} ms goal")
    return 0 if worst <= GOAL_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
