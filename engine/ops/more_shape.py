"""Aliases and wrappers with PyTorch's names: arithmetic and comparison aliases, axis moves,
splits and stacks, broadcasting helpers, take/select and counting."""

from __future__ import annotations

import builtins

import numpy as np

from engine import ops
from engine.ops.elementwise import _operands, _xp, tensor_arg
from engine.tensor import Size, Tensor

# ----- arithmetic and comparison aliases ------------------------------------------------


def absolute(input):
    return ops.abs(input)


def clone(input, *, memory_format=None):
    return tensor_arg("clone", input).clone(memory_format=memory_format)


def concat(tensors, dim=0):
    return ops.cat(tensors, dim)


def concatenate(tensors, axis=0):
    return ops.cat(tensors, axis)


def multiply(input, other):
    return ops.mul(input, other)


def subtract(input, other, *, alpha=1):
    return ops.sub(input, other, alpha=alpha)


def negative(input):
    return ops.neg(input)


def positive(input):
    if tensor_arg("positive", input)._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def true_divide(input, other):
    return ops.div(input, other)


def divide(input, other, *, rounding_mode=None):
    """div; rounding_mode 'trunc' rounds the quotient toward zero, 'floor' down."""
    if rounding_mode is None:
        return ops.div(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    a, b = _operands(input, other)
    if rounding_mode == "floor" and not (a.requires_grad or b.requires_grad):
        return ops.floor_divide(input, other)
    if a._data.dtype.kind == "f":  # the quotient, rounded: its gradient is zero
        return ops.floor(ops.div(a, b)) if rounding_mode == "floor" else ops.trunc(ops.div(a, b))
    q = ops.floor_divide(input, other)
    if rounding_mode == "floor":
        return q
    # integers: floor division rounds down; a nonzero remainder of mixed signs goes up by one
    a = input._data if isinstance(input, Tensor) else input
    b = other._data if isinstance(other, Tensor) else other
    xp = _xp(q._data)
    rem = xp.asarray(a) - xp.asarray(b) * q._data
    up = (rem != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0))
    return Tensor._make((q._data + up).astype(q._data.dtype), False, None)


not_equal = ops.ne
greater = ops.gt
greater_equal = ops.ge
less = ops.lt
less_equal = ops.le


# ----- moving axes ----------------------------------------------------------------------


def _dim(d, ndim: int) -> int:
    n = builtins.max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})"
        )
    return d % n


def swapaxes(input, axis0, axis1):
    return ops.transpose(input, axis0, axis1)


def swapdims(input, dim0, dim1):
    return ops.transpose(input, dim0, dim1)


def movedim(input, source, destination):
    input = tensor_arg("movedim", input)
    if isinstance(source, int) != isinstance(destination, int):
        raise TypeError(
            "movedim() received an invalid combination of arguments: source and destination "
            "must be both ints or both tuples of ints"
        )
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            "movedim: Invalid source or destination dims: source "
            f"({src} dims) should contain the same number of dims as destination ({dst} dims)"
        )
    n = input.ndim
    src = [_dim(d, n) for d in src]
    dst = [_dim(d, n) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError("movedim: repeated dim in `source` or `destination`")
    if n == 0:
        return input.view(())
    order = [None] * n
    for s, d in zip(src, dst, strict=True):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    order = [next(rest) if o is None else o for o in order]
    return ops.permute(input, *order)


moveaxis = movedim


def ravel(input):
    return ops.reshape(tensor_arg("ravel", input), -1)


def select(input, dim, index):
    input = tensor_arg("select", input)
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _dim(dim, input.ndim)
    size = input.shape[d]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size "
            f"{list(input.shape)} at dimension {dim}"
        )
    return input[(slice(None),) * d + (index,)]


def _long_index(op: str, index) -> Tensor:
    index = tensor_arg(op, index, "index", 2)
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got {index.dtype}")
    return index


def take(input, index):
    input = tensor_arg("take", input)
    index = _long_index("take", index)
    n = input.numel()
    i = index._data
    if i.size and (int(i.max()) >= n or int(i.min()) < -n):
        bad = int(i.max()) if int(i.max()) >= n else int(i.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return ops.reshape(input, -1)[index]


def take_along_dim(input, indices, dim=None):
    input = tensor_arg("take_along_dim", input)
    indices = _long_index("take_along_dim", indices)
    if dim is None:
        return ops.reshape(input, -1)[ops.reshape(indices, -1)]
    if input.ndim != indices.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {input.ndim} dimensions for input, and {indices.ndim} "
            "dimensions for indices"
        )
    d = _dim(dim, input.ndim)
    ishape, jshape = list(input.shape), list(indices.shape)
    ishape[d] = jshape[d] = 1
    try:
        common = broadcast_shapes(ishape, jshape)
    except RuntimeError:
        raise RuntimeError(
            f"take_along_dim: the shapes {list(input.shape)} and {list(indices.shape)} cannot "
            f"be broadcast outside dimension {d}"
        ) from None
    sin, sidx = list(common), list(common)
    sin[d], sidx[d] = input.shape[d], indices.shape[d]
    return ops.indexing.gather(input.expand(*sin), d, indices.expand(*sidx))


# ----- splits ---------------------------------------------------------------------------


def tensor_split(input, indices_or_sections, dim=0):
    input = tensor_arg("tensor_split", input)
    if input.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.item() if ios.ndim == 0 else ios.tolist()
    if isinstance(ios, int):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        small, extra = divmod(n, ios)
        bounds, start = [], 0
        for k in range(ios):
            stop = start + small + (1 if k < extra else 0)
            bounds.append((start, stop))
            start = stop
    else:
        edges = [0, *ios, n]
        bounds = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            lo, hi = builtins.min(builtins.max(lo, 0), n), builtins.min(builtins.max(hi, 0), n)
            bounds.append((lo, builtins.max(lo, hi)))
    head = (slice(None),) * d
    return tuple(input[(*head, slice(lo, hi))] for lo, hi in bounds)


def _even_split(op: str, input, ios, dim: int, need: int):
    input = tensor_arg(op, input)
    if input.ndim < need:
        raise RuntimeError(
            f"torch.{op} requires a tensor with at least {need} dimension, but got a tensor "
            f"with {input.ndim} dimensions!"
        )
    if isinstance(ios, int) and (ios == 0 or input.shape[dim] % ios):
        raise RuntimeError(
            f"torch.{op} attempted to split along dimension {dim}, but the size of the "
            f"dimension {input.shape[dim]} is not divisible by the split_size {ios}!"
        )
    return tensor_split(input, ios, dim)


def hsplit(input, indices_or_sections):
    dim = 1 if isinstance(input, Tensor) and input.ndim >= 2 else 0
    return _even_split("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input, indices_or_sections):
    return _even_split("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    return _even_split("dsplit", input, indices_or_sections, 2, 3)


# ----- at least n dims, stacks ----------------------------------------------------------


def _at_least(shape_of, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    out = tuple(t.reshape(*shape_of(t)) if t.ndim < 3 and shape_of(t) != t.shape else t
                for t in tensors)  # fmt: skip
    return out[0] if single else out


def _shape1(t):
    return (1,) if t.ndim == 0 else tuple(t.shape)


def _shape2(t):
    return {0: (1, 1), 1: (1, *t.shape)}.get(t.ndim, tuple(t.shape))


def _shape3(t):
    if t.ndim == 0:
        return (1, 1, 1)
    if t.ndim == 1:
        return (1, t.shape[0], 1)
    if t.ndim == 2:
        return (*t.shape, 1)
    return tuple(t.shape)


def atleast_1d(*tensors):
    return _at_least(_shape1, tensors)


def atleast_2d(*tensors):
    return _at_least(_shape2, tensors)


def atleast_3d(*tensors):
    return _at_least(_shape3, tensors)


def _as_tuple(op: str, tensors) -> tuple:
    if isinstance(tensors, Tensor) or not isinstance(tensors, list | tuple):
        raise TypeError(
            f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, "
            f"not {type(tensors).__name__}"
        )
    return tuple(tensors)


def hstack(tensors):
    ts = atleast_1d(_as_tuple("hstack", tensors))
    return ops.cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors):
    return ops.cat(atleast_2d(_as_tuple("vstack", tensors)), 0)


def dstack(tensors):
    return ops.cat(atleast_3d(_as_tuple("dstack", tensors)), 2)


def column_stack(tensors):
    ts = _as_tuple("column_stack", tensors)
    ts = tuple(t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in ts)
    return ops.cat(ts, 1)


# ----- broadcasting ---------------------------------------------------------------------


def broadcast_shapes(*shapes):
    result: list[int] = []
    for s in shapes:
        s = (s,) if isinstance(s, int) else tuple(s)
        if len(s) > len(result):
            result = [1] * (len(s) - len(result)) + result
        for i, n in enumerate(s):
            j = len(result) - len(s) + i
            if n < 0:
                raise RuntimeError(
                    f"Trying to create tensor with negative dimension {n}: {list(s)}"
                )
            if result[j] == 1:
                result[j] = n
            elif n != 1 and n != result[j]:
                raise RuntimeError(
                    "Shape mismatch: objects cannot be broadcast to a single shape.  "
                    "Mismatch is between arg 0 and arg 1."
                )
    return Size(result)


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    try:
        shape = broadcast_shapes(*(t.shape for t in tensors))
    except RuntimeError:
        shapes = ", ".join(str(list(t.shape)) for t in tensors)
        raise RuntimeError(f"The shapes {shapes} cannot be broadcast together") from None
    return tuple(t.expand(*shape) for t in tensors)


def broadcast_to(input, size):
    return ops.expand(tensor_arg("broadcast_to", input), *size)


# ----- predicates, counting, min and max at once ----------------------------------------


def is_floating_point(input) -> bool:
    return tensor_arg("is_floating_point", input).is_floating_point()


def is_complex(input) -> bool:
    return tensor_arg("is_complex", input)._data.dtype.kind == "c"


def is_nonzero(input) -> bool:
    input = tensor_arg("is_nonzero", input)
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input._data.reshape(()) != 0)


def count_nonzero(input, dim=None):
    input = tensor_arg("count_nonzero", input)
    a = input._data
    xp = _xp(a)
    if dim is None:
        axes = None
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = tuple(_dim(d, a.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
    return Tensor._make(xp.asarray((a != 0).sum(axis=axes), dtype=np.int64), False, None)


def argwhere(input):
    return ops.indexing.nonzero(tensor_arg("argwhere", input))


def sum_to_size(input, *size) -> Tensor:
    size = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    shape = tuple(input.shape)
    if len(size) > len(shape) or any(
        s != 1 and s != n for s, n in zip(size, shape[len(shape) - len(size) :], strict=True)
    ):
        raise RuntimeError(f"size {list(size)} is not expandable to size {list(shape)}.")
    lead = len(shape) - len(size)
    out = input
    if lead:
        out = out.sum(tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(size) if s == 1 and out.shape[i] != 1)
    if axes:
        out = out.sum(axes, keepdim=True)
    return out


def map_values(input: Tensor, fn, *others) -> None:
    """apply_/map_: a Python callable per element, written back in place (CPU tensors)."""
    if input.is_cuda:
        raise TypeError("apply_ is only implemented on CPU tensors")
    a = input._data
    flat_others = [np.broadcast_to(o._data, a.shape).reshape(-1) for o in others]
    out = np.empty(a.size, dtype=a.dtype)
    for k, v in enumerate(a.reshape(-1).tolist()):
        out[k] = fn(v, *(f[k].item() for f in flat_others))
    a[...] = out.reshape(a.shape)
