"""`stepgrad run --explain-nan`: stop a script at the first op that makes a NaN or an Inf.

The producer is the op whose output (forward), input gradient (backward) or parameter
update (optimizer step) holds NaN or Inf while what it was given was finite. Ops that
merely pass a NaN on are never named. The report has the same form as a failure's.
"""

from __future__ import annotations

import itertools
import linecache
import math
import sys
from pathlib import Path

import numpy as np

from app.sessions.scripts import Report, _shown_path, _user_frames, describe_failure
from engine import backend
from engine.debug.trace import NodeRecord, Trace, Tracer

RECORD_CAP = 50_000  # op records kept between two backward() calls before the oldest go

# ops that only pick, move or mask their inputs' values, forward and backward: finite in,
# finite out, so they are not checked (a LeNet step's largest arrays pass through them)
_SELECTING_OPS = frozenset(
    {
        "relu", "max_pool1d", "max_pool2d", "adaptive_max_pool2d", "reshape", "permute",
        "expand", "index", "cat", "stack", "clone", "flip", "roll", "gather", "index_select",
    }
)  # fmt: skip
# what usually makes an op's output non-finite, told from its inputs (forward)
_LOG_OPS = ("log", "log2", "log10", "xlogy")
_EXP_OPS = ("exp", "expm1", "sinh", "cosh")
# what makes a gradient non-finite where the forward value was fine (backward)
_BACKWARD_HINTS = {
    "sqrt": "the gradient of sqrt at 0 is infinite: keep its input away from 0 "
    "(torch.sqrt(x + 1e-12), or clamp(min=1e-12) first)",
    "rsqrt": "the gradient of rsqrt at 0 is infinite: keep its input away from 0",
    "pow": "the gradient of x ** p with p < 1 is infinite at x = 0: add a small eps to x",
    "log": "the gradient of log at 0 is infinite: keep its input away from 0 (x.clamp(min=1e-12))",
    "div": "dividing by a value at or near 0 makes its gradient overflow: add a small eps "
    "to the divisor",
    "reciprocal": "1/x at or near 0 makes its gradient overflow: add a small eps",
    "linalg_vector_norm": "the gradient of a norm at the zero vector is 0/0: add a small eps "
    "(e.g. (x * x).sum().add(1e-12).sqrt())",
    "acos": "the gradient of acos at ±1 is infinite: clamp its input to (-1 + eps, 1 - eps)",
    "asin": "the gradient of asin at ±1 is infinite: clamp its input to (-1 + eps, 1 - eps)",
}


class NonFiniteFound(BaseException):
    """Raised where the first NaN or Inf was made (a BaseException, so that the script's own
    `except Exception` does not swallow it); `explain` turns it into the run's report."""

    def __init__(self, message: str, details: list[tuple[str, str]], hint: str = ""):
        super().__init__(message)
        self.message, self.details, self.hint = message, details, hint
        self.origin = ""  # backward: file:line of the forward op whose gradient went bad

    def explain(self, script: Path) -> Report:
        """The report, as `describe_failure` words a failure, for `script`'s run."""
        report = describe_failure(self, script)
        if not self.origin:
            report.message, report.fix = self.message, self.hint
            report.operands += self.details
            return report
        # backward: reported at the forward op's line, with the backward() call first among
        # the callers
        callers = report.callers
        frames = _user_frames(self.__traceback__, script)
        if frames:
            name = frames[-1][0].f_code.co_name
            callers = [f"{report.where} in {name}: {report.source}", *callers]
        path, _, line = self.origin.rpartition(":")
        source = linecache.getline(path, int(line)).strip()
        where = f"{_shown_path(path)}:{line}"
        return Report(where, self.message, source, self.details, callers, self.hint)


class NanWatch(Tracer):
    """An instrument for a whole script's run: records each op's source line and module (at
    level "graph", nothing more) and checks every float output, gradient and update.

    What it keeps is dropped at the end of each backward() (and past RECORD_CAP records),
    so memory stays bounded however long the script runs.
    """

    def __init__(self):
        super().__init__("graph")
        self.backward_calls = 0

    def _forget(self) -> None:
        self.trace = Trace("graph")
        self._ids = itertools.count()
        self._by_tensor.clear()
        self._leaf_tensors.clear()

    def _record(self, node) -> NodeRecord | None:
        """The forward record of a graph node, if it is one of those still kept."""
        rid, nodes = node.trace_id, self.trace.nodes
        if rid is None or rid >= len(nodes) or nodes[rid].op != node.op:
            return None  # made before the last reset
        return nodes[rid]

    # ----- checks -----------------------------------------------------------
    def on_forward(self, rec, inputs, out, cls, kwargs) -> None:
        if rec.op in _SELECTING_OPS or _finite(out._data):
            if len(self.trace.nodes) >= RECORD_CAP:  # a long run with no backward()
                self._forget()
            return
        arrays = [t._data for t in inputs]
        given_nan = [i for i, a in enumerate(arrays) if _has_nan(a)]
        if all(_finite(a) for a in arrays) and not _nonfinite_argument(kwargs):
            problem = f"produced {_what(out._data)} from finite inputs"
        elif given_nan:  # every op checks its output, so this NaN came from outside them
            problem = (
                f"input {given_nan[0]} already holds NaN, made outside any op (data, a tensor "
                "built from NumPy or Python, or a change through .data)"
            )
        elif _has_nan(out._data):  # Inf given in (say a -inf mask), NaN made here
            problem = "produced NaN from inputs holding Inf"
        else:
            return  # an Inf passed on
        details = [(f"input {i}", _stats_text(a)) for i, a in enumerate(arrays)]
        details.append(("output", _stats_text(out._data)))
        details += self._context(rec)
        hint = _forward_hint(rec.op, arrays, out._data)
        raise NonFiniteFound(f"{rec.op}: {problem}", details, hint)

    def backward(self, steps) -> None:
        """Run the backward walk, checking each node's input gradients."""
        with backend.quiet_float_errors():
            for step in steps:
                if step.node.op in _SELECTING_OPS:
                    continue
                grads = [g for g in step.grad_inputs if g is not None and hasattr(g, "dtype")]
                if all(_finite(g) for g in grads):
                    continue
                self._check_step(step, grads)
        self.backward_calls += 1
        self._forget()

    def _check_step(self, step, grads) -> None:
        incoming = step.grad_output
        if hasattr(incoming, "dtype") and _has_nan(incoming):
            return  # passed on
        if hasattr(incoming, "dtype") and not _finite(incoming):
            if not any(_has_nan(g) for g in grads):
                return  # an Inf passed on
            problem = "produced NaN from a gradient holding Inf"
        else:
            bad = next(g for g in grads if not _finite(g))
            problem = f"produced {_what(bad)} from finite inputs"
        node, rec = step.node, self._record(step.node)
        details = [("incoming gradient", _stats_text(incoming))]
        details += [
            (f"saved {name}", _stats_text(value))
            for name, value in vars(node).items()
            if hasattr(value, "dtype") and hasattr(value, "shape")
        ]
        details += [
            (f"gradient {i}", _stats_text(g))
            for i, g in enumerate(step.grad_inputs)
            if g is not None and hasattr(g, "dtype")
        ]
        iteration = self.backward_calls + 1
        if node.scope:
            details.append(("module", self._scope_label(node.scope)))
        details.append(("iteration", f"{iteration} (in backward() call {iteration})"))
        found = NonFiniteFound(
            f"{node.op} (backward): {problem}", details, _BACKWARD_HINTS.get(node.op, "")
        )
        found.origin = rec.source if rec is not None else ""
        raise found

    def update(self, optimizer, p, update, group) -> None:
        if _finite(update) and _finite(p._data - update):
            return
        name = self._param_names.get(id(p))
        name = f"parameter {name!r}" if name else f"a parameter of shape {tuple(p.shape)}"
        grad = p.grad._data if p.grad is not None else None
        given = [p._data] if grad is None else [p._data, grad]
        hint = ""
        if not all(_finite(a) for a in given):
            problem = f"{name} or its gradient already held NaN or Inf before the update"
        else:
            problem = f"made {name} {_what(p._data - update)} from finite inputs"
            hint = (
                "the step overflowed the weight: lower the learning rate, or clip the "
                "gradients (torch.nn.utils.clip_grad_norm_)"
            )
        details = [("weight", _stats_text(p._data))]
        if grad is not None:
            details.append(("gradient", _stats_text(grad)))
        details.append(("update", _stats_text(update)))
        details.append(("lr", str(group.get("lr"))))
        n = self.backward_calls
        details.append(("iteration", f"{n} (the step after backward() call {n})"))
        raise NonFiniteFound(f"{type(optimizer).__name__}.step: {problem}", details, hint)

    def _context(self, rec: NodeRecord) -> list[tuple[str, str]]:
        """The module running now (forward) and the iteration, as report lines."""
        n, found = self.backward_calls, []
        module = _running_module()
        if module is not None:
            kind = type(module).__name__
            found.append(("module", f"{rec.scope} ({kind})" if rec.scope else kind))
        calls = "call" if n == 1 else "calls"
        return [*found, ("iteration", f"{n + 1} (after {n} backward() {calls})")]

    def _scope_label(self, scope: str) -> str:
        """`scope` and its module's class, when it is in the model's tree."""
        modules = dict(self._root.named_modules()) if self._root is not None else {}
        module = modules.get(scope)
        return f"{scope} ({type(module).__name__})" if module is not None else scope


def _running_module():
    """The innermost module whose forward is running (from the tracer's own frames: the
    instrument adds no frame of its own between the script's code and the engine's)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is Tracer.call_module.__code__:
            return frame.f_locals.get("module")
        frame = frame.f_back
    return None


def _finite(arr) -> bool:
    """Whether a float array holds only finite values (anything else counts as finite)."""
    if getattr(arr, "dtype", None) is None or arr.dtype.kind != "f" or arr.size == 0:
        return True
    with backend.quiet_float_errors():
        if math.isfinite(float(arr.sum())):  # one pass; an overflowing sum rechecks below
            return True
        return bool(backend.array_module(arr).isfinite(arr).all())


def _has_nan(arr) -> bool:
    if _finite(arr):
        return False
    return bool(backend.array_module(arr).isnan(arr).any())


def _what(arr) -> str:
    xp = backend.array_module(arr)
    nan, inf = bool(xp.isnan(arr).any()), bool(xp.isinf(arr).any())
    return "NaN and Inf" if nan and inf else ("NaN" if nan else "Inf")


def _nonfinite_argument(kwargs: dict) -> bool:
    """Whether the op was handed an infinite or NaN number (masked_fill(mask, -inf))."""
    return any(isinstance(v, float) and not math.isfinite(v) for v in kwargs.values())


def _stats_text(arr) -> str:
    """Shape, dtype and the statistics that matter when hunting a NaN."""
    if not hasattr(arr, "dtype"):
        return repr(arr)
    head = f"{tuple(arr.shape)} {arr.dtype}"
    if arr.size == 0 or arr.dtype.kind not in "fiu":
        return head
    xp, n = backend.array_module(arr), arr.size
    with backend.quiet_float_errors():
        values = arr[xp.isfinite(arr)] if arr.dtype.kind == "f" else arr.ravel()
        parts = (
            [f"min {float(values.min()):.4g}, max {float(values.max()):.4g}"] if values.size else []
        )
        counts = [
            ("zeros", (values == 0).sum()),
            ("negatives", (values < 0).sum()),
            ("NaN", xp.isnan(arr).sum() if arr.dtype.kind == "f" else 0),
            ("+Inf", (arr == math.inf).sum()),
            ("-Inf", (arr == -math.inf).sum()),
        ]
    parts += [f"{label} {int(count)}/{n}" for label, count in counts if count]
    return f"{head}  " + ", ".join(parts)


def _forward_hint(op: str, arrays: list, out) -> str:
    """What usually makes `op` give NaN or Inf, when its inputs show that cause."""
    first = arrays[0] if arrays else None
    low = _lowest(first)
    if op in _LOG_OPS and low is not None and low <= 0:
        what = "0 is -Inf" if low == 0 else "a negative value is NaN"
        return (
            f"the log of {what}: keep its input positive (x.clamp(min=1e-12)), or compute "
            "the loss from the logits (F.cross_entropy, F.binary_cross_entropy_with_logits, "
            "log_softmax) instead of the log of a softmax or a sigmoid"
        )
    if op == "log1p" and low is not None and low <= -1:
        return "log1p(x) needs x > -1"
    if op in ("sqrt", "rsqrt") and low is not None and low < 0:
        return f"{op} of a negative value is NaN: clamp its input to >= 0 first"
    if op in ("div", "remainder", "fmod") and len(arrays) > 1 and _lowest(abs(arrays[1])) == 0:
        return "division by zero: add a small eps to the divisor, or mask the zeros out"
    if op in ("reciprocal", "rsqrt") and _lowest(abs(first)) == 0:
        return f"{op} of 0 is Inf: add a small eps to its input"
    if op == "pow" and _has_nan(out) and low is not None and low < 0:
        return "a negative base to a fractional power is NaN: take abs() or clamp the base"
    if _has_nan(out) or out.dtype.kind != "f":
        return ""
    big = np.finfo(out.dtype).max  # Inf alone, from finite inputs: an overflow
    if op in _EXP_OPS:
        return (
            f"{op} overflows past {math.log(big):.4g} in {out.dtype}: subtract the max first "
            "(as softmax and logsumexp do), or clamp its input"
        )
    return (
        f"the result grew past the largest {out.dtype} ({big:.3g}): too high a learning "
        "rate, missing normalization, or a value that should be clamped"
    )


def _lowest(arr) -> float | None:
    if arr is None or not hasattr(arr, "dtype") or arr.size == 0 or arr.dtype.kind not in "fiu":
        return None
    with backend.quiet_float_errors():
        return float(backend.array_module(arr).nanmin(arr))
