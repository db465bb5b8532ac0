"""Snapshot tests of the Build, Train and Debug screens on fixed samples and seeds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.tui.script.app import ScriptApp
from app.tui.train.screen import TrainScreen
from tests.app.tui.tui_helpers import ROOT, app_on, settled


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
        await pilot.app.workers.wait_for_complete()  # the run's last report, drawn
        await settled(pilot)

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


BOTH = pytest.mark.parametrize("size", [(80, 24), (120, 35)], ids=["80x24", "120x35"])


async def settle_workers(pilot) -> None:
    """Let every move running in a worker finish, and the screen redraw after it."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class TestBusiestStates:
    """Each screen in its fullest state, at the smallest size it supports and a usual one."""

    @BOTH
    def test_build_residual_with_error_selected(self, snap_compare, size):
        """A residual block whose last layer breaks the skip's shape; that layer selected."""
        app = app_on("residual_mlp")
        app.editor.select((3, 2))  # block1.fc_b
        app.editor.set_arg("out_features", 32)
        assert snap_compare(app, terminal_size=size)

    @BOTH
    def test_train_digits_with_confusion_and_health(self, snap_compare, size, monkeypatch):
        monkeypatch.setattr(TrainScreen, "show_timing", False)
        app, train = trained("mlp_digits", 2)
        assert snap_compare(app, run_before=train, terminal_size=size)

    @BOTH
    def test_train_spirals_with_decision_map(self, snap_compare, size, monkeypatch):
        monkeypatch.setattr(TrainScreen, "show_timing", False)
        app, train = trained("spiral_mlp", 10)
        assert snap_compare(app, run_before=train, terminal_size=size)

    @BOTH
    def test_debug_mid_backward_gradient_histogram(self, snap_compare, size):
        """cnn_digits in backward, the first convolution's output selected: thousands of
        gradient values in its histogram."""

        async def run(pilot):
            await pilot.press("3")
            screen = pilot.app.screen
            while screen.session.phase != "backward":
                await pilot.press("n")
            conv = next(r for r in screen.session.trace.nodes if r.op == "conv2d")
            while screen.session.view(conv.id).grad_stats is None:
                await pilot.press("n")
            screen.query_one("#graph").select(conv.id)
            await pilot.pause()

        assert snap_compare(app_on("cnn_digits"), run_before=run, terminal_size=size)

    @BOTH
    def test_debug_nan_found(self, snap_compare, size, monkeypatch):
        """exploding_lr trained until its loss is not finite, then `!` on that batch."""
        monkeypatch.setattr(TrainScreen, "show_timing", False)
        app, train = trained("exploding_lr", 1)

        async def run(pilot):
            await train(pilot)
            await pilot.press("3")
            await settle_workers(pilot)
            await pilot.press("exclamation_mark")
            await settle_workers(pilot)

        assert snap_compare(app, run_before=run, terminal_size=size)

    @BOTH
    def test_script_debugger_mid_backward(self, snap_compare, size, monkeypatch):
        """`stepgrad debug examples/lenet_mnist.py`, five nodes into its first backward()."""
        monkeypatch.chdir(ROOT)
        app = ScriptApp(Path("examples/lenet_mnist.py"))

        async def run(pilot):
            await settle_workers(pilot)
            for _ in range(5):
                await pilot.press("n")
            await pilot.pause()

        assert snap_compare(app, run_before=run, terminal_size=size)

    @BOTH
    def test_help_on_the_debug_screen(self, snap_compare, size):
        async def run(pilot):
            await pilot.press("3")
            await settle_workers(pilot)
            await pilot.press("question_mark")
            await pilot.pause()

        assert snap_compare(app_on("mlp_digits"), run_before=run, terminal_size=size)
