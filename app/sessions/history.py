"""The events a pass's stepper has reached, and the cursor a person moves through them."""

from __future__ import annotations

from collections.abc import Callable

from engine.debug import Event, Stepper


class History:
    """A stepper's history seen through a cursor: what the screen shows is the event under it."""

    def __init__(self, stepper: Stepper):
        self.stepper = stepper
        self.cursor = -1  # index into the history of the event shown; -1: before the first
        self._event_of: dict[tuple[str, int], int] = {}  # (phase, node) -> history index
        self._indexed = 0  # history events already in _event_of

    def moved(self, event: Event) -> Event:
        """Put the cursor on `event`, which the stepper has just reached."""
        events = self.stepper.history
        for e in events[self._indexed :]:
            if e.node is not None:
                self._event_of.setdefault((e.phase, e.node.id), e.index)
        self._indexed = len(events)
        self.cursor = event.index
        return event

    def back(self) -> Event | None:
        """One event back (nothing is re-run)."""
        if self.cursor > 0:
            self.cursor -= 1
        return self.current

    def forward(self, step: Callable[[], Event]) -> Event | None:
        """One event forward: through the history, then with `step`."""
        if self.cursor < len(self.stepper.history) - 1:
            self.cursor += 1
            return self.current
        return step()

    @property
    def current(self) -> Event | None:
        events = self.stepper.history
        return events[self.cursor] if 0 <= self.cursor < len(events) else None

    @property
    def phase(self) -> str:
        event = self.current
        return "ready" if event is None else event.phase

    @property
    def live(self) -> bool:
        """The cursor is on the newest event (not looking back)."""
        return self.cursor == len(self.stepper.history) - 1

    def seen(self, phase: str, node: int) -> Event | None:
        """The event of `node` in `phase`, if the cursor is on it or past it."""
        index = self._event_of.get((phase, node))
        if index is None or index > self.cursor:
            return None
        return self.stepper.history[index]

    @property
    def backward_done(self) -> bool:
        event = self.current
        return event is not None and event.phase in ("update", "done")
