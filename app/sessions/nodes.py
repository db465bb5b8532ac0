"""What is known of each node of a debugged pass at the history's cursor, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from app.sessions.findings import rms
from app.sessions.history import History
from engine import debug
from engine.debug import NodeRecord, Stats, Trace

ZEROS = 0.75  # a node whose values are at least this fraction zero has the "zeros" health


class Group(NamedTuple):
    """A module on the way to a node's scope: its attribute name and its class."""

    name: str
    kind: str | None = None


@dataclass(frozen=True)
class Row:
    """One node of the graph as the list shows it; `health` is "", "ok", "zeros",
    "vanishing", "nonfinite" or "error"."""

    node: int
    op: str
    scope: str
    groups: tuple[Group, ...]
    shape: tuple
    name: str
    health: str
    grad_norm: float | None


@dataclass
class NodeView:
    """What is known of one node at the event the history cursor is on."""

    record: NodeRecord
    reached: bool  # its forward op has run (leaves: always)
    value: np.ndarray | None = None
    value_stats: Stats | None = None
    grad: np.ndarray | None = None
    grad_stats: Stats | None = None
    inputs: list[NodeRecord] = field(default_factory=list)
    split: list[tuple[NodeRecord, Stats | None, float]] = field(default_factory=list)
    update: np.ndarray | None = None
    update_stats: Stats | None = None
    lr: float | None = None
    update_ratio: float | None = None
    dropped: bool = False  # its arrays were dropped to keep the history under the cap


def node_view(overview: Trace, history: History, node: int, arrays: bool = True) -> NodeView:
    """What is known of `node` as of the event under the cursor; `overview` is the full pass."""
    rec = overview.nodes[node]
    live = history.stepper.trace.nodes
    here = live[node] if node < len(live) else None
    fwd = history.seen("forward", node)
    bwd = history.seen("backward", node)
    upd = history.seen("update", node)
    reached = rec.is_leaf or fwd is not None  # the batch and the weights exist from the start
    view = NodeView(rec, reached, inputs=[overview.nodes[p] for p in rec.parents])
    if reached:
        view.value_stats = here.value_stats if here is not None else rec.value_stats
    if here is not None and (bwd is not None or (rec.is_leaf and history.backward_done)):
        view.grad_stats = here.grad_stats
    if upd is not None:
        view.lr, view.update_ratio = upd.lr, upd.update_ratio
    if not arrays:
        return view
    if fwd is not None:
        view.value, view.dropped = fwd.output, fwd.dropped
    elif rec.is_leaf and reached:
        view.value = rec.value  # leaves: the overview's copy (the same weights and batch)
        view.dropped = rec.value_dropped
    if bwd is not None:
        view.grad, view.dropped = bwd.grad_output, view.dropped or bwd.dropped
        norms = [0.0 if g is None else float(np.linalg.norm(g)) for g in bwd.grad_inputs]
        total = sum(norms) or 1.0
        for parent, g, n in zip(view.inputs, bwd.grad_inputs, norms, strict=False):
            view.split.append((parent, None if g is None else debug.stats(g), n / total))
    elif rec.is_leaf and view.grad_stats is not None:
        view.grad = rec.grad
    if upd is not None:
        view.update, view.value = upd.update, upd.inputs[0] if upd.inputs else view.value
        view.update_stats = None if upd.update is None else debug.stats(upd.update)
        view.dropped = view.dropped or upd.dropped
    return view


def health(rec: NodeRecord, view: NodeView, vanishing_below: float) -> str:
    """How a node looks as of the cursor (see `Row.health`)."""
    if rec.error:  # known from the full pass, before the stepper gets there
        return "error"
    if not view.reached:
        return ""
    vs, gs = view.value_stats, view.grad_stats
    if (vs is not None and not vs.finite) or (gs is not None and not gs.finite):
        return "nonfinite"
    bias = rec.op == "parameter" and len(rec.shape) < 2  # before a BatchNorm, rightly ~0
    if gs is not None and gs.count and not bias and rms(gs) < vanishing_below:
        return "vanishing"
    if vs is not None and vs.zero_fraction >= ZEROS and not rec.is_leaf:  # zero biases: fine
        return "zeros"
    return "ok" if vs is not None else ""


def rows(
    overview: Trace, history: History, modules: dict[str, str], vanishing_below: float
) -> list[Row]:
    """Every node of the pass but constants, in execution order, with health as of the cursor.

    `modules` maps each module scope to its class name."""
    found = []
    for rec in overview.nodes:
        if rec.op == "constant":
            continue
        view = node_view(overview, history, rec.id, arrays=False)
        gs = view.grad_stats
        found.append(
            Row(
                rec.id,
                rec.op,
                rec.scope,
                groups_of(rec, modules),
                tuple(rec.shape),
                rec.name,
                health(rec, view, vanishing_below),
                gs.norm if gs is not None and gs.count else None,
            )
        )
    return found


def groups_of(rec: NodeRecord, modules: dict[str, str]) -> tuple[Group, ...]:
    """The foldable groups of a row: each module on the way to the node's scope."""
    scope = rec.scope
    if rec.is_leaf:  # a parameter sits under its module; the input at the top
        scope = rec.name.rpartition(".")[0] if rec.name else ""
    if not scope:
        return ()
    parts = scope.split(".")
    return tuple(Group(part, modules.get(".".join(parts[: i + 1]))) for i, part in enumerate(parts))


def scope_of(groups: tuple[Group, ...]) -> str:
    """The module scope a group of the graph list stands for."""
    return ".".join(g.name for g in groups)
