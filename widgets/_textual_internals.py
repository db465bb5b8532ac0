"""Every use of Textual's private API in stepgrad, each checked against textual 8.2.8."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from textual.app import App
from textual.screen import Screen
from textual.widget import Widget

# The footer's key widget: textual 8.2.8 exports it from no public module.
from textual.widgets._footer import FooterKey

# The header's title widget: textual 8.2.8 exports it from no public module.
from textual.widgets._header import HeaderTitle

__all__ = [
    "FooterKey",
    "HeaderTitle",
    "footer_bindings_ready",
    "layout_passes",
    "layout_pending",
    "on_frame_written",
    "screen_pending",
    "update_scrollbars",
]


def footer_bindings_ready(footer: Widget) -> bool:
    """Whether a Footer has been told its screen's bindings, so composing it shows them.

    Checked against textual 8.2.8: `Footer._bindings_ready` turns true in
    `Footer.bindings_changed`, and `Footer.compose` yields nothing before it.
    """
    return footer._bindings_ready


def update_scrollbars(view: Widget, virtual) -> None:
    """Fit `view`'s scrollbars to the virtual size `virtual` without a layout pass.

    Checked against textual 8.2.8: `Widget._scroll_update(virtual_size)` sets the
    scrollbars' extents and refreshes them; it is what `virtual_size`'s watcher calls
    after asking for a layout of the screen.
    """
    view._scroll_update(virtual)


def screen_pending(screen: Screen) -> bool:
    """Whether `screen` still has a layout pass, a repaint or a dirty widget due.

    Checked against textual 8.2.8: `Screen._layout_required`, `_repaint_required` and
    `_dirty_widgets` are what `Screen._on_timer_update` looks at before refreshing.
    """
    return bool(screen._layout_required or screen._repaint_required or screen._dirty_widgets)


def layout_pending(screen: Screen) -> bool:
    """Whether `screen` has a layout pass due (textual 8.2.8: `Screen._layout_required`)."""
    return bool(screen._layout_required)


@contextmanager
def layout_passes() -> Iterator[list[Screen]]:
    """Record every layout pass of any screen while the block runs: the screens, in order.

    Checked against textual 8.2.8: a screen lays out its widgets in
    `Screen._refresh_layout`, the one method each layout pass runs through.
    """
    passes: list[Screen] = []
    original = Screen._refresh_layout

    def spy(screen, *args, **kwargs):
        passes.append(screen)
        return original(screen, *args, **kwargs)

    Screen._refresh_layout = spy
    try:
        yield passes
    finally:
        Screen._refresh_layout = original


def on_frame_written(app: App, callback: Callable[[Screen], None]) -> None:
    """Call `callback(screen)` after `app` writes each rendered update to its output.

    Checked against textual 8.2.8: `App._display(screen, renderable)` writes one
    rendered update (renderable None means nothing to write).
    """
    display = app._display

    def written(screen, renderable):
        display(screen, renderable)
        if renderable is not None:
            callback(screen)

    app._display = written
