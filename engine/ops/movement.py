"""Ops that move elements: reshape, permute, expand, indexing, cat and stack."""

from __future__ import annotations

import math

import numpy as np

from engine import backend
from engine.autograd import Function, OpError, unbroadcast, version_counter
from engine.ops.elementwise import _xp
from engine.ops.reduce import _axes
from engine.tensor import Tensor, _shape_arg


class Reshape(Function):
    op = "reshape"

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise OpError(
                f"reshape: shape {list(shape)} is invalid for input of size {a.size} "
                f"(shape {a.shape})"
            ) from None

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    op = "permute"

    def forward(self, a, axes):
        self.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    def backward(self, g):
        return (g.transpose(self.inverse),)


class Expand(Function):
    op = "expand"

    def forward(self, a, shape):
        self.shape = a.shape
        return _xp(a).broadcast_to(a, shape)

    def backward(self, g):
        return (unbroadcast(g, self.shape),)


def index_for(index):
    """Turn tensors and lists inside an index into arrays NumPy understands."""
    if isinstance(index, tuple):
        return tuple(index_for(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray([i._data if isinstance(i, Tensor) else i for i in index])
    return index


_BASIC = (int, slice, type(None), type(...))


def _is_advanced(parts: tuple) -> bool:
    """Whether an index (as a tuple) holds arrays: NumPy then copies instead of viewing."""
    for p in parts:
        if type(p) not in _BASIC and (
            isinstance(p, np.ndarray) or hasattr(p, "__cuda_array_interface__")
        ):
            return True
    return False


class Index(Function):
    """Basic indexing (ints, slices, None, ...): a view."""

    op = "index"

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return a[index]

    def backward(self, g):
        out = _xp(g).zeros(self.shape, dtype=g.dtype)
        out[self.index] = g
        return (out,)


class AdvancedIndex(Index):
    """Indexing with integer or bool arrays: a copy."""

    saves_others = True  # PyTorch keeps the index tensors for backward

    def backward(self, g):
        out = _xp(g).zeros(self.shape, dtype=g.dtype)
        backend.index_add(out, self.index, g)  # repeated indices must add up
        return (out,)


class Cat(Function):
    op = "cat"

    def forward(self, *arrays, dim):
        self.sizes = [a.shape[dim] for a in arrays]
        self.dim = dim
        return _xp(arrays[0]).concatenate(arrays, axis=dim)

    def backward(self, g):
        xp = _xp(g)
        cuts = np.cumsum(self.sizes)[:-1].tolist()
        parts = xp.split(g, cuts, axis=self.dim)
        return tuple(p if self.needs(i) else None for i, p in enumerate(parts))


class Stack(Function):
    op = "stack"

    def forward(self, *arrays, dim):
        self.dim = dim
        return _xp(arrays[0]).stack(arrays, axis=dim)

    def backward(self, g):
        xp = _xp(g)
        return tuple(
            xp.take(g, i, axis=self.dim) if self.needs(i) else None
            for i in range(len(self.parents))
        )


def _viewing(out: Tensor, source: Tensor, take) -> Tensor:
    """Mark `out` a view of `source`: they share the version counter, and a change in
    place to `out` is replayed on `source` through `take` (which takes the view again
    from an array shaped like `source`)."""
    out._view = (source, take)
    version_counter(source).add_view(out)
    return out


def _reshaped(input, shape):
    out = Reshape.apply(input, shape=shape)
    source = input._data
    if out._data.base is not (source if source.base is None else source.base):
        return out  # NumPy had to copy: not a view, as PyTorch's reshape
    return _viewing(out, input, lambda a: a.reshape(shape))


def reshape(input, *shape):
    return _reshaped(input, _shape_arg(shape))


def view(input, *shape):
    if len(shape) == 1 and not isinstance(shape[0], int | list | tuple):
        return input.to(shape[0])  # view(dtype)
    return _reshaped(input, _shape_arg(shape))


def flatten(input, start_dim=0, end_dim=-1):
    shape = input.shape
    if not shape:
        return _reshaped(input, (1,))
    start, end = _axes((start_dim, end_dim), len(shape), "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    new = shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :]
    return _reshaped(input, new)


def permute(input, *dims):
    dims = _shape_arg(dims)
    axes = _axes(dims, input.ndim, "permute")
    if sorted(axes) != list(range(input.ndim)):
        raise RuntimeError(
            f"permute: dims {list(dims)} are not a permutation of the {input.ndim} dimensions "
            f"of a tensor of shape {tuple(input.shape)}"
        )
    return _permuted(input, axes)


def _permuted(input, axes):
    return _viewing(Permute.apply(input, axes=axes), input, lambda a: a.transpose(axes))


def transpose(input, dim0, dim1):
    d0, d1 = _axes((dim0, dim1), input.ndim, "transpose") or (0, 0)
    axes = list(range(input.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return _permuted(input, tuple(axes))


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, -1) if input.ndim == 2 else input


def unsqueeze(input, dim):
    n = input.ndim + 1
    if not -n <= dim < n:
        raise IndexError(
            f"unsqueeze: dimension {dim} is out of range for a result with {n} dimensions"
        )
    shape = list(input.shape)
    shape.insert(dim % n, 1)
    return _reshaped(input, tuple(shape))


def squeeze(input, dim=None):
    shape = input.shape
    axes = set(_axes(dim, len(shape), "squeeze"))
    new = tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1))
    return _reshaped(input, new)


def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    shape = input.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        have = shape[i - lead] if i >= lead else None
        if s == -1:
            if have is None:
                raise RuntimeError(f"expand: -1 is not allowed in a new leading dimension ({i})")
            s = have
        if have is not None and have != 1 and have != s:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size "
                f"({have}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                f"Tensor sizes: {list(shape)}"
            )
        target.append(s)
    target = tuple(target)
    return _viewing(
        Expand.apply(input, shape=target), input, lambda a: _xp(a).broadcast_to(a, target)
    )


def expand_as(input, other):
    return expand(input, *other.shape)


def getitem(input, index):
    index = index_for(index)
    parts = index if isinstance(index, tuple) else (index,)
    if _is_advanced(parts):
        return AdvancedIndex.apply(input, index=index)  # a copy, as in PyTorch
    if ... not in parts:
        index = (*parts, ...)  # so that x[0] of a vector is a 0-d view, not a copy
    return _viewing(Index.apply(input, index=index), input, lambda a: a[index])


def _check_same(tensors, dim, op):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    first = tensors[0].shape
    for i, t in enumerate(tensors[1:], 1):
        s = t.shape
        if (
            len(s) != len(first)
            or (op == "stack" and s != first)
            or any(a != b for j, (a, b) in enumerate(zip(s, first, strict=False)) if j != dim)
        ):
            rule = (
                "all tensors must have the same shape"
                if op == "stack"
                else (f"sizes must match except in dimension {dim}")
            )
            raise RuntimeError(
                f"{op}: tensor {i} has shape {tuple(s)} but tensor 0 has {tuple(first)}: {rule}"
            )


def cat(tensors, dim=0):
    tensors = list(tensors)
    if tensors and tensors[0].ndim == 0:
        raise RuntimeError("cat: zero-dimensional tensor cannot be concatenated")
    d = _axes(dim, tensors[0].ndim if tensors else 1, "cat")[0] if tensors else 0
    _check_same(tensors, d, "cat")
    return Cat.apply(*tensors, dim=d)


def stack(tensors, dim=0):
    tensors = list(tensors)
    _check_same(tensors, -1, "stack")
    n = tensors[0].ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"stack: dimension {dim} is out of range for a result with {n} dimensions")
    return Stack.apply(*tensors, dim=dim % n)


def view_as(input, other):
    return reshape(input, *other.shape)
