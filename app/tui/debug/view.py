"""What the Debug screen shows, built from a DebugSession: rich text, graph rows, key hints."""

from __future__ import annotations

import math

import numpy as np
from rich.table import Table
from rich.text import Text

from app.sessions.debugging import DebugSession
from app.sessions.nan_watch import _BACKWARD_HINTS, _forward_hint
from app.sessions.nodes import Group, NodeView, Row
from app.tui.actions import key_of
from engine.debug import AnomalyError, Event, GradCheck, stats
from engine.debug.anomaly import describe
from engine.debug.stepper import has_nonfinite
from widgets.graph_list import GraphRow

FINDING_STYLE = {
    "error": "bold red",
    "nonfinite": "bold red",
    "dead": "yellow",
    "vanishing": "magenta",
    "update": "yellow",
    "settings": "yellow",
}


def history_text(used: int, cap: int) -> str:
    """The memory the history holds against its cap, short: "history 1.3 of 256 MB"."""
    return f"history {used / 2**20:.1f} of {cap / 2**20:.4g} MB"


def status_text(session: DebugSession) -> Text:
    """Where the stepper is, how far through the history, its memory, and the breakpoints."""
    event = session.current
    history = session.stepper.history
    text = Text()
    phase = session.phase
    text.append(f" {phase} ", style="bold reverse" if phase != "error" else "bold white on red")
    text.append(f" {describe_event(event)}")
    if history:
        where = f"event {session.cursor + 1}/{len(history)}"
        text.append(f" · {where}" + ("" if session.live else " (history)"), style="dim")
    fired = session.conditions_fired
    if fired:
        text.append(" · stopped by " + ", ".join(fired), style="bold red")
    text.append("\n")
    cap = history_text(session.history_bytes, session.value_cap)
    if session.stepper.history_dropped:
        cap += ", oldest values dropped (stats kept)"
    text.append(cap, style="dim")
    marks = [f"#{n}" for n in sorted(session.breakpoints.nodes)]
    marks += sorted(session.breakpoints.scopes) + session.breakpoints.conditions
    if marks:
        text.append(" · break: ", style="dim")
        text.append(", ".join(marks), style="red")
    weights = getattr(session, "weights", "")  # a script's pass has no weights of its own
    if weights:
        text.append(f" · {weights}", style="dim")
    text.append(f" · batch: {session.batch.origin}", style="dim")
    return text


def findings_text(session: DebugSession) -> Text | None:
    """The findings of the full pass over the batch, one a line; None when all looks healthy.

    A failed forward pass is left out: the screen's alert says it, with the layer."""
    findings = [f for f in session.findings if f.kind != "error"]
    if not findings:
        return None
    text = Text()
    for i, finding in enumerate(findings):
        if i:
            text.append("\n")
        text.append("⚠ " if finding.kind != "error" else "✗ ", style=FINDING_STYLE[finding.kind])
        text.append(finding.text)
        if finding.kind == "nonfinite":
            text.append(f" (press {key_of('debug.anomaly')} to go there)")
    return text


def node_title(session: DebugSession, view: NodeView) -> Text:
    """The selected node: id, op, scope, shape, where it comes from and its inputs."""
    rec = view.record
    text = Text()
    text.append(f"#{rec.id} {rec.op}", style="bold")
    if rec.name:
        text.append(f" {rec.name}", style="bold cyan")
    elif rec.scope:
        text.append(f" in {rec.scope}", style="cyan")
    text.append(f"  {tuple(rec.shape)} {rec.dtype}", style="dim")
    layer = session.layer_of(rec)
    if layer:
        text.append(f"\n{layer}", style="dim")
    if view.inputs:
        text.append("\ninputs: ", style="dim")
        text.append(", ".join(_short(p) for p in view.inputs))
        text.append(f"  ({key_of('debug.input')}: go to an input)", style="dim")
    if rec.error:
        text.append(f"\n✗ {rec.error}", style="bold red")
    return text


def _short(rec) -> str:
    return f"#{rec.id} {rec.name or rec.op}"


SPLIT_COLUMNS = ("input", "shape", "‖grad‖", "share", "min", "max")
NARROW_SPLIT = 60  # columns under which each input takes two lines instead of a table row


def split_table(view: NodeView, width: int = 200) -> Table | Text:
    """How the gradient arriving at a node's output goes on to each of its inputs: a table
    where `width` allows one, else each input in two lines (which, then its gradient)."""
    if not view.split:
        if view.record.op in ("input", "constant"):
            return Text("an input: no gradient flows into it", style="dim")
        if view.record.is_leaf:
            return Text("a leaf: the gradient ends here (see the Gradient tab)", style="dim")
        return Text("backward has not reached this node yet", style="dim")
    rows = []
    for parent, st, share in view.split:
        if st is None:
            rows.append([_short(parent), str(tuple(parent.shape)), "—", "—", "—", "no grad"])
            continue
        rows.append(
            [
                _short(parent),
                str(st.shape),
                Text(f"{st.norm:.4g}", style="bold red" if not st.finite else ""),
                f"{share:.0%}",
                f"{st.min + 0.0:.3g}",  # + 0.0: never "-0"
                f"{st.max + 0.0:.3g}",
            ]
        )
    if width < NARROW_SPLIT:
        text = Text()
        for i, (name, shape, *values) in enumerate(rows):
            text.append(("\n" if i else "") + name, style="bold")
            text.append(f" {shape}\n ", style="dim")
            for label, value in zip(SPLIT_COLUMNS[2:], values, strict=True):
                text.append(f" {label} ", style="dim")
                text.append(value)
        return text
    table = Table(box=None, header_style="bold", expand=False, pad_edge=False)
    for column in SPLIT_COLUMNS:
        table.add_column(column, justify="left" if column == "input" else "right")
    for row in rows:
        table.add_row(*row)
    return table


def update_note(view: NodeView) -> str:
    if view.update_ratio is None:
        return ""
    ratio = view.update_ratio
    shown = f"{ratio:.3g}" if math.isfinite(ratio) else "∞ (the weight is zero)"
    return f"lr {view.lr:g} · ‖update‖ / ‖weight‖ = {shown} (healthy: about 1e-3)"


def anomaly_text(session: DebugSession, err: AnomalyError | None) -> Text:
    """What `!` found: the producer of the first NaN/Inf, its layer, source line and inputs."""
    if err is None:
        return Text("✓ no NaN or Inf anywhere in this pass (forward, backward, update)")
    first, *rest = str(err).split("\n")
    text = Text()
    text.append("✗ ", style="bold red")
    text.append(first, style="bold")
    layer = session.layer_of(err.node)
    if layer:
        text.append("\n  " + layer.replace("\n", "\n  "))
    for line in rest:
        if not line.strip().startswith("called at") or err.source in layer:
            text.append("\n" + line)
    return text


def _nonfinite(arr) -> bool:
    return arr is not None and arr.dtype.kind == "f" and not np.isfinite(arr).all()


def _counted(arr) -> str:
    st = stats(arr, histogram=False)
    parts = [f"{st.nan_count:,} NaN" if st.nan_count else "", f"{st.inf_count:,} Inf"]
    parts = [p for p in parts if p and not p.startswith("0 ")]
    return " and ".join(parts) + f" of {st.count:,} values"


def nonfinite_text(session, event: Event | None) -> Text:
    """What `!` found in a script's run, as anomaly_text says it for a design: the op that made
    the first NaN/Inf, its module and source line, its inputs' statistics, the likely cause."""
    if event is None or event.node is None or event.phase not in ("forward", "backward", "update"):
        return Text("✓ no NaN or Inf before the script stopped", style="green")
    if not has_nonfinite(event):  # paused on the way: nothing found yet
        return Text(f"no NaN or Inf up to here ({key_of('debug.anomaly')} goes on)", "yellow")
    rec = event.node
    where = f" in {rec.scope}" if rec.scope and not rec.is_leaf else ""
    named: list[tuple[str, object]] = []
    hint = ""
    if event.phase == "forward":
        made = f"produced {_counted(event.output)}"
        for i, parent in enumerate(rec.parents):
            arr = event.inputs[i] if i < len(event.inputs) else session.view(parent).value
            named.append((f"input {i} ({session.trace.nodes[parent].label})", arr))
        arrays = [a for _, a in named if hasattr(a, "dtype")]
        if any(_nonfinite(a) for a in arrays):
            made += ", but an input already held NaN or Inf: go to it with " + key_of("debug.input")
        elif hasattr(event.output, "dtype"):
            hint = _forward_hint(rec.op, arrays, event.output)
    elif event.phase == "backward":
        bad = next((g for g in event.grad_inputs if _nonfinite(g)), None)
        made = f"produced a gradient with {_counted(bad)}" if bad is not None else "holds NaN/Inf"
        named.append(("incoming gradient", event.grad_output))
        if _nonfinite(event.grad_output):
            made += " from an incoming gradient that already held NaN or Inf"
        else:
            hint = _BACKWARD_HINTS.get(rec.op, "")
    else:
        made = f"update holds {_counted(event.update)}"
        named += [("weight", event.inputs[0] if event.inputs else None)]
        if event.lr is not None:
            made += f" (lr {event.lr:g})"
    text = Text()
    text.append("✗ first NaN/Inf: ", style="bold red")
    text.append(f"{event.phase} pass: {rec.op} (#{rec.id}{where}) {made}", style="bold")
    layer = session.layer_of(rec)
    if layer:
        text.append("\n  " + layer.replace("\n", "\n  "))
    for name, arr in named:
        if hasattr(arr, "dtype") and arr.dtype.kind in "fiu":
            text.append(f"\n  {name}: {describe(stats(arr, histogram=False))}")
    if hint:
        text.append("\n  likely cause: ", style="bold")
        text.append(hint)
    return text


def gradcheck_text(rec, result: GradCheck) -> Text:
    verdict = ("passed", "green") if result.passed() else ("FAILED", "bold red")
    text = Text(f"gradient check of #{rec.id} {rec.op}: ")
    text.append(verdict[0], style=verdict[1])
    text.append(
        f" (max abs error {result.max_abs_error:.2e}, max rel error {result.max_rel_error:.2e}, "
        f"{sum(c.indices.size for c in result.inputs)} elements against finite differences)"
    )
    return text


def describe_event(event: Event | None) -> str:
    """One line saying where the stepper is."""
    if event is None:
        return f"press {key_of('debug.step')} to run the first op"
    if event.phase == "done":
        return "the pass is complete (forward, backward and update)"
    if event.phase == "error":
        return f"the forward pass failed: {event.error}"
    rec = event.node
    where = f" in {rec.scope}" if rec.scope and not rec.is_leaf else ""
    if event.phase == "update":
        return f"update of {rec.name} (lr {event.lr:g})"
    return f"#{rec.id} {rec.op}{where}"


def graph_row(row: Row) -> GraphRow:
    """A session's row as the graph list draws it (the widget owns the glyphs' look)."""
    return GraphRow(
        row.node,
        row.op,
        tuple(group_label(g) for g in row.groups),
        str(row.shape),
        row.health,
        "" if row.grad_norm is None else f"‖g‖ {row.grad_norm:.2g}",
        short_name(row.name),
    )


def short_name(name: str) -> str:
    """A parameter's name as a row under its module shows it: the module and the parameter
    (model.fc1.weight as fc1.weight), the scopes around them being the groups above."""
    return ".".join(name.split(".")[-2:])


def group_label(group: Group) -> str:
    """How the graph list titles a group: the name, and the class when it says more."""
    kind, name = group.kind, group.name
    return f"{name} {kind}" if kind and kind.lower() != name.lower() else name


def missing_note(view: NodeView, what: str) -> str:
    """Why the inspector has no `what` ("value" or "grad") to show; "" when it has."""
    if what == "value":
        if not view.reached:
            return (
                f"not reached yet: {key_of('debug.step')} steps, "
                f"{key_of('debug.run_to')} runs to it"
            )
        if view.value is None:
            return "values dropped to keep the history under its cap (stats kept)"
        return ""
    if view.grad_stats is None and view.record.op in ("input", "constant"):
        return "no gradient: an input gets one only when it requires grad"
    if view.grad_stats is None:
        return "the backward pass has not reached this node yet"
    if view.grad is None:
        return "gradient values dropped to keep the history under its cap (stats kept)"
    if view.grad_stats.count and not math.isfinite(view.grad_stats.norm):
        return "the gradient holds NaN or Inf"
    return ""
