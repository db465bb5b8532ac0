"""A block of an array's values as a table of numbers, drawn a line at a time."""

from __future__ import annotations

from itertools import groupby

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.actions import SkipAction
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.fixed_size import resize_content

MIN_WIDTH = 6  # of a column, so that a block of short numbers is not cramped
NORMAL, NAN, INF = 0, 1, 2  # kinds of value, each with its own colour
STYLES = ("raw-table--value", "raw-table--nan", "raw-table--inf")  # by kind


class RawTable(ScrollView, can_focus=True):
    """Shows the values of a 1-D or 2-D array given through `show`, at most `max_rows`×`max_cols`.

    Column indices head the table and stay in view when it scrolls down; row indices stay in
    view when it scrolls right, which it does a whole column at a time. `shape` is the size of
    the block shown, `caption` says when the array was cut to fit.
    """

    COMPONENT_CLASSES = {"raw-table--header", "raw-table--label", *STYLES}

    # scrollbars that never come and go: a new array needs no layout pass
    DEFAULT_CSS = """
    RawTable { height: 1fr; overflow: scroll scroll; }
    RawTable > .raw-table--header { color: $text-muted; text-style: bold; }
    RawTable > .raw-table--label { color: $text-muted; }
    RawTable > .raw-table--nan { color: #ff00ff; }
    RawTable > .raw-table--inf { color: #ffff00; }
    """

    def __init__(self, max_rows: int = 100, max_cols: int = 24, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_rows, self.max_cols = max_rows, max_cols
        self.shape: tuple[int, int] = (0, 0)
        self.caption = ""
        self._texts: list[list[str]] = []  # each line's column indices or values, unpadded
        self._labels: list[str] = []  # the row index in front of each line, blank for the header
        self._kinds: np.ndarray = np.zeros((0, 0), dtype=np.int8)  # NORMAL, NAN or INF
        self._cell = 0  # characters per column: a space, then the value on the right
        self._strips: dict[int, tuple[Strip, Strip]] = {}  # line -> label, values; built on use
        self._styles: dict[str, Style] = {}  # component class -> its style; looked up on use

    def show(self, values: np.ndarray, row_offset: int = 0, col_offset: int = 0) -> None:
        """Show `values` (a 1-D array as one row); indices are numbered from the offsets."""
        values = np.asarray(values)
        if values.ndim > 2:
            raise ValueError(f"RawTable shows 1-D or 2-D arrays, got shape {values.shape}")
        values = values.reshape(1, -1) if values.ndim < 2 else values
        block = values[: self.max_rows, : self.max_cols]
        rows, cols = self.shape = block.shape
        self.caption = ""
        if block.shape != values.shape:
            self.caption = f"showing {rows}×{cols} of {values.shape[0]}×{values.shape[1]}"
        texts = [f"{v + 0.0:.4g}" for v in block.ravel().tolist()]  # + 0.0: never "-0"
        columns = [str(col_offset + c) for c in range(cols)]
        width = max([MIN_WIDTH, *map(len, texts), *map(len, columns)])
        cell = self._cell = width + 1
        lines = [columns, *(texts[r * cols : (r + 1) * cols] for r in range(rows))]
        self._texts = lines if rows else []
        labels = [str(row_offset + r) for r in range(rows)]
        label_width = max(map(len, labels), default=0)
        self._labels = [" " * label_width] + [label.rjust(label_width) for label in labels]
        self._kinds = np.where(np.isnan(block), NAN, np.where(np.isinf(block), INF, NORMAL))
        self._strips.clear()
        virtual = Size(label_width + cols * cell if rows else 0, len(self._texts))
        resize_content(self, virtual)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # their colours come from the styles
        self._styles.clear()

    def action_scroll_left(self) -> None:
        if not self.allow_horizontal_scroll:
            raise SkipAction()
        self.scroll_to(x=self.scroll_target_x - self._cell, animate=False)

    def action_scroll_right(self) -> None:
        if not self.allow_horizontal_scroll:
            raise SkipAction()
        self.scroll_to(x=self.scroll_target_x + self._cell, animate=False)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        base = self._style("")
        line = scroll_y + y if y else 0  # the header, line 0, stays in view
        if line >= len(self._texts):
            return Strip.blank(self.size.width, base)
        if line not in self._strips:
            self._strips[line] = self._build(line)
        label, values = self._strips[line]  # the label stays in view too
        # Whole columns only, from the first that starts at or after scroll_x: a value cut on
        # the left would read as another number (-1.5 as 1.5). At the largest scroll_x, the
        # last column is the last one in view.
        cell = self._cell
        start = -(-scroll_x // cell) * cell
        view = self.container_size.width - self.scrollbar_size_vertical - label.cell_length
        values = values.crop_extend(start, start + max(0, view) // cell * cell, base)
        return Strip.join([label, values]).crop_extend(0, self.size.width, base)

    def _style(self, name: str) -> Style:
        """The style of the component class `name`, or the widget's own for ""."""
        if name not in self._styles:  # Textual computes these afresh on each call
            style = self.get_component_rich_style(name) if name else self.rich_style
            self._styles[name] = style
        return self._styles[name]

    def _build(self, line: int) -> tuple[Strip, Strip]:
        """The label and values of a line of the table, each as a Strip of the full width."""
        text = "".join(t.rjust(self._cell) for t in self._texts[line])  # padded only when shown
        if line == 0:
            style = self._style("raw-table--header")
            return Strip([Segment(self._labels[0], style)]), Strip([Segment(text, style)])
        label = Strip([Segment(self._labels[line], self._style("raw-table--label"))])
        segments, start = [], 0
        for kind, run in groupby(self._kinds[line - 1].tolist()):  # one segment per run
            end = start + len(list(run)) * self._cell
            segments.append(Segment(text[start:end], self._style(STYLES[kind])))
            start = end
        return label, Strip(segments, len(text))
