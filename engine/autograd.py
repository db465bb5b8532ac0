"""Graph nodes, grad mode and the backward walk."""

from __future__ import annotations

import functools
import inspect
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
    inference_mode = False
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
    hooks = None  # {handle id: hook} of the output tensor's register_hook, run on its gradient
    shown_as = None  # (node, output index) that grad_fn and next_functions show instead

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
        return f"<{self.name()} op={self.op!r}>"

    # ----- what PyTorch's grad_fn shows -------------------------------------------------
    def name(self) -> str:
        return f"{type(self).__name__}Backward0"

    @property
    def next_functions(self) -> tuple:
        """(node, 0) for each input: its node, an AccumulateGrad for a leaf, or None."""
        return tuple(
            (p.shown_as or (p, 0))
            if isinstance(p, Function)
            else ((None, 0) if p is None else (AccumulateGrad(p), 0))
            for p in self.parents
        )

    def register_hook(self, hook):
        """hook(grad_inputs, grad_outputs) after this node's backward (not supported)."""
        raise NotImplementedError(
            "grad_fn.register_hook is not supported; use Tensor.register_hook"
        )

    # ----- custom functions: PyTorch's torch.autograd.Function ------------------------------
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward = inspect.getattr_static(cls, "forward", None)
        if isinstance(forward, staticmethod) or "setup_context" in cls.__dict__:
            cls.apply = classmethod(_user_apply)


class AccumulateGrad:
    """The node that adds a gradient to a leaf's .grad, as next_functions shows it."""

    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


class FunctionCtx:
    """What a custom Function's forward and backward share: the `ctx` argument."""

    materialize_grads = True
    non_differentiable = ()
    to_save = ()

    def save_for_backward(self, *tensors) -> None:
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self.to_save is None:  # freed by a backward without retain_graph
            raise RuntimeError(FREED_MESSAGE)
        return tuple(_unpack(self, t) for t in self.to_save)

    def mark_non_differentiable(self, *tensors) -> None:
        self.non_differentiable = tensors

    def mark_dirty(self, *tensors) -> None:
        self.dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


def _unpack(ctx, t):
    """A saved tensor back: an output of forward comes back as the output in the graph."""
    if isinstance(t, tuple) and len(t) == 2 and t[0] is _OUTPUT:
        j = t[1]
        data, node = ctx.outputs[j]
        return Tensor._make(data, node is not None, node)
    return t


_OUTPUT = object()


class _OutputSlot(Function):
    """Output j of a custom Function with several outputs: it sends its gradient to slot j."""

    op = "output"

    def backward(self, g):
        return (_Slots.one(self.j, self.n, g),)

    def backward_graph(self, g):
        return (_Slots.one(self.j, self.n, g),)


class _Slots(tuple):
    """The gradients of a node's several outputs, summed slot by slot as they arrive."""

    @classmethod
    def one(cls, j, n, g):
        return cls(g if i == j else None for i in range(n))

    def __add__(self, other):
        return _Slots(
            b if a is None else a if b is None else a + b for a, b in zip(self, other, strict=True)
        )


class _UserNode(Function, FunctionCtx):
    """The graph node (and the ctx) of one call of a custom Function."""

    fn = None
    n_outputs = 1

    def name(self) -> str:
        return f"{self.fn.__name__}Backward"

    def free(self) -> None:
        if self.to_save:
            self.to_save = None

    def backward(self, g):
        grads = self._user_backward(g, False)
        return tuple(None if x is None else x._data for x in grads)

    def backward_graph(self, g):
        return self._user_backward(g, True)

    def _user_backward(self, g, create_graph: bool) -> tuple:
        slots = g if isinstance(g, _Slots) else (g,)
        grads = []
        for j, x in enumerate(slots):
            if x is not None and not isinstance(x, Tensor):
                x = Tensor._make(x, False, None)
            if x is None and self.materialize_grads and self.outputs[j][0] is not None:
                data, _ = self.outputs[j]
                x = Tensor._make(backend.array_module(data).zeros_like(data), False, None)
            grads.append(x)
        prev = state.grad_enabled
        state.grad_enabled = create_graph
        try:
            result = self.fn.backward(self, *grads)
        finally:
            state.grad_enabled = prev
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != len(self.parents):
            if len(result) > len(self.parents) and all(
                r is None for r in result[len(self.parents) :]
            ):
                result = result[: len(self.parents)]
            else:
                raise RuntimeError(
                    f"function {self.name()} returned an incorrect number of gradients "
                    f"(expected {len(self.parents)}, got {len(result)})"
                )
        out = []
        for i, (r, arg) in enumerate(zip(result, self.args, strict=True)):
            if r is not None and not isinstance(arg, Tensor):
                raise RuntimeError(
                    f"function {self.name()} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Variable"
                )
            if r is not None and not isinstance(r, Tensor):
                raise TypeError(
                    f"function {self.name()} returned a {type(r).__name__} as a gradient"
                )
            if r is not None and tuple(r.shape) != tuple(arg.shape):
                raise RuntimeError(
                    f"Function {self.name()} returned an invalid gradient at index {i} - got "
                    f"{list(r.shape)} but expected shape compatible with {list(arg.shape)}"
                )
            out.append(r if self.parents[i] is not None else None)
        return tuple(out)


def _user_apply(cls, *args, **kwargs):
    """Run a custom Function: forward without grad, its outputs' grad_fn this call's node."""
    node_cls = cls.__dict__.get("_node_class")
    if node_cls is None:
        name = cls.__name__ + "Backward"
        node_cls = type(name, (_UserNode,), {"fn": cls, "op": cls.__name__})
        cls._node_class = node_cls
    ctx = node_cls()
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    setup = inspect.getattr_static(cls, "setup_context", None)
    custom_setup = setup is not None and setup is not inspect.getattr_static(
        Function, "setup_context", None
    )
    prev = state.grad_enabled
    state.grad_enabled = False
    try:
        if custom_setup:
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    finally:
        state.grad_enabled = prev
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    record = prev and any(ctx.needs_input_grad)
    if not record:
        return out
    ctx.args = args
    ctx.parents = tuple(
        (a._ctx if a._ctx is not None else a) if isinstance(a, Tensor) and a.requires_grad else None
        for a in args
    )
    ctx.seq = next(_SEQUENCE)
    tensors = [j for j, o in enumerate(outs) if isinstance(o, Tensor)]
    ctx.n_outputs = len(outs)
    skip = {id(t) for t in ctx.non_differentiable}
    wrapped, ctx.outputs = list(outs), [(None, None)] * len(outs)
    for j in tensors:
        o = outs[j]
        if id(o) in skip or o._data.dtype.kind not in "fc":
            wrapped[j] = Tensor._make(o._data, False, None)
            ctx.outputs[j] = (o._data, None)
            continue
        node = ctx
        if not single:
            node = _OutputSlot()
            node.j, node.n, node.parents, node.seq = j, len(outs), (ctx,), next(_SEQUENCE)
            node.shown_as = (ctx, j)
        wrapped[j] = Tensor._make(o._data, True, node)
        ctx.outputs[j] = (o._data, node)
    if ctx.to_save:  # an output saved by forward comes back as the output in the graph
        by_id = {id(o): j for j, o in enumerate(outs) if isinstance(o, Tensor)}
        ctx.to_save = tuple(
            (_OUTPUT, by_id[id(t)]) if isinstance(t, Tensor) and id(t) in by_id else t
            for t in ctx.to_save
        )
    instrument = state.instrument
    if instrument is not None and hasattr(instrument, "custom"):
        instrument.custom(cls, args, wrapped, ctx)
    return wrapped[0] if single else tuple(wrapped)


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


def backward_steps(
    root, gradient=None, retain_graph: bool = False, *, create_graph: bool = False, inputs=None
) -> Iterator[BackwardStep]:
    """Walk the graph under `root` (a tensor or a sequence of them) in reverse, one node a step.

    Each step is yielded after the node computed its input gradients and before they are
    passed on, so a debugger can look at them; exhausting the iterator is exactly
    `root.backward()`. `inputs`: only these tensors get `.grad` (leaves or not).
    `create_graph`: the gradients are computed with differentiable ops, so they carry a graph.
    """
    roots = list(root) if isinstance(root, list | tuple) else [root]
    grads = list(gradient) if isinstance(gradient, list | tuple) else [gradient] * len(roots)
    walk = _Walk(roots, grads, create_graph, inputs, capture=False)
    return walk.steps(retain_graph)


class _Walk:
    """One backward pass: the gradients waiting at each node and where the results go."""

    def __init__(self, roots, grads, create_graph: bool, targets, capture: bool):
        self.create_graph, self.capture = create_graph, capture
        self.targets = None if targets is None else list(targets)
        self.results = [None] * len(self.targets or ())
        self.leaves = {}  # id(leaf) -> [leaf, summed gradient] for leaves delivered at the end
        self.buffer_all = capture or create_graph or targets is not None
        self.grads = {}
        self.roots = []
        for i, (t, g) in enumerate(zip(roots, grads, strict=True)):
            g = self._root_grad(i, t, g, len(roots))
            if t._ctx is None:
                self._leaf(t, g)
            else:
                prev = self.grads.get(t._ctx)
                self.grads[t._ctx] = g if prev is None else prev + g
                self.roots.append(t._ctx)

    def _root_grad(self, i, t, g, n):
        if not t.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    "grad can be implicitly created only for scalar outputs "
                    f"(the output has shape {tuple(t.shape)}); pass gradient= to backward()"
                )
            g = backend.array_module(t._data).ones_like(t._data)
        elif not isinstance(g, Tensor) and not hasattr(g, "shape"):
            g = backend.array_module(t._data).full(t._data.shape, g, dtype=t._data.dtype)
        shape = tuple(g.shape)
        if shape != tuple(t.shape):
            if n == 1:
                raise RuntimeError(
                    f"backward: gradient has shape {shape} but the output "
                    f"has shape {tuple(t.shape)}"
                )
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {shape} and output[{i}] "
                f"has a shape of {tuple(t.shape)}."
            )
        if self.create_graph:
            return g if isinstance(g, Tensor) else Tensor._make(g, False, None)
        return g._data if isinstance(g, Tensor) else g

    def _order(self) -> list:
        if len(self.roots) == 1:
            order = topological_order(self.roots[0])
        else:
            order, seen = [], set()
            for root in self.roots:
                for node in topological_order(root):
                    if node not in seen:
                        seen.add(node)
                        order.append(node)
        if self.targets is not None:  # only the nodes a gradient to a target passes through
            wanted = {id(t._ctx if t._ctx is not None else t) for t in self.targets}
            needed = set(wanted)  # ids of the targets and of the nodes that lead to one
            for node in order:  # each node after its parents
                if any(id(p) in needed for p in node.parents if p is not None):
                    needed.add(id(node))
            order = [node for node in order if id(node) in needed]
            self.wanted, self.needed = wanted, needed
        # PyTorch's order: the node recorded last runs first (a valid order, since a node is
        # recorded after its inputs' nodes); gradients meet in the same order, so their
        # floating-point sums round as PyTorch's do
        order.sort(key=_recorded, reverse=True)
        return order

    def steps(self, retain_graph: bool) -> Iterator[BackwardStep]:
        grads, create_graph = self.grads, self.create_graph
        for node in self._order():
            grad_out = grads.pop(node, None)
            if grad_out is None:
                continue
            if node.freed:
                raise RuntimeError(FREED_MESSAGE)
            if node.saved:
                _check_saved(node)
            if node.hooks is not None:
                grad_out = _run_hooks(node.hooks.values(), grad_out)
            if self.targets is not None and id(node) in self.wanted:
                self._deliver(node, grad_out)
                if not any(id(p) in self.needed for p in node.parents if p is not None):
                    continue
            elif (
                node.retained is not None
                and not self.capture
                and (kept := node.retained()) is not None
            ):
                _accumulate(kept, grad_out, False)
            if create_graph:
                wants = None
                if self.targets is not None:
                    wants = tuple(p is not None and id(p) in self.needed for p in node.parents)
                grad_in = graph_backward(node, grad_out, wants)
                step = BackwardStep(node, _array(grad_out), tuple(_array(g) for g in grad_in))
            else:
                grad_in = _fast.quietly(node.backward, grad_out)
                if not isinstance(grad_in, tuple):
                    grad_in = (grad_in,)
                step = BackwardStep(node, grad_out, grad_in)
            yield step
            _fast.quietly(self._pass_on, node, grad_in)
            if not retain_graph:
                node.free()
        for leaf, g in self.leaves.values():
            if _LEAF_HOOKS and (hooks := _LEAF_HOOKS.get(id(leaf))) is not None:
                g = _run_hooks(list(hooks[1].values()), g)
            if self.targets is None or id(leaf) in self.wanted:
                self._deliver(leaf, g)

    def _pass_on(self, node: Function, grad_in: tuple) -> None:
        """Add each input gradient to its parent node's pending sum or to its leaf."""
        grads = self.grads
        for parent, g in zip(node.parents, grad_in, strict=False):
            if parent is None or g is None:
                continue
            if isinstance(parent, Function):
                prev = grads.get(parent)
                grads[parent] = g if prev is None else prev + g
            elif self.buffer_all or (_LEAF_HOOKS and id(parent) in _LEAF_HOOKS):
                self._leaf(parent, g)
            else:
                _accumulate_leaf(parent, g, node.fresh_grads)

    def _leaf(self, leaf, g) -> None:
        entry = self.leaves.get(id(leaf))
        if entry is None:
            self.leaves[id(leaf)] = [leaf, g]
        else:
            entry[1] = entry[1] + g

    def _deliver(self, where, g) -> None:
        """The whole gradient of a target (a node stands for its output tensor) or a leaf."""
        if not self.capture:
            if isinstance(where, Function):
                t = next(t for t in self.targets if t._ctx is where)
                _accumulate(t, g, self.create_graph)
            elif self.create_graph:
                _accumulate(where, g, True)
            else:
                _accumulate_leaf(where, g)
            return
        for i, t in enumerate(self.targets):
            if (t._ctx if t._ctx is not None else t) is where:
                if not isinstance(g, Tensor):
                    g = Tensor._make(backend.array_module(g).array(g), False, None)
                if g.dtype != t.dtype:
                    g = g.to(t.dtype)
                self.results[i] = g


def graph_backward(node: Function, grad, wants=None) -> tuple:
    """`node`'s input gradients as tensors made by differentiable ops (for create_graph);
    `wants`: which inputs lead to a tensor whose gradient is asked for (None: all)."""
    formula = getattr(type(node), "backward_graph", None)
    if formula is None:
        from engine.ops.graph_grads import FORMULAS

        formula = FORMULAS.get(type(node))
        if formula is None:
            raise RuntimeError(
                f"{node.op}: differentiating its gradient (create_graph=True) is not supported yet"
            )
    prev = state.grad_enabled
    state.grad_enabled = True
    if wants is not None:
        node.graph_wants = wants
    try:
        grad_in = formula(node, grad)
    finally:
        state.grad_enabled = prev
        node.__dict__.pop("graph_wants", None)
    return grad_in if isinstance(grad_in, tuple) else (grad_in,)


def _array(g):
    return g._data if isinstance(g, Tensor) else g


def _tensors(value, what: str) -> list:
    if isinstance(value, Tensor):
        return [value]
    value = list(value)
    for v in value:
        if not isinstance(v, Tensor):
            raise TypeError(
                f"{what}: expected a Tensor or a sequence of Tensors, got {type(v).__name__}"
            )
    return value


def _grad_list(grads, n: int, what: str) -> list:
    if grads is None:
        return [None] * n
    grads = [grads] if isinstance(grads, Tensor) else list(grads)
    if len(grads) != n:
        raise RuntimeError(f"{what} should be a sequence of length {n}, got {len(grads)}")
    return grads


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """The gradients of `outputs` with respect to `inputs`, as a tuple; no .grad changes."""
    outputs = _tensors(outputs, "grad")
    inputs = _tensors(inputs, "grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not allow_unused and materialize_grads:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True"
        )
    grads = _grad_list(grad_outputs, len(outputs), "grad_outputs")
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    walk = _Walk(outputs, grads, create_graph, inputs, capture=True)
    steps = walk.steps(bool(retain_graph))
    if state.instrument is not None:
        state.instrument.backward(steps)
    else:
        with _fast.quiet_float_errors():
            for _ in steps:
                pass
    results = []
    for t, g in zip(inputs, walk.results, strict=True):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                g = Tensor._make(backend.array_module(t._data).zeros_like(t._data), False, None)
        results.append(g)
    return tuple(results)


def backward(
    tensors,
    grad_tensors=None,
    retain_graph=None,
    create_graph=False,
    grad_variables=None,
    inputs=None,
) -> None:
    """Accumulate the gradients of `tensors` into the leaves' (or `inputs`') .grad."""
    tensors = _tensors(tensors, "backward")
    if grad_tensors is None:
        grad_tensors = grad_variables
    grads = _grad_list(grad_tensors, len(tensors), "grad_tensors")
    if inputs is not None:
        inputs = _tensors(inputs, "backward")
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    _run(
        backward_steps(tensors, grads, bool(retain_graph), create_graph=create_graph, inputs=inputs)
    )


def _run(steps) -> None:
    if state.instrument is not None:
        state.instrument.backward(steps)
        return
    with _fast.quiet_float_errors():  # once for the walk, not once a node
        for _ in steps:
            pass


class _HookHandle:
    """What register_hook returns: `remove()` takes the hook away."""

    _next_id = 0

    def __init__(self, hooks: dict, hook):
        self.hooks, self.id = hooks, _HookHandle._next_id
        _HookHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def register_hook(t, hook) -> _HookHandle:
    """Tensor.register_hook: hook(grad) runs on the tensor's gradient; a result replaces it."""
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t._ctx is not None:
        if t._ctx.hooks is None:
            t._ctx.hooks = {}
        return _HookHandle(t._ctx.hooks, hook)
    key = id(t)
    entry = _LEAF_HOOKS.get(key)
    if entry is None or entry[0]() is not t:
        ref = weakref.ref(t, lambda _, key=key: _LEAF_HOOKS.pop(key, None))
        entry = _LEAF_HOOKS[key] = (ref, {})
    return _HookHandle(entry[1], hook)


def _run_hooks(hooks, g):
    """Call each tensor hook on the gradient; one that returns a tensor replaces it."""
    as_tensor = isinstance(g, Tensor)
    for hook in list(hooks):
        result = hook(g if as_tensor else Tensor._make(g, False, None))
        if result is not None:
            g = result if as_tensor else result._data
    return g


def _accumulate(t, g, create_graph: bool) -> None:
    """Add `g` to `t.grad`; out of place, with its graph, under create_graph (as PyTorch)."""
    if not create_graph:
        g = g._data if isinstance(g, Tensor) else g
        total = g if t.grad is None else t.grad._data + g
        t.grad = Tensor._make(backend.array_module(total).array(total), False, None)
        return
    if not isinstance(g, Tensor):
        g = Tensor._make(g, False, None)
    if g.dtype != t.dtype:
        g = g.to(t.dtype)
    t.grad = g if t.grad is None else t.grad + g


def _recorded(node: Function) -> int:
    return node.seq


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


_LEAF_HOOKS: dict = {}  # id(leaf) -> (weak reference to the leaf, {handle id: hook})


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


class _BareDecorator(_GradMode):
    """A mode that also decorates without parentheses: `@no_grad` as well as `@no_grad()`."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_BareDecorator):
    """Ops inside build no graph."""

    enabled = False


class enable_grad(_BareDecorator):
    """Ops inside build a graph again, even within `no_grad`."""

    enabled = True


class inference_mode(_GradMode):
    """`no_grad` for evaluation: ops inside build no graph; `inference_mode(False)` turns
    inference mode off and grad mode on inside it, even within `no_grad`, as PyTorch's.

    Unlike PyTorch, tensors made inside are ordinary tensors (PyTorch marks them as
    inference tensors, which autograd later refuses to save).
    """

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # bare @inference_mode on a function

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = (state.grad_enabled, state.inference_mode)
        state.grad_enabled, state.inference_mode = not self.mode, self.mode
        return self

    def __exit__(self, *exc):
        state.grad_enabled, state.inference_mode = self._prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside `inference_mode()`."""
    return state.inference_mode


class set_grad_enabled(_GradMode):
    """Set grad mode to `mode` inside the block."""

    def __init__(self, mode: bool = True):
        self.enabled = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled

    def __enter__(self):
        state.grad_enabled = self.enabled  # _prev is the mode before the call
        return self

    def __call__(self, fn):
        state.grad_enabled = self._prev
        return super().__call__(fn)


def is_grad_enabled() -> bool:
    """Whether ops on this thread record a graph."""
    return state.grad_enabled


# torch.autograd's further names: Variable, anomaly mode, and the functional submodule
import sys as _sys  # noqa: E402

from engine import autograd_function as function  # noqa: E402, F401
from engine import autograd_functional as functional  # noqa: E402
from engine._gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402, F401
from engine.autograd_extras import (  # noqa: E402, F401
    Variable,
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from engine.tensor import Tensor  # noqa: E402  (Tensor builds on Function)

_sys.modules[__name__ + ".functional"] = functional
