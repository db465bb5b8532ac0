"""Pilot tests of RawTable: labels, formatting, NaN and Inf, truncation and scrolling."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color
from textual.app import App, ComposeResult

from widgets.raw_table import RawTable


class TableApp(App):
    def __init__(self, max_rows: int = 100, max_cols: int = 24) -> None:
        super().__init__()
        self.limits = (max_rows, max_cols)

    def compose(self) -> ComposeResult:
        yield RawTable(*self.limits)


def lines(table: RawTable) -> list[str]:
    """The text of each line the table draws, as on the screen, without the blank ones below."""
    drawn = [table.render_line(y).text.rstrip() for y in range(table.size.height)]
    while drawn and not drawn[-1]:
        drawn.pop()
    return drawn


async def test_header_and_row_labels_count_from_the_offsets():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(RawTable)
        table.show(np.arange(12.0).reshape(3, 4), row_offset=5, col_offset=10)
        await pilot.pause()
        assert table.shape == (3, 4) and table.caption == ""
        assert [line.split() for line in lines(table)[:4]] == [
            ["10", "11", "12", "13"],
            ["5", "0", "1", "2", "3"],
            ["6", "4", "5", "6", "7"],
            ["7", "8", "9", "10", "11"],
        ]


async def test_values_are_right_aligned_in_columns_as_wide_as_the_longest():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(RawTable)
        table.show(np.array([[1.0, -2.5, 1234567.0], [0.000123456, 7, 1 / 3]]))
        await pilot.pause()
        # .4g; the longest, "0.0001235", sets all the columns at 9 characters and a space
        assert lines(table)[:3] == [
            "          0         1         2",
            "0         1      -2.5 1.235e+06",
            "1 0.0001235         7    0.3333",
        ]
        table.show(np.array([[1, 22]]))  # short values: columns stay at least 6 wide
        await pilot.pause()
        assert lines(table)[:2] == ["       0      1", "0      1     22"]


async def test_nan_is_magenta_and_inf_yellow():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(RawTable)
        table.show(np.array([[1.0, np.nan, np.inf, -np.inf, 2.0]]))
        await pilot.pause()
        colours = {s.text.strip(): s.style.color for s in table.render_line(1) if s.text.strip()}
        magenta, yellow = Color.parse("#ff00ff"), Color.parse("#ffff00")
        assert colours["nan"] == magenta
        assert colours["inf   -inf"] == yellow  # neighbours of one colour make one segment
        assert colours["1"] not in (magenta, yellow) and colours["2"] == colours["1"]


async def test_a_big_array_is_cut_and_the_caption_says_so():
    app = TableApp(max_rows=4, max_cols=3)
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(RawTable)
        table.show(np.zeros((10, 7)))
        await pilot.pause()
        assert table.shape == (4, 3) and table.caption == "showing 4×3 of 10×7"
        assert lines(table)[0].split() == ["0", "1", "2"] and lines(table)[4].split()[0] == "3"
        table.show(np.zeros((4, 3)))
        assert table.caption == ""


async def test_a_vector_is_one_row_and_more_than_two_dimensions_are_refused():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(RawTable)
        table.show(np.array([0.5, 1.5, 2.5]))
        await pilot.pause()
        assert table.shape == (1, 3)
        assert [line.split() for line in lines(table)] == [
            ["0", "1", "2"],
            ["0", "0.5", "1.5", "2.5"],
        ]
        with pytest.raises(ValueError, match=r"got shape \(2, 2, 2\)"):
            table.show(np.zeros((2, 2, 2)))


async def test_scrolling_keeps_the_header_and_labels_and_moves_whole_columns():
    app = TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(RawTable)
        table.show(-np.arange(1.0, 201.0).reshape(20, 10))  # 10 columns of 6 characters and a space
        await pilot.pause()
        table.focus()
        assert lines(table)[:2] == [
            "        0      1      2      3      4",
            " 0     -1     -2     -3     -4     -5",
        ]
        await pilot.press("right", "down", "down")  # right: one column
        await pilot.pause()
        assert lines(table)[:2] == [
            "        1      2      3      4      5",
            " 2    -22    -23    -24    -25    -26",
        ]
        table.scroll_to(x=9, animate=False)  # into column 1, which would lose its "-": not shown
        await pilot.pause()
        assert lines(table)[:2] == [
            "        2      3      4      5      6",
            " 2    -23    -24    -25    -26    -27",
        ]
        table.scroll_to(x=table.max_scroll_x, y=table.max_scroll_y, animate=False)
        await pilot.pause()
        shown = lines(table)  # the last column and row in view, under the header
        assert shown[0].split() == ["5", "6", "7", "8", "9"]
        assert shown[6].split() == ["19", "-196", "-197", "-198", "-199", "-200"]
