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
NOT_RECORDED = Text("values not recorded", style="dim")


class TensorInspector(Vertical):
    """Shows one tensor given through `show`; a valid slice typed in posts `SliceChanged`."""

    DEFAULT_CSS = """
    TensorInspector { height: 1fr; }
    TensorInspector #title { height: 2; }
    TensorInspector #top { height: 12; max-height: 50%; }
    TensorInspector Histogram { max-width: 64; }
    TensorInspector #stats { width: 28; height: 10; padding: 0 1; }
    TensorInspector #no-histogram { width: 1fr; color: $text-muted; content-align: center middle; }
    TensorInspector #slice { height: 1; }
    TensorInspector #slice-error { color: $error; height: auto; }
    TensorInspector #bottom { height: 1fr; }
    TensorInspector #bottom > Vertical { width: 1fr; height: 1fr; }
    TensorInspector #heatmap { height: 1fr; }
    TensorInspector .caption { height: 1; color: $text-muted; }
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

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal(id="top"):
            yield Static(id="stats")
            yield Histogram(id="histogram")
            yield Static("no histogram", id="no-histogram")
        yield Input(placeholder="slice, e.g. [0, :, 3]", id="slice", compact=True)
        yield Static(id="slice-error")
        with Horizontal(id="bottom"):
            with Vertical():
                yield Static(classes="caption", id="heatmap-caption")
                yield Heatmap(HEATMAP_ROWS, HEATMAP_COLUMNS, id="heatmap")
            with Vertical():
                yield Static(classes="caption", id="table-caption")
                yield RawTable(TABLE_ROWS, TABLE_COLUMNS, id="table")

    def show(self, title: str, stats, array: np.ndarray | None, note: str = "") -> None:
        """Show a tensor's statistics (None: not known yet) and, when recorded, its values;
        skips what did not change."""
        if (title, note) != self._title:
            self._title = (title, note)
            if note:
                title += f"\n[dim]{escape(note)}[/]"
            self.query_one("#title", Static).update(title, layout=False)
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
        self.query_one("#heatmap-caption", Static).update(caption, layout=False)

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
        text = Text(no_wrap=True, overflow="ellipsis")
        rows = [("shape", str(tuple(stats.shape)), ""), ("count", f"{stats.count:,}", "")]
        moments = ("min", "max", "mean", "std", "norm")
        rows += [(n, f"{getattr(stats, n) + 0.0:.4g}", "") for n in moments]  # never "-0"
        rows += [
            ("NaN", f"{stats.nan_count:,}", "bold red" if stats.nan_count else ""),
            ("Inf", f"{stats.inf_count:,}", "bold red" if stats.inf_count else ""),
            ("zeros", f"{100 * stats.zero_fraction:.1f}%", ""),
        ]
        for i, (label, value, style) in enumerate(rows):
            text.append(("\n" if i else "") + f"{label:<6} ", style="dim")
            text.append(value, style=style)
        self.query_one("#stats", Static).update(text, layout=False)
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
        self.query_one("#heatmap-caption", Static).update(heatmap.caption, layout=False)
        table = self.query_one(RawTable)
        table.show(view)
        self.query_one("#table-caption", Static).update(table.caption, layout=False)
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
        self.query_one("#heatmap-caption", Static).update(message, layout=False)
        self.query_one("#table-caption", Static).update(message, layout=False)

    def _set_display(self, shown: bool) -> None:
        """Show or hide the heatmap and table; setting `display` unchanged still costs a layout."""
        for selector in ("#heatmap", "#table"):
            widget = self.query_one(selector)
            if widget.display != shown:
                widget.display = shown
