"""Small grey images side by side in half-block cells, each captioned true→predicted."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

GREYS = 24  # grey levels a pixel is drawn in
DARKEST, BRIGHTEST = 48, 255  # an image's smallest and largest value: above black, so tiles show
GAP = 2  # columns between two images
TITLE = "worst classified (validation)"
LEGEND = "  true→predicted p(predicted)"
NO_PIXEL = -1  # below the last row of an odd number of pixel rows


class Captioned(Protocol):
    """What the strip draws of one example (`app.train_view.Example` has these)."""

    image: np.ndarray
    label: int
    predicted: int
    p_pred: float


def fit_image(image: np.ndarray, max_columns: int, max_rows: int) -> np.ndarray:
    """The pixels of `image` scaled to fit `max_columns` × `max_rows` cells of two pixels each.

    A small image grows by a whole factor, each pixel a square of pixels; a large one
    shrinks by a whole factor, each pixel the mean of a block (a partial block at the
    edge averages what it has).
    """
    image = np.asarray(image, dtype=np.float64)
    height, width = image.shape
    box_height, box_width = 2 * max(max_rows, 1), max(max_columns, 1)
    if height <= box_height and width <= box_width:
        zoom = min(box_height // height, box_width // width)
        return image.repeat(zoom, axis=0).repeat(zoom, axis=1)
    factor = max(-(-height // box_height), -(-width // box_width))
    rows, columns = -(-height // factor), -(-width // factor)
    padded = np.full((rows * factor, columns * factor), np.nan)
    padded[:height, :width] = image
    return np.nanmean(padded.reshape(rows, factor, columns, factor), axis=(1, 3))


def grey_levels(pixels: np.ndarray) -> np.ndarray:
    """Each pixel's grey level, 0..GREYS-1, from the image's own smallest to largest value."""
    low, high = np.nanmin(pixels), np.nanmax(pixels)
    if not high > low:
        return np.zeros(pixels.shape, dtype=np.int64)
    return np.rint((np.nan_to_num(pixels, nan=low) - low) / (high - low) * (GREYS - 1)).astype(
        np.int64
    )


def grey(level: int) -> str:
    value = round(DARKEST + (BRIGHTEST - DARKEST) * level / (GREYS - 1))
    return f"#{value:02x}{value:02x}{value:02x}"


@lru_cache(maxsize=GREYS * (GREYS + 1))
def _cell_style(top: int, bottom: int) -> Style:
    return Style(color=grey(top), bgcolor=None if bottom == NO_PIXEL else grey(bottom))


def caption(example: Captioned) -> str:
    """`true→predicted p`, such as `7→1 0.91`."""
    return f"{example.label}→{example.predicted} {example.p_pred:.2f}"


def image_cells(image: np.ndarray, max_columns: int, max_rows: int) -> list[list[Segment]]:
    """The image as lines of ▀ cells (upper pixel in the foreground, lower in the background)."""
    levels = grey_levels(fit_image(image, max_columns, max_rows))
    if len(levels) % 2:
        levels = np.vstack([levels, np.full((1, levels.shape[1]), NO_PIXEL)])
    lines = []
    for top, bottom in zip(levels[0::2], levels[1::2], strict=True):
        segments, start = [], 0
        for x in range(1, len(top) + 1):  # one segment per run of equal cells
            if x == len(top) or top[x] != top[start] or bottom[x] != bottom[start]:
                segments.append(Segment("▀" * (x - start), _cell_style(top[start], bottom[start])))
                start = x
        lines.append(segments)
    return lines


def strip_lines(examples: Sequence[Captioned], width: int, height: int) -> list[Strip]:
    """The strip's `height` lines: the title, as many images as fit `width`, their captions.

    Images get the lines between the title and the captions, and at most twice as many
    columns (their pixels stay square). Wrong predictions are captioned in red, right
    ones (shown when few are wrong: the least sure) in yellow.
    """
    title = Segment(TITLE, Style(bold=True))
    legend = Segment(LEGEND, Style(dim=True))
    lines = [[title, legend] if len(TITLE + LEGEND) <= width else [title]]
    if not examples:
        note = "after each epoch: the validation images the model gets most wrong"
        lines.append([Segment(note, Style(dim=True))])
    else:
        rows = max(height - 2, 1)
        tiles = [image_cells(e.image, 2 * rows, rows) for e in examples]
        widths = [sum(s.cell_length for s in t[0]) for t in tiles]
        tile_width = max(*widths, *(len(caption(e)) for e in examples))
        count = max((width + GAP) // (tile_width + GAP), 1)
        shown = list(zip(examples[:count], tiles[:count], strict=True))
        for row in range(max(len(t) for _, t in shown)):
            line = []
            for _, tile in shown:
                cells = tile[row] if row < len(tile) else []
                used = sum(s.cell_length for s in cells)
                line += [*cells, Segment(" " * (tile_width - used + GAP))]
            lines.append(line)
        line = []
        for example, _ in shown:
            style = Style(color="red" if example.label != example.predicted else "yellow")
            line += [Segment(caption(example).ljust(tile_width), style), Segment(" " * GAP)]
        lines.append(line)
    lines += [[]] * (height - len(lines))
    return [Strip(line).crop_extend(0, width, None) for line in lines[:height]]


class ImageStrip(Widget):
    """The worst-classified images of the last evaluation, drawn by `show`.

    Its height is fixed: a new set of examples repaints it without a layout pass. The
    lines are cached for the examples and the size they were drawn for.
    """

    DEFAULT_CSS = """
    ImageStrip { width: 1fr; height: 6; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.examples: tuple[Captioned, ...] = ()
        self._lines: list[Strip] = []
        self._drawn_size: tuple[int, int] | None = None

    def show(self, examples: Sequence[Captioned]) -> None:
        """Draw these examples, worst first, in place of the last ones."""
        self.examples = tuple(examples)
        self._drawn_size = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._drawn_size != (width, height):
            self._lines = strip_lines(self.examples, width, height)
            self._drawn_size = (width, height)
        return self._lines[y] if y < len(self._lines) else Strip.blank(width)
