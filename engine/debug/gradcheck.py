"""Checking one recorded op's backward against finite differences, at the inputs it saw."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from engine import backend
from engine.debug.trace import Trace
from engine.random import get_rng_state, set_rng_state


@dataclass
class InputCheck:
    """Analytic against numeric gradient for the checked elements of one input."""

    parent: int  # record id of the input
    indices: np.ndarray  # flat indices of the checked elements
    analytic: np.ndarray
    numeric: np.ndarray

    @property
    def abs_error(self) -> np.ndarray:
        return np.abs(self.analytic - self.numeric)

    @property
    def rel_error(self) -> np.ndarray:
        return self.abs_error / np.maximum(np.abs(self.numeric), 1e-8)


@dataclass
class GradCheck:
    """The result of check_node_grad: the worst errors and every checked element."""

    node: int
    max_abs_error: float
    max_rel_error: float
    inputs: list[InputCheck] = field(default_factory=list)

    def passed(self, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
        return all(
            bool((c.abs_error <= atol + rtol * np.abs(c.numeric)).all()) for c in self.inputs
        )


def check_node_grad(
    trace: Trace, node_id: int, eps: float = 1e-6, max_elements: int = 256, seed: int = 0
) -> GradCheck:
    """Compare an op's backward with central differences in float64 at the inputs it saw.

    Needs a trace at level "values" (the inputs' values). Inputs with more than
    `max_elements` elements are checked on a random sample of that many.
    """
    rec = trace.nodes[node_id]
    if rec.is_leaf or rec.op_class is None:
        raise ValueError(f"check_node_grad: node #{node_id} ({rec.op}) is not an op")
    parents = [trace.nodes[p] for p in rec.parents]
    missing = [p.id for p in parents if p.value is None]
    if missing:
        raise ValueError(
            f"check_node_grad: the values of inputs {missing} of node #{node_id} were not "
            "recorded; "
            "trace at level 'values' (with a larger value_cap if values were dropped)"
        )
    xs = [p.value.astype(np.float64) if p.value.dtype.kind == "f" else p.value for p in parents]
    wants = [x.dtype.kind == "f" for x in xs]
    rng_state = get_rng_state()
    rng = np.random.default_rng(seed)

    def run(arrays):
        set_rng_state(rng_state)  # ops that draw random numbers (dropout) see the same draws
        node = rec.op_class()
        kwargs = {k: _as64(copy.deepcopy(v)) for k, v in rec.op_kwargs.items()}
        out = np.asarray(node.forward(*arrays, **kwargs))
        node.parents = tuple(True if w else None for w in wants)
        return node, out

    try:
        node, out = run(xs)
        weights = rng.standard_normal(out.shape)
        analytic = node.backward(weights)
        analytic = analytic if isinstance(analytic, tuple) else (analytic,)
        checks = []
        for i, x in enumerate(xs):
            if not wants[i] or analytic[i] is None:
                continue
            picked = (
                np.arange(x.size)
                if x.size <= max_elements
                else rng.choice(x.size, max_elements, replace=False)
            )
            numeric = np.empty(len(picked))
            for k, j in enumerate(picked):
                bumped = [a.copy() for a in xs]
                bumped[i].reshape(-1)[j] += eps
                plus = float((run(bumped)[1] * weights).sum())
                bumped[i].reshape(-1)[j] -= 2 * eps
                minus = float((run(bumped)[1] * weights).sum())
                numeric[k] = (plus - minus) / (2 * eps)
            grad = np.broadcast_to(np.asarray(analytic[i], dtype=np.float64), x.shape).reshape(-1)
            checks.append(InputCheck(rec.parents[i], picked, grad[picked].copy(), numeric))
    finally:
        set_rng_state(rng_state)
    max_abs = max((float(c.abs_error.max()) for c in checks if c.indices.size), default=0.0)
    max_rel = max((float(c.rel_error.max()) for c in checks if c.indices.size), default=0.0)
    return GradCheck(node_id, max_abs, max_rel, checks)


def _as64(value):
    """An op's keyword argument as the float64 host re-run needs it."""
    if hasattr(value, "__cuda_array_interface__"):  # a traced cuda run's buffer, such as
        value = backend.to_numpy(value)  # batch_norm's running mean: the values are on the host
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    return value
