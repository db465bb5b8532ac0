"""The block-character histogram: bar heights, axis labels and the lines it draws."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.histogram import Histogram, axis_labels, bar_heights


def test_bar_heights_fill_the_rows_and_never_hide_a_count():
    assert bar_heights([0, 1, 50, 100], rows=4) == [0, 1, 16, 32]
    assert bar_heights([], rows=4) == []
    assert bar_heights([0, 0], rows=4) == [0, 0]


def test_axis_labels_spread_the_range():
    line = axis_labels([-1.0, 0.0, 3.0], 30)
    assert len(line) == 30
    assert line.startswith("-1") and line.endswith("3") and " 1 " in line
    assert axis_labels([0.0], 30) == ""


class HistogramApp(App):
    def compose(self) -> ComposeResult:
        yield Histogram()


async def test_the_tallest_bar_reaches_the_top_and_labels_show_count_and_range():
    app = HistogramApp()
    async with app.run_test(size=(44, 6)) as pilot:
        histogram = app.query_one(Histogram)
        histogram.show([0.0, 1.0, 2.0, 3.0, 4.0], [10, 40, 20, 0])
        await pilot.pause()
        lines = [histogram.render_line(y).text for y in range(6)]
        assert lines[0].startswith("40┤")
        bars = [line[3:] for line in lines[:5]]
        column = [b[bars[0].index("█")] for b in bars]  # the 40-count bin: full to the top
        assert column == ["█"] * 5
        assert all(b[-1] == " " for b in bars)  # the empty bin draws nothing
        assert lines[5].split() == ["0", "2", "4"]
        histogram.show([0.0, 1.0, 2.0, 3.0, 4.0], [40, 10, 20, 0])
        await pilot.pause()
        assert histogram.render_line(0).text[3] == "█"  # redrawn for the new counts
