"""Widgets whose size is set from outside, never by what they show: no layout passes."""

from __future__ import annotations

from widgets._textual_internals import update_scrollbars


class FixedSize:
    """Refreshes of this widget repaint it and never ask for a layout pass.

    Some Textual widgets ask for a layout pass of the whole screen whenever their
    content changes (an Input whose text changes length, the header's title); where the
    CSS fixes their size, that pass only costs time, often most of a key's.
    """

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose=False):
        return super().refresh(*regions, repaint=repaint, recompose=recompose)


def resize_content(view, virtual) -> None:
    """Give the scrolling widget `view` the virtual size `virtual` without a layout pass.

    Setting `virtual_size` lays out the whole screen. A widget whose scrollbars are
    always shown (overflow: scroll) keeps its size whatever its content, so only the
    scrollbars' extents change: they are updated in place.
    """
    if virtual != view.virtual_size:
        view.set_reactive(type(view).virtual_size, virtual)
        update_scrollbars(view, virtual)
