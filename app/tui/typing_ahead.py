"""Keys typed ahead: each goes where the keys before it have moved the focus.

A terminal hands over a paste, fast typing or `tmux send-keys` in one read, and Textual
sends every key to the widget focused when it reads it. Keys typed after one that moves
the focus (`a` to the palette's filter) or opens a dialog (`l` for the learning rate)
would go to the widget that had the focus before and drive its keys instead.
"""

from __future__ import annotations

import contextvars
import time
import weakref

from textual import events
from textual.screen import ModalScreen

# the actions whose key opens a dialog that takes typing (the action table's ids)
OPENS_DIALOG = frozenset(
    {
        "design.open",
        "design.new",
        "design.rename",
        "export.dialog",
        "train.lr",
        "train.save",
        "train.load",
        "debug.condition",
        "script.line",
    }
)
DIALOG_WAIT_SECONDS = 0.5  # an action that opened no dialog holds the keys this long


def read_again(key: str, character: str | None) -> events.Key:
    """A key event made outside any widget's context, as the terminal driver makes them:
    it bubbles back to the app's bindings from wherever it is sent."""
    return contextvars.Context().run(events.Key, key, character)


class TypingAhead:
    """Mixed into an App: see the module's docstring."""

    def _typing_ahead_setup(self) -> None:
        self._sent_to: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._held: list[tuple[str, str | None]] | None = None  # keys waiting for a dialog
        self._dialog_due = 0.0

    def hold_or_note(self, event: events.Event) -> bool:
        """Called first for each event the app reads: True when the key is held back."""
        if not isinstance(event, events.Key) or event.is_forwarded:
            return False
        if self._held is not None:
            self._held.append((event.key, event.character))
            return True
        self._sent_to[event] = self.focused
        return False

    def on_key(self, event: events.Key) -> None:
        sent_to = self._sent_to.pop(event, None)
        if sent_to is None:
            return
        if self._held is not None:  # sent before a dialog's key was handled: the dialog's
            event.prevent_default()
            event.stop()
            self._held.append((event.key, event.character))
            return
        focused = self.focused
        if focused is not None and sent_to is not focused:
            # the focus moved since the key was sent: it belongs where the focus is now
            event.prevent_default()
            event.stop()
            self.post_message(read_again(event.key, event.character))
            return
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.binding.id in OPENS_DIALOG and active.enabled:
            self._held, self._dialog_due = [], time.monotonic() + DIALOG_WAIT_SECONDS
            self.set_timer(0.01, self._release_when_the_dialog_is_up)

    def _release_when_the_dialog_is_up(self) -> None:
        up = isinstance(self.screen, ModalScreen) and self.screen.focused is not None
        if not up and time.monotonic() < self._dialog_due:
            self.set_timer(0.01, self._release_when_the_dialog_is_up)
            return
        held, self._held = self._held or [], None
        for key, character in held:
            self.post_message(read_again(key, character))
