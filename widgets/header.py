"""The app's header: Textual's, with a title that changes without a layout pass."""

from __future__ import annotations

from textual.widgets import Header
from textual.widgets._header import HeaderTitle


class _Title(HeaderTitle):
    """The header's title: its size is the header's, so new text only needs a repaint.

    Textual's title asks for a layout pass of the whole screen on every change, and
    the title changes with the design's modified marker: on the first edit after a
    save and on the undo back to it.
    """

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose=False):
        return super().refresh(*regions, repaint=repaint, recompose=recompose)


class AppHeader(Header):
    """Header whose title repaints in place."""

    def compose(self):
        for widget in super().compose():
            yield _Title() if type(widget) is HeaderTitle else widget
