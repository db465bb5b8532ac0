"""A 2-D array as coloured half-block cells: two rows of values in each line of text."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

LEVELS = 33  # odd, so that the diverging scale has a white middle for 0
DIVERGING = ((33, 102, 172), (247, 247, 247), (178, 24, 43))  # blue, white, red
SEQUENTIAL = ((16, 20, 40), (60, 110, 170), (235, 242, 255))  # dark to bright
NAN, INF = LEVELS, LEVELS + 1  # levels of the colours that stand out: magenta, bright yellow
NONE = -1  # no value: below the last row of an odd number of rows


def _ramp(stops: tuple[tuple[int, int, int], ...]) -> list[Color]:
    """`LEVELS` colours evenly between the stops, then the NaN and Inf colours."""
    colours = []
    for p in np.linspace(0, len(stops) - 1, LEVELS):
        i = min(int(p), len(stops) - 2)
        rgb = [round(a + (b - a) * (p - i)) for a, b in zip(stops[i], stops[i + 1], strict=True)]
        colours.append(Color.from_rgb(*rgb))
    return [*colours, Color.parse("#ff00ff"), Color.parse("#ffff00")]


PALETTES = {"diverging": _ramp(DIVERGING), "sequential": _ramp(SEQUENTIAL)}


@lru_cache(maxsize=4096)
def _cell_style(scale: str, top: int, bottom: int) -> Style:
    palette = PALETTES[scale]
    return Style(color=palette[top], bgcolor=None if bottom == NONE else palette[bottom])


def colour_levels(values: np.ndarray) -> tuple[np.ndarray, str]:
    """Each value's colour level and the scale's name.

    Diverging (0 in the middle, white) when the values have both signs, else sequential from the
    smallest to the largest. Levels are 0..LEVELS-1, then `NAN` for NaN and `INF` for ±Inf.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    shown = np.where(finite, values, 0.0)
    lo, hi = (shown[finite].min(), shown[finite].max()) if finite.any() else (0.0, 0.0)
    if lo < 0 < hi:
        scale, t = "diverging", (shown / max(-lo, hi) + 1) / 2
    else:
        scale, t = "sequential", (shown - lo) / (hi - lo) if hi > lo else np.full_like(shown, 0.5)
    levels = np.rint(np.clip(t, 0, 1) * (LEVELS - 1)).astype(np.int64)
    levels[np.isnan(values)] = NAN
    levels[np.isinf(values)] = INF
    return levels, scale


def strides(rows: int, cols: int, max_rows: int, max_cols: int) -> tuple[int, int]:
    """The smallest row and column steps that fit `rows`×`cols` into `max_rows`×`max_cols`."""
    return max(1, -(-rows // max_rows)), max(1, -(-cols // max_cols))


def describe(values: np.ndarray, row_step: int = 1, col_step: int = 1) -> str:
    """A caption: the finite range, the size and any subsampling."""
    finite = values[np.isfinite(values)]
    low, high = ("–", "–")
    if finite.size:  # + 0.0: never "-0"
        low, high = f"{finite.min() + 0.0:.4g}", f"{finite.max() + 0.0:.4g}"
    caption = f"min {low} max {high}, {values.shape[0]}×{values.shape[1]}"
    if row_step > 1 or col_step > 1:
        caption += f", stride {row_step}×{col_step}"
    return caption


MAX_ZOOM = 4  # a value of a small map becomes at most 4×4 half-cells


class Heatmap(Widget):
    """Shows a 2-D array, subsampled to fit its area (two rows of values a line) and at most
    `max_rows`×`max_cols` values; it fills its area, so a new array never needs a layout."""

    DEFAULT_CSS = """
    Heatmap { width: 1fr; height: 1fr; }
    """

    def __init__(self, max_rows: int = 64, max_cols: int = 64, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_rows, self.max_cols = max_rows, max_cols
        self.caption = ""
        self._lines: list[Strip] = []
        self._values: np.ndarray | None = None

    def show(self, values: np.ndarray) -> None:
        """Draw `values` (2-D) and set `caption` to describe them."""
        self._values = values = np.asarray(values, dtype=np.float64)
        width, height = self.size
        max_rows = min(self.max_rows, 2 * height) if height else self.max_rows
        max_cols = min(self.max_cols, width) if width else self.max_cols
        row_step, col_step = strides(*values.shape, max_rows, max_cols)
        self.caption = describe(values, row_step, col_step)
        levels, scale = colour_levels(values[::row_step, ::col_step])
        if width and height and levels.size:  # a small map: each value a block of cells
            rows, cols = levels.shape
            zoom = max(1, min(MAX_ZOOM, width // cols, 2 * height // rows))  # half-blocks: square
            levels = np.repeat(np.repeat(levels, zoom, axis=0), zoom, axis=1)
        if len(levels) % 2:
            levels = np.vstack([levels, np.full((1, levels.shape[1]), NONE)])
        self._lines = [
            _strip(top, bottom, scale)
            for top, bottom in zip(levels[0::2].tolist(), levels[1::2].tolist(), strict=True)
        ]
        self.refresh()

    class Redrawn(Message):
        """The heatmap subsampled its array again for a new size: the caption changed."""

    def on_resize(self) -> None:
        if self._values is not None:  # subsample again for the new area
            self.show(self._values)
            self.post_message(self.Redrawn())

    def render_line(self, y: int) -> Strip:
        if y < len(self._lines):
            return self._lines[y].crop_extend(0, self.size.width, self.rich_style)
        return Strip.blank(self.size.width, self.rich_style)


def _strip(top: list[int], bottom: list[int], scale: str) -> Strip:
    """One line of cells: `top` values in the foreground, `bottom` ones in the background."""
    segments, start = [], 0
    for x in range(1, len(top) + 1):  # one segment per run of equal cells
        if x == len(top) or top[x] != top[start] or bottom[x] != bottom[start]:
            style = _cell_style(scale, top[start], bottom[start])
            segments.append(Segment("▀" * (x - start), style))
            start = x
    return Strip(segments, len(top))
