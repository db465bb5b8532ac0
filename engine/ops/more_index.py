"""Indexing in place and diagonal views with PyTorch's names: index_copy, index_fill,
index_put (accumulate), masked_scatter, put, fill_diagonal_, resize_, unfold, diagonal,
diag_embed and diagflat. The out-of-place forms are built from differentiable ops; a
Tensor's `_` forms change it through Tensor._modify."""

from __future__ import annotations

import builtins
import math

import numpy as np

from engine import backend, ops
from engine.autograd import Function
from engine.ops.elementwise import _xp, tensor_arg
from engine.ops.movement import _viewing
from engine.tensor import Tensor


def _dim(d: int, ndim: int) -> int:
    n = builtins.max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})"
        )
    return d % n


def _int_tensor(values, like: Tensor) -> Tensor:
    return Tensor._make(_xp(like._data).asarray(values, dtype=np.int64), False, None)


def _index_vector(op: str, index) -> Tensor:
    index = tensor_arg(op, index, "index", 3)
    if index._data.dtype != np.int64:
        if op == "index_fill_":
            raise IndexError(f"{op}(): Expected dtype int64 for index.")
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got {index.dtype}")
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    return index.reshape(-1)


def _dim_mask(input: Tensor, axis: int, index: Tensor) -> Tensor:
    """A bool mask, broadcastable to input, True on the slices `index` picks along axis."""
    n = input.shape[axis] if input.ndim else 1
    i = index._data
    if i.size and (int(i.max()) >= n or int(i.min()) < -n):
        bad = int(i.max()) if int(i.max()) >= n else int(i.min())
        raise IndexError(f"index {bad} is out of bounds for dimension {axis} with size {n}")
    xp = _xp(input._data)
    m = xp.zeros(n, dtype=bool)
    m[i % builtins.max(n, 1)] = True
    shape = [1] * input.ndim
    if input.ndim:
        shape[axis] = n
    return Tensor._make(m.reshape(shape), False, None)


def index_fill(input, dim, index, value):
    input = tensor_arg("index_fill", input)
    axis = _dim(dim, input.ndim)
    index = _index_vector("index_fill_", index)
    return ops.indexing.masked_fill(input, _dim_mask(input, axis, index), value)


def index_copy(input, dim, index, source):
    input = tensor_arg("index_copy", input)
    source = tensor_arg("index_copy", source, "source", 4)
    axis = _dim(dim, input.ndim)
    index = _index_vector("index_copy_", index)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{input.dtype} and (source) {source.dtype}"
        )
    if input.ndim == 0:
        return ops.reshape(source, ()) + input * 0
    cleared = ops.indexing.masked_fill(input, _dim_mask(input, axis, index), 0)
    return ops.indexing.index_add(cleared, axis, index, source)


def _flat_positions(shape, indices) -> tuple:
    """For index tensors over the leading dims of `shape`: their broadcast flat positions."""
    arrays = [  # on the host: index arithmetic only
        backend.to_numpy(t._data) if isinstance(t, Tensor) else np.asarray(t) for t in indices
    ]
    for a in arrays:
        if a.dtype.kind == "b":
            return None
    arrays = np.broadcast_arrays(*arrays)
    lead = shape[: len(arrays)]
    for k, (a, n) in enumerate(zip(arrays, lead, strict=True)):
        if a.size and (a.max() >= n or a.min() < -n):
            bad = int(a.max()) if a.max() >= n else int(a.min())
            raise IndexError(f"index {bad} is out of bounds for dimension {k} with size {n}")
    wrapped = [a % builtins.max(n, 1) for a, n in zip(arrays, lead, strict=True)]
    flat = np.ravel_multi_index(wrapped, lead) if wrapped else np.zeros((), np.int64)
    return flat, arrays[0].shape if arrays else ()


def index_put(input, indices, values, accumulate=False):
    input = tensor_arg("index_put", input)
    if not isinstance(indices, tuple | list):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    indices = tuple(indices)
    if len(indices) > input.ndim:
        raise IndexError(
            f"too many indices for tensor of dimension {input.ndim} (got {len(indices)})"
        )
    if isinstance(values, Tensor) and values._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"Index put requires the source and destination dtypes match, got "
            f"{input.dtype} for the destination and {values.dtype} for the source."
        )
    if not accumulate:
        return ops.inplace.index_put(input, ops.index_for(indices), values)
    found = _flat_positions(tuple(input.shape), indices)
    if found is None:  # a bool mask: its positions, then as integer indices
        nz = ops.indexing.nonzero(indices[0], as_tuple=True)
        return index_put(input, nz + indices[1:], values, True)
    flat, bshape = found
    k = len(indices)
    rest = tuple(input.shape[k:])
    rows = input.reshape(math.prod(input.shape[:k]), *rest)
    if not isinstance(values, Tensor):
        values = Tensor._make(
            _xp(input._data).asarray(values, dtype=input._data.dtype), False, None
        )
    vals = values.expand(*bshape, *rest).reshape(-1, *rest)
    idx = _int_tensor(np.asarray(flat).reshape(-1), input)
    return ops.indexing.index_add(rows, 0, idx, vals).reshape(*input.shape)


def masked_scatter(input, mask, source):
    input = tensor_arg("masked_scatter", input)
    mask = tensor_arg("masked_scatter", mask, "mask", 2)
    source = tensor_arg("masked_scatter", source, "source", 3)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(
            f"masked_scatter_ only supports boolean masks, but got mask with dtype {mask.dtype}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"masked_scatter: expected self and source to have same dtypes but got "
            f"{input.dtype} and {source.dtype}"
        )
    xp = _xp(input._data)
    m = xp.broadcast_to(mask._data, input.shape).reshape(-1)
    where = xp.nonzero(m)[0]
    if where.size > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    flat = ops.reshape(input, -1)
    taken = ops.reshape(source, -1)[: int(where.size)]
    out = index_copy(flat, 0, _int_tensor(where, input), taken)
    return out.reshape(*input.shape)


def put(input, index, source, accumulate=False):
    input = tensor_arg("put", input)
    index = tensor_arg("put", index, "index", 2)
    source = tensor_arg("put", source, "source", 3)
    if index._data.dtype != np.int64:
        raise RuntimeError("put_(): Expected a long tensor for index, but got " + str(index.dtype))
    if index.numel() != source.numel():
        raise IndexError(
            f"put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source.numel()}, index.numel() = {index.numel()}"
        )
    n = input.numel()
    i = index._data.reshape(-1)
    if i.size and (int(i.max()) >= n or int(i.min()) < -n):
        bad = int(i.max()) if int(i.max()) >= n else int(i.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    idx = _int_tensor(i % builtins.max(n, 1), input)
    flat = ops.reshape(input, -1)
    src = ops.reshape(source, -1)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{input.dtype} and source.dtype = {source.dtype}"
        )
    if accumulate:
        out = ops.indexing.index_add(flat, 0, idx, src)
    else:
        out = index_put(flat, (idx,), src)
    return out.reshape(*input.shape)


def fill_diagonal(input, fill_value, wrap=False):
    """`input` with `fill_value` on its main diagonal (numpy.fill_diagonal's positions)."""
    shape = tuple(input.shape)
    if input.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if input.ndim > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if input.ndim == 2:
        step = shape[1] + 1
        end = input.numel() if wrap else builtins.min(shape[0], shape[1]) * shape[1]
    else:
        step = 1 + builtins.sum(math.prod(shape[:k]) for k in range(1, len(shape)))
        end = input.numel()
    pos = list(range(0, end, step))  # wrapped: again after a blank row, as numpy's
    flat = ops.reshape(input, -1)
    return index_fill(flat, 0, _int_tensor(pos, input), fill_value).reshape(*shape)


# ----- diagonal views ------------------------------------------------------------------


def _diagonal_view(a, offset: int, d1: int, d2: int):
    """The diagonal of array `a` over dims d1, d2 as a strided view, last dim the diagonal."""
    xp = _xp(a)
    rest = [k for k in range(a.ndim) if k not in (d1, d2)]
    moved = a.transpose(*rest, d1, d2)
    rows, cols = moved.shape[-2:]
    if offset >= 0:
        moved = moved[..., :, builtins.min(offset, cols) :]
    else:
        moved = moved[..., builtins.min(-offset, rows) :, :]
    n = builtins.max(0, builtins.min(moved.shape[-2], moved.shape[-1]))
    strides = moved.strides[:-2] + (moved.strides[-2] + moved.strides[-1],)
    return xp.lib.stride_tricks.as_strided(moved, moved.shape[:-2] + (n,), strides)


class Diagonal(Function):
    op = "diagonal"

    def forward(self, a, offset, d1, d2):
        self.shape, self.args = a.shape, (offset, d1, d2)
        return _diagonal_view(a, offset, d1, d2)

    def backward(self, g):
        out = _xp(g).zeros(self.shape, dtype=g.dtype)
        _diagonal_view(out, *self.args)[...] = g
        return (out,)


def diagonal(input, offset=0, dim1=0, dim2=1):
    input = tensor_arg("diagonal", input)
    d1, d2 = _dim(dim1, input.ndim), _dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    out = Diagonal.apply(input, offset=int(offset), d1=d1, d2=d2)
    return _viewing(out, input, lambda a: _diagonal_view(a, int(offset), d1, d2))


class DiagEmbed(Function):
    op = "diag_embed"

    def forward(self, a, offset, d1, d2):
        self.args = (offset, d1, d2)
        n = a.shape[-1] + abs(offset)
        shape = list(a.shape[:-1])
        lo, hi = builtins.min(d1, d2), builtins.max(d1, d2)
        shape.insert(lo, n)
        shape.insert(hi, n)
        out = _xp(a).zeros(shape, dtype=a.dtype)
        _diagonal_view(out, offset, d1, d2)[...] = a
        return out

    def backward(self, g):
        return (_diagonal_view(g, *self.args).copy(),)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    input = tensor_arg("diag_embed", input)
    nd = input.ndim + 1
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed.apply(input, offset=int(offset), d1=d1, d2=d2)


def diagflat(input, offset=0):
    input = tensor_arg("diagflat", input)
    return ops.shape_ops.diag(ops.reshape(input, -1), offset)


# ----- sliding windows -------------------------------------------------------------------


def _windows(a, axis: int, size: int, step: int):
    xp = _xp(a)
    n = (a.shape[axis] - size) // step + 1 if a.ndim else 1
    if a.ndim == 0:
        return a.reshape(1)
    shape = a.shape[:axis] + (n,) + a.shape[axis + 1 :] + (size,)
    strides = a.strides[:axis] + (a.strides[axis] * step,) + a.strides[axis + 1 :]
    return xp.lib.stride_tricks.as_strided(a, shape, strides + (a.strides[axis],))


class Unfold(Function):
    op = "unfold"

    def forward(self, a, axis, size, step):
        self.shape, self.args = a.shape, (axis, size, step)
        return _windows(a, axis, size, step)

    def backward(self, g):
        axis, size, step = self.args
        xp = _xp(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if not self.shape:
            return (g.reshape(()),)
        n = g.shape[axis]
        for k in range(size):  # each offset within the window: one strided slice, no overlap
            part = (slice(None),) * axis + (slice(k, k + step * (n - 1) + 1, step),)
            out[part] += g[..., k]
        return (out,)


def unfold(input, dimension, size, step):
    input = tensor_arg("unfold", input)
    axis = _dim(dimension, input.ndim)
    length = input.shape[axis] if input.ndim else 1
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {axis} is {length} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    out = Unfold.apply(input, axis=axis, size=int(size), step=int(step))
    return _viewing(out, input, lambda a: _windows(a, axis, int(size), int(step)))
