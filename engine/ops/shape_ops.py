"""More ops that move elements: flip, roll, split and its kin, repeat, triangles and diagonals,
meshgrid."""

from __future__ import annotations

import builtins
import warnings

import numpy as np

from engine import backend
from engine.autograd import Function
from engine.ops.elementwise import _xp, tensor_arg
from engine.ops.movement import _contiguous, expand, getitem, reshape
from engine.tensor import Tensor, _shape_arg


def _dim(dim, ndim: int) -> int:
    """One dimension, wrapped, with PyTorch's IndexError when out of range."""
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _dims(dims) -> tuple:
    if isinstance(dims, int):
        return (dims,)
    if len(dims) == 1 and isinstance(dims[0], list | tuple):
        dims = dims[0]
    return tuple(dims)


# ----- flip and roll --------------------------------------------------------------------
class Flip(Function):
    op = "flip"

    def forward(self, a, axes):
        self.axes = axes
        if not axes:
            return a.copy(order="K")
        out = _xp(a).empty_like(a)  # laid out as the input, as PyTorch's flip
        out[...] = _xp(a).flip(a, axis=axes)
        return out

    def backward(self, g):
        return (_xp(g).flip(g, axis=self.axes) if self.axes else g,)


def flip(input, *dims):
    input = tensor_arg("flip", input)
    dims = _dims(dims)
    axes = tuple(_dim(d, input.ndim) for d in dims)
    if len(set(axes)) != len(axes):
        twice = next(a for a in axes if axes.count(a) > 1)
        raise RuntimeError(f"dim {twice} appears multiple times in the list of dims")
    if input.ndim == 0:
        axes = ()
    return Flip.apply(input, axes=axes)


def fliplr(input):
    if tensor_arg("fliplr", input).ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input):
    if tensor_arg("flipud", input).ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


class Roll(Function):
    op = "roll"

    def forward(self, a, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return _xp(a).ascontiguousarray(_xp(a).roll(a, shifts, axis=axes))

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (_xp(g).roll(g, back, axis=self.axes),)


def roll(input, shifts, dims=None):
    input = tensor_arg("roll", input)
    shifts_t = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None or (not isinstance(dims, int) and len(dims) == 0):
        if len(shifts_t) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts_t)}, dims:0")
        return Roll.apply(input, shifts=int(shifts_t[0]), axes=None)
    dims_t = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts_t) != len(dims_t):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts_t)}, dims:{len(dims_t)}"
        )
    axes = tuple(_dim(d, input.ndim) for d in dims_t)
    if input.ndim == 0:
        return Roll.apply(input, shifts=0, axes=None)
    return Roll.apply(input, shifts=tuple(int(s) for s in shifts_t), axes=axes)


# ----- views along one dimension: narrow, split, chunk, unbind --------------------------
def _slice(input, d: int, start: int, stop: int):
    index = (slice(None),) * d + (slice(start, stop),)
    return getitem(input, index)


def narrow(input, dim, start, length):
    input = tensor_arg("narrow", input)
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _dim(dim, input.ndim)
    size = input.shape[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return _slice(input, d, start, start + int(length))


def split(tensor, split_size_or_sections, dim=0):
    tensor = tensor_arg("split", tensor)
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _dim(dim, tensor.ndim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 0:
            raise RuntimeError(
                f"split expects split_size be non-negative, but got split_size={step}"
            )
        if step == 0:
            if size != 0:
                raise RuntimeError(
                    "split_size can only be 0 if dimension size is 0, but got dimension size "
                    f"of {size}"
                )
            return (_slice(tensor, d, 0, 0),)
        starts = range(0, builtins.max(size, 1), step)
        return tuple(_slice(tensor, d, s, builtins.min(s + step, size)) for s in starts)
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != size or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
            f"size at dimension {d}), but got split_sizes={sizes}"
        )
    cuts = np.cumsum([0, *sizes]).tolist()
    return tuple(_slice(tensor, d, a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True))


def chunk(input, chunks, dim=0):
    input = tensor_arg("chunk", input)
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _dim(dim, input.ndim)
    size = input.shape[d]
    step = (size + chunks - 1) // chunks
    if step == 0:  # an empty dimension: PyTorch gives `chunks` empty pieces
        return tuple(_slice(input, d, 0, 0) for _ in range(chunks))
    return split(input, step, d)


def unbind(input, dim=0):
    input = tensor_arg("unbind", input)
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = _dim(dim, input.ndim)
    return tuple(getitem(input, (slice(None),) * d + (i,)) for i in range(input.shape[d]))


# ----- repeat, tile, repeat_interleave --------------------------------------------------
class Repeat(Function):
    op = "repeat"

    def forward(self, a, reps):
        self.lead = len(reps) - a.ndim
        self.shape = a.shape
        self.reps = reps
        return _contiguous(_xp(a).tile(a.reshape((1,) * self.lead + a.shape), reps))

    def backward(self, g):
        padded = (1,) * self.lead + self.shape
        split_shape = []
        for r, s in zip(self.reps, padded, strict=True):
            split_shape += [r, s]
        summed = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * len(padded), 2)))
        return (summed.reshape(self.shape),)


def repeat(input, *sizes):
    input = tensor_arg("repeat", input)
    reps = _shape_arg(sizes)
    if len(reps) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(reps)}")
    return Repeat.apply(input, reps=reps)


def tile(input, dims):
    input = tensor_arg("tile", input)
    reps = _shape_arg((dims,))
    reps = (1,) * (input.ndim - len(reps)) + reps
    return repeat(input, reps)


class RepeatInterleave(Function):
    op = "repeat_interleave"

    def forward(self, a, repeats, axis):
        self.shape, self.axis, self.repeats = a.shape, axis, repeats
        return _xp(a).repeat(a, repeats, axis=axis)

    def backward(self, g):
        xp = _xp(g)
        n = self.shape[self.axis]
        reps = self.repeats
        if isinstance(reps, int):
            moved = xp.moveaxis(g, self.axis, 0)
            summed = moved.reshape((n, reps) + moved.shape[1:]).sum(axis=1)
            return (xp.moveaxis(summed, 0, self.axis),)
        owner = xp.repeat(xp.arange(n), reps)
        moved = xp.moveaxis(g, self.axis, 0)
        out = xp.zeros((n,) + moved.shape[1:], dtype=g.dtype)
        backend.index_add(out, (owner,), moved)
        return (xp.moveaxis(out, 0, self.axis),)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    input = tensor_arg("repeat_interleave", input)
    if repeats is None:  # repeat_interleave(repeats): each index i, repeats[i] times
        counts = input
        if counts.ndim > 1 or counts._data.dtype.kind not in "iu":
            raise RuntimeError("repeats has to be a 1D tensor of integers")
        arr = counts._data.reshape(-1)
        if arr.size and int(arr.min()) < 0:
            raise RuntimeError("repeats can not be negative")
        xp = _xp(arr)
        return Tensor._make(xp.repeat(xp.arange(arr.size, dtype=arr.dtype), arr), False, None)
    if dim is None:
        input = reshape(input, -1)
        axis = 0
    elif input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    else:
        axis = _dim(dim, input.ndim)
    n = input.shape[axis]
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1 or repeats._data.dtype.kind not in "iu":
            raise RuntimeError("repeats has to be a 1D tensor of integers")
        reps = backend.to_device(repeats._data.reshape(-1), backend.device_of(input._data))
        if reps.size == 1:
            reps = int(reps[0])
        else:
            if reps.size != n:
                raise RuntimeError(
                    "repeats must have the same size as input along dim, but got "
                    f"repeats.size(0) = {reps.size} and input.size({axis}) = {n}"
                )
            if reps.size and int(reps.min()) < 0:
                raise RuntimeError("repeats can not be negative")
    else:
        reps = int(repeats)
    if isinstance(reps, int) and reps < 0:
        raise RuntimeError("Repeats must be non-negative")
    return RepeatInterleave.apply(input, repeats=reps, axis=axis)


# ----- triangles, diagonals, trace ------------------------------------------------------
class Triangle(Function):
    op = "tril"

    def forward(self, a, k, upper):
        self.k, self.upper = k, upper
        xp = _xp(a)
        return xp.triu(a, k) if upper else xp.tril(a, k)

    def backward(self, g):
        xp = _xp(g)
        return (xp.triu(g, self.k) if self.upper else xp.tril(g, self.k),)


class Triu(Triangle):
    op = "triu"


def _triangle(name, upper):
    def op(input, diagonal=0):
        input = tensor_arg(name, input)
        if input.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return (Triu if upper else Triangle).apply(input, k=int(diagonal), upper=upper)

    op.__name__ = name
    return op


tril = _triangle("tril", False)
triu = _triangle("triu", True)


class DiagEmbed(Function):
    """diag of a vector: the matrix with it on a diagonal."""

    op = "diag"

    def forward(self, a, k):
        self.k = k
        return _xp(a).diag(a, k)

    def backward(self, g):
        return (_xp(g).diagonal(g, self.k).copy(),)


class DiagTake(Function):
    """diag of a matrix: its diagonal, copied."""

    op = "diag"

    def forward(self, a, k):
        self.k, self.shape = k, a.shape
        return _xp(a).diagonal(a, k).copy()

    def backward(self, g):
        xp = _xp(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        rows, cols = self.shape
        i = xp.arange(g.shape[0])
        r, c = (i, i + self.k) if self.k >= 0 else (i - self.k, i)
        if g.shape[0]:
            out[r, c] = g
        return (out,)


def diag(input, diagonal=0):
    input = tensor_arg("diag", input)
    if input.ndim == 1:
        return DiagEmbed.apply(input, k=int(diagonal))
    if input.ndim == 2:
        return DiagTake.apply(input, k=int(diagonal))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class Trace(Function):
    op = "trace"

    def forward(self, a):
        self.shape = a.shape
        out = _xp(a).trace(a)
        if a.dtype.kind in "iub":
            return _xp(a).asarray(out, dtype=np.int64)
        return _xp(a).asarray(out, dtype=a.dtype)

    def backward(self, g):
        return (_xp(g).eye(*self.shape, dtype=g.dtype) * g,)


def trace(input):
    input = tensor_arg("trace", input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return Trace.apply(input)


def mT(input):  # PyTorch's name
    if input.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. Got "
            f"{input.ndim}-D tensor."
        )
    from engine.ops.movement import transpose

    return transpose(input, -2, -1)


# ----- meshgrid -------------------------------------------------------------------------
def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    tensors = [tensor_arg("meshgrid", t, "tensors") for t in tensors]
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                f"a tensor of shape {tuple(t.shape)}"
            )
    if len({t._data.dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(range(len(tensors)))
    if swap:
        order[0], order[1] = 1, 0
    sizes = [tensors[i].numel() for i in order]
    out = []
    for k, t in enumerate(tensors):
        pos = order.index(k)
        shape = [1] * len(tensors)
        shape[pos] = sizes[pos]
        out.append(expand(reshape(t, tuple(shape)), *sizes))
    return tuple(out)
