"""Ops that tutorials reach for, built from other ops (their gradients come with them)."""

from __future__ import annotations

import math

import numpy as np

from engine.ops.elementwise import tensor_arg


def _dim(op: str, dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def swapaxes(input, axis0, axis1):
    """transpose under NumPy's name."""
    return tensor_arg("swapaxes", input).transpose(axis0, axis1)


swapdims = swapaxes


def movedim(input, source, destination):
    """Move dims `source` to the positions `destination`, the others keeping their order."""
    x = tensor_arg("movedim", input)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            "movedim: Invalid source or destination dims: source "
            f"({src} dims) should contain the same number of dims as destination ({dst} dims)"
        )
    src = [_dim("movedim", d, x.ndim) for d in src]
    dst = [_dim("movedim", d, x.ndim) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError("movedim: repeated dim in `source` or `destination`")
    rest = iter(d for d in range(x.ndim) if d not in src)
    placed = dict(zip(dst, src, strict=True))
    order = [placed[i] if i in placed else next(rest) for i in range(x.ndim)]
    return x.permute(*order)


moveaxis = movedim


def select(input, dim, index):
    """The slice at `index` along `dim`, that dim removed (a view)."""
    x = tensor_arg("select", input)
    d = _dim("select", dim, x.ndim)
    size = x.shape[d]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(x.shape)} at "
            f"dimension {dim}"
        )
    return x[(slice(None),) * d + (index,)]


def _at_least(op: str, tensors, ndim: int):
    out = []
    for t in tensors:
        t = tensor_arg(op, t)
        if t.ndim < ndim:
            if ndim == 2 and t.ndim == 1:
                t = t.unsqueeze(0)
            else:
                t = t.reshape(*([1] * (ndim - t.ndim)), *t.shape)
        out.append(t)
    return out


def hstack(tensors):
    """Join along the columns: dim 1, or dim 0 for vectors."""
    from engine.ops.movement import cat

    items = _at_least("hstack", tensors, 1)
    return cat(items, 0 if items[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along the rows, vectors taken as rows."""
    from engine.ops.movement import cat

    return cat(_at_least("vstack", tensors, 2), 0)


row_stack = vstack


def column_stack(tensors):
    """Vectors as columns (scalars and vectors become (n, 1)), joined along dim 1."""
    from engine.ops.movement import cat

    items = []
    for t in tensors:
        t = tensor_arg("column_stack", t)
        items.append(t.reshape(-1, 1) if t.ndim <= 1 else t)
    return cat(items, 1)


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2."""
    return input + value * (tensor1 * tensor2)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2 (integer tensors refused, as in PyTorch)."""
    if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2."
        )
    return input + value * (tensor1 / tensor2)


def count_nonzero(input, dim=None):
    """How many elements are not zero, over `dim` (all by default), as int64."""
    x = tensor_arg("count_nonzero", input)
    return (x != 0).sum() if dim is None else (x != 0).sum(dim)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along `dim`."""
    from engine.ops.movement import cat

    x = tensor_arg("diff", input)
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _dim("diff", dim, x.ndim)
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, x, append) if p is not None]
        x = cat([p if p.ndim == x.ndim else p.unsqueeze(d) for p in parts], d)
    for _ in range(n):
        size = x.shape[d]
        if size == 0:
            break
        later, earlier = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
        x = later != earlier if x._data.dtype.kind == "b" else later - earlier
    return x


def take(input, index):
    """Elements of the flattened input at `index` (the result has index's shape)."""
    x = tensor_arg("take", input)
    flat = x.reshape(-1)
    if index._data.size and (
        (index._data >= flat.shape[0]).any() or (index._data < -flat.shape[0]).any()
    ):
        raise IndexError(
            f"out of range: tried to access index outside of tensor of size {x.numel()}"
        )
    return flat[index.reshape(-1)].reshape(*index.shape)


def take_along_dim(input, indices, dim=None):
    """gather along `dim` with indices broadcast against input (flattened when dim is None)."""
    x = tensor_arg("take_along_dim", input)
    if dim is None:
        return x.reshape(-1).gather(0, indices.reshape(-1))
    d = _dim("take_along_dim", dim, x.ndim)
    shape_x, shape_i = list(x.shape), list(indices.shape)
    shape_x[d] = shape_i[d] = 1
    common = list(np.broadcast_shapes(tuple(shape_x), tuple(shape_i)))
    want_x, want_i = list(common), list(common)
    want_x[d], want_i[d] = x.shape[d], indices.shape[d]
    return x.expand(*want_x).gather(d, indices.expand(*want_i))


def frac(input):
    """The fractional part, with the input's sign: x - trunc(x)."""
    x = tensor_arg("frac", input)
    return x - x.trunc()


def rad2deg(input):
    return tensor_arg("rad2deg", input) * (180.0 / math.pi)


def deg2rad(input):
    return tensor_arg("deg2rad", input) * (math.pi / 180.0)


def hypot(input, other):
    """sqrt(input**2 + other**2)."""
    return (input * input + other * other).sqrt()


def logaddexp(input, other):
    """log(exp(input) + exp(other)), without overflow."""
    from engine.ops.elementwise import maximum

    top = maximum(input, other)
    return top + ((input - top).exp() + (other - top).exp()).log()
