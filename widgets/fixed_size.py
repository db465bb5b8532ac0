"""A mixin for widgets whose size is set from outside, never by what they show."""

from __future__ import annotations


class FixedSize:
    """Refreshes of this widget repaint it and never ask for a layout pass.

    Some Textual widgets ask for a layout pass of the whole screen whenever their
    content changes (an Input whose text changes length, the header's title); where the
    CSS fixes their size, that pass only costs time, often most of a key's.
    """

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose=False):
        return super().refresh(*regions, repaint=repaint, recompose=recompose)
