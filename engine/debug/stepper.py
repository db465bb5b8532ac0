"""Pausing a run at every op: forward, backward and parameter updates, one event at a time."""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine import backend
from engine.debug.stats import stats
from engine.debug.trace import DEFAULT_VALUE_CAP, NodeRecord, Trace, Tracer, in_scope

PHASES = ("forward", "backward", "update", "done", "error")


@dataclass
class Event:
    """One stop of the stepper. Arrays are host (NumPy) copies taken when the event happened."""

    index: int
    phase: str
    node: NodeRecord | None
    inputs: list = field(default_factory=list)  # values of the parents (forward)
    output: Any = None  # forward: the op's result
    grad_output: Any = None  # backward: gradient arriving at the node's output
    grad_inputs: list = field(default_factory=list)  # backward: what goes to each parent
    update: Any = None  # update: what will be subtracted from the parameter
    lr: float | None = None
    error: BaseException | None = None
    trace: Trace | None = None  # the graph so far (complete on "done", partial on "error")
    dropped: bool = False  # arrays dropped to keep history under the memory cap

    @property
    def scope(self) -> str:
        return self.node.scope if self.node is not None else ""

    @property
    def update_ratio(self) -> float | None:
        """|update| / |weight| for an update event."""
        if self.update is None or not self.inputs:
            return None
        return update_ratio(self.update, self.inputs[0])

    def arrays(self) -> list:
        return [self.output, self.grad_output, self.update, *self.inputs, *self.grad_inputs]


def update_ratio(update, weight) -> float:
    """‖update‖ / ‖weight‖ (host arrays); infinite for a weight that is all zeros."""
    w = float(np.linalg.norm(weight))
    return float(np.linalg.norm(update)) / w if w else math.inf


@dataclass
class Breakpoint:
    """Stops the stepper at events that match every condition given."""

    id: int
    op: str | None = None
    scope: str | None = None
    node: int | None = None
    when: Callable[[Event], bool] | None = None
    phase: str | None = None

    def matches(self, event: Event) -> bool:
        rec = event.node
        if rec is None:
            return False
        return (
            (self.phase is None or event.phase == self.phase)
            and (self.op is None or rec.op == self.op)
            and (self.scope is None or in_scope(rec.scope, self.scope))
            and (self.node is None or rec.id == self.node)
            and (self.when is None or bool(self.when(event)))
        )


def has_nonfinite(event: Event) -> bool:
    """Breakpoint condition: the event's output, gradient or update holds NaN or Inf."""
    for arr in (event.output, event.grad_output, event.update, *event.grad_inputs):
        if arr is not None and arr.dtype.kind == "f" and not np.isfinite(arr).all():
            return True
    return False


def norm_above(limit: float) -> Callable[[Event], bool]:
    """Breakpoint condition: the norm of the output, gradient or update exceeds `limit`."""

    def check(event: Event) -> bool:
        arr = {"forward": event.output, "backward": event.grad_output}.get(
            event.phase, event.update
        )
        return arr is not None and float(np.linalg.norm(arr.astype(np.float64))) > limit

    check.__name__ = f"norm_above({limit})"
    return check


class _Closed(BaseException):
    """Unwinds the stepped function when the stepper is closed mid-run."""


class _StepTracer(Tracer):
    def __init__(self, stepper: Stepper, level: str, value_cap: int):
        super().__init__(level, value_cap)
        self.stepper = stepper

    def on_forward(self, rec, inputs, out, cls, kwargs):
        self.stepper._emit(
            Event(
                0, "forward", rec, inputs=[_host(t._data) for t in inputs], output=_host(out._data)
            )
        )

    def on_backward(self, rec, step):
        if rec is None:
            return
        grads = [None if g is None else _host(g) for g in step.grad_inputs]
        self.stepper._emit(
            Event(0, "backward", rec, grad_output=_host(step.grad_output), grad_inputs=grads)
        )

    def on_update(self, rec, p, update, group):
        self.stepper._emit(
            Event(
                0, "update", rec, inputs=[_host(p._data)], update=_host(update), lr=group.get("lr")
            )
        )


def _host(arr):
    return np.array(backend.to_numpy(arr), copy=True)


class Stepper:
    """Runs `fn` (forward, loss, backward, optionally an optimizer step) in its own thread,
    pausing at every event: each forward op after it ran, each backward node after it
    computed its input gradients, each parameter update before it is applied.

    `step()` after the run has ended keeps returning the final "done" (or "error") event;
    after `close()` it raises RuntimeError.
    """

    def __init__(
        self, fn: Callable[[], Any], level: str = "stats", value_cap: int = DEFAULT_VALUE_CAP
    ):
        self.fn = fn
        self.value_cap = value_cap
        self.tracer = _StepTracer(self, level, value_cap)
        self.history: list[Event] = []
        self.breakpoints: dict[int, Breakpoint] = {}
        self.result: Any = None
        self._bp_ids = itertools.count(1)
        self._to_main: queue.Queue[Event | None] = queue.Queue()
        self._go = threading.Semaphore(0)
        self._predicate: Callable[[Event], bool] = lambda e: True
        self._thread: threading.Thread | None = None
        self._closing = False
        self._history_bytes = 0
        self.history_dropped = False

    @property
    def trace(self) -> Trace:
        return self.tracer.trace

    @property
    def last(self) -> Event | None:
        return self.history[-1] if self.history else None

    @property
    def finished(self) -> bool:
        return self.last is not None and self.last.phase in ("done", "error")

    # ----- moving ----------------------------------------------------------
    def step(self) -> Event:
        """Run to the next event and return it."""
        return self._advance(lambda e: True)

    def step_over(self) -> Event:
        """Finish the current module: stop at the first event outside it (or a breakpoint)."""
        current = self.last
        if current is None or current.node is None or current.scope == "":
            return self.step()
        scope, phase = current.scope, current.phase
        return self._advance(lambda e: e.phase != phase or not in_scope(e.scope, scope))

    def step_out(self) -> Event:
        """Finish the module that contains the current one."""
        current = self.last
        if current is None or current.node is None:
            return self.step()
        parent, phase = current.scope.rpartition(".")[0], current.phase
        return self._advance(lambda e: e.phase != phase or not in_scope(e.scope, parent))

    def resume(self) -> Event:
        """Run to the next breakpoint or the end."""
        return self._advance(lambda e: False)

    def run_to(self, predicate: Callable[[Event], bool]) -> Event:
        """Run to the first event for which `predicate(event)` is true (or the end)."""
        return self._advance(predicate)

    def _advance(self, predicate: Callable[[Event], bool]) -> Event:
        if self.finished:
            return self.last
        if self._closing:
            raise RuntimeError("stepper: closed before the run ended; start a new Stepper")
        self._predicate = predicate
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stepgrad-stepper", daemon=True)
            self._thread.start()
        else:
            self._go.release()
        event = self._to_main.get()
        if event is None:  # closed while this move ran
            raise RuntimeError("stepper: closed before the run ended; start a new Stepper")
        return event

    # ----- breakpoints -----------------------------------------------------
    def add_breakpoint(
        self,
        op: str | None = None,
        scope: str | None = None,
        node: int | None = None,
        when: Callable[[Event], bool] | None = None,
        phase: str | None = None,
    ) -> int:
        """Stop wherever an event matches all the given conditions; returns the breakpoint's id."""
        if phase is not None and phase not in PHASES:
            raise ValueError(f"breakpoint phase must be one of {', '.join(PHASES)}, got {phase!r}")
        bp = Breakpoint(next(self._bp_ids), op, scope, node, when, phase)
        self.breakpoints[bp.id] = bp
        return bp.id

    def remove_breakpoint(self, bp_id: int) -> None:
        if self.breakpoints.pop(bp_id, None) is None:
            raise KeyError(f"no breakpoint with id {bp_id}")

    # ----- the worker's side -----------------------------------------------
    def _run(self) -> None:
        backend.limit_blas_threads(1)  # the caller (often a UI) needs the other cores
        try:
            with backend.quiet_float_errors(), self.tracer:
                self.result = self.fn()
        except _Closed:
            self._to_main.put(None)  # wakes a move still waiting for its event
            return
        except BaseException as exc:  # the run failed: hand the error and the partial graph over
            self.tracer.trace.error = exc
            self._finish(Event(0, "error", self._failed_node(), error=exc, trace=self.trace))
            return
        self._finish(Event(0, "done", None, trace=self.trace))

    def _failed_node(self) -> NodeRecord | None:
        nodes = self.trace.nodes
        return nodes[-1] if nodes and nodes[-1].error else None

    def _finish(self, event: Event) -> None:
        self._record(event)
        self._to_main.put(event)

    def _emit(self, event: Event) -> None:
        if self._closing:
            raise _Closed
        self._record(event)
        if self._predicate(event) or any(bp.matches(event) for bp in self.breakpoints.values()):
            self._to_main.put(event)
            self._go.acquire()
            if self._closing:
                raise _Closed

    def _record(self, event: Event) -> None:
        event.index = len(self.history)
        self.history.append(event)
        self._history_bytes += sum(a.nbytes for a in _arrays(event))
        for old in self.history:
            if self._history_bytes <= self.value_cap:
                break
            if old.dropped or old is event:
                continue
            self._history_bytes -= sum(a.nbytes for a in _arrays(old))
            old.inputs, old.grad_inputs = [], []
            old.output = old.grad_output = old.update = None
            old.dropped = self.history_dropped = True

    # ----- ending ----------------------------------------------------------
    def close(self, timeout: float = 10.0, wait: bool = True) -> None:
        """End the worker thread wherever it is; safe to call more than once.

        With `wait=False` it only tells the thread to stop: the thread ends at its
        next event, and a move still waiting raises RuntimeError.
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._closing = True
        self._go.release()
        if not wait:
            return
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("stepper: the stepped function did not stop within the timeout")

    def __enter__(self) -> Stepper:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close(timeout=1.0)
        except Exception:  # interpreter shutdown: nothing left to clean
            pass


def _arrays(event: Event) -> list:
    return [a for a in event.arrays() if a is not None]


def event_stats(event: Event):
    """Stats of what the event is about: the output, the gradient, or the update."""
    arr = {"forward": event.output, "backward": event.grad_output, "update": event.update}.get(
        event.phase
    )
    return None if arr is None else stats(arr)
