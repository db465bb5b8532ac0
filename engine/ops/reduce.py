"""Reductions: sum, mean, var, std, max, min, argmax, argmin."""

from __future__ import annotations

import builtins
import math

import numpy as np

from engine import _fast, return_types
from engine.autograd import Function, OpError
from engine.ops.elementwise import Maximum, Minimum, _binary, _floating, _xp
from engine.tensor import NO_DIM, Tensor


def _axes(dim, ndim: int, op: str):
    """Normalise `dim` (None, int or sequence) to a tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        bound = builtins.max(ndim, 1)
        if not -bound <= d < bound:
            raise IndexError(
                f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions "
                f"(expected to be in range of [{-bound}, {bound - 1}])"
            )
        out.append(d % bound)
    return tuple(out) if ndim else ()


def _restore(g, in_shape, axes, keepdim):
    """Broadcast a reduced gradient back over the reduced axes."""
    if not keepdim:
        g = _xp(g).expand_dims(g, axes) if axes else g
    return _xp(g).broadcast_to(g, in_shape)


class Sum(Function):
    op = "sum"

    def forward(self, a, axes, keepdim):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        out = a.sum(axis=axes, keepdims=keepdim, dtype=a.dtype)  # NumPy widens uint8 sums
        return out if out.flags.c_contiguous else _xp(a).ascontiguousarray(out)

    def backward(self, g):
        return (_restore(g, self.shape, self.axes, self.keepdim),)


class Mean(Function):
    op = "mean"

    def forward(self, a, axes, keepdim):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.n = math.prod(a.shape[i] for i in axes)
        total = a.sum(axis=axes, keepdims=keepdim)
        if not total.flags.c_contiguous:  # PyTorch's reductions give contiguous results
            total = _xp(a).ascontiguousarray(total)
        return total / total.dtype.type(self.n) if self.n else total * np.nan

    def backward(self, g):
        return (
            _restore(
                g / g.dtype.type(builtins.max(self.n, 1)), self.shape, self.axes, self.keepdim
            ),
        )


class Var(Function):
    op = "var"
    saves = ((0, None),)

    def forward(self, a, axes, keepdim, correction, whole=False):
        return self.wide(a, axes, keepdim, correction, whole).astype(a.dtype, copy=False)

    def wide(self, a, axes, keepdim, correction, whole=False):
        """The variance, of a float32 input in float64: PyTorch accumulates it so, and its
        std takes the root before rounding (squares past 3e38 stay finite)."""
        n = math.prod(a.shape[i] for i in axes)
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.centred = a - a.mean(axis=axes, keepdims=True)  # backward's, in a's dtype
        self.denom = a.dtype.type(builtins.max(n - correction, 0))
        self.slope = a.dtype.type(2 / (n - correction)) if n != correction else None
        self.at_mean = None
        if whole and n - correction <= 0:
            # PyTorch's backward of a 0-d tensor's or all dims' variance with no degrees of
            # freedom is g * (NaN where x == its mean, else inf): a NaN x gets inf there
            self.at_mean = a == a.mean()
        if a.dtype != np.float32:
            return (self.centred * self.centred).sum(axis=axes, keepdims=keepdim) / self.denom
        wide = a.astype(np.float64)
        wide -= wide.mean(axis=axes, keepdims=True)
        return (wide * wide).sum(axis=axes, keepdims=keepdim) / np.float64(self.denom)

    def backward(self, g):
        g = _restore(g, self.shape, self.axes, self.keepdim)
        if self.at_mean is not None:
            xp = _xp(g)
            return (g * xp.where(self.at_mean, g.dtype.type(np.nan), g.dtype.type(np.inf)),)
        # PyTorch's 2 / (n - correction): negative where the correction passes n
        slope = self.slope if self.slope is not None else 2 / self.denom
        return (g * self.centred * slope,)


class Std(Var):
    """sqrt(var) as one op: where the std is 0 (a constant input) the gradient is 0, as in
    PyTorch, not the NaN of sqrt's infinite slope times var's zero one."""

    op = "std"
    saves = ((0, None), ("out", None))

    def forward(self, a, axes, keepdim, correction):
        wide = self.wide(a, axes, keepdim, correction)
        self.out = _xp(a).sqrt(wide).astype(a.dtype, copy=False)
        return self.out

    def backward(self, g):
        xp = _xp(g)
        return super().backward(_fast.select(xp, self.out != 0, g / (2 * self.out)))


class Extremum(Function):
    """max or min over all elements: ties share the gradient equally; a NaN is the
    result wherever there is one, and the NaNs share the gradient."""

    saves = ((0, None), ("out", None))

    def forward(self, a):
        if a.size == 0:
            raise OpError(
                f"{self.op}(): expected a non-empty tensor; pass dim= to reduce an empty one"
            )
        self.a = a
        self.out = a.max() if self.op == "max" else a.min()
        return self.out

    def backward(self, g):
        xp = _xp(g)
        hit = xp.isnan(self.a) if bool(xp.isnan(self.out)) else self.a == self.out
        return (_fast.select(xp, hit, g / hit.sum().astype(g.dtype)),)


class Max(Extremum):
    op = "max"


class Min(Extremum):
    op = "min"


class ExtremumDim(Function):
    """max or min along one dim: the gradient goes to the index returned."""

    saves_others = True  # the indices

    def forward(self, a, dim, keepdim):
        if a.shape and a.shape[dim] == 0:
            raise OpError(
                f"{self.op}(): cannot reduce over dimension {dim} of size 0 (shape {a.shape})"
            )
        xp = _xp(a)
        idx = a.argmax(axis=dim) if self.op == "max" else a.argmin(axis=dim)
        self.indices = xp.expand_dims(idx, dim) if a.ndim else xp.asarray(idx)  # not a scalar
        values = xp.take_along_axis(a, self.indices, axis=dim) if a.ndim else a.copy()
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        if not keepdim and a.ndim:
            values = values.squeeze(dim)
        return values

    def backward(self, g):
        if not self.shape:
            return (g,)
        xp = _xp(g)
        if not self.keepdim:
            g = xp.expand_dims(g, self.dim)
        out = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(out, self.indices, g, axis=self.dim)
        return (out,)

    def index_tensor(self) -> Tensor:
        idx = self.indices if self.keepdim or not self.shape else self.indices.squeeze(self.dim)
        return Tensor._make(idx.astype(np.int64), False, None)


class MaxDim(ExtremumDim):
    op = "max"


class MinDim(ExtremumDim):
    op = "min"


def _dim_given(op: str, dim, keepdim):
    if dim is NO_DIM:
        if keepdim:
            raise TypeError(
                f"{op}() received an invalid combination of arguments - got (keepdim=bool): "
                f"keepdim needs a dim (dim=None reduces over all dimensions)"
            )
        return None
    return dim


def sum(input, dim=NO_DIM, keepdim=False, *, dtype=None):
    dim = _dim_given("sum", dim, keepdim)
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(np.int64)  # integer and bool sums are int64, as in PyTorch
    return Sum.apply(input, axes=_axes(dim, input.ndim, "sum"), keepdim=keepdim)


def mean(input, dim=NO_DIM, keepdim=False, *, dtype=None):
    dim = _dim_given("mean", dim, keepdim)
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {input.dtype}"
        )
    return Mean.apply(input, axes=_axes(dim, input.ndim, "mean"), keepdim=keepdim)


def _correction(unbiased, correction) -> int:
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, builtins.bool):  # var(unbiased) positional form
        dim, unbiased = None, dim
    if input._data.dtype.kind not in "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    axes = _axes(dim, input.ndim, "var")
    return Var.apply(
        _floating(input),
        axes=axes,
        keepdim=keepdim,
        correction=_correction(unbiased, correction),
        whole=dim is None or input.ndim == 0,
    )


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, builtins.bool):  # std(unbiased) positional form
        dim, unbiased = None, dim
    if input._data.dtype.kind not in "f":  # before the dims, as in PyTorch
        raise RuntimeError("std and var only support floating point and complex dtypes")
    axes = _axes(dim, input.ndim, "std")
    return Std.apply(
        _floating(input), axes=axes, keepdim=keepdim, correction=_correction(unbiased, correction)
    )


def _extremum(input, dim, keepdim, other, whole, along, pair):
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return _binary(pair, input, other)
    if dim is None:
        if keepdim:
            raise TypeError(
                f"{whole.op}() received an invalid combination of arguments - got "
                "(keepdim=bool): keepdim needs a dim"
            )
        return whole.apply(input)
    axis = _axes(dim, input.ndim, whole.op)
    axis = axis[0] if axis else 0
    _nonempty(input, axis, whole.op)
    values = along.apply(input, dim=axis, keepdim=keepdim)
    node = values._ctx
    if node is None:  # no graph was recorded: recompute the indices directly
        return getattr(return_types, whole.op)(values, _argext(input, axis, keepdim, whole.op))
    return getattr(return_types, whole.op)(values, node.index_tensor())


def _argext(input, axis, keepdim, op):
    a = input._data
    idx = a.argmax(axis=axis) if op == "max" else a.argmin(axis=axis)
    if keepdim and a.ndim:
        idx = _xp(a).expand_dims(idx, axis)
    return Tensor._make(_xp(a).asarray(idx, dtype=np.int64), False, None)


def max(input, dim=None, keepdim=False, *, other=None):
    return _extremum(input, dim, keepdim, other, Max, MaxDim, Maximum)


def min(input, dim=None, keepdim=False, *, other=None):
    return _extremum(input, dim, keepdim, other, Min, MinDim, Minimum)


def _nonempty(input, axis, op) -> None:
    """PyTorch's IndexError for an arg/max/min over a dimension (or a whole tensor) of size 0."""
    if input._data.size:
        return
    if axis is None:
        raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
    if input.ndim and input.shape[axis] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {axis} to have non-zero size.")


def _arg(input, dim, keepdim, op):
    if input._data.dtype.kind == "b":
        raise RuntimeError(f"{op}(): does not support bool input")
    if dim is None:
        _nonempty(input, None, op)
        flat = input._data.reshape(-1)
        idx = flat.argmax() if op == "argmax" else flat.argmin()
        shape = (1,) * input.ndim if keepdim else ()  # keepdim keeps every dimension as 1
        return Tensor._make(_xp(flat).asarray(idx, dtype=np.int64).reshape(shape), False, None)
    axes = _axes(dim, input.ndim, op)
    if not axes:  # a 0-d tensor: dim 0 or -1 is the one element
        return Tensor._make(_xp(input._data).zeros((), dtype=np.int64), False, None)
    _nonempty(input, axes[0], op)
    return _argext(input, axes[0], keepdim, op[3:])


def argmax(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, "argmax")


def argmin(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, "argmin")
