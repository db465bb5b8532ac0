"""The Debug screen: which weights, which condition, findings' causes, and the graph pane."""

from __future__ import annotations

from app.tui.debug.screen import DebugScreen
from tests.app.tui.test_tui_debug import SIZE, open_debug, press, text
from tests.app.tui.tui_helpers import app_on


class TestWeights:
    async def test_the_status_says_initial_weights_then_the_trained_step(self, tmp_path):
        app = app_on("dead_relu", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_debug(pilot)
            assert "initial weights" in text(app, "#status")
            await press(pilot, "2", "space")
            steps = app.screen.session.global_step
            epochs = app.screen.session.epoch
            await press(pilot, "3")
            assert isinstance(app.screen, DebugScreen)
            status = text(app, "#status")
            assert f"weights after epoch {epochs}, step {steps}" in status, status
            assert "initial weights" not in status
