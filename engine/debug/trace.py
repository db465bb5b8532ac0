"""Recording a run: every op of the forward pass, every node of the backward pass."""

from __future__ import annotations

import itertools
import os
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine import backend
from engine.autograd import Function, state
from engine.debug.stats import Stats, stats
from engine.tensor import Tensor

LEVELS = ("graph", "stats", "values")
DEFAULT_VALUE_CAP = 256 * 2**20  # bytes of recorded values before the oldest are dropped
_ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class NodeRecord:
    """One node of a traced run: an op's output, or a leaf (parameter, input, constant)."""

    id: int
    op: str  # lower-case op name; "parameter", "input" or "constant" for leaves
    scope: str  # module that ran the op, e.g. "features.0"; a parameter's state-dict name
    parents: list[int]
    shape: tuple
    dtype: str
    name: str = ""  # parameter name for parameters
    source: str = ""  # "file.py:42" where the forward op was called
    value_stats: Stats | None = None
    grad_stats: Stats | None = None
    value: Any = None  # numpy copy, at level "values"
    grad: Any = None
    value_dropped: bool = False
    error: str = ""
    backward_index: int | None = None  # position in the backward walk
    op_class: Any = field(default=None, repr=False)  # the Function, to re-run the op
    op_kwargs: dict = field(default_factory=dict, repr=False)

    @property
    def is_leaf(self) -> bool:
        return self.op in ("parameter", "input", "constant")

    @property
    def label(self) -> str:
        where = self.name or self.scope
        return f"#{self.id} {self.op}" + (f" [{where}]" if where else "")


@dataclass
class Trace:
    """Every node of a run in execution order, and the order the backward pass visited them."""

    level: str
    nodes: list[NodeRecord] = field(default_factory=list)
    backward_order: list[int] = field(default_factory=list)
    values_dropped: bool = False
    value_bytes: int = 0
    error: BaseException | None = None

    def node(self, node_id: int) -> NodeRecord:
        return self.nodes[node_id]

    def find(self, op: str | None = None, scope: str | None = None) -> list[NodeRecord]:
        """Records whose op and/or scope (a module and everything inside it) match."""
        return [
            r
            for r in self.nodes
            if (op is None or r.op == op) and (scope is None or in_scope(r.scope, scope))
        ]

    @property
    def ops(self) -> list[NodeRecord]:
        return [r for r in self.nodes if not r.is_leaf]


_DTYPE_NAMES: dict = {}


def _dtype_name(dtype) -> str:
    """str(dtype), cached: NumPy builds the name anew on every call."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def in_scope(scope: str, module: str) -> bool:
    """Whether `scope` is `module` or inside it (by dotted name)."""
    return module == "" or scope == module or scope.startswith(module + ".")


def caller_source(depth: int = 2) -> str:
    """file:line of the innermost frame outside the engine package (the user's line),
    looking from `depth` frames above this one."""
    frame = sys._getframe(depth)
    while frame is not None and frame.f_code.co_filename.startswith(_ENGINE_DIR):
        frame = frame.f_back
    if frame is None:
        return ""
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


class Tracer:
    """The instrument every op reports to while active on a thread.

    Subclasses (the stepper, anomaly detection) override the `on_*` hooks.
    """

    def __init__(self, level: str = "stats", value_cap: int = DEFAULT_VALUE_CAP, bins: int = 20):
        if level not in LEVELS:
            raise ValueError(f"trace level must be one of {', '.join(LEVELS)}, got {level!r}")
        self.trace = Trace(level)
        self.value_cap, self.bins = value_cap, bins
        self._ids = itertools.count()
        self._by_tensor: dict[int, tuple[weakref.ref, int]] = {}
        self._leaf_tensors: dict[int, weakref.ref] = {}
        self._scopes: list[str] = []
        self._module_names: dict[int, str] = {}
        self._param_names: dict[int, str] = {}
        self._root = None
        self._previous = None

    # ----- switching on and off (for the current thread) -------------------
    def __enter__(self):
        self._previous = state.instrument
        state.instrument = self
        return self

    def __exit__(self, *exc):
        state.instrument = self._previous
        self.finish()
        return False

    @property
    def scope(self) -> str:
        return self._scopes[-1] if self._scopes else ""

    # ----- what Module.__call__ reports -------------------------------------
    def call_module(self, module, args, kwargs):
        if not self._scopes and id(module) not in self._module_names:
            self._adopt_root(module)
        name = self._module_names.get(id(module))
        if name is None:  # a module outside the root's tree: name it under the caller
            name = f"{self.scope}.{type(module).__name__}" if self.scope else type(module).__name__
        self._scopes.append(name)
        try:
            return module.forward(*args, **kwargs)
        finally:
            self._scopes.pop()

    def _adopt_root(self, module) -> None:
        if self._root is None:
            self._root = module
        for name, m in module.named_modules():
            self._module_names.setdefault(id(m), name)
        for name, p in module.named_parameters():
            self._param_names.setdefault(id(p), name)

    # ----- what Function.apply reports ---------------------------------------
    def apply(self, cls: type[Function], inputs: tuple, kwargs: dict) -> Tensor:
        parents = [self.record_of(t) for t in inputs if isinstance(t, Tensor)]
        rec = NodeRecord(
            id=next(self._ids),
            op=cls.op,
            scope=self.scope,
            parents=[p.id for p in parents],
            shape=(),
            dtype="",
            source=self.source(),
            op_class=cls,
            op_kwargs=kwargs,
        )
        self.on_before_forward(rec, inputs)
        try:
            out = cls.run(inputs, kwargs)
        except Exception as exc:
            rec.error = f"{type(exc).__name__}: {exc}"
            self.trace.nodes.append(rec)
            self.on_forward_error(rec, inputs, exc)
            raise
        rec.shape, rec.dtype = out._data.shape, _dtype_name(out._data.dtype)
        if out._ctx is not None:
            out._ctx.scope, out._ctx.trace_id = rec.scope, rec.id
        self._by_tensor[id(out)] = (weakref.ref(out), rec.id)
        self.trace.nodes.append(rec)
        self._observe_value(rec, out._data)
        self.on_forward(rec, inputs, out, cls, kwargs)
        return out

    def custom(self, cls, args: tuple, outputs: list, ctx) -> NodeRecord | None:
        """A custom autograd.Function's call: one node, which made each tensor output."""
        inputs = tuple(a for a in args if isinstance(a, Tensor))
        tensors = [o for o in outputs if isinstance(o, Tensor)]
        if not tensors:
            return None
        parents = [self.record_of(t) for t in inputs]
        first = tensors[0]
        rec = NodeRecord(
            id=next(self._ids),
            op=cls.__name__,
            scope=self.scope,
            parents=[p.id for p in parents],
            shape=first._data.shape,
            dtype=_dtype_name(first._data.dtype),
            source=self.source(),
        )
        self.on_before_forward(rec, inputs)
        ctx.scope, ctx.trace_id = rec.scope, rec.id
        for out in tensors:
            if out._ctx is not None:
                out._ctx.scope, out._ctx.trace_id = rec.scope, rec.id
            self._by_tensor[id(out)] = (weakref.ref(out), rec.id)
        self.trace.nodes.append(rec)
        self._observe_value(rec, first._data)
        self.on_forward(rec, inputs, first, cls, {})
        return rec

    def record_of(self, t: Tensor) -> NodeRecord:
        """The record that produced `t`, or a new leaf record for it."""
        known = self._by_tensor.get(id(t))
        if known is not None and known[0]() is t:
            return self.trace.nodes[known[1]]
        name = self._param_names.get(id(t), "")
        op = "parameter" if name else ("input" if t.requires_grad or t.ndim else "constant")
        rec = NodeRecord(
            id=next(self._ids),
            op=op,
            scope=name,
            parents=[],
            shape=tuple(t.shape),
            dtype=_dtype_name(t._data.dtype),
            name=name,
        )
        self._by_tensor[id(t)] = (weakref.ref(t), rec.id)
        if t.requires_grad:
            self._leaf_tensors[rec.id] = weakref.ref(t)
        self.trace.nodes.append(rec)
        self._observe_value(rec, t._data)
        self.on_leaf(rec, t)
        return rec

    # ----- what Tensor.backward reports --------------------------------------
    def backward(self, steps) -> None:
        """Run the backward walk, recording each node's gradient as it is reached."""
        for step in steps:
            rec = self.trace.nodes[step.node.trace_id] if step.node.trace_id is not None else None
            if rec is not None:
                rec.backward_index = len(self.trace.backward_order)
                self.trace.backward_order.append(rec.id)
                self._observe_grad(rec, step.grad_output)
            self.on_backward(rec, step)
        for rid, ref in self._leaf_tensors.items():
            t = ref()
            if t is not None and t.grad is not None:
                self._observe_grad(self.trace.nodes[rid], t.grad._data)

    # ----- what Optimizer._apply_update reports ------------------------------
    def update(self, optimizer, p: Tensor, update, group: dict) -> None:
        rec = self.record_of(p)
        self.on_update(rec, p, update, group)

    # ----- recording --------------------------------------------------------
    def _observe_value(self, rec: NodeRecord, arr) -> None:
        level = self.trace.level
        if level == "graph":
            return
        rec.value_stats = stats(arr, self.bins)
        if level == "values":
            rec.value = backend.to_numpy(arr).copy()
            self._account(rec.value.nbytes)

    def _observe_grad(self, rec: NodeRecord, arr) -> None:
        level = self.trace.level
        if level == "graph":
            return
        rec.grad_stats = stats(arr, self.bins)
        if level == "values":
            rec.grad = backend.to_numpy(arr).copy()
            self._account(rec.grad.nbytes)

    def _account(self, nbytes: int) -> None:
        tr = self.trace
        tr.value_bytes += nbytes
        for old in tr.nodes:
            if tr.value_bytes <= self.value_cap:
                break
            for attr in ("value", "grad"):
                arr = getattr(old, attr)
                if arr is not None:
                    tr.value_bytes -= arr.nbytes
                    setattr(old, attr, None)
                    old.value_dropped = tr.values_dropped = True

    def finish(self) -> None:
        """Drop the references that only recording needed."""
        self._by_tensor.clear()

    # ----- hooks for subclasses --------------------------------------------
    def source(self) -> str:
        """file:line of the op being recorded (called from `apply` and `custom`)."""
        return caller_source(3)

    def on_leaf(self, rec: NodeRecord, t: Tensor) -> None:
        pass

    def on_before_forward(self, rec: NodeRecord, inputs: tuple) -> None:
        pass

    def on_forward(self, rec: NodeRecord, inputs: tuple, out: Tensor, cls, kwargs) -> None:
        pass

    def on_forward_error(self, rec: NodeRecord, inputs: tuple, exc: Exception) -> None:
        pass

    def on_backward(self, rec: NodeRecord | None, step) -> None:
        pass

    def on_update(self, rec: NodeRecord, p: Tensor, update, group: dict) -> None:
        pass


def trace(fn: Callable[[], Any], level: str = "stats", value_cap: int = DEFAULT_VALUE_CAP) -> Trace:
    """Run `fn` (forward, loss, backward; optionally a step) and record every op.

    Parameter gradients end up exactly as they would without tracing. An
    exception inside `fn` propagates after the partial trace is kept on
    `exc.trace`.
    """
    tracer = Tracer(level, value_cap)
    try:
        with tracer:
            fn()
    except Exception as exc:
        tracer.trace.error = exc
        exc.trace = tracer.trace
        raise
    return tracer.trace
