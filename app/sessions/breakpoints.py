"""Breakpoints as the user set them, kept across passes and applied to each pass's stepper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine import debug
from engine.debug import Event, Stepper


@dataclass
class Breakpoint:
    """A breakpoint on a node, on a module scope, or on a condition over each event."""

    node: int | None = None
    scope: str | None = None
    when: Callable[[Event], bool] | None = None
    label: str = ""


class Breakpoints:
    """The breakpoints of a debugging session; each change reaches the stepper at once."""

    def __init__(self) -> None:
        self.specs: list[Breakpoint] = []
        self._stepper: Stepper | None = None

    def attach(self, stepper: Stepper) -> None:
        """Make `stepper` the one that breaks on these, replacing its own breakpoints."""
        self._stepper = stepper
        self.apply()

    def apply(self) -> None:
        """Put every breakpoint (back) on the attached stepper."""
        if self._stepper is None:
            return
        self._stepper.breakpoints.clear()
        for spec in self.specs:
            self._stepper.add_breakpoint(node=spec.node, scope=spec.scope, when=spec.when)

    def toggle(self, node: int | None = None, scope: str | None = None) -> bool:
        """Set or clear a breakpoint on a node or a module scope; True when now set."""
        if node is None and scope is None:
            raise ValueError("a breakpoint needs a node or a module scope")
        for spec in self.specs:
            if spec.when is None and (spec.node, spec.scope) == (node, scope):
                self.specs.remove(spec)
                self.apply()
                return False
        self.add(Breakpoint(node, scope, label=f"#{node}" if node is not None else scope))
        return True

    def add_condition(self, kind: str, limit: float | None = None) -> str:
        """Break anywhere an event holds NaN/Inf (`"nonfinite"`) or has a norm above `limit`."""
        if kind == "nonfinite":
            spec = Breakpoint(when=debug.has_nonfinite, label="NaN/Inf")
        elif kind == "norm":
            if limit is None or not limit > 0:
                raise ValueError(f"a norm breakpoint needs a positive limit, got {limit!r}")
            spec = Breakpoint(when=debug.norm_above(limit), label=f"norm > {limit:g}")
        else:
            raise ValueError(f"condition must be 'nonfinite' or 'norm', got {kind!r}")
        self.add(spec)
        return spec.label

    def add(self, spec: Breakpoint) -> None:
        """Keep `spec` and break on it from now on."""
        self.specs.append(spec)
        if self._stepper is not None:
            self._stepper.add_breakpoint(node=spec.node, scope=spec.scope, when=spec.when)

    def fired(self, event: Event) -> list[str]:
        """The labels of the conditions that hold at `event`: why a run stopped there."""
        return [s.label for s in self.specs if s.when is not None and s.when(event)]

    @property
    def nodes(self) -> set[int]:
        return {s.node for s in self.specs if s.node is not None and s.when is None}

    @property
    def scopes(self) -> set[str]:
        return {s.scope for s in self.specs if s.scope is not None and s.when is None}

    @property
    def conditions(self) -> list[str]:
        return [s.label for s in self.specs if s.when is not None]
