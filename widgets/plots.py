"""Line plots of plain data (training curves), drawn with textual-plotext."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textual_plotext import PlotextPlot


@dataclass(frozen=True)
class Series:
    """One line: points (xs[i], ys[i]); `marker` is a plotext marker ("braille", "dot", ...)."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: str = "cyan"
    marker: str = "braille"


@dataclass(frozen=True)
class Mark:
    """A labelled vertical line at `x`, such as the step where the learning rate changed."""

    x: float
    label: str


class LinePlot(PlotextPlot):
    """Shows the lines and marks it is given through `show`; it redraws only when they change."""

    DEFAULT_CSS = """
    LinePlot { width: 1fr; height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str, xlabel: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: tuple[Series, ...] = ()
        self.marks: tuple[Mark, ...] = ()
        self.plot_title, self.xlabel = title, xlabel
        self._rendered: tuple[tuple, object] | None = None  # (what it shows, its rendering)
        self._draw()

    def show(self, series: Sequence[Series], marks: Sequence[Mark] = ()) -> None:
        """Draw `series` and `marks` in place of what was drawn."""
        series, marks = tuple(series), tuple(marks)
        if (series, marks) == (self.series, self.marks):
            return
        self.series, self.marks = series, marks
        self._draw()
        self.refresh()

    def render(self):
        """The plot, built again only when the lines, the size or the theme have changed.

        plotext builds a plot in 10-20 ms; a screen repaints a plot that has not changed
        whenever something above it closes (a dialog, the help) or lays out.
        """
        key = (self.series, self.marks, self.size, self.app.theme)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, super().render())
        return self._rendered[1]

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title(self.plot_title)
        plt.xlabel(self.xlabel)
        top = -math.inf
        for line in self.series:
            if not line.xs:
                continue
            plt.plot(line.xs, line.ys, label=line.label, color=line.color, marker=line.marker)
            top = max([top, *(y for y in line.ys if math.isfinite(y))])
        for mark in self.marks:
            plt.vline(mark.x, "red")
            if math.isfinite(top):
                plt.text(mark.label, mark.x, top, color="red")
