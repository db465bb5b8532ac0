"""A histogram drawn with block characters, line by line: bars in eighths of a cell."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

EIGHTHS = " ▁▂▃▄▅▆▇█"


def bar_heights(counts: Sequence[int], rows: int) -> list[int]:
    """Each count as a bar height in eighths of a cell, the largest filling `rows` cells;
    a non-zero count gets at least one eighth, so it never looks empty."""
    top = max(counts, default=0)
    if top <= 0 or rows <= 0:
        return [0] * len(counts)
    return [max(1, round(8 * rows * c / top)) if c > 0 else 0 for c in counts]


def axis_labels(edges: Sequence[float], width: int) -> str:
    """The first, middle and last bin edges spread over `width` columns."""
    if len(edges) < 2 or width <= 0:
        return ""
    low, mid, high = f"{edges[0]:.3g}", f"{(edges[0] + edges[-1]) / 2:.3g}", f"{edges[-1]:.3g}"
    line = low.ljust(width)
    start = max(len(low) + 1, (width - len(mid)) // 2)
    if start + len(mid) < width - len(high) - 1:
        line = line[:start] + mid + line[start + len(mid) :]
    return (line[: width - len(high)] + high)[:width] if width > len(low) + len(high) else low


class Histogram(Widget):
    """Bars of counts over equal bins, with the largest count and the range as labels.

    Drawn line by line from strips made once per `show`: a new histogram costs well under a
    millisecond, where a plot library's canvas costs ten at this size.
    """

    DEFAULT_CSS = """
    Histogram { width: 1fr; height: 1fr; color: $accent; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bins: tuple[tuple[float, ...], tuple[int, ...]] = ((), ())
        self._lines: list[Strip] = []
        self._drawn_for: tuple = ()

    def show(self, edges: Sequence[float], counts: Sequence[int]) -> None:
        """Draw `counts[i]` over the bin from `edges[i]` to `edges[i + 1]`."""
        bins = (tuple(edges), tuple(counts))
        if bins == self.bins:
            return
        self.bins = bins
        self._drawn_for = ()
        self.refresh()

    def _draw(self) -> None:
        edges, counts = self.bins
        width, height = self.size
        self._drawn_for = (self.bins, width, height)
        self._lines = []
        if not counts or width < 8 or height < 3:
            return
        label = f"{max(counts):,}"
        gutter = len(label) + 1
        cell = max(1, (width - gutter) // len(counts))  # columns per bin
        rows = height - 1  # the last line holds the range
        heights = bar_heights(counts, rows)
        bar, dim = self.rich_style, self.rich_style + Style(dim=True)
        for row in range(rows):
            floor = 8 * (rows - 1 - row)  # eighths below this line
            cells = "".join(EIGHTHS[min(8, max(0, h - floor))] * cell for h in heights)
            left = label.rjust(gutter - 1) + "┤" if row == 0 else " " * (gutter - 1) + "│"
            self._lines.append(Strip([Segment(left, dim), Segment(cells, bar)]))
        axis = " " * gutter + axis_labels(edges, cell * len(counts))
        self._lines.append(Strip([Segment(axis, dim)]))

    def render_line(self, y: int) -> Strip:
        if self._drawn_for != (self.bins, *self.size):
            self._draw()
        width = self.size.width
        if y < len(self._lines):
            return self._lines[y].crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)
