"""Shared pieces of the app's Pilot tests."""

from __future__ import annotations

from pathlib import Path

from app.model.editor import DesignEditor
from app.tui.app import StepgradApp
from widgets._textual_internals import screen_pending

ROOT = Path(__file__).parents[3]
SAMPLES = ROOT / "sample_models"


def app_on(sample: str, tmp_path: Path | None = None) -> StepgradApp:
    """The app on a copy of a sample (in tmp_path when given, so saving touches nothing real)."""
    source = SAMPLES / f"{sample}.json"
    if tmp_path is not None:
        copy = tmp_path / source.name
        copy.write_text(source.read_text())
        source = copy
    return StepgradApp(DesignEditor.open(source), offer_recovery=False)


async def settled(pilot) -> None:
    """Wait until the screen has no layout or repaint pending: both run on a timer, so
    one may still be due after the messages of a key have been handled."""
    screen = pilot.app.screen
    for _ in range(100):
        await pilot.pause()
        if not screen_pending(screen):
            return
        await pilot.pause(0.02)
    raise AssertionError("the screen never settled")
