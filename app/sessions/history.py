"""The events a pass's stepper has reached, and the cursor a person moves through them."""

from __future__ import annotations

from collections.abc import Callable

from app.sessions.breakpoints import Breakpoints
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


class Stepping:
    """The moves and the cursor a debugging session offers its screen, over `self.stepper`
    and `self.history` (a History of it)."""

    stepper: Stepper
    history: History
    breakpoints: Breakpoints
    _stopped_by: tuple[Event, list[str]] | None = None  # the event a resume stopped at, and why

    def _moved(self, event: Event) -> Event:
        return self.history.moved(event)

    def step(self) -> Event:
        """Next event: an op forward, a node backward, or a parameter update."""
        return self._moved(self.stepper.step())

    def step_over(self) -> Event:
        return self._moved(self.stepper.step_over())

    def step_out(self) -> Event:
        return self._moved(self.stepper.step_out())

    def resume(self) -> Event:
        """To the next breakpoint or the end."""
        event = self._moved(self.stepper.resume())
        self._stopped_by = (event, self.breakpoints.fired(event))
        return event

    @property
    def conditions_fired(self) -> list[str]:
        """The conditions that stopped the last resume, while the cursor is on that event."""
        if self._stopped_by is None or self._stopped_by[0] is not self.history.current:
            return []
        return self._stopped_by[1]

    def run_to_node(self, node: int, phase: str | None = None) -> Event:
        """To the first event on `node` (in `phase`, when given) or the end."""
        return self._moved(
            self.stepper.run_to(
                lambda e: (
                    e.node is not None and e.node.id == node and (phase is None or e.phase == phase)
                )
            )
        )

    def back(self) -> Event | None:
        """One event back in the history (nothing is re-run)."""
        return self.history.back()

    def forward(self) -> Event | None:
        """One event forward: through the history, then by stepping."""
        return self.history.forward(self.step)

    @property
    def cursor(self) -> int:
        """The index of the event shown; -1 before the first."""
        return self.history.cursor

    @property
    def current(self) -> Event | None:
        return self.history.current

    @property
    def phase(self) -> str:
        return self.history.phase

    @property
    def live(self) -> bool:
        """The cursor is on the newest event (not looking back through the history)."""
        return self.history.live
