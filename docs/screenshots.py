"""Regenerate the README's screenshots: seeded samples, no timings, fixed sizes.

.venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp())  # keep the recovery file private
os.chdir(ROOT)  # the header shows paths relative to the working folder

from app.model.editor import DesignEditor  # noqa: E402
from app.tui.app import StepgradApp  # noqa: E402
from app.tui.script.app import ScriptApp  # noqa: E402
from app.tui.train.screen import TrainScreen  # noqa: E402


def app_on(name: str) -> StepgradApp:
    return StepgradApp(
        DesignEditor.open(Path("sample_models") / f"{name}.json"), offer_recovery=False
    )


async def build_screen() -> None:
    app = app_on("cnn_digits")
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.pause()
        app.save_screenshot("build.svg", path=str(ROOT / "docs"))


async def train_screen() -> None:
    TrainScreen.show_timing = False
    app = app_on("spiral_mlp")
    app.editor.design.training["epochs"] = 25
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("2", "space")
        while app.screen.running:
            await asyncio.sleep(0.01)
        await pilot.pause()
        app.save_screenshot("train.svg", path=str(ROOT / "docs"))


async def debug_screen() -> None:
    app = app_on("mlp_digits")
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("3")
        while app.screen.session.phase != "backward":
            await pilot.press("n")
        await pilot.press("n", "n", "n")
        await pilot.pause()
        app.save_screenshot("debug.svg", path=str(ROOT / "docs"))


async def script_screen() -> None:
    app = ScriptApp(Path("examples") / "lenet_mnist.py", ["--epochs", "1"])
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("n", "n", "n", "n", "n", "n")
        await pilot.pause()
        app.save_screenshot("script.svg", path=str(ROOT / "docs"))
        await pilot.press("q")


if __name__ == "__main__":
    asyncio.run(build_screen())
    asyncio.run(train_screen())
    asyncio.run(debug_screen())
    asyncio.run(script_screen())
    print("wrote docs/build.svg, docs/train.svg, docs/debug.svg and docs/script.svg")
