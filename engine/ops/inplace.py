"""What a change in place records in the graph: overwriting, writing a region, retaking a view."""

from __future__ import annotations

import math

from engine import backend
from engine.autograd import Function, unbroadcast
from engine.ops.elementwise import _xp
from engine.tensor import Tensor


def _as_tensor(value, like: Tensor) -> Tensor:
    """`value` as a tensor of `like`'s dtype and device, keeping its graph."""
    if not isinstance(value, Tensor):
        return Tensor._make(_xp(like._data).asarray(value, dtype=like._data.dtype), False, None)
    return value if value._data.dtype == like._data.dtype else value.to(like.dtype)


def _sum_to(g, shape: tuple):
    """`g` summed down to `shape` (a value broadcast into a region may have extra 1s)."""
    return unbroadcast(g, shape) if g.ndim >= len(shape) else g.reshape(shape)


class Overwrite(Function):
    """`copy_(value)` and `fill_(value)`: every element replaced; old values get zero gradient."""

    op = "copy"

    def forward(self, old, value):
        self.value_shape = value.shape
        return _xp(old).broadcast_to(value, old.shape).astype(old.dtype)

    def backward(self, g):
        return (
            _xp(g).zeros_like(g) if self.needs(0) else None,
            _sum_to(g, self.value_shape) if self.needs(1) else None,
        )


class IndexPut(Function):
    """`t[index] = value`: the region replaced; its gradient goes to `value`."""

    op = "index_put"

    def forward(self, old, value, index):
        self.index, self.value_shape = index, value.shape
        out = old.copy()
        out[index] = value
        return out

    def backward(self, g):
        grad_old = grad_value = None
        if self.needs(0):
            grad_old = _xp(g).array(g)  # g may be a NumPy scalar, which takes no item
            grad_old[self.index] = 0
        if self.needs(1):
            grad_value = _sum_to(g[self.index], self.value_shape)
        return grad_old, grad_value


class CopySlices(Function):
    """A change in place to a view, seen from its base: the view's region takes new values.

    `positions` holds, for each element of the view, its flat index in the base.
    """

    op = "copy_slices"

    def forward(self, base, value, region, positions):
        region[...] = value  # the view's memory is the base's: this writes the base
        self.positions = positions
        return base

    def backward(self, g):
        flat = _xp(g).ascontiguousarray(g).reshape(-1)
        grad_base = grad_value = None
        if self.needs(0):
            grad_base = flat.copy()
            grad_base[self.positions] = 0
            grad_base = grad_base.reshape(g.shape)
        if self.needs(1):
            grad_value = flat[self.positions]
        return grad_base, grad_value


class TakeView(Function):
    """A view taken again from its base after the base changed (PyTorch's AsStridedBackward)."""

    op = "as_strided"

    def forward(self, base, take, positions):
        self.shape, self.positions = base.shape, positions
        return take(base)

    def backward(self, g):
        out = _xp(g).zeros(math.prod(self.shape), dtype=g.dtype)
        backend.index_add(out, self.positions, g)  # an expanded view repeats positions
        return (out.reshape(self.shape),)


def overwrite(old: Tensor, value) -> Tensor:
    return Overwrite.apply(old, _as_tensor(value, old))


def index_put(old: Tensor, index, value) -> Tensor:
    return IndexPut.apply(old, _as_tensor(value, old), index=index)


def _from_base(view: Tensor):
    """`view`'s base, how to take the view from an array shaped like it, and the flat
    index in the base of each element of the view."""
    takes = []
    base = view
    while base._view is not None:
        base, take = base._view
        takes.append(take)

    def take_all(array):
        for take in reversed(takes):
            array = take(array)
        return array

    shape = base._data.shape
    return base, take_all, take_all(_xp(base._data).arange(math.prod(shape)).reshape(shape))


def change_view(view: Tensor, new: Tensor) -> None:
    """Write `new` into `view` and record it as PyTorch does: the base's node becomes a
    CopySlices over the change, and its views are taken again from the changed base."""
    base, _, positions = _from_base(view)
    changed = CopySlices.apply(base, new, region=view._data, positions=positions)
    give_node(base, changed._ctx)


def give_node(t: Tensor, node: Function, retake: bool = True) -> None:
    """Make `node` the one that produced `t` after a change in place; `t.retain_grad()`
    moves with it, and (`retake`) the views of `t` are taken again from it."""
    old = t._ctx
    if old is not None and old.retained is not None and old.retained() is t:
        node.retained, old.retained = old.retained, None
    t._ctx, t.requires_grad = node, True
    if retake:
        retake_views(t)


def retake_views(base: Tensor) -> None:
    """After a change in place gave `base` a new node, take each of its live views again
    from it, as PyTorch regenerates a view's grad_fn when its base's version moves."""
    views = base._counter.views if base._counter is not None else None
    for ref in views or ():
        view = ref()
        if view is not None and view._base is base:
            _, take, positions = _from_base(view)
            give_node(view, TakeView.apply(base, take=take, positions=positions)._ctx, False)


# ----- index_put with accumulate --------------------------------------------------------
class IndexPutAccumulate(Function):
    """`t[index] += value`, repeated positions adding up: the gradient reaches `t` whole
    and `value` at every position it was added to."""

    op = "index_put"

    def forward(self, old, value, index):
        self.index, self.value_shape = index, value.shape
        out = old.copy()
        target_shape = out[index].shape
        xp = _xp(out)
        backend.index_add(out, index, xp.broadcast_to(value, target_shape).astype(out.dtype))
        return out

    def backward(self, g):
        grad_value = _sum_to(g[self.index], self.value_shape) if self.needs(1) else None
        return (g if self.needs(0) else None), grad_value

    def name(self) -> str:
        return "IndexPutBackward0"  # one node in PyTorch, with or without accumulate


def index_put_args(name: str, self: Tensor, indices, values) -> tuple:
    """PyTorch's checks of index_put's arguments; the index as arrays."""
    from engine.dtypes import scalar_name
    from engine.ops.movement import index_for

    if not isinstance(indices, tuple | list) or not all(isinstance(i, Tensor) for i in indices):
        raise TypeError(
            f"{name}(): argument 'indices' (position 1) must be tuple of Tensors, not "
            f"{type(indices).__name__}"
        )
    if not isinstance(values, Tensor):
        raise TypeError(
            f"{name}(): argument 'values' (position 2) must be Tensor, not {type(values).__name__}"
        )
    if values.dtype != self.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{scalar_name(self._data.dtype)} for the destination and "
            f"{scalar_name(values._data.dtype)} for the source."
        )
    return index_for(tuple(indices))


def index_put_accumulate(old: Tensor, index, value: Tensor) -> Tensor:
    return IndexPutAccumulate.apply(old, value, index=index)
