"""Snapshot tests of the Build and Train screens on fixed samples and seeds."""

from __future__ import annotations

import asyncio

import pytest

from app.screens.train import TrainScreen
from tests.app.tui_helpers import app_on


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
        app = app_on("spiral_mlp")
        app.editor.design.training["epochs"] = 15

        async def train(pilot):
            await pilot.press("2", "space")
            while app.screen.running:
                await asyncio.sleep(0.01)
            await pilot.pause()

        assert snap_compare(app, run_before=train, terminal_size=size)
