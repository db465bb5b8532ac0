"""A 2-D classifier's predicted class over the plane in half-block cells, points on top."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.strip import Strip
from textual.widget import Widget

CLASS_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
REGION = [Color.parse(c).blend(Color(0, 0, 0), 0.6).hex for c in CLASS_COLORS]
POINT = [Color.parse(c).lighten(0.1).hex for c in CLASS_COLORS]


class DecisionMap(Widget):
    """Each cell is two pixels (▀: top in the foreground, bottom in the background).

    `show` takes the predicted class over a grid (row 0 at the top), the points with
    their labels, and the extent (x0, x1, y0, y1) both share. The grid is resampled to
    the widget's size; a point's pixel takes the point's class colour, brighter than
    the region's.
    """

    DEFAULT_CSS = """
    DecisionMap { width: 1fr; height: 1fr; min-height: 4; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.predicted: np.ndarray | None = None
        self.points = np.zeros((0, 2))
        self.labels = np.zeros(0, dtype=int)
        self.extent = (0.0, 1.0, 0.0, 1.0)
        self._pixels: np.ndarray | None = None  # colour index per pixel, for the current size

    def show(self, predicted, points, labels, extent) -> None:
        """Draw a new grid of predictions with `points` on it."""
        self.predicted = np.asarray(predicted)
        self.points, self.labels = np.asarray(points), np.asarray(labels, dtype=int)
        self.extent = tuple(extent)
        self._pixels = None
        self.refresh()

    def clear(self) -> None:
        """Draw nothing until the next `show`."""
        self.predicted, self._pixels = None, None
        self.refresh()

    def on_resize(self) -> None:
        self._pixels = None

    def _pixel_grid(self, width: int, height: int) -> np.ndarray:
        """Colour indices (rows 2*height, columns width): regions 0..n-1, points n.. ."""
        n = len(CLASS_COLORS)
        rows = 2 * height
        grid = self.predicted
        r = np.minimum(np.arange(rows) * grid.shape[0] // rows, grid.shape[0] - 1)
        c = np.minimum(np.arange(width) * grid.shape[1] // width, grid.shape[1] - 1)
        pixels = grid[np.ix_(r, c)] % n
        x0, x1, y0, y1 = self.extent
        px = ((self.points[:, 0] - x0) / (x1 - x0) * width).astype(int).clip(0, width - 1)
        py = ((y1 - self.points[:, 1]) / (y1 - y0) * rows).astype(int).clip(0, rows - 1)
        pixels[py, px] = n + self.labels % n
        return pixels

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self.predicted is None or width == 0:
            return Strip.blank(width, self.rich_style)
        if self._pixels is None or self._pixels.shape != (2 * height, width):
            self._pixels = self._pixel_grid(width, height)
        palette = REGION + POINT
        top, bottom = self._pixels[2 * y], self._pixels[2 * y + 1]
        segments, start = [], 0
        for x in range(1, width + 1):  # one segment per run of equal cells
            if x == width or top[x] != top[start] or bottom[x] != bottom[start]:
                style = Style(color=palette[top[start]], bgcolor=palette[bottom[start]])
                segments.append(Segment("▀" * (x - start), style))
                start = x
        return Strip(segments, width)
