"""What looks wrong in one pass over a batch: NaN/Inf, dead ReLUs, vanishing grads, big updates."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.debug import AnomalyError, NodeRecord, Stats, Trace

DEAD_UNITS = 0.5  # a ReLU with at least this fraction of units zero for every sample is reported
VANISHING = 1e-4  # gradient rms below this fraction of the largest parameter's: vanishing
UPDATE_ALERT = 1.0  # an update larger than the weight it changes is reported
HIGH_LR = {"SGD": 0.5, "Adam": 0.05, "AdamW": 0.05, "RMSprop": 0.05}  # above: a likely cause

# per parameter node id: (the update's stats, ‖update‖ / ‖weight‖, lr)
Updates = dict[int, tuple[Stats, float, float | None]]


@dataclass(frozen=True)
class Finding:
    """Something wrong in the pass over the batch: `kind` is "error", "nonfinite", "dead",
    "vanishing", "update" or "settings" (a setting likely to cause trouble soon);
    `node` the record to look at, if any."""

    kind: str
    node: int | None
    text: str


def find_all(
    trace: Trace,
    updates: Updates,
    anomaly: Callable[[], AnomalyError | None],
    optimizer: dict | None = None,
) -> list[Finding]:
    """Every finding of a traced pass; a failed forward pass is the only one then.

    `anomaly` runs the pass under anomaly detection; it is called only when some
    value, gradient or update is not finite. `optimizer` (the design's settings)
    names the likely cause of dead ReLUs, or is a finding of its own when nothing
    has gone wrong yet.
    """
    if trace.error is not None:
        return [failed_pass(trace)]
    found = (
        first_nonfinite(trace, updates, anomaly)
        + dead_relus(trace)
        + vanishing_gradients(trace)
        + big_updates(trace, updates)
    )
    cause = high_lr(optimizer)
    if not cause or any(f.kind in ("nonfinite", "update") for f in found):
        return found  # those already say the learning rate is too large
    if any(f.kind == "dead" for f in found):
        return [
            Finding(f.kind, f.node, f"{f.text}; likely cause: {cause}") if f.kind == "dead" else f
            for f in found
        ]
    relus = any(r.op == "relu" for r in trace.nodes)
    harm = "can leave ReLUs dead for good" if relus else "can make the loss jump or explode"
    return [*found, Finding("settings", None, f"{cause}: steps that large {harm}")]


def high_lr(optimizer: dict | None) -> str:
    """The learning rate as a likely cause of trouble, when high for its optimizer; else ""."""
    if not isinstance(optimizer, dict):
        return ""
    kind, lr = str(optimizer.get("type", "")), optimizer.get("lr")
    if kind not in HIGH_LR or not isinstance(lr, int | float) or not lr > HIGH_LR[kind]:
        return ""
    return f"lr {lr:g} is high for {kind} (above {HIGH_LR[kind]:g})"


def failed_node(trace: Trace) -> NodeRecord | None:
    """The op the forward pass failed in, if it failed in one."""
    return trace.nodes[-1] if trace.nodes and trace.nodes[-1].error else None


def failed_pass(trace: Trace) -> Finding:
    """The error a failed forward pass raised, with the op it failed in."""
    bad = failed_node(trace)
    where = f"{bad.scope or bad.op} ({bad.op}, node #{bad.id})" if bad else "the pass"
    return Finding("error", bad.id if bad else None, f"{where}: {trace.error}")


def first_nonfinite(
    trace: Trace, updates: Updates, anomaly: Callable[[], AnomalyError | None]
) -> list[Finding]:
    """The node that first made a NaN or Inf from finite inputs, if any value is not finite."""
    anything = any(
        (r.value_stats is not None and not r.value_stats.finite)
        or (r.grad_stats is not None and not r.grad_stats.finite)
        for r in trace.nodes
    ) or any(not math.isfinite(ratio) for _, ratio, _ in updates.values())
    err = anomaly() if anything else None
    if err is None:
        return []
    where = f" in {err.node.scope}" if err.node.scope and not err.node.is_leaf else ""
    text = f"NaN/Inf first made by #{err.node.id} {err.node.op}{where}: {err.reason}"
    return [Finding("nonfinite", err.node.id, text)]


def dead_relus(trace: Trace) -> list[Finding]:
    """ReLUs with at least `DEAD_UNITS` of their units zero for every sample."""
    found = []
    for rec in trace.nodes:
        if rec.op != "relu" or rec.value is None or rec.value.ndim < 2:
            continue
        alive = np.moveaxis(rec.value != 0, 1, 0).reshape(rec.value.shape[1], -1).any(axis=1)
        dead = 1.0 - float(alive.mean())
        if dead >= DEAD_UNITS:
            found.append(
                Finding(
                    "dead",
                    rec.id,
                    f"{rec.scope or 'relu'}: {dead:.0%} of its {alive.size} units are zero "
                    f"for every sample of the batch (dead ReLUs: no gradient passes them)",
                )
            )
    return found


def vanishing_gradients(trace: Trace) -> list[Finding]:
    """The weight whose gradient is smallest next to the largest, when below `VANISHING` of it."""
    params, top = weights(trace), top_weight(trace)
    if len(params) < 2:
        return []
    low = [r for r in params if rms(r.grad_stats) < vanishing_below(trace)]
    if not low:
        return []
    worst = min(low, key=lambda r: rms(r.grad_stats))
    ratio = rms(worst.grad_stats) / rms(top.grad_stats)
    others = [r.name for r in low if r is not worst]
    also = f" (also {', '.join(others[:3])}{', …' if len(others) > 3 else ''})" if others else ""
    return [
        Finding(
            "vanishing",
            worst.id,
            f"vanishing gradient: {worst.name}'s gradient is {ratio:.1e} × {top.name}'s "
            f"(rms {rms(worst.grad_stats):.1e}): too small to learn{also}",
        )
    ]


def big_updates(trace: Trace, updates: Updates) -> list[Finding]:
    """The largest update of a weight matrix, when at least `UPDATE_ALERT` × the weight."""
    big = [  # weight matrices only: a bias may start at zero, and any step dwarfs it
        (rid, ratio, lr)
        for rid, (_, ratio, lr) in updates.items()
        if UPDATE_ALERT <= ratio < math.inf and len(trace.nodes[rid].shape) >= 2
    ]
    if not big:
        return []
    rid, ratio, lr = max(big, key=lambda b: b[1])
    name = trace.nodes[rid].name
    return [
        Finding(
            "update",
            rid,
            f"{name}: this step's update is {ratio:.3g}× the weight itself (lr {lr:g}); "
            f"the learning rate is far too large",
        )
    ]


def weights(trace: Trace) -> list[NodeRecord]:
    """Weight matrices and kernels with a gradient (biases are judged by other rules)."""
    return [r for r in trace.nodes if r.op == "parameter" and r.grad_stats and len(r.shape) >= 2]


def top_weight(trace: Trace) -> NodeRecord | None:
    """The weight whose gradient has the largest rms: what "vanishing" is measured against."""
    return max(weights(trace), key=lambda r: rms(r.grad_stats), default=None)


def vanishing_below(trace: Trace) -> float:
    """The gradient rms under which a weight's gradient counts as vanishing."""
    top = top_weight(trace)
    value = rms(top.grad_stats) if top is not None else 0.0
    return value * VANISHING if math.isfinite(value) else 0.0


def rms(st: Stats) -> float:
    """Root mean square of the finite entries the stats were taken over."""
    n = st.count - st.nan_count - st.inf_count
    return st.norm / math.sqrt(n) if n else 0.0
