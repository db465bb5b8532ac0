"""Snapshot tests of the Build, Train and Debug screens on fixed samples and seeds."""

from __future__ import annotations

import asyncio

import pytest

from app.tui.train.screen import TrainScreen
from tests.app.tui.tui_helpers import app_on


class TestBuildScreen:
    @pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
    def test_cnn_sample(self, snap_compare, size):
        assert snap_compare(app_on("cnn_digits"), terminal_size=size)

    @pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
    def test_shape_error_marked(self, snap_compare, size):
        assert snap_compare(app_on("shape_mismatch"), press=["down"] * 3, terminal_size=size)


class TestTrainScreen:
    @pytest.mark.parametrize("size", [(100, 32)], ids=["100x32"])
    def test_spiral_after_fifteen_epochs(self, snap_compare, size, monkeypatch):
        """A seeded run to its end: curves, decision map and layer health; no timings."""
        monkeypatch.setattr(TrainScreen, "show_timing", False)
        app, train = trained("spiral_mlp", 15)
        assert snap_compare(app, run_before=train, terminal_size=size)

    @pytest.mark.parametrize("size", [(120, 35)], ids=["120x35"])
    def test_digits_after_three_epochs(self, snap_compare, size, monkeypatch):
        """An image set: the confusion matrix and the strip of worst-classified images."""
        monkeypatch.setattr(TrainScreen, "show_timing", False)
        app, train = trained("mlp_digits", 3)
        assert snap_compare(app, run_before=train, terminal_size=size)


def trained(sample: str, epochs: int):
    """The app on `sample`, and what to run before the snapshot: `epochs` of training."""
    app = app_on(sample)
    app.editor.design.training["epochs"] = epochs

    async def train(pilot):
        await pilot.press("2", "space")
        while app.screen.running:
            await asyncio.sleep(0.01)
        await pilot.pause()

    return app, train


class TestDebugScreen:
    """The seeded MLP on its first digits batch, stepped to a fixed event."""

    @staticmethod
    def stepped_to(phase: str, extra: int):
        async def step(pilot):
            await pilot.press("3")
            while pilot.app.screen.session.phase != phase:
                await pilot.press("n")
            for _ in range(extra):
                await pilot.press("n")
            await pilot.pause()

        return step

    @pytest.mark.parametrize("size", [(120, 36)], ids=["120x36"])
    def test_mid_forward(self, snap_compare, size):
        """On fc1's ReLU: its values, histogram, heatmap and raw values; later rows not run."""
        run = self.stepped_to("forward", 2)
        assert snap_compare(app_on("mlp_digits"), run_before=run, terminal_size=size)

    @pytest.mark.parametrize("size", [(120, 36)], ids=["120x36"])
    def test_mid_backward(self, snap_compare, size):
        """Three nodes into backward: the Gradient tab, rows with gradient norms."""
        run = self.stepped_to("backward", 3)
        assert snap_compare(app_on("mlp_digits"), run_before=run, terminal_size=size)
