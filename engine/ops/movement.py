"""Ops that move elements: reshape, permute, expand, indexing, cat and stack."""

from __future__ import annotations

import math

import numpy as np

from engine import backend
from engine.autograd import Function, OpError, unbroadcast, version_counter
from engine.ops.elementwise import _promote, _xp, tensor_arg
from engine.ops.reduce import _axes
from engine.tensor import Tensor, _shape_arg


def _contiguous(arr):
    """`arr` laid out row-major, as PyTorch lays out what cat, stack and indexing by arrays
    make (NumPy may keep its inputs' order), so that view() sees the same strides."""
    return arr if arr.flags.c_contiguous else _xp(arr).ascontiguousarray(arr)


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
        return backend.broadcast_view(a, shape)

    def backward(self, g):
        return (unbroadcast(g, self.shape),)


def index_for(index):
    """Turn tensors and lists inside an index into arrays NumPy understands."""
    if isinstance(index, tuple):
        return tuple(index_for(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        arr = np.asarray([i._data if isinstance(i, Tensor) else i for i in index])
        return arr.astype(np.int64) if arr.size == 0 else arr  # [] selects nothing
    return index


def _is_array(part) -> bool:
    return isinstance(part, np.ndarray) or hasattr(part, "__cuda_array_interface__")


def _is_int(part) -> bool:
    return isinstance(part, int | np.integer) and not isinstance(part, bool | np.bool_)


def _is_advanced(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) or hasattr(p, "__cuda_array_interface__") for p in parts)


def check_steps(index, shape) -> None:
    """PyTorch's errors in the order it meets them: an int out of range before a slice
    with a step below 1 (it has no reversed views)."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(p, slice) and p.step is not None and p.step <= 0 for p in parts):
        check_basic(parts, shape)


def check_basic(index, shape) -> None:
    """The errors of an index's ints and slices, which PyTorch meets before anything else
    (for `t[index] = value`, before the refusals of a change in place)."""
    parts = index if isinstance(index, tuple) else (index,)
    dim = 0
    for p in parts:
        if p is Ellipsis:
            dim += len(shape) - sum(_dims_taken(q) for q in parts)
        elif isinstance(p, slice):
            if p.step is not None and p.step <= 0:
                raise ValueError("step must be greater than zero")
            dim += 1
        elif _is_int(p) and dim < len(shape) and not -shape[dim] <= p < shape[dim]:
            raise IndexError(
                f"index {p} is out of bounds for dimension {dim} with size {shape[dim]}"
            )
        else:
            dim += _dims_taken(p)


def _in_bounds(index, shape) -> tuple:
    """`index` with its integer arrays' entries taken as 0 (on dims with any elements)."""
    parts = index if isinstance(index, tuple) else (index,)
    out, dim = [], 0
    for p in parts:
        if p is Ellipsis:
            dim += len(shape) - sum(_dims_taken(q) for q in parts)
        elif _is_array(p) and p.dtype != np.bool_ and dim < len(shape) and shape[dim]:
            p = p * 0
        out.append(p)
        dim += 0 if p is Ellipsis else _dims_taken(p)
    return tuple(out)


def _dims_taken(part) -> int:
    """How many of the indexed tensor's dimensions one part of an index uses."""
    if part is None or part is Ellipsis or isinstance(part, bool):
        return 0
    if getattr(part, "dtype", None) == np.bool_:
        return part.ndim
    return 1


def one_ellipsis(parts: tuple, ndim: int) -> tuple:
    """An index with several `...` as PyTorch reads it, rewritten with one for NumPy.

    PyTorch moves past `ndim - (dimensions the other parts use)` dimensions at every `...`;
    past the last dimension a slice from 0 by 1 does nothing and None appends one, as there.
    """
    rest = ndim - sum(_dims_taken(p) for p in parts)
    if rest < 0:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    out, seen, at, size = [], False, 0, ndim  # at: PyTorch's position in the result
    for p in parts:
        if p is Ellipsis:
            out.extend([slice(None)] * (rest if not seen else max(0, min(rest, size - at))))
            seen, at = True, at + rest
        elif at >= size and isinstance(p, slice) and p.start in (None, 0) and p.step in (None, 1):
            at += 1  # PyTorch returns a slice from 0 by 1 unchanged, whatever its stop
        elif at > size or (at == size and p is not None):
            raise IndexError(
                f"index: dimension {at} is out of range for the {size}-dimensional result"
            )
        else:
            out.append(p)
            if p is None:
                size, at = size + 1, at + 1
            elif isinstance(p, int) and not isinstance(p, bool):
                size -= 1
            else:
                at += 1
    return tuple(out)


class Index(Function):
    """Basic indexing (ints, slices, None, ...): a view."""

    op = "index"

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        try:
            out = a[index]
            return _contiguous(out) if _is_advanced(index) else out
        except IndexError:
            # PyTorch checks array indices only while it fills the result: none when empty
            self.index = _in_bounds(index, a.shape)
            out = a[self.index]
            if out.size:
                raise
            return out

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
        # PyTorch leaves out empty 1-d tensors whatever the other shapes (legacy behaviour)
        self.kept = [i for i, a in enumerate(arrays) if a.shape != (0,)] or [0]
        if len(self.kept) < len(arrays):
            arrays = [arrays[i] for i in self.kept]
        self.sizes = [a.shape[dim] for a in arrays]
        self.dim = dim
        return _contiguous(_xp(arrays[0]).concatenate(arrays, axis=dim))

    def backward(self, g):
        xp = _xp(g)
        cuts = np.cumsum(self.sizes)[:-1].tolist()
        parts = dict(zip(self.kept, xp.split(g, cuts, axis=self.dim), strict=True))
        return tuple(
            (parts[i] if i in parts else xp.zeros((0,), g.dtype)) if self.needs(i) else None
            for i in range(len(self.parents))
        )


class Stack(Function):
    op = "stack"

    def forward(self, *arrays, dim):
        self.dim = dim
        return _contiguous(_xp(arrays[0]).stack(arrays, axis=dim))

    def backward(self, g):
        xp = _xp(g)
        return tuple(
            xp.take(g, i, axis=self.dim) if self.needs(i) else None
            for i in range(len(self.parents))
        )


def _new_shape(op: str, shape) -> tuple:
    if not shape:
        raise TypeError(f'{op}() missing 1 required positional arguments: "shape"')
    shape = _shape_arg(shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (shape {list(shape)})")
    return shape


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
    if source.size and not _xp(source).may_share_memory(out._data, source):
        return out  # the array library had to copy: not a view, as PyTorch's reshape
    # (an empty tensor shares no memory, yet PyTorch's reshape of one is always a view)
    return _viewing(out, input, lambda a: a.reshape(shape))


def reshape(input, *shape):
    return _reshaped(input, _new_shape("reshape", shape))


def view(input, *shape):
    if len(shape) == 1 and not isinstance(shape[0], int | list | tuple):
        return input.to(shape[0])  # view(dtype)
    shape = _new_shape("view", shape)
    arr = input._data
    if not arr.flags.c_contiguous and -1 not in shape and math.prod(shape) == arr.size:
        if _view_strides(arr.shape, [s // arr.itemsize for s in arr.strides], shape) is None:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
    elif not arr.flags.c_contiguous and -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        if known and arr.size % known == 0:
            return view(input, *(arr.size // known if n == -1 else n for n in shape))
    return _reshaped(input, shape)


def _view_strides(old_shape, old_strides, new_shape):
    """PyTorch's rule for a view (computeStride): the new shape's strides over the same
    memory, or None when some new dimension would span two separate runs of memory."""
    if not old_shape:
        return [1] * len(new_shape)
    if math.prod(old_shape) == 0:
        return list(new_shape)  # any strides will do: nothing is read
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    base, tensor_numel, view_numel = old_strides[-1], 1, 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (
            old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * base
        ):  # the end of a run of dimensions contiguous with each other
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                base, tensor_numel, view_numel = old_strides[d - 1], 1, 1
    return None if view_d != -1 else new_strides


def flatten(input, start_dim=0, end_dim=-1):
    shape = input.shape
    if not shape:
        return _reshaped(input, (1,))
    start, end = _axes((start_dim, end_dim), len(shape), "flatten")
    if start > end:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    if start == end:
        return input  # PyTorch returns the tensor itself: nothing to merge
    new = shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :]
    return _reshaped(input, new)


def permute(input, *dims):
    dims = _shape_arg(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(
            f"permute: the number of dims ({len(dims)}) does not match the tensor's "
            f"dimensions ({input.ndim})"
        )
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
    axes = list(range(input.ndim))
    dims = _axes((dim0, dim1), input.ndim, "transpose")
    if dims:  # a 0-d tensor takes dims 0 and -1 and stays as it is (a new view)
        axes[dims[0]], axes[dims[1]] = axes[dims[1]], axes[dims[0]]
    return _permuted(input, tuple(axes))


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, -1)  # a view even of a 0-d or 1-d tensor, as in PyTorch


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
        Expand.apply(input, shape=target), input, lambda a: backend.broadcast_view(a, target)
    )


def expand_as(input, other):
    return expand(input, *other.shape)


def getitem(input, index):
    out = _getitem(input, index_for(index))
    node = out._ctx
    if isinstance(node, AdvancedIndex):
        # PyTorch saves the index tensors (a bool mask too) for backward: a change to one
        # in place afterwards makes backward fail. A 0-d bool is read as a Python bool
        # there, so its value now is what counts: backward reads a copy
        node.index = tuple(
            p.copy() if _is_array(p) and p.ndim == 0 and p.dtype == np.bool_ else p
            for p in (node.index if isinstance(node.index, tuple) else (node.index,))
        )
        parts = index if isinstance(index, tuple) else (index,)
        for t in parts:
            if isinstance(t, Tensor) and not (t.ndim == 0 and t._data.dtype == np.bool_):
                counter = version_counter(t)
                node.saved += ((counter, counter.value, "index", t._data),)
    return out


def _getitem(input, index):
    check_steps(index, input.shape)
    if isinstance(index, tuple) and sum(p is Ellipsis for p in index) > 1:
        index = one_ellipsis(index, input.ndim)
    if (
        isinstance(index, tuple)
        and Ellipsis in [p for p in index if not _is_array(p)]
        and _is_advanced(index)
        and sum(_dims_taken(p) for p in index) == input.ndim
    ):  # a `...` of no dimensions does not part two arrays in PyTorch, as it does in NumPy
        index = tuple(p for p in index if p is not Ellipsis)
    if isinstance(index, tuple) and _is_advanced(index) and any(_is_int(p) for p in index):
        # PyTorch selects with the ints first, then indexes with the arrays; NumPy would
        # broadcast the ints with the arrays (x[0, :, [0, 1]] is (3, 2) there, (2, 3) here)
        basic = [slice(None)] * len(index)
        for i, p in enumerate(index):
            if not _is_array(p):
                basic[i] = p
            elif p.dtype == np.bool_:
                basic[i : i + 1] = [slice(None)] * p.ndim
        input = Index.apply(input, index=tuple(basic))
        index = tuple(
            p if _is_array(p) or p is Ellipsis else slice(None) for p in index if not _is_int(p)
        )
    parts = index if isinstance(index, tuple) else (index,)
    if backend.cuda_used and not input.is_cuda:
        if any(hasattr(p, "__cuda_array_interface__") for p in parts):
            raise RuntimeError(
                "index: indices should be either on cpu or on the same device as the indexed "
                "tensor (cpu)"
            )
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


def _common_dtype(tensors: list) -> list:
    """The tensors cast to PyTorch's result type of them all (float beats int beats bool)."""
    if len({t._data.dtype for t in tensors}) < 2:
        return tensors
    target = tensors[0]
    for t in tensors[1:]:
        target = _promote(target, t.detach())[0].detach()
    return [t if t._data.dtype == target._data.dtype else t.to(target.dtype) for t in tensors]


def cat(tensors, dim=0):
    tensors = _common_dtype([tensor_arg("cat", t, "tensors") for t in tensors])
    if any(t.ndim == 0 for t in tensors):
        raise RuntimeError("cat: zero-dimensional tensor cannot be concatenated")
    shaped = [t for t in tensors if t.shape != (0,)]  # PyTorch skips empty 1-d tensors
    if not shaped:
        _check_same(tensors, 0, "cat")  # refuses an empty list
        return Cat.apply(*tensors, dim=0)
    d = _axes(dim, shaped[0].ndim, "cat")[0]
    _check_same(shaped, d, "cat")
    return Cat.apply(*tensors, dim=d)


def stack(tensors, dim=0):
    tensors = _common_dtype([tensor_arg("stack", t, "tensors") for t in tensors])
    _check_same(tensors, -1, "stack")
    n = tensors[0].ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"stack: dimension {dim} is out of range for a result with {n} dimensions")
    return Stack.apply(*tensors, dim=dim % n)


def view_as(input, other):
    return reshape(input, *other.shape)


def unflatten(input, dim: int, sizes):
    """`input` with dim `dim` split into `sizes`, as Tensor.unflatten."""
    shape = tuple(input.shape)
    if not -max(len(shape), 1) <= dim < max(len(shape), 1):
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(len(shape), 1)}, "
            f"{max(len(shape), 1) - 1}], but got {dim})"
        )
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    dim %= max(len(shape), 1)
    sizes = list(sizes)
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(n for n in sizes if n != -1)
    if -1 in sizes:
        if known == 0 or shape[dim] % known:
            raise RuntimeError(
                f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} "
                f"({shape[dim]}) in the input tensor"
            )
        sizes[sizes.index(-1)] = shape[dim] // known
    elif known != shape[dim]:
        raise RuntimeError(
            f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} "
            f"({shape[dim]}) in the input tensor"
        )
    return reshape(input, *shape[:dim], *sizes, *shape[dim + 1 :])
