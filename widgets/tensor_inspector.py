"""One tensor up close: statistics, histogram, a slice of it as a heatmap and as raw values."""

from __future__ import annotations

import numpy as np
from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from widgets.heatmap import Heatmap
from widgets.histogram import Histogram
from widgets.raw_table import RawTable
from widgets.slicing import default_slice, parse_slice, shift_index

TABLE_ROWS, TABLE_COLUMNS = 128, 32  # a 28×28 or 32×32 feature map fits whole
HEATMAP_ROWS, HEATMAP_COLUMNS = 64, 64  # rows of values: two to a line of text
NARROW = 60  # columns under which the histogram goes below the statistics
BOTTOM_MIN = 5  # rows the heatmap and table need, caption included, to show under the histogram
VIEWS = ("all", "heatmap", "raw")  # what the inspector shows: everything, or one view of the slice
VIEW_NAMES = {"all": "histogram", "heatmap": "heatmap", "raw": "raw values"}
NOT_RECORDED = Text("values not recorded", style="dim")


class TensorInspector(Vertical):
    """Shows one tensor given through `show`; a valid slice typed in posts `SliceChanged`."""

    DEFAULT_CSS = """
    TensorInspector { height: 1fr; }
    TensorInspector #title { height: auto; max-height: 4; }
    TensorInspector #top { height: 6; }
    TensorInspector.-narrow #top { layout: vertical; height: 11; }
    TensorInspector Histogram { max-width: 64; }
    TensorInspector #stats {
        width: 33; height: 5; padding: 0 0 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    TensorInspector.-narrow #stats { width: 1fr; }
    TensorInspector.-narrow Histogram { height: 6; max-width: 100%; }
    TensorInspector #no-histogram { width: 1fr; color: $text-muted; content-align: center middle; }
    TensorInspector #slice-row { height: 1; }
    TensorInspector #slice { width: 1fr; }
    TensorInspector #view-hint { width: auto; color: $text-muted; padding: 0 0 0 1; }
    TensorInspector #slice-error { color: $error; height: auto; }
    TensorInspector #bottom { height: 1fr; }
    TensorInspector #bottom > Vertical { width: 1fr; height: 1fr; }
    TensorInspector #heatmap { height: 1fr; }
    TensorInspector .caption { height: auto; color: $text-muted; }
    TensorInspector RawTable { height: 1fr; }
    """

    class SliceChanged(Message):
        """A valid slice was applied; `text` as the user wrote it."""

        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.array: np.ndarray | None = None
        self.slice_text = ""  # the last valid slice: what the heatmap and table show
        self._shape: tuple[int, ...] | None = None
        self._title: tuple[str, str] | None = None
        self._stats: tuple | str | None = None  # what the statistics show, or "none"
        self._view: np.ndarray | None = None  # a copy of what the heatmap and table show
        self._captions: dict[str, str] = {}  # selector -> the caption it shows
        self.view = "all"  # one of VIEWS
        self.view_key = ""  # the key that calls `next_view`, named in the hint beside the slice

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal(id="top"):
            yield Static(id="stats")
            yield Histogram(id="histogram")
            yield Static("no histogram", id="no-histogram")
        with Horizontal(id="slice-row"):
            yield Input(placeholder="slice, e.g. [0, :, 3]", id="slice", compact=True)
            yield Static(id="view-hint")
        yield Static(id="slice-error")
        with Horizontal(id="bottom"):
            with Vertical(id="heatmap-column"):
                yield Static(classes="caption", id="heatmap-caption")
                yield Heatmap(HEATMAP_ROWS, HEATMAP_COLUMNS, id="heatmap")
            with Vertical(id="table-column"):
                yield Static(classes="caption", id="table-caption")
                yield RawTable(TABLE_ROWS, TABLE_COLUMNS, id="table")

    def on_mount(self) -> None:
        self._show_view_choice()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")
        self._show_view_choice()

    @property
    def short(self) -> bool:
        """Too few rows for the heatmap and table under the statistics and histogram."""
        top = 11 if self.size.width < NARROW else 6
        return self.size.height < top + 2 + BOTTOM_MIN  # + 2: the title and the slice

    def next_view(self) -> str:
        """Show the next of VIEWS: everything (where it fits), the heatmap alone, the raw
        values alone; returns the view now shown."""
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self._show_view_choice()
        return self.view

    def _show_view_choice(self) -> None:
        """Show the parts the view asks for, and beside the slice the key to the next view."""
        view = self.view
        shown = {
            "#top": view == "all",
            "#bottom": view != "all" or not self.short,
            "#heatmap-column": view != "raw",
            "#table-column": view != "heatmap",
        }
        for selector, on in shown.items():
            widget = self.query_one(selector)
            if widget.display != on:  # setting display, even unchanged, lays out again
                widget.display = on
        following = VIEWS[(VIEWS.index(view) + 1) % len(VIEWS)]
        hint = ""
        if self.view_key:
            what = VIEW_NAMES[following] if following != "all" or self.short else "all"
            hint = f"{self.view_key}: {what}"
        self.query_one("#view-hint", Static).update(Text(hint))

    def set_view_key(self, key: str) -> None:
        """Name `key` beside the slice as the key to the next view."""
        self.view_key = key
        self._show_view_choice()

    def show(self, title: str, stats, array: np.ndarray | None, note: str = "") -> None:
        """Show a tensor's statistics (None: not known yet) and, when recorded, its values;
        skips what did not change."""
        if (title, note) != self._title:
            self._title = (title, note)
            if note:
                title += f"\n[dim]{escape(note)}[/]"
            self.query_one("#title", Static).update(title)  # one line or more: a layout
        self._show_stats(stats)
        self.array = array
        if array is None:
            self._view = None
            self._show_message(NOT_RECORDED)
            return
        if array.shape != self._shape:
            self._shape = array.shape
            self.slice_text = default_slice(array.ndim)
            self._show_error("")
            self.query_one("#slice", Input).value = self.slice_text
        self._show_view()

    def shift_slice(self, axis: int, delta: int) -> None:
        """Move the integer index at position `axis` of the slice by `delta`, within its axis."""
        if self._shape is None:
            return
        text = shift_index(self.slice_text, self._shape, axis, delta)
        if text is not None and text != self.slice_text:
            self._apply(text)
            self.query_one("#slice", Input).value = text

    def on_heatmap_redrawn(self, event: Heatmap.Redrawn) -> None:
        event.stop()
        caption = self.query_one(Heatmap).caption
        self._caption("#heatmap-caption", caption)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        # a value set in code arrives later as an event: skip those overtaken by a newer value
        if event.value == event.input.value and event.value != self.slice_text:
            self._apply(event.value)

    def _apply(self, text: str) -> None:
        """Show the slice `text` if it is valid, else say why under the slice box."""
        if self._shape is None:
            return
        try:
            parse_slice(text, self._shape)
        except ValueError as problem:
            self._show_error(str(problem))
            return
        self._show_error("")
        self.slice_text = text
        self._show_view()
        self.post_message(self.SliceChanged(text))

    def _show_stats(self, stats) -> None:
        if stats is None:  # nothing known yet: say so, no histogram
            if self._stats != "none":
                self._stats = "none"
                none_yet = Text("no values yet", style="dim")
                self.query_one("#stats", Static).update(none_yet, layout=False)
                self._show_histogram([], [])
            return
        names = ("shape", "count", "min", "max", "mean", "std", "norm", "nan_count", "inf_count")
        key = (*(getattr(stats, n) for n in names), stats.zero_fraction)
        key += (tuple(stats.hist_edges), tuple(stats.hist_counts))
        if key == self._stats:
            return
        self._stats = key
        self.query_one("#stats", Static).update(stats_text(stats), layout=False)
        self._show_histogram(stats.hist_edges, stats.hist_counts)

    def _show_histogram(self, edges, counts) -> None:
        has_bins = len(counts) > 0 and len(edges) == len(counts) + 1
        histogram, empty = self.query_one(Histogram), self.query_one("#no-histogram")
        if histogram.display != has_bins:  # setting display, even unchanged, lays out again
            histogram.display = has_bins
        if empty.display == has_bins:
            empty.display = not has_bins
        histogram.show(edges, counts)

    def _show_view(self) -> None:
        """Draw the heatmap and table of the current slice, unless they show it already."""
        if self.array is None:
            return
        view = self.array[parse_slice(self.slice_text, self._shape)]
        if view.ndim > 2 or view.size == 0:
            self._view = None
            message = "slice down to 2 dimensions for a heatmap" if view.size else "empty slice"
            self._show_message(Text(message, style="dim"))
            return
        view = np.atleast_2d(view)
        same = self._view is not None and self._view.shape == view.shape
        same = same and self._view.dtype == view.dtype
        if same and np.array_equal(view, self._view, equal_nan=True):
            return
        self._view = view.copy()
        heatmap = self.query_one(Heatmap)
        heatmap.show(view)
        self._caption("#heatmap-caption", heatmap.caption)
        table = self.query_one(RawTable)
        table.show(view)
        self._caption("#table-caption", table.caption)
        self._set_display(True)

    def _show_error(self, error: str) -> None:
        """Say under the slice box why the slice typed cannot be shown; "" hides it."""
        line = self.query_one("#slice-error", Static)
        if line.display or error:
            line.update(Text(error))
            line.display = bool(error)

    def _show_message(self, message: Text) -> None:
        """Say `message` where the heatmap and the table go."""
        self._set_display(False)
        self._caption("#heatmap-caption", message)
        self._caption("#table-caption", message)

    def _caption(self, selector: str, caption: str | Text) -> None:
        """Show a caption; it wraps where its column is narrow, so a layout is needed only
        when the old or the new one takes more than a line."""
        line = self.query_one(selector, Static)
        longest = max(len(str(caption)), len(self._captions.get(selector, "")))
        self._captions[selector] = str(caption)
        line.update(caption, layout=longest > (line.size.width or self.size.width))

    def _set_display(self, shown: bool) -> None:
        """Show or hide the heatmap and table; setting `display` unchanged still costs a layout."""
        for selector in ("#heatmap", "#table"):
            widget = self.query_one(selector)
            if widget.display != shown:
                widget.display = shown


def short_number(value: float) -> str:
    """Four significant digits, the exponent without padding (1.575e-5), never "-0"."""
    text = f"{value + 0.0:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def stats_text(stats) -> Text:
    """A tensor's statistics in five lines of two columns, at most 31 characters wide
    (shape aside): short enough for the inspector of an 80-column screen."""
    bad = "bold red"
    pairs = [
        (("count", f"{stats.count:,}", ""), ("zeros", f"{100 * stats.zero_fraction:.1f}%", "")),
        (("min", short_number(stats.min), ""), ("max", short_number(stats.max), "")),
        (("mean", short_number(stats.mean), ""), ("std", short_number(stats.std), "")),
        (
            ("norm", short_number(stats.norm), ""),
            ("NaN", f"{stats.nan_count:,}", bad if stats.nan_count else ""),
        ),
    ]
    left = max(len(value) for (_, value, _), _ in pairs)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("shape ", style="dim")
    text.append(str(tuple(stats.shape)))
    for (name, value, style), (right_name, right_value, right_style) in pairs:
        text.append(f"\n{name:<5} ", style="dim")
        text.append(value.ljust(left) + " ", style=style)
        text.append(f"{right_name:<5} " if right_name != "NaN" else "NaN ", style="dim")
        text.append(right_value, style=right_style)
        if right_name == "NaN":
            text.append("  Inf ", style="dim")
            text.append(f"{stats.inf_count:,}", style=bad if stats.inf_count else "")
    return text
