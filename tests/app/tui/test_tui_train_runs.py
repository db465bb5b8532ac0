"""Pilot tests of the Train screen across runs and at small sizes: a new run clears the
last one's views, every panel can be reached at 80×24, speed and ETA only while running,
and the previous run's curves drawn beside the new ones."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console
from textual.geometry import Region
from textual.widgets import Static

from app.model.design import Design
from app.tui.actions import key_of
from app.tui.dialogs.help import keys_table
from app.tui.train.screen import VIEWS, TrainScreen
from app.tui.train.view import (
    accuracy_series,
    decision_grid,
    health_rows,
    health_text,
    loss_series,
    run_difference,
)
from tests.app.tui.test_tui_train import answer_prompt, open_train, run_ends, send_keys, wait_for
from tests.app.tui.tui_helpers import SAMPLES, app_on
from widgets.decision_map import DecisionMap
from widgets.image_strip import ImageStrip
from widgets.plots import LinePlot


async def paused_early(pilot, screen: TrainScreen, *keys: str) -> None:
    """Press `keys` (which start a run) at one step a second, and pause it at its first step."""
    screen.pace = 1.0  # the second step waits a second: the pause comes before it
    await send_keys(pilot.app, *keys)
    await wait_for(lambda: screen.running and screen.session.global_step >= 1)
    await send_keys(pilot.app, "space")
    await wait_for(lambda: screen.session.paused and screen.session.wait_paused(0))
    await wait_for(lambda: screen.latest is not None and screen.latest.global_step >= 1)
    await pilot.pause()


def assert_only_this_run(screen: TrainScreen) -> None:
    """Every view holds what the screen's session did, and nothing of another run."""
    session = screen.session
    step = session.global_step
    progress = str(screen.query_one("#progress").render())
    assert progress.startswith("paused") and f"step {step} " in progress, progress
    assert not screen.query_one("#alert").display
    for plot in screen.query(LinePlot):
        for line in plot.series:
            if not line.label.startswith("prev"):
                assert all(x <= step for x in line.xs), (plot.plot_title, line)
    accuracy = screen.query_one("#acc-plot", LinePlot).series
    assert not [s.xs for s in accuracy if s.xs and not s.label.startswith("prev")]
    health = screen.query_one("#health", Static)
    shown = str(health.content)
    if screen.monitor.reports:
        rows = health_rows(screen.monitor.reports[-1])
        assert shown == str(health_text(rows, health.content_size.width))
    else:
        assert shown == ""
    if session.data.name == "spirals":
        drawn = screen.query_one(DecisionMap).predicted
        now = decision_grid(session.model, session.data.train, session.device).classes
        np.testing.assert_array_equal(drawn, now)
    else:
        assert str(screen.query_one("#confusion", Static).content) == ""
        assert screen.query_one(ImageStrip).examples == ()


@pytest.mark.parametrize("sample", ["spiral_mlp", "mlp_digits"])
async def test_a_restarted_run_shows_only_itself_in_every_view(tmp_path, monkeypatch, sample):
    monkeypatch.setattr(TrainScreen, "ui_interval", 0.0)  # each report drawn: none held back
    app = app_on(sample, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await open_train(pilot, app, epochs=2)
        await pilot.press("space")
        await run_ends(pilot, screen)
        assert screen.session.history
        await paused_early(pilot, screen, "r")
        assert_only_this_run(screen)
        await send_keys(app, "s")
        await run_ends(pilot, screen)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
async def test_a_run_after_a_non_finite_stop_drops_its_message(tmp_path, monkeypatch):
    monkeypatch.setattr(TrainScreen, "ui_interval", 0.0)
    app = app_on("exploding_lr", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await open_train(pilot, app)
        await pilot.press("space")
        await run_ends(pilot, screen)
        assert screen.session.status == "nonfinite" and screen.query_one("#alert").display
        await answer_prompt(pilot, "l", "0.001")
        await paused_early(pilot, screen, "space")
        assert_only_this_run(screen)
        assert app.state.bad_batch is None
        await send_keys(app, "s")
        await run_ends(pilot, screen)


def lines_of(text) -> list[str]:
    console = Console(width=500, record=True, file=io.StringIO())
    console.print(text)
    return console.export_text().rstrip("\n").splitlines()


def whole(screen: TrainScreen, selector: str, text=None, lines: int = 1) -> bool:
    """The panel is shown, inside the screen, with room for all of `text` (or `lines`)."""
    widget = screen.query_one(selector)
    region = widget.content_region
    if not widget.display or not Region(0, 0, *screen.size).contains_region(widget.region):
        return False
    if text is None:
        return region.height >= lines
    drawn = lines_of(text)
    return region.height >= len(drawn) and region.width >= max(len(line) for line in drawn)


@pytest.mark.parametrize("sample", ["spiral_mlp", "mlp_digits"])
async def test_at_80x24_a_listed_key_shows_each_panel_whole(tmp_path, sample):
    app = app_on(sample, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(pilot, app, epochs=1)
        await pilot.press("space")
        await run_ends(pilot, screen)
        key = key_of("train.view")
        shown = screen.active_bindings[key].binding  # what the footer lists
        assert shown.show and shown.description == "View"
        assert any(line.split()[:2] == [key, "View"] for line in lines_of(keys_table(("train",))))
        panels = {
            "#health": lambda: whole(screen, "#health", screen.query_one("#health").content),
            "#loss-plot": lambda: whole(screen, "#loss-plot", lines=10),
            "#acc-plot": lambda: whole(screen, "#acc-plot", lines=10),
        }
        if sample == "spiral_mlp":
            panels["#decision"] = lambda: whole(screen, "#decision", lines=12)
        else:
            panels["#confusion"] = lambda: whole(
                screen, "#confusion", screen.query_one("#confusion").content
            )
            panels["#worst"] = lambda: whole(screen, "#worst", lines=6)
        seen = set()
        for _ in VIEWS:
            seen |= {name for name, shown in panels.items() if shown()}
            await pilot.press(key)
            await pilot.pause()
        assert seen == set(panels)
        assert screen.view == "all"  # round the views and back


async def test_single_steps_show_no_speed_or_eta(tmp_path, monkeypatch):
    monkeypatch.setattr(TrainScreen, "ui_interval", 0.0)
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await open_train(pilot, app, epochs=100)
        await paused_early(pilot, screen, "space")
        step = screen.session.global_step
        for _ in range(2):
            await pilot.press("full_stop")
            step += 1
            await wait_for(lambda s=step: screen.latest.global_step == s)
            await wait_for(lambda: screen.session.wait_paused(0))
            await pilot.pause()
            line = str(screen.query_one("#progress").render())
            assert line.startswith("paused") and f"step {step} " in line, line
            assert "/s" not in line and "ETA" not in line, line
        await send_keys(app, "s")
        await run_ends(pilot, screen)
        assert "/s" in str(screen.query_one("#progress").render())


async def test_the_previous_runs_curves_stay_beside_the_new_ones_until_p_hides_them(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await open_train(pilot, app, epochs=2)
        await pilot.press("space")
        await run_ends(pilot, screen)
        first = screen.session
        first_loss = loss_series(first.losses, first.history)[0]
        first_acc = accuracy_series(first.history)[1]  # validation
        await answer_prompt(pilot, "l", "0.002")
        app.editor.design.training["epochs"] = 1
        await pilot.press("space")  # another lr: a new run
        await run_ends(pilot, screen)
        assert screen.session is not first and screen.session.epoch == 1
        loss, accuracy = screen.query_one("#loss-plot", LinePlot), screen.query_one("#acc-plot")
        assert [s.label for s in loss.series] == ["prev: lr 0.01", "train (smoothed)", "val"]
        assert [s.label for s in accuracy.series] == ["prev: lr 0.01", "train", "val"]
        before = loss.series[0]
        assert (before.xs, before.ys) == (first_loss.xs, first_loss.ys)
        assert before.color == "gray" and loss.series[1].color != "gray"
        assert (accuracy.series[0].xs, accuracy.series[0].ys) == (first_acc.xs, first_acc.ys)
        assert loss.series[1].xs[-1] == screen.session.global_step  # this run's own
        shot = app.export_screenshot().replace("&#160;", " ")
        assert "prev: lr 0.01" in shot
        await pilot.press("p")
        assert [s.label for s in loss.series] == ["train (smoothed)", "val"]
        assert [s.label for s in accuracy.series] == ["train", "val"]
        await pilot.press("p")
        assert loss.series[0] == before
        await pilot.press("r")  # the same settings again
        await run_ends(pilot, screen)
        assert loss.series[0].label == "previous run"


def test_a_previous_run_is_named_by_the_settings_it_had():
    old = Design.load(SAMPLES / "spiral_mlp.json")
    new = Design.load(SAMPLES / "spiral_mlp.json")
    new.training["epochs"] = 5
    assert run_difference(old, new) == ""
    new.training["optimizer"] = {"type": "SGD", "lr": 0.1}
    assert run_difference(old, new) == "Adam, lr 0.01"
    new.training["optimizer"] = dict(old.training["optimizer"])
    new.training["batch_size"] = 64
    new.layers.pop()
    assert run_difference(old, new) == "batch_size 32, other layers"
    new.training["schedule"] = {"type": "StepLR", "step_size": 5}
    assert run_difference(old, new) == "batch_size 32, no schedule, …"


async def test_a_pause_shows_the_step_it_holds_at(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await open_train(pilot, app, epochs=10_000)
        await send_keys(app, "space")
        await wait_for(lambda: screen.running and screen.session.global_step > 50)
        await send_keys(app, "space")
        await wait_for(lambda: screen.session.paused and screen.session.wait_paused(0))
        step = screen.session.global_step
        await wait_for(lambda: screen.latest.global_step == step, timeout=5)
        await pilot.pause()
        line = str(screen.query_one("#progress").render())
        assert line.startswith("paused") and f"step {step} " in line, line
        await send_keys(app, "s")
        await run_ends(pilot, screen)
