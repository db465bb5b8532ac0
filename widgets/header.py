"""The app's header: Textual's, with a title that changes without a layout pass."""

from __future__ import annotations

from textual.widgets import Header

from widgets._textual_internals import HeaderTitle
from widgets.fixed_size import FixedSize


class _Title(FixedSize, HeaderTitle):
    """The header's title: its size is the header's, so new text only needs a repaint.
    It changes with the design's modified marker: on the first edit after a save and on
    the undo back to it."""


class AppHeader(Header):
    """Header whose title repaints in place."""

    def compose(self):
        for widget in super().compose():
            yield _Title() if type(widget) is HeaderTitle else widget
