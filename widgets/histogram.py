"""A histogram drawn with block characters, line by line: bars in eighths of a cell."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

EIGHTHS = " ▁▂▃▄▅▆▇█"
LABEL_WIDTH = 4  # the most a count label takes: 950, 1.2k, 12k


def bar_heights(counts: Sequence[int], rows: int) -> list[int]:
    """Each count as a bar height in eighths of a cell, the largest filling `rows` cells;
    a non-zero count gets at least one eighth, so it never looks empty."""
    top = max(counts, default=0)
    if top <= 0 or rows <= 0:
        return [0] * len(counts)
    return [max(1, round(8 * rows * c / top)) if c > 0 else 0 for c in counts]


def count_label(count: int) -> str:
    """A count in at most four characters: 950, 1.2k, 12k, 3.4M."""
    if count < 1000:
        return str(count)
    for unit, suffix in ((10**3, "k"), (10**6, "M"), (10**9, "G")):
        value = count / unit
        if round(value, 1) < 10:
            return f"{value:.1f}{suffix}"
        if round(value) < 1000:
            return f"{round(value)}{suffix}"
    return f"{count:.0e}".replace("+", "")


def edge_label(value: float, digits: int = 3) -> str:
    """A bin edge in `digits` significant digits, never "-0"."""
    return f"{value + 0.0:.{digits}g}"


def axis_labels(edges: Sequence[float], width: int) -> str:
    """The first, middle and last bin edges spread over `width` columns, in fewer digits
    where three do not fit; a label that does not fit whole is left out, never cut."""
    if len(edges) < 2 or width <= 0:
        return ""
    first, last = edges[0], edges[-1]
    middle = (first + last) / 2
    if abs(middle) < 1e-9 * max(abs(first), abs(last)):  # a range around 0: not -1.1e-17
        middle = 0.0
    for digits in (3, 2, 1):
        low, mid, high = (edge_label(v, digits) for v in (first, middle, last))
        if len(low) + 1 + len(high) <= width:
            break
    else:
        return low.ljust(width) if len(low) <= width else ""
    line = low.ljust(width)
    start = max(len(low) + 1, (width - len(mid)) // 2)
    if start + len(mid) < width - len(high) - 1:
        line = line[:start] + mid + line[start + len(mid) :]
    return line[: width - len(high)] + high


def merged(counts: Sequence[int], columns: int) -> list[int]:
    """Neighbouring bins added in runs, the shortest runs that fit `columns` columns (the
    last run may be shorter)."""
    run = max(1, -(-len(counts) // max(1, columns)))
    return [sum(counts[i : i + run]) for i in range(0, len(counts), run)]


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
        counts = merged(counts, width - LABEL_WIDTH - 1)
        label = count_label(max(counts))
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
