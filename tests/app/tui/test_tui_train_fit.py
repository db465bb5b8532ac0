"""The Train screen at 80x24 and 120x35: every number, header and panel whole in some
view, a status line of one row, and plots whose ticks never collide."""

from __future__ import annotations

import re

import pytest
from textual.app import App, ComposeResult

from app.sessions.reports import BatchReport
from app.tui.train.screen import VIEWS, TrainScreen
from app.tui.train.view import Tally, health_rows, health_text, progress_text
from engine.debug.monitor import HealthReport, LayerHealth, ParamHealth
from tests.app.tui.test_tui_debug_fit import screen_text
from tests.app.tui.test_tui_train import logit_loader, open_train, run_ends
from tests.app.tui.test_tui_train_runs import whole
from tests.app.tui.tui_helpers import app_on, settled
from widgets.plots import LinePlot, Series

HEADERS = ("layer", "dead", "act std", "std", "upd/w", "confusion")


def cut_words(text: str) -> list[str]:
    """The words the screen ends with '…': numbers and headers must never be among them."""
    return [
        word
        for word in re.findall(r"(\S*)…", text)
        if not word or word[-1].isdigit() or any(h.startswith(word) for h in HEADERS)
    ]


async def trained(pilot, app, epochs: int = 1) -> TrainScreen:
    screen = await open_train(pilot, app, epochs=epochs)
    await pilot.press("space")
    await run_ends(pilot, screen)
    await pilot.app.workers.wait_for_complete()
    await settled(pilot)
    return screen


def panels(screen: TrainScreen) -> dict:
    """Each panel the run's data shows, and whether it is whole on the screen now."""
    content = lambda selector: screen.query_one(selector).content  # noqa: E731
    shown = {
        "#health": lambda: whole(screen, "#health", content("#health")),
        "#loss-plot": lambda: whole(screen, "#loss-plot", lines=8),
        "#acc-plot": lambda: whole(screen, "#acc-plot", lines=8),
    }
    if screen.dataset == "spirals":
        shown["#decision"] = lambda: whole(screen, "#decision", lines=10)
    else:
        shown["#confusion"] = lambda: whole(screen, "#confusion", content("#confusion"))
        shown["#worst"] = lambda: whole(screen, "#worst", lines=5)
    return shown


@pytest.mark.parametrize("size", [(80, 24), (120, 35)], ids=["80x24", "120x35"])
@pytest.mark.parametrize("sample", ["spiral_mlp", "mlp_digits", "cnn_digits", "exploding_lr"])
async def test_every_view_keeps_numbers_and_headers_whole_and_each_panel_fits_in_one(
    tmp_path, sample, size
):
    app = app_on(sample, tmp_path)
    async with app.run_test(size=size) as pilot:
        screen = await trained(pilot, app)
        # exploding_lr stops in its first epoch: no confusion, no images to show
        shown, seen = panels(screen) if sample != "exploding_lr" else {}, set()
        for _ in VIEWS:
            text = screen_text(app)
            assert not cut_words(text), (screen.view, text)
            progress = screen.query_one("#progress")
            line = str(progress.render())
            assert "\n" not in line and len(line) <= progress.content_size.width, line
            seen |= {name for name, fits in shown.items() if fits()}
            await pilot.press("w")
            await settled(pilot)
        assert seen == set(shown)


async def test_at_80_columns_a_single_panel_takes_the_settings_room_and_all_gives_it_back(
    tmp_path,
):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await trained(pilot, app)
        settings = screen.query_one("#settings")
        assert settings.display and screen.query_one("#progress").region.height == 1
        assert not screen.query_one("#confusion").display  # left to its own view
        await pilot.press("w")
        await settled(pilot)
        assert screen.view == "curves" and not settings.display
        said = [str(n.message) for n in app._notifications]
        assert "view: curves (w: next, settings in all panels)" in said
        assert "batch 46/46" in str(screen.query_one("#progress").render())  # room for it now
        for _ in VIEWS[1:]:  # round the other views
            await pilot.press("w")
            await settled(pilot)
        assert screen.view == "all" and settings.display
        await pilot.resize_terminal(120, 35)
        await settled(pilot)
        await pilot.press("w")
        await settled(pilot)
        assert settings.display  # wide enough for both


async def test_a_run_stopped_before_an_epoch_ends_says_when_accuracy_comes(tmp_path):
    app = app_on("exploding_lr", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await trained(pilot, app)
        assert "accuracy: after each epoch" in screen_text(app)


def test_a_narrow_health_table_drops_the_layer_types_and_shortens_headers():
    layers = [
        LayerHealth("conv1", "Conv2d", 0.0, 0.363, None),
        LayerHealth("relu1", "ReLU", 0.3, 0.7, 0.11),
    ]
    report = HealthReport(50, layers, [ParamHealth("conv1.weight", 1.0, 0.1, 4.4e-3)])
    rows = health_rows(report)
    full = health_text(rows).plain.splitlines()
    assert full[0].split() == ["layer", "dead", "act", "std", "upd/w"]
    assert full[1].startswith("conv1 Conv2d")
    compact = health_text(rows, width=len(full[1]) - 1).plain.splitlines()
    assert compact[0].split() == ["layer", "dead", "std", "upd/w"]
    assert compact[1].split() == ["conv1", "0.363", "4.4e-03"]
    assert max(map(len, compact)) < len(full[1])


def test_the_last_pass_of_a_run_is_counted_however_soon_it_comes():
    loader = logit_loader(batch_size=1)
    tally = Tally(3, every=3600)
    for x, y in loader:
        tally.add(x, y, x.reshape(len(x), -1))
    assert tally.take() is not None
    tally.count_next()  # the next pass ends the run
    for x, y in loader:
        tally.add(x, y, x.reshape(len(x), -1))
    assert tally.take().confusion.sum() == len(loader.dataset)


class PlotApp(App):
    def compose(self) -> ComposeResult:
        yield LinePlot("loss", "step")


LOSS = Series("train", tuple(range(1, 93)), tuple(2.3 * 0.977**i + 0.2 for i in range(92)))


@pytest.mark.parametrize("size", [(28, 8), (30, 9), (40, 10), (56, 11), (24, 12), (70, 20)])
async def test_each_tick_label_shows_whole_on_its_own_row_or_columns(size):
    app = PlotApp()
    async with app.run_test(size=size) as pilot:
        plot = app.query_one(LinePlot)
        plot.show([LOSS])
        await pilot.pause()
        lines = plot.render().plain.splitlines()
        ys = [line.split("┤")[0].strip() for line in lines if "┤" in line]
        y_labels, x_labels = plot.tick_labels_given
        assert ys == list(reversed(y_labels)) and len(ys) >= 1
        rows = [i for i, line in enumerate(lines) if "┤" in line]
        if len(rows) >= 3:  # evenly apart: a blank row between each two
            assert all(b - a >= 2 for a, b in zip(rows, rows[1:], strict=False)), lines
        axis = next(i for i, line in enumerate(lines) if "└" in line)
        assert lines[axis + 1].split() == list(x_labels)


@pytest.mark.parametrize("status", ["running", "paused", "finished"])
def test_the_status_line_drops_words_to_fit_and_keeps_epoch_batch_and_loss(status):
    report = BatchReport(10, 46, 46, 460, 0.04, 0.04221, 14_000.0, 0.2, 0.003)
    full = progress_text(status, 10, report, timing=True, batch_size=32)
    assert "batch 46/46 · step 460 · loss 0.04221 · lr 0.003" in full
    for width in range(46, len(full) + 1):
        line = progress_text(status, 10, report, timing=True, batch_size=32, width=width)
        assert len(line) <= width, (width, line)
        assert line.startswith(f"{status} · epoch 10/10 · ") and "46/46 · " in line, line
        assert "· loss 0.04221" in line, line
    assert progress_text(status, 10, report, True, 32, width=len(full)) == full
