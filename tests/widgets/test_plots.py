"""LinePlot: it shows what it is given, and builds its plot again only when that changes."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.plots import LinePlot, Series


class PlotApp(App):
    def compose(self) -> ComposeResult:
        yield LinePlot("loss", "step")


async def test_a_plot_is_built_once_per_change_of_lines_or_size():
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one(LinePlot)
        plot.show([Series("train", (1, 2, 3), (3.0, 2.0, 1.0))])
        await pilot.pause()
        first = plot.render()
        assert plot.render() is first  # a repaint reuses the plot
        assert "train" in first.plain and "loss" in first.plain
        plot.show([Series("train", (1, 2, 3, 4), (3.0, 2.0, 1.0, 0.5))])
        assert plot.render() is not first
        second = plot.render()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert plot.render() is not second
