"""The block-character histogram: bar heights, axis labels and the lines it draws."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.histogram import Histogram, axis_labels, bar_heights, count_label, merged


def test_bar_heights_fill_the_rows_and_never_hide_a_count():
    assert bar_heights([0, 1, 50, 100], rows=4) == [0, 1, 16, 32]
    assert bar_heights([], rows=4) == []
    assert bar_heights([0, 0], rows=4) == [0, 0]


def test_axis_labels_spread_the_range():
    line = axis_labels([-1.0, 0.0, 3.0], 30)
    assert len(line) == 30
    assert line.startswith("-1") and line.endswith("3") and " 1 " in line
    assert axis_labels([0.0], 30) == ""


def test_count_labels_take_at_most_four_characters():
    assert [count_label(n) for n in (0, 300, 999, 1000, 1234, 12_345, 999_499)] == [
        "0",
        "300",
        "999",
        "1.0k",
        "1.2k",
        "12k",
        "999k",
    ]
    assert count_label(999_500) == "1.0M" and count_label(3_400_000) == "3.4M"
    assert all(len(count_label(10**e + 7)) <= 4 for e in range(13))


def test_axis_labels_at_narrow_widths_are_whole_or_left_out():
    edges = [-0.002072, 0.0, 0.001914]
    for width in range(0, 40):
        line = axis_labels(edges, width)
        assert len(line) in (0, width), (width, line)
        ends = (edges[0], (edges[0] + edges[-1]) / 2, edges[-1])
        whole = {f"{v:.{d}g}" for v in ends for d in (1, 2, 3)}
        assert set(line.split()) <= whole, (width, line)
    assert axis_labels(edges, 14).split() == ["-0.0021", "0.0019"]  # fewer digits, both ends
    assert axis_labels(edges, 5) == ""


def test_axis_labels_never_print_minus_zero():
    assert axis_labels([-0.0, 1.0], 12).split()[0] == "0"
    middle = axis_labels([-0.3, 0.1, 0.3], 30).split()[1]  # (-0.3 + 0.3) / 2 is not 0 in floats
    assert middle == "0"


def test_bins_merge_in_runs_to_fit_the_columns():
    assert merged([1, 2, 3, 4, 5], 5) == [1, 2, 3, 4, 5]
    assert merged([1, 2, 3, 4, 5], 3) == [3, 7, 5]
    assert sum(merged(list(range(32)), 13)) == sum(range(32))


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


async def test_thousands_in_a_narrow_histogram_keep_their_label_and_every_bin():
    app = HistogramApp()
    async with app.run_test(size=(20, 6)) as pilot:
        histogram = app.query_one(Histogram)
        histogram.show([i / 32 for i in range(33)], [1500] * 32)  # 32 bins, 15 columns
        await pilot.pause()
        lines = [histogram.render_line(y).text for y in range(6)]
        assert lines[0].startswith("4.5k┤"), lines[0]  # bins merged three to a column
        bars = lines[4][5:]
        assert bars.rstrip() == "█" * 11 and bars.strip() == bars.rstrip()  # all 32 bins
        assert lines[5].split() == ["0", "0.5", "1"], lines[5]
