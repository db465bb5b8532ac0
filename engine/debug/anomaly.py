"""Finding the op that first produced a NaN or Inf: the producer, not the ops that passed it on."""

from __future__ import annotations

import linecache
import math
from collections.abc import Callable, Iterable
from typing import Any

from engine import backend
from engine.debug.stats import Stats, stats
from engine.debug.trace import NodeRecord, Trace, Tracer


class AnomalyError(RuntimeError):
    """A non-finite value appeared. `node` is the record of the op (or leaf) that produced it."""

    def __init__(self, node: NodeRecord, phase: str, reason: str, input_stats: list, trace: Trace):
        self.node, self.phase, self.reason = node, phase, reason
        self.input_stats: list[tuple[str, Stats]] = input_stats
        self.trace = trace
        self.source = node.source
        self.source_line = _line_of(node.source)
        where = f" in {node.scope!r}" if node.scope and not node.is_leaf else ""
        lines = [f"{phase} pass: {node.op} (node #{node.id}{where}) {reason}"]
        if self.source:
            lines.append(
                f"  called at {self.source}" + (f": {self.source_line}" if self.source_line else "")
            )
        for name, st in input_stats:
            lines.append(f"  {name}: {describe(st)}")
        super().__init__("\n".join(lines))


def describe(st: Stats) -> str:
    """One line of the statistics that matter when hunting a NaN."""
    if st.count == 0:
        return f"empty {st.shape}"
    bad = f", {st.nan_count} NaN, {st.inf_count} Inf" if not st.finite else ""
    return (
        f"shape {st.shape}, min {st.min:.4g}, max {st.max:.4g}, mean {st.mean:.4g}, "
        f"zeros {st.zero_fraction:.0%}{bad}"
    )


def _line_of(source: str) -> str:
    path, _, line = source.rpartition(":")
    return linecache.getline(path, int(line)).strip() if path and line.isdigit() else ""


@backend.quiet_float_errors()
def _finite(arr, check_inf: bool) -> bool:
    if arr.dtype.kind != "f" or arr.size == 0:
        return True
    xp = backend.array_module(arr)
    if math.isfinite(float(arr.sum())):  # one fast pass; overflow of a large sum rechecks below
        return True
    return not bool(xp.isnan(arr).any()) if not check_inf else bool(xp.isfinite(arr).all())


def _count(arr) -> str:
    st = stats(arr, histogram=False)
    parts = [
        f"{st.nan_count} NaN" if st.nan_count else "",
        f"{st.inf_count} Inf" if st.inf_count else "",
    ]
    return " and ".join(p for p in parts if p) + f" of {st.count} values"


class _AnomalyTracer(Tracer):
    def __init__(self, check_inf: bool, allow: Iterable[str]):
        super().__init__("graph")
        self.check_inf, self.allow = check_inf, frozenset(allow)

    def _fail(self, rec, phase, reason, named_arrays):
        named = [
            (name, stats(arr, histogram=False)) for name, arr in named_arrays if arr is not None
        ]
        raise AnomalyError(rec, phase, reason, named, self.trace)

    def on_leaf(self, rec, t):
        if not _finite(t._data, self.check_inf):
            what = f"parameter {rec.name!r}" if rec.name else "an input"
            self._fail(
                rec, "forward", f"{what} already holds {_count(t._data)}", [("value", t._data)]
            )

    def on_forward(self, rec, inputs, out, cls, kwargs):
        if rec.op in self.allow or _finite(out._data, self.check_inf):
            return
        if all(_finite(t._data, self.check_inf) for t in inputs):
            named = [
                (f"input {i} ({self.trace.nodes[p].label})", t._data)
                for i, (p, t) in enumerate(zip(rec.parents, inputs, strict=True))
            ]
            self._fail(rec, "forward", f"produced {_count(out._data)} from finite inputs", named)

    def on_backward(self, rec, step):
        if rec is None or rec.op in self.allow:
            return
        bad = [g for g in step.grad_inputs if g is not None and not _finite(g, self.check_inf)]
        if bad and _finite(step.grad_output, self.check_inf):
            saved = [
                (f"saved {k}", v)
                for k, v in vars(step.node).items()
                if hasattr(v, "dtype") and hasattr(v, "size")
            ]
            self._fail(
                rec,
                "backward",
                f"produced a gradient with {_count(bad[0])} from a finite incoming gradient",
                [("incoming gradient", step.grad_output), *saved],
            )

    def on_update(self, rec, p, update, group):
        if not _finite(update, self.check_inf):
            self._fail(
                rec,
                "update",
                f"update of {rec.name!r} holds {_count(update)}",
                [("weight", p._data), ("gradient", p.grad._data if p.grad is not None else None)],
            )
        if not _finite(p._data - update, self.check_inf):
            self._fail(
                rec,
                "update",
                f"update of {rec.name!r} overflows the weight (lr={group.get('lr')})",
                [("weight", p._data), ("update", update)],
            )


class detect_anomaly:
    """Context manager: check every op's output (forward), gradient (backward) and update.

    Raises AnomalyError naming the first op that produced NaN (or Inf, with
    `check_inf`) from finite inputs. Ops listed in `allow` may produce them
    (e.g. a mask filled with -inf on purpose).
    """

    def __init__(self, check_inf: bool = True, allow: Iterable[str] = ()):
        self.tracer = _AnomalyTracer(check_inf, allow)

    def __enter__(self) -> detect_anomaly:
        self.tracer.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        self.tracer.__exit__(*exc)
        return False

    @property
    def trace(self) -> Trace:
        return self.tracer.trace


def find_anomaly(
    fn: Callable[[], Any], check_inf: bool = True, allow: Iterable[str] = ()
) -> AnomalyError | None:
    """Run `fn` under anomaly detection; return the AnomalyError, or None if all stayed finite."""
    try:
        with detect_anomaly(check_inf, allow):
            fn()
    except AnomalyError as err:
        return err
    return None
