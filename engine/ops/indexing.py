"""Ops driven by an index or a mask: gather, scatter, index_select, index_add, masked_fill,
masked_select, nonzero, sort, argsort, topk and unique."""

from __future__ import annotations

import builtins
import math

import numpy as np

from engine import backend, return_types
from engine.autograd import Function, unbroadcast, version_counter
from engine.dtypes import scalar_name
from engine.ops.elementwise import _xp, checked_scalar, tensor_arg
from engine.ops.reduce import _axes
from engine.tensor import Tensor

# ----- checks on an index and where its elements point ---------------------------------


_INDEX_DTYPE = "{op}(): Expected dtype int32/int64 for index"


def _index_dtype(op: str, index: Tensor, message: str = _INDEX_DTYPE) -> None:
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(message.format(op=op, got=scalar_name(index._data.dtype)))


def _in_bounds(index, size: int, dim: int) -> None:
    """PyTorch's RuntimeError for an index outside [0, size): these ops take no negatives."""
    if not index.size:
        return
    low, high = int(index.min()), int(index.max())
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _dim(op: str, input: Tensor, dim) -> int:
    axes = _axes(dim, input.ndim, op)
    return axes[0] if axes else 0


def _1d(a):
    """A 0-d array as one element: PyTorch's index ops treat a scalar as a 1-d tensor."""
    return a.reshape(1) if a.ndim == 0 else a


def _coords(index, axis: int) -> tuple:
    """The place each element of `index` points to: its own position, `index` along `axis`."""
    xp = _xp(index)
    out = []
    for d, n in enumerate(index.shape):
        if d == axis:
            out.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            out.append(xp.arange(n).reshape(shape))
    return tuple(out)


def _region(shape) -> tuple:
    return tuple(slice(0, n) for n in shape)


def _check_shapes(op: str, index, shape, axis: int, src_shape=None) -> None:
    """PyTorch's checks of an index's shape against the input's (and the source's)."""
    if index.ndim != len(shape):
        raise RuntimeError(
            f"Index tensor must have the same number of dimensions as "
            f"{'input' if op == 'gather' else 'self'} tensor"
        )
    bigger = [
        d for d, (i, s) in enumerate(zip(index.shape, shape, strict=True)) if d != axis and i > s
    ]
    if src_shape is not None:
        if len(src_shape) != len(shape):
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        if bigger or builtins.any(i > s for i, s in zip(index.shape, src_shape, strict=True)):
            raise RuntimeError(
                f"Expected index {list(index.shape)} to be no larger than self {list(shape)} "
                f"apart from dimension {axis} and to be no larger size than src {list(src_shape)}"
            )
    elif bigger:
        raise RuntimeError(
            f"Size does not match at dimension {bigger[0]} expected index {list(index.shape)} "
            f"to be no larger than self {list(shape)} apart from dimension {axis}"
        )


def _checked_index(op: str, input: Tensor, dim, index, src_shape=None):
    """`dim` as an axis and `index` as an array, after PyTorch's checks."""
    tensor_arg(op, index, "index", 3)
    axis = _dim(op, input, dim)
    _index_dtype(op, index)
    idx = _1d(index._data)
    _check_shapes(op, idx, _1d(input._data).shape, axis, src_shape)
    _in_bounds(idx, _1d(input._data).shape[axis], axis)
    return axis, idx


def _saving(out: Tensor, *tensors) -> Tensor:
    """Record that `out`'s node keeps these index or mask tensors for backward, as PyTorch
    does: a change in place to one of them afterwards makes backward fail."""
    node = out._ctx
    if node is not None:
        for t in tensors:
            if isinstance(t, Tensor):
                counter = version_counter(t)
                node.saved += ((counter, counter.value, "index", t._data),)
    return out


# ----- gather, scatter, scatter_add ------------------------------------------------------


class Gather(Function):
    """out[i][j] = a[i][index[i][j]] (for dim 1); the gradient adds up where indices repeat."""

    op = "gather"
    saves = ((0, 0),)  # PyTorch's gather saves its input, so a change in place to it fails backward
    saves_others = True

    def forward(self, a, index, axis, shape):
        self.index, self.axis, self.shape = index, axis, a.shape
        region = tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(index.shape))
        return _xp(a).take_along_axis(_1d(a)[region], index, axis=axis).reshape(shape)

    def backward(self, g):
        grad = _xp(g).zeros(self.shape or (1,), dtype=g.dtype)
        backend.index_add(grad, _coords(self.index, self.axis), g.reshape(self.index.shape))
        return (grad.reshape(self.shape),)


def gather(input, dim, index, *, sparse_grad=False):
    """Values of `input` picked along `dim` at `index`."""
    tensor_arg("gather", input)
    if isinstance(index, Tensor) and not index._data.size:  # PyTorch checks nothing then
        return input.reshape(-1)[0:0].reshape(index.shape).clone()  # a new tensor, no view
    axis, idx = _checked_index("gather", input, dim, index)
    return _saving(Gather.apply(input, index=idx, axis=axis, shape=index.shape), index)


class Scatter(Function):
    """A copy of `a` with src's values written where `index` points (the last write wins
    where indices repeat); `add`: added there instead, repeats adding up."""

    op = "scatter"
    saves_others = True

    def forward(self, a, src, index, axis, add):
        self.where, self.add = _coords(index, axis), add
        self.src_shape, self.index_shape = src.shape, index.shape
        out = _1d(a).copy()
        values = _1d(src)[_region(index.shape)]
        if add:
            backend.index_add(out, self.where, values)
        else:
            out[self.where] = values
        return out.reshape(a.shape)

    def backward(self, g):
        xp = _xp(g)
        shape = g.shape
        g = _1d(g)
        grad_a = grad_src = None
        if self.needs(0):
            grad_a = g if self.add else g.copy()
            if not self.add:
                grad_a[self.where] = 0
            grad_a = grad_a.reshape(shape)
        if self.needs(1):
            grad_src = xp.zeros(self.src_shape or (1,), dtype=g.dtype)
            grad_src[_region(self.index_shape)] = g[self.where]
            grad_src = grad_src.reshape(self.src_shape)
        return grad_a, grad_src


class ScatterAdd(Scatter):
    op = "scatter_add"


def _scatter(op: str, input, dim, index, src, add: bool):
    tensor_arg(op, input)
    if not isinstance(src, Tensor):
        raise TypeError(
            f"{op}(): argument 'src' (position 4) must be Tensor, not {type(src).__name__}"
        )
    if isinstance(index, Tensor) and not index._data.size:  # PyTorch checks nothing then
        return input.clone()
    axis, idx = _checked_index(op, input, dim, index, _1d(src._data).shape)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    op_class = ScatterAdd if add else Scatter
    return _saving(op_class.apply(input, src, index=idx, axis=axis, add=add), index)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of `input` with `src` (a tensor, or a number `value`) written at `index`
    along `dim`."""
    if reduce is not None:
        raise NotImplementedError("scatter(): reduce= is not supported")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if src is None:
        if value is None:
            raise TypeError("scatter(): expected a src tensor or a value")
        tensor_arg("scatter", input)
        tensor_arg("scatter", index, "index", 3)
        if not index._data.size:  # PyTorch checks nothing then, not even the value
            return input.clone()
        fill = checked_scalar(value, input._data.dtype)
        xp = _xp(input._data)
        src = Tensor._make(xp.full(index._data.shape, fill, dtype=input._data.dtype), False, None)
    return _scatter("scatter", input, dim, index, src, add=False)


def scatter_add(input, dim, index, src):
    """A copy of `input` with `src` added at `index` along `dim`; repeated indices add up."""
    return _scatter("scatter_add", input, dim, index, src, add=True)


# ----- index_select, index_add ----------------------------------------------------------


def _vector_index(op: str, index, message: str):
    tensor_arg(op, index, "index", 3)
    _index_dtype(op, index, message)
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    return index._data.reshape(-1)


class IndexSelect(Function):
    op = "index_select"
    saves_others = True

    def forward(self, a, index, axis):
        self.index, self.axis, self.shape = index, axis, a.shape
        return _xp(a).take(a, index, axis=axis) if a.ndim else a.reshape(1)[index].reshape(())

    def backward(self, g):
        grad = _xp(g).zeros(self.shape or (1,), dtype=g.dtype)
        backend.index_add(grad, (slice(None),) * self.axis + (self.index,), _1d(g))
        return (grad.reshape(self.shape),)


def index_select(input, dim, index):
    """The slices of `input` along `dim` at the positions in the 1-d `index`."""
    tensor_arg("index_select", input)
    idx = _vector_index(
        "index_select", index, "index_select(): Expected dtype int32 or int64 for index"
    )
    axis = _dim("index_select", input, dim)
    if input.ndim == 0 and idx.size != 1:
        raise RuntimeError(
            f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
        )
    if input.ndim == 0 and int(idx[0]) != 0:
        raise IndexError("index out of range in self")
    size = _1d(input._data).shape[axis]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= size):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}")
    return _saving(IndexSelect.apply(input, index=idx, axis=axis), index)


class IndexAdd(Function):
    op = "index_add"
    saves_others = True

    def forward(self, a, source, index, axis, alpha):
        self.index, self.axis, self.alpha = index, axis, alpha
        self.where = (slice(None),) * axis + (index,)
        out = _1d(a).copy()
        values = _1d(source)
        backend.index_add(out, self.where, values if alpha == 1 else values * alpha)
        return out.reshape(a.shape)

    def backward(self, g):
        grad_src = None
        if self.needs(1):
            grad_src = _xp(g).take(_1d(g), self.index, axis=self.axis)
            if self.alpha != 1:
                grad_src = grad_src * g.dtype.type(self.alpha)
        return g, grad_src


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of `input` with alpha * `source`'s slices added at `index` along `dim`."""
    tensor_arg("index_add", input)
    tensor_arg("index_add", source, "source", 4)
    idx = _vector_index(
        "index_add_", index, "index_add_(): Expected dtype int32/int64 for index but got: {got}"
    )
    axis = _dim("index_add", input, dim)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({scalar_name(input._data.dtype)}) and source "
            f"({scalar_name(source._data.dtype)}) must have the same scalar type"
        )
    shape, src_shape = _1d(input._data).shape, _1d(source._data).shape
    if axis >= len(src_shape):
        raise RuntimeError(
            f"index_add_(): Indexing dim {axis} is out of bounds of the source tensor with "
            f"dim {source.ndim}"
        )
    if src_shape[axis] != idx.size:
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.size}) should be equal to source.size(dim): "
            f"({src_shape[axis]}), for dim: {axis}"
        )
    if source.ndim != input.ndim or builtins.any(
        s != t for d, (s, t) in enumerate(zip(src_shape, shape, strict=True)) if d != axis
    ):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}"
        )
    _in_bounds(idx, shape[axis], axis)
    factor = input._data.dtype.type(alpha)  # an integer tensor takes alpha as an integer
    return _saving(IndexAdd.apply(input, source, index=idx, axis=axis, alpha=factor), index)


# ----- masks --------------------------------------------------------------------------


class MaskedFill(Function):
    op = "masked_fill"
    saves_others = True

    def forward(self, a, value, mask):
        self.mask, self.shape = mask, a.shape
        return _xp(a).where(mask, value, a)

    def backward(self, g):
        xp, zero = _xp(g), g.dtype.type(0)
        grad_a = unbroadcast(xp.where(self.mask, zero, g), self.shape) if self.needs(0) else None
        grad_value = xp.where(self.mask, g, zero).sum() if self.needs(1) else None
        return grad_a, grad_value


_C_NAMES = {"Byte": "unsigned char", "Char": "signed char", "Short": "short int", "Int": "int"}
_C_NAMES |= {"Long": "long int", "Float": "float", "Double": "double", "Half": "c10::Half"}


def _bool_mask(mask, message: str):
    """The array of a bool mask; PyTorch's RuntimeError (`message`, naming the dtype as
    C++ does) for another dtype."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        name = scalar_name(mask._data.dtype)
        raise RuntimeError(message.format(got=_C_NAMES.get(name, name)))
    return mask._data


def masked_fill(input, mask, value):
    """A copy of `input` with `value` (a number or a 0-d tensor) where `mask` is True."""
    tensor_arg("masked_fill", input)
    m = _bool_mask(mask, "masked_fill_ only supports boolean masks, but got mask with dtype {got}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        value = value if value._data.dtype == input._data.dtype else value.to(input.dtype)
    else:
        fill = checked_scalar(value, input._data.dtype)
        value = Tensor._make(_xp(input._data).asarray(fill, dtype=input._data.dtype), False, None)
    return _saving(MaskedFill.apply(input, value, mask=m), mask)


class MaskedSelect(Function):
    op = "masked_select"
    saves_others = True

    def forward(self, a, mask):
        xp = _xp(a)
        self.shape = a.shape
        full = np.broadcast_shapes(a.shape, mask.shape)
        self.mask = xp.broadcast_to(mask, full)
        return xp.broadcast_to(a, full)[self.mask]

    def backward(self, g):
        grad = _xp(g).zeros(self.mask.shape, dtype=g.dtype)
        grad[self.mask] = g
        return (unbroadcast(grad, self.shape),)


def masked_select(input, mask):
    """The elements of `input` where `mask` is True, as a 1-d tensor (both broadcast)."""
    tensor_arg("masked_select", input)
    m = _bool_mask(mask, "masked_select: expected BoolTensor for mask")
    return _saving(MaskedSelect.apply(input, mask=m), mask)


def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or one per dim."""
    tensor_arg("nonzero", input)
    a = input._data
    xp = _xp(a)
    found = xp.nonzero(_1d(a))
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64), False, None) for i in found)
    if a.ndim == 0:
        return Tensor._make(xp.zeros((int(found[0].size), 0), dtype=np.int64), False, None)
    # laid out as PyTorch's: one row of indices a dim, transposed (a view(-1) of it fails)
    return Tensor._make(xp.stack(found).astype(np.int64).T, False, None)


# ----- sort, argsort, topk, unique ------------------------------------------------------


def _order(a, axis: int, descending: bool):
    """A stable sort's order along `axis`, NaN as the largest value (last when ascending)."""
    xp = _xp(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    backwards = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return (a.shape[axis] - 1) - xp.flip(backwards, axis)  # ties keep their order


class Sort(Function):
    """Values taken at distinct positions along `axis` (sort, topk): the gradient goes back."""

    op = "sort"
    saves_others = True

    def forward(self, a, order, axis):
        self.order, self.axis, self.shape = order, axis, a.shape
        if a.ndim == 0:
            return a.copy()
        values = _xp(a).take_along_axis(a, order, axis=axis)
        if order.flags.c_contiguous:
            return values
        laid = _xp(a).empty_like(order, dtype=a.dtype)
        laid[...] = values
        return laid

    def backward(self, g):
        if not self.shape:
            return (g,)
        xp = _xp(g)
        grad = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(grad, self.order, g, axis=self.axis)
        return (grad,)


class Topk(Sort):
    op = "topk"


def _sorted(op: str, input, dim, descending: bool, k=None):
    tensor_arg(op, input)
    axis = _dim(op, input, dim)
    a = input._data
    xp = _xp(a)
    if a.ndim == 0:
        if k is not None and k not in (0, 1):
            raise RuntimeError("selected index k out of range")
        order = xp.zeros((), dtype=np.int64)
        return (Sort if k is None else Topk).apply(input, order=order, axis=0), order
    order = _order(a, axis, descending).astype(np.int64)
    if k is not None:
        order = xp.take(order, xp.arange(k), axis=axis)
    elif not a.flags.c_contiguous:  # sort's values and indices are laid out as its input
        laid = xp.empty_like(a, dtype=np.int64)
        laid[...] = order
        order = laid
    cls = Sort if k is None else Topk
    return cls.apply(input, order=order, axis=axis), order


def _sort_args(op: str, args: tuple, dim, descending, stable):
    """PyTorch's two forms: (dim=-1, descending=False), or with stable= all keywords."""
    if len(args) > 2 or (args and stable is not None):
        raise TypeError(
            f"{op}() received an invalid combination of arguments: with stable=, dim and "
            f"descending are keyword-only (and there are two at most); got {len(args)} "
            "positional"
        )
    if args:
        dim = args[0]
    if len(args) == 2:
        descending = args[1]
    return dim, descending


def sort(input, *args, dim=-1, descending=False, stable=None):
    """(values, indices) sorted along `dim`, NaN as the largest value. Ties keep their
    order, as PyTorch's stable=True (its default sort does so up to 16 elements only)."""
    dim, descending = _sort_args("sort", args, dim, descending, stable)
    values, order = _sorted("sort", input, dim, descending)
    indices = Tensor._make(order, False, None)
    return return_types.sort(_saving(values, indices), indices)


def argsort(input, *args, dim=-1, descending=False, stable=None):
    """The indices that sort `input` along `dim`."""
    dim, descending = _sort_args("argsort", args, dim, descending, stable)
    return sort(input, dim=dim, descending=descending).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) elements along `dim`, in order
    (also when not `sorted`); among ties, the first ones."""
    tensor_arg("topk", input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    axis = _dim("topk", input, dim)
    size = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    values, order = _sorted("topk", input, dim, largest, k)
    indices = Tensor._make(order, False, None)
    return return_types.topk(_saving(values, indices), indices)


class Unique(Function):
    """unique's values: PyTorch defines no derivative for it."""

    op = "unique"

    def forward(self, a, values):
        return values

    def backward(self, g):
        raise NotImplementedError("the derivative for 'unique' is not implemented")


def _distinct_runs(rows):
    """For 2-d `rows`: the order that sorts them (lexicographically, stable) and where each
    run of equal rows starts in that order (NaN equals nothing, as in PyTorch)."""
    xp = _xp(rows)
    n, m = rows.shape
    if m == 0:
        order = xp.arange(n)
    elif m == 1:
        order = xp.argsort(rows[:, 0], kind="stable")
    else:
        order = xp.lexsort(rows.T[::-1])  # the last key given sorts first
    ordered = rows[order]
    starts = xp.ones(n, dtype=bool)
    if n:
        starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    return order, ordered, starts


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements (or slices along `dim`) in ascending order, each NaN distinct,
    as in PyTorch; with the index of each input element (slice) among them, and their
    counts, when asked."""
    tensor_arg("unique", input)
    a = input._data
    xp = _xp(a)
    if dim is None:
        rows, axis = a.reshape(-1, 1), None
    else:
        if a.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        axis = _dim("unique", input, dim)
        if a.shape.count(0) > 1:
            raise RuntimeError(
                "Number of zero sized dimensions is more than one, so unique cannot be applied"
            )
        if a.shape[axis] != 0 and 0 in a.shape:
            raise RuntimeError(
                "There are 0 sized dimensions, and they aren't selected, so unique cannot be "
                "applied"
            )
        moved = xp.moveaxis(a, axis, 0)
        rows = moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))
    order, ordered, starts = _distinct_runs(rows)
    kept = ordered[starts]
    if axis is None:
        kept = kept.reshape(-1)
    else:
        kept = xp.moveaxis(kept.reshape(kept.shape[0], *moved.shape[1:]), 0, axis)
    out = [Unique.apply(input, values=xp.ascontiguousarray(kept))]
    if return_inverse:
        inverse = xp.empty(rows.shape[0], dtype=np.int64)
        inverse[order] = xp.cumsum(starts) - 1
        out.append(Tensor._make(inverse.reshape(a.shape) if axis is None else inverse, False, None))
    if return_counts:
        edges = xp.concatenate([xp.nonzero(starts)[0], xp.asarray([rows.shape[0]])])
        out.append(Tensor._make(xp.diff(edges).astype(np.int64), False, None))
    return out[0] if len(out) == 1 else tuple(out)
