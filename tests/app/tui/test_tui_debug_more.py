"""The Debug screen: which weights, which condition, findings' causes, and the graph pane."""

from __future__ import annotations

import html
import re

import pytest
from rich.console import Console

from app.tui.actions import ACTIONS
from app.tui.debug.screen import DebugScreen
from app.tui.dialogs.help import HelpScreen
from tests.app.tui.test_tui_debug import (
    SIZE,
    answer_condition,
    graph,
    open_debug,
    press,
    shown,
    text,
)
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


class TestConditions:
    async def test_the_status_names_the_condition_that_stopped_the_run(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_debug(pilot)
            await answer_condition(pilot, "norm", "1000000")
            await answer_condition(pilot, "norm", "30")
            await press(pilot, "c")
            first_line = text(app, "#status").splitlines()[0]
            assert "stopped by norm > 30" in first_line, first_line
            assert "norm > 1e+06" not in first_line
            await press(pilot, "left")  # looking back: that event did not stop a run
            assert "stopped by" not in text(app, "#status")


class TestCauses:
    async def test_dead_relu_names_its_learning_rate_before_and_after_training(self, tmp_path):
        app = app_on("dead_relu", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_debug(pilot)
            before = shown(app, "#findings")
            assert "lr 1 is high for SGD" in before and "ReLUs dead" in before, before
            await press(pilot, "2", "space", "3")
            after = shown(app, "#findings")
            assert "relu1" in after and "dead" in after, after
            assert "likely cause: lr 1 is high for SGD" in after, after

    async def test_a_usual_learning_rate_gives_no_finding(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_debug(pilot)
            assert not app.screen.query_one("#findings").display


class TestGraphPane:
    @pytest.mark.parametrize("size", [(120, 35), (80, 24)])
    async def test_every_gradient_norm_shows_whole(self, size, tmp_path):
        app = app_on("vanishing_sigmoid", tmp_path)
        async with app.run_test(size=size) as pilot:
            await open_debug(pilot)
            await press(pilot, "c")  # to the end: every gradient known
            norms = [row.detail for row in graph(app).rows if row.detail]
            assert len(norms) > 20
            pane = app.screen.query_one("#graph")
            assert pane.scrollable_content_region.width >= graph(app).content_width() - 2
            lines = html.unescape(app.export_screenshot()).replace("\xa0", " ")
            seen = re.findall(r"‖g‖ [^<]*", lines)
            assert seen, "no gradient norm on screen"
            cut = [s for s in seen if s.strip() not in norms]
            assert not cut, cut


def help_text(app) -> str:
    """The help's table of keys as plain text."""
    console = Console(width=200)
    with console.capture() as captured:
        console.print(app.screen.query_one("#help-keys Static:last-of-type").content)
    return captured.get()


class TestHelp:
    async def test_help_on_debug_lists_its_keys_first_then_every_screen(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_debug(pilot)
            await press(pilot, "question_mark")
            assert isinstance(app.screen, HelpScreen)
            keys = help_text(app)
            titles = ("Debug screen", "Everywhere", "Build screen", "Train screen")
            places = [keys.index(t) for t in titles]
            assert places == sorted(places), places
            for action in ACTIONS:
                if action.scope == "debug" and action.key:
                    assert action.description in keys, action.description
            scroll = app.screen.query_one("#help-keys")
            await press(pilot, "pagedown")
            assert scroll.scroll_y > 0
            await press(pilot, "escape", "1", "question_mark")
            keys = help_text(app)
            assert keys.index("Build screen") < keys.index("Debug screen")


class TestPalette:
    async def test_the_palette_lists_other_screens_commands_with_their_keys(self, tmp_path):
        from textual.command import CommandPalette
        from textual.widgets import OptionList

        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_debug(pilot)
            await press(pilot, "ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            await pilot.press(*"pause")
            options = app.screen.query_one(OptionList)
            for _ in range(200):  # the palette searches in a worker of its own
                await pilot.pause(0.02)
                if options.option_count and "pause" in str(options.get_option_at_index(0).prompt):
                    break
            prompts = [
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            ]
            wanted = "train: start, pause or resume"
            assert any(wanted in p and "space" in p for p in prompts), prompts
            await press(pilot, "escape", "escape", "1", "ctrl+p")
            await pilot.press(*"next op")
            options = app.screen.query_one(OptionList)
            for _ in range(200):  # until the search has answered
                await pilot.pause(0.02)
                if options.option_count and "next op" in str(options.get_option_at_index(0).prompt):
                    break
            assert "debug: next op" in str(options.get_option_at_index(0).prompt)
            await pilot.press("enter")
            for _ in range(100):
                await pilot.pause(0.02)
                if isinstance(app.screen, DebugScreen):
                    break
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, DebugScreen)
            assert app.screen.session is not None and app.screen.session.current is not None
