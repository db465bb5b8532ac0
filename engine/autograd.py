"""Graph nodes, grad mode and the backward walk."""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from engine import _fast, backend
from engine import dtypes as _dt


class _ThreadState(threading.local):
    """Per-thread autograd switches: a worker thread never flips the UI thread's mode."""

    grad_enabled = True
    instrument = None  # set by engine.debug; when None an op pays this one check


state = _ThreadState()


class VersionCounter:
    """How many in-place changes a storage has had; its views and detach() share it."""

    __slots__ = ("value", "views")

    def __init__(self):
        self.value = 0
        self.views = None  # weak references to the views of this storage, made on the first

    def add_view(self, view) -> None:
        """Remember `view`, so that a change in place to its base in the graph retakes it."""
        if self.views is None:
            self.views = []
        elif len(self.views) % 64 == 0:  # now and then, forget the views that are gone
            self.views = [ref for ref in self.views if ref() is not None]
        self.views.append(weakref.ref(view))


def version_counter(t) -> VersionCounter:
    """The counter of `t`'s storage (its base's, for a view), made on first use."""
    while t._view is not None:
        t = t._view[0]
    counter = t._counter
    if counter is None:
        counter = t._counter = VersionCounter()
    return counter


class OpError(RuntimeError):
    """An op rejected its inputs; the message names the op and the shapes."""


class Function:
    """One primitive: `forward` and `backward` on arrays; an instance is a graph node.

    `parents` has one entry per tensor input: the input's node when it was made
    by an op, the input itself when it is a leaf that requires grad, else None
    (no gradient flows there, so `backward` may skip computing it).
    """

    op = "function"
    scope = ""  # module that ran the op, filled in while instrumentation is on
    trace_id = None  # the record a debug instrument keeps for this node
    retained = None  # weak reference to an output tensor that called retain_grad()
    freed = False
    fresh_grads = False  # backward returns new arrays that no one else holds: no copy needed
    # What backward reads, as PyTorch saves it: (what, when) pairs, `what` an input's index or
    # "out" (the output), `when` the input whose gradient needs it (None: always). A change in
    # place to a saved tensor before backward is an error, as in PyTorch.
    saves: tuple = ()
    saves_others = False  # backward also reads indices or masks of its own (freed after backward)
    saved: tuple = ()  # per node: (counter, version, what, array) for each tensor it saved
    seq = 0  # when the node was recorded: backward runs the latest first, as PyTorch does

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        """Gradients for each input (a tuple, None where no gradient is needed)."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run the op on tensors and, when grad is on, record it in the graph."""
        instrument = state.instrument
        if instrument is not None:
            return instrument.apply(cls, inputs, kwargs)
        return cls.run(inputs, kwargs)

    @classmethod
    def run(cls, inputs, kwargs):
        node = cls()
        try:
            arrays = [t._data for t in inputs]
        except AttributeError:
            raise _not_tensor(cls.op, inputs) from None
        if backend.cuda_used and len(arrays) > 1:
            backend.check_same_device(cls.op, arrays)
        try:
            out = _fast.quietly(node.forward, *arrays, **kwargs)
        except OpError:
            raise
        except Exception as exc:
            raise _describe_failure(cls.op, inputs, exc) from exc
        if isinstance(out, np.generic):
            out = np.asarray(out)
        if state.grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    node.parents = tuple(
                        t._ctx if t._ctx is not None else (t if t.requires_grad else None)
                        for t in inputs
                    )
                    node.seq = next(_SEQUENCE)
                    result = Tensor._make(out, True, node)
                    if cls.saves:
                        node.saved = _record_saved(node, inputs, result)
                    return result
        return Tensor._make(out, False, None)

    def needs(self, i: int) -> bool:
        """Whether input `i` wants a gradient."""
        return self.parents[i] is not None

    def free(self) -> None:
        """Drop what forward saved; the graph's shape (parents, scope) stays.

        A node that saved no tensor keeps everything: a second backward through it
        works without retain_graph, as in PyTorch.
        """
        if not self.saved and not self.saves_others:
            return
        keep = {k: v for k, v in self.__dict__.items() if k in _KEPT_AFTER_FREE}
        self.__dict__.clear()
        self.__dict__.update(keep)
        self.freed = True

    def output_saved_as(self, counter: VersionCounter) -> None:
        """The output this node saved became a tensor changed in place: check its version."""
        self.saved = tuple(
            (counter, counter.value, what, array) if what == "out" else (c, v, what, array)
            for c, v, what, array in self.saved
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} op={self.op!r}>"


_KEPT_AFTER_FREE = ("parents", "scope", "trace_id", "seq")
_SEQUENCE = itertools.count(1)


def _not_tensor(op: str, inputs) -> TypeError:
    """PyTorch's TypeError for an argument that is not a Tensor, naming op, position and type."""
    from engine.ops.elementwise import tensor_arg

    for i, value in enumerate(inputs):
        try:
            tensor_arg(op, value, "input" if i == 0 else "other", i + 1)
        except TypeError as exc:
            return exc
    return TypeError(f"{op}(): expected Tensor arguments")


def _record_saved(node: Function, inputs, out) -> tuple:
    """Each tensor `node` saved, with its storage's version now (PyTorch's SavedVariable)."""
    records = []
    for what, when in node.saves:
        if what != "out" and what >= len(inputs):
            continue  # an optional input (batch_norm's weight) left out
        if when is None or inputs[when].requires_grad:
            t = out if what == "out" else inputs[what]
            counter = version_counter(t)
            records.append((counter, counter.value, what, t._data))
    return tuple(records)


def _check_saved(node: Function) -> None:
    """Raise PyTorch's error when a tensor `node` saved was changed in place since."""
    for counter, version, what, array in node.saved:
        if counter.value != version:
            producer = node if what == "out" else None
            if isinstance(what, int):
                producer = node.parents[what]
            which = ""
            if isinstance(producer, Function):
                which = f", which is output 0 of {type(producer).__name__}Backward,"
            kind = _dt.from_numpy_dtype(array.dtype).tensor_type
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: [engine.{kind} {list(array.shape)}]{which} is at "
                f"version {counter.value}; expected version {version} instead. Hint: clone() "
                "the tensor before changing it in place, or change it out of place."
            )


def _describe_failure(op: str, inputs, exc: Exception) -> Exception:
    shapes = " and ".join(str(tuple(t._data.shape)) for t in inputs)
    text = str(exc)
    if "broadcast" in text and not isinstance(exc, IndexError):
        return OpError(f"{op}: shapes {shapes} cannot be broadcast together")
    kind = type(exc) if isinstance(exc, IndexError | TypeError) else OpError
    return kind(f"{op}: {text} (input shapes {shapes})")


def unbroadcast(grad, shape: tuple):
    """Sum `grad` back to `shape`, undoing NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def topological_order(root: Function) -> list[Function]:
    """Nodes reachable from `root`, each after all of its parents."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for parent in node.parents:
            if isinstance(parent, Function) and parent not in seen:
                stack.append((parent, False))
    return order


class BackwardStep(NamedTuple):
    """One node's backward: the gradient that reached it and what it sends to each input."""

    node: Function
    grad_output: object
    grad_inputs: tuple


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Saved intermediate values of the "
    "graph are freed when you call .backward(). Specify retain_graph=True if you need "
    "to backward through the graph a second time."
)


def backward_steps(root, gradient=None, retain_graph: bool = False) -> Iterator[BackwardStep]:
    """Walk the graph under `root` in reverse, one node per step.

    Each step is yielded after the node computed its input gradients and
    before they are passed on, so a debugger can look at them; exhausting the
    iterator is exactly `root.backward()`.
    """
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if root._data.size != 1:
            raise RuntimeError(
                "grad can be implicitly created only for scalar outputs "
                f"(the output has shape {tuple(root.shape)}); pass gradient= to backward()"
            )
        grad = backend.array_module(root._data).ones_like(root._data)
    else:
        grad = gradient._data if isinstance(gradient, Tensor) else gradient
        if tuple(grad.shape) != tuple(root.shape):
            raise RuntimeError(
                f"backward: gradient has shape {tuple(grad.shape)} but the output "
                f"has shape {tuple(root.shape)}"
            )
    if root._ctx is None:
        _accumulate_leaf(root, grad)
        return
    grads = {root._ctx: grad}
    # PyTorch's order: the node recorded last runs first (a valid order, since a node is
    # recorded after its inputs' nodes); gradients meet in the same order, so their
    # floating-point sums round as PyTorch's do
    order = sorted(topological_order(root._ctx), key=_recorded, reverse=True)
    for node in order:
        grad_out = grads.pop(node, None)
        if grad_out is None:
            continue
        if node.freed:
            raise RuntimeError(FREED_MESSAGE)
        if node.saved:
            _check_saved(node)
        if node.retained is not None and (kept := node.retained()) is not None:
            total = grad_out if kept.grad is None else kept.grad._data + grad_out
            kept.grad = Tensor._make(backend.array_module(total).array(total), False, None)
        grad_in = _fast.quietly(node.backward, grad_out)
        if not isinstance(grad_in, tuple):
            grad_in = (grad_in,)
        yield BackwardStep(node, grad_out, grad_in)
        _fast.quietly(_pass_on, node, grad_in, grads)
        if not retain_graph:
            node.free()


def _recorded(node: Function) -> int:
    return node.seq


def _pass_on(node: Function, grad_in: tuple, grads: dict) -> None:
    """Add each input gradient to its parent node's pending sum or to its leaf's .grad."""
    for parent, g in zip(node.parents, grad_in, strict=False):
        if parent is None or g is None:
            continue
        if isinstance(parent, Function):
            prev = grads.get(parent)
            grads[parent] = g if prev is None else prev + g
        else:
            _accumulate_leaf(parent, g, node.fresh_grads)


def _accumulate_leaf(leaf, grad, fresh: bool = False) -> None:
    if grad.dtype != leaf._data.dtype:
        grad, fresh = grad.astype(leaf._data.dtype), True
    if leaf.grad is None:
        # a backward may hand the same array to several inputs: own a copy unless it is new
        leaf.grad = Tensor._make(
            grad if fresh else backend.array_module(grad).array(grad), False, None
        )
    else:
        leaf.grad._data += grad  # in place, as PyTorch: a reference to .grad sees the sum


class _GradMode:
    """Context manager and decorator that sets grad mode for the current thread."""

    enabled = True

    def __enter__(self):
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.grad_enabled
            state.grad_enabled = enabled
            try:
                return fn(*args, **kwargs)
            finally:
                state.grad_enabled = prev

        return wrapper


class no_grad(_GradMode):
    """Ops inside build no graph."""

    enabled = False


class enable_grad(_GradMode):
    """Ops inside build a graph again, even within `no_grad`."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Set grad mode to `mode` inside the block."""

    def __init__(self, mode: bool = True):
        self.enabled = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled

    def __call__(self, fn):
        state.grad_enabled = self._prev
        return super().__call__(fn)


def is_grad_enabled() -> bool:
    """Whether ops on this thread record a graph."""
    return state.grad_enabled


from engine.tensor import Tensor  # noqa: E402  (Tensor builds on Function)
