"""Line plots of plain data (training curves), drawn with textual-plotext."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

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


LOG_SPAN = 1e3  # values spanning this factor are drawn on a log axis


def compact(value: float, digits: int | None = None) -> str:
    """A short axis label: 0.25, 1500, 1e31; with `digits`, that many decimals (of the
    mantissa past 1e4 or under 1e-3), trailing zeros dropped: 2.5e-7."""
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        mantissa, exponent = f"{value:.{digits or 0}e}".split("e")
        return f"{_trimmed(mantissa)}e{int(exponent)}"
    return f"{value:.4g}" if digits is None else _trimmed(f"{value:.{digits}f}")


def _trimmed(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """The shortest labels, one precision for all, that differ from one another and each
    read within half a percent of its tick and of the axis's span."""
    span = (max(ticks) - min(ticks)) if len(ticks) > 1 else abs(ticks[0]) if ticks else 0
    labels: list[str] = []
    for digits in range(12):
        labels = [compact(t, digits) for t in ticks]
        errors = [abs(float(label) - t) for label, t in zip(labels, ticks, strict=True)]
        close = all(e <= 0.005 * min(span, abs(t)) for e, t in zip(errors, ticks, strict=True))
        if close and len(set(labels)) == len(labels):
            break
    return labels


def nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round ticks (multiples of 1, 2 or 5 times a power of ten) from `low` to `high`: the
    most of them up to `count`; whole numbers only when `integer`; the ends when none fit."""
    if not high > low:
        return [low]
    magnitude = 10.0 ** math.floor(math.log10((high - low) / max(count - 1, 1)))
    best: list[float] = []
    for step in (m * magnitude for m in (1, 2, 5, 10)):
        if integer and step < 1:
            continue
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if len(best) < last - first + 1 <= count:
            best = [round(k * step, 12) for k in range(first, last + 1)]
    return best if len(best) >= 2 else [low, high]


def y_ticks(low: float, high: float, log: bool, count: int = 5) -> list[float]:
    """Round ticks from `low` to `high`. On a log axis: powers of ten over two decades or
    more; 1, 2 and 5 times them over less, spread evenly on it as the axis is."""
    if not log:
        return nice_ticks(low, high, count)
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if high / low >= 100:
        step = max(1, math.ceil((last - first) / count))
        return [10.0**e for e in range(first, last + 1, step)]
    ticks = [
        round(m * 10.0**e, 12)
        for e in range(first, last + 1)
        for m in (1, 2, 5)
        if low <= m * 10.0**e <= high
    ]
    return ticks if len(ticks) >= 3 else nice_ticks(low, high, count)  # near 1 decade: linear


class LinePlot(PlotextPlot):
    """Shows the lines and marks it is given through `show`; it redraws only when they change."""

    DEFAULT_CSS = """
    LinePlot { width: 1fr; height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str, xlabel: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: tuple[Series, ...] = ()
        self.marks: tuple[Mark, ...] = ()
        self.empty = ""  # the title's note while no line has a point
        self.tick_labels_given: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # y, x
        self.plot_title, self.xlabel = title, xlabel
        self._rendered: tuple[tuple, object] | None = None  # (what it shows, its rendering)
        self.log_y: bool | None = None  # None: log when the values span LOG_SPAN or more

    def show(self, series: Sequence[Series], marks: Sequence[Mark] = (), empty: str = "") -> None:
        """Draw `series` and `marks` in place of what was drawn; while no line has a point,
        the title says `empty` (when points will come, say)."""
        series, marks = tuple(series), tuple(marks)
        if (series, marks, empty) == (self.series, self.marks, self.empty):
            return
        self.series, self.marks, self.empty = series, marks, empty
        self.refresh()

    def toggle_log(self) -> None:
        """Switch the y axis between log and linear (from whichever it shows now)."""
        self.log_y = not self.uses_log()
        self.refresh()

    def uses_log(self) -> bool:
        if self.log_y is not None:
            return self.log_y
        ys = [y for line in self.series for y in line.ys if math.isfinite(y)]
        return bool(ys) and min(ys) > 0 and max(ys) / min(ys) >= LOG_SPAN

    def render(self):
        """The plot, built again only when the lines, the size or the theme have changed.

        plotext builds a plot in 10-20 ms; a screen repaints a plot that has not changed
        whenever something above it closes (a dialog, the help) or lays out.
        """
        key = (self.series, self.marks, self.empty, self.size, self.app.theme, self.log_y)
        if self._rendered is None or self._rendered[0] != key:
            self._draw()
            self._rendered = (key, super().render())
        return self._rendered[1]

    def _draw(self) -> None:
        """Give plotext the lines, and ticks for the plot's size: no two on one row or
        overlapping (plotext draws ticks in an order that varies from run to run, so
        of two that collide either may show)."""
        plt = self.plt
        plt.clear_data()
        blank = self.empty and not any(line.xs for line in self.series)
        plt.title(f"{self.plot_title}: {self.empty}" if blank else self.plot_title)
        plt.xlabel(self.xlabel)
        for line in self.series:
            if not line.xs:
                continue
            plt.plot(line.xs, line.ys, label=line.label, color=line.color, marker=line.marker)
        ys = [y for line in self.series for y in line.ys if math.isfinite(y)]
        log = self.uses_log()
        plt.yscale("log" if log else "linear")
        width, height = self.size
        y_labels, x_labels = [], []
        if ys:
            rows = height - PLOT_FRAME_ROWS

            def inside(tick: float) -> bool:  # a log axis's powers of ten may lie beyond
                return min(ys) * (1 - 1e-9) <= tick <= max(ys) * (1 + 1e-9)

            scale = math.log10 if log and min(ys) > 0 else float

            def make(count: int) -> list[float]:
                return [t for t in y_ticks(min(ys), max(ys), log, count) if inside(t)]

            def rows_apart(gap: int):
                low, high = scale(min(ys)), scale(max(ys))
                return lambda ticks: apart([scale(t) for t in ticks], low, high, rows, gap)

            # a blank row between ticks where three or more fit so; else any on rows of their own
            ticks = spread_ticks(make, rows_apart(2), least=3) or spread_ticks(make, rows_apart(1))
            y_labels = tick_labels(ticks)
            plt.yticks(ticks, y_labels)
        xs = [x for line in self.series for x in line.xs]
        if xs:
            reach = [*xs, *(m.x for m in self.marks)]  # plotext's x axis holds the marks
            low, high = min(reach), max(reach)
            integer = all(float(x).is_integer() for x in xs)
            columns = width - 2 - max(map(len, y_labels), default=0)  # less axes and labels

            def fit(ticks: list[float]) -> bool:
                labels = tick_labels(ticks)
                widths = [len(label) for label in labels]
                gaps = [a + b + 1 for a, b in pairwise(widths)]
                return apart(ticks, low, high, columns, gaps)

            ticks = spread_ticks(lambda count: nice_ticks(min(xs), max(xs), count, integer), fit)
            x_labels = tick_labels(ticks)
            plt.xticks(ticks, x_labels)
        self.tick_labels_given = (tuple(y_labels), tuple(x_labels))
        for mark in self.marks:
            plt.vline(mark.x, "red")
            if ys:  # at the bottom: the legend sits at the top
                plt.text(mark.label, mark.x, min(ys), color="red")


PLOT_FRAME_ROWS = 5  # a plot's rows besides its canvas: title, x label, x ticks, two axes


def spread_ticks(make, fits, most: int = 5, least: int = 2) -> list[float] | None:
    """The ticks `make(count)` gives for the largest count from `most` down to `least` that
    `fits`; with `least` 2, the first of two if none does, else None."""
    for count in range(most, least - 1, -1):
        ticks = make(count)
        if fits(ticks):
            return ticks
    return make(2)[:1] if least == 2 else None


def apart(ticks: Sequence[float], low: float, high: float, cells: int, gaps=1) -> bool:
    """Whether `ticks` (ascending, from `low` to `high`) on an axis of `cells` rows or
    columns land, as plotext places them, at least `gaps` cells apart: one gap for all,
    or one per neighbouring pair."""
    if cells < 1:
        return False
    span = high - low
    places = [
        math.floor(round(0.5 + (cells - 1) * (t - low) / span, 8)) if span else 0 for t in ticks
    ]
    gaps = [gaps] * (len(places) - 1) if isinstance(gaps, int) else gaps
    return all(b - a >= gap for (a, b), gap in zip(pairwise(places), gaps, strict=True))
