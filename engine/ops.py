"""Differentiable ops: one Function per primitive, forward and backward side by side."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from engine import backend
from engine.autograd import Function, OpError, unbroadcast
from engine.dtypes import default_dtype
from engine.tensor import Tensor, _shape_arg


def _xp(a):
    return backend.array_module(a)


# ----- operands and type promotion ------------------------------------------


def _constant(value, like: Tensor) -> Tensor:
    """A Python number as a tensor that follows `like`'s dtype, as PyTorch does."""
    dt = like._data.dtype
    if isinstance(value, builtins.bool):
        pass
    elif isinstance(value, int) and dt.kind == "b":
        dt = np.dtype(np.int64)
    elif isinstance(value, float) and dt.kind != "f":
        dt = default_dtype.np
    elif not isinstance(value, int | float):
        if isinstance(value, np.ndarray | np.generic):
            return Tensor._make(np.asarray(value), False, None)
        raise TypeError(f"unsupported operand type {type(value).__name__!r} for a tensor op")
    return Tensor._make(_xp(like._data).asarray(value, dtype=dt), False, None)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Cast two tensors to one dtype with PyTorch's rules (float beats int beats bool)."""
    da, db = a._data.dtype, b._data.dtype
    if da == db:
        return a, b
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if ca != cb:
        target = da if ca > cb else db
    elif a._data.ndim == 0 and b._data.ndim:
        target = db  # a 0-d tensor does not widen a dimensioned one
    elif b._data.ndim == 0 and a._data.ndim:
        target = da
    else:
        target = np.promote_types(da, db)
    if da != target:
        a = Cast.apply(a, dtype=target)
    if db != target:
        b = Cast.apply(b, dtype=target)
    return a, b


def _binary(cls, a, b):
    if not isinstance(a, Tensor):
        a = _constant(a, b)
    elif not isinstance(b, Tensor):
        b = _constant(b, a)
    if a._data.dtype != b._data.dtype:
        a, b = _promote(a, b)
    return cls.apply(a, b)


# ----- elementwise arithmetic -----------------------------------------------


class Add(Function):
    op = "add"

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        sa, sb = self.shapes
        return (
            unbroadcast(g, sa) if self.needs(0) else None,
            unbroadcast(g, sb) if self.needs(1) else None,
        )


class Sub(Function):
    op = "sub"

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        return (
            unbroadcast(g, sa) if self.needs(0) else None,
            unbroadcast(-g, sb) if self.needs(1) else None,
        )


class Mul(Function):
    op = "mul"

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        return (
            unbroadcast(g * b, a.shape) if self.needs(0) else None,
            unbroadcast(g * a, b.shape) if self.needs(1) else None,
        )


class Div(Function):
    op = "div"

    def forward(self, a, b):
        self.a, self.b = a, b
        out = a / b
        if a.dtype.kind != "f" and b.dtype.kind != "f":
            out = out.astype(default_dtype.np)  # true division of integers gives floats
        return out

    def backward(self, g):
        a, b = self.a, self.b
        return (
            unbroadcast(g / b, a.shape) if self.needs(0) else None,
            unbroadcast(-g * a / (b * b), b.shape) if self.needs(1) else None,
        )


class Pow(Function):
    op = "pow"

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g):
        a, b, out = self.a, self.b, self.out
        xp = _xp(a)
        ga = gb = None
        if self.needs(0):
            ga = unbroadcast(g * b * a ** (b - 1), a.shape)
        if self.needs(1):
            # d(a**b)/db = a**b * log(a); PyTorch takes it as 0 where a == 0 and b >= 0
            safe = xp.where((a == 0) & (b >= 0), 1, a)
            gb = unbroadcast(g * out * xp.log(safe), b.shape)
        return ga, gb


class Maximum(Function):
    op = "maximum"

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).maximum(a, b)

    def backward(self, g):
        return _tie_split(g, self.a, self.b, self.a > self.b, self)


class Minimum(Function):
    op = "minimum"

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).minimum(a, b)

    def backward(self, g):
        return _tie_split(g, self.a, self.b, self.a < self.b, self)


def _tie_split(g, a, b, a_wins, node):
    """Route the gradient to the winner; ties share it equally, as PyTorch does."""
    tie = (a == b) * 0.5
    wa = a_wins + tie
    wb = (~a_wins & (a != b)) + tie
    return (
        unbroadcast(g * wa.astype(g.dtype), a.shape) if node.needs(0) else None,
        unbroadcast(g * wb.astype(g.dtype), b.shape) if node.needs(1) else None,
    )


class Where(Function):
    op = "where"

    def forward(self, cond, a, b):
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return _xp(a).where(cond, a, b)

    def backward(self, g):
        zero = g.dtype.type(0)
        sa, sb = self.shapes
        xp = _xp(g)
        return (
            None,
            unbroadcast(xp.where(self.cond, g, zero), sa) if self.needs(1) else None,
            unbroadcast(xp.where(self.cond, zero, g), sb) if self.needs(2) else None,
        )


# ----- elementwise functions of one tensor ----------------------------------


class Neg(Function):
    op = "neg"

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Abs(Function):
    op = "abs"

    def forward(self, a):
        self.a = a
        return _xp(a).abs(a)

    def backward(self, g):
        return (g * _xp(g).sign(self.a),)


class Exp(Function):
    op = "exp"

    def forward(self, a):
        self.out = _xp(a).exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    op = "log"

    def forward(self, a):
        self.a = a
        return _xp(a).log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):
    op = "sqrt"

    def forward(self, a):
        self.out = _xp(a).sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Sin(Function):
    op = "sin"

    def forward(self, a):
        self.a = a
        return _xp(a).sin(a)

    def backward(self, g):
        return (g * _xp(g).cos(self.a),)


class Cos(Function):
    op = "cos"

    def forward(self, a):
        self.a = a
        return _xp(a).cos(a)

    def backward(self, g):
        return (-g * _xp(g).sin(self.a),)


class Tanh(Function):
    op = "tanh"

    def forward(self, a):
        self.out = _xp(a).tanh(a)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class Sigmoid(Function):
    op = "sigmoid"

    def forward(self, a):
        # 0.5 * (1 + tanh(a / 2)) never overflows, unlike 1 / (1 + exp(-a))
        self.out = 0.5 * (1 + _xp(a).tanh(0.5 * a))
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class Relu(Function):
    op = "relu"

    def forward(self, a):
        self.out = _xp(a).maximum(a, 0)
        return self.out

    def backward(self, g):
        return (g * (self.out > 0),)


class LeakyRelu(Function):
    op = "leaky_relu"

    def forward(self, a, negative_slope=0.01):
        self.a, self.slope = a, negative_slope
        return _xp(a).where(a > 0, a, a * a.dtype.type(negative_slope))

    def backward(self, g):
        return (_xp(g).where(self.a > 0, g, g * g.dtype.type(self.slope)),)


class Gelu(Function):
    op = "gelu"

    def forward(self, a, approximate="none"):
        xp = _xp(a)
        self.a, self.approximate = a, approximate
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.t = xp.tanh(k * (a + 0.044715 * a**3))
            return 0.5 * a * (1 + self.t)
        self.cdf = 0.5 * (1 + backend.erf(a * (1 / math.sqrt(2))))
        return a * self.cdf

    def backward(self, g):
        a, xp = self.a, _xp(g)
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            dt = (1 - self.t**2) * k * (1 + 3 * 0.044715 * a**2)
            return (g * (0.5 * (1 + self.t) + 0.5 * a * dt),)
        pdf = xp.exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))
        return (g * (self.cdf + a * pdf),)


class Clamp(Function):
    op = "clamp"

    def forward(self, a, min=None, max=None):  # noqa: A002 (PyTorch's names)
        self.a, self.lo, self.hi = a, min, max
        return _xp(a).clip(a, min, max)

    def backward(self, g):
        keep = _xp(g).ones(g.shape, dtype=bool)
        if self.lo is not None:
            keep &= self.a >= self.lo
        if self.hi is not None:
            keep &= self.a <= self.hi
        return (g * keep,)


class Cast(Function):
    op = "to"

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return (g.astype(self.src),)


class ToDevice(Function):
    op = "to_device"

    def forward(self, a, device):
        self.src = backend.device_of(a)
        return backend.to_device(a, device)

    def backward(self, g):
        return (backend.to_device(g, self.src),)


class Clone(Function):
    op = "clone"

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


# ----- reductions -----------------------------------------------------------


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
        return a.sum(axis=axes, keepdims=keepdim)

    def backward(self, g):
        return (_restore(g, self.shape, self.axes, self.keepdim),)


class Mean(Function):
    op = "mean"

    def forward(self, a, axes, keepdim):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.n = math.prod(a.shape[i] for i in axes)
        total = a.sum(axis=axes, keepdims=keepdim)
        return total / total.dtype.type(self.n) if self.n else total * np.nan

    def backward(self, g):
        return (
            _restore(
                g / g.dtype.type(builtins.max(self.n, 1)), self.shape, self.axes, self.keepdim
            ),
        )


class Var(Function):
    op = "var"

    def forward(self, a, axes, keepdim, correction):
        n = math.prod(a.shape[i] for i in axes)
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.centred = a - a.mean(axis=axes, keepdims=True)
        self.denom = a.dtype.type(builtins.max(n - correction, 0))
        return (self.centred * self.centred).sum(axis=axes, keepdims=keepdim) / self.denom

    def backward(self, g):
        g = _restore(g, self.shape, self.axes, self.keepdim)
        return (g * self.centred * (2 / self.denom),)


class Extremum(Function):
    """max or min over all elements: ties share the gradient equally."""

    def forward(self, a):
        if a.size == 0:
            raise OpError(
                f"{self.op}(): expected a non-empty tensor; pass dim= to reduce an empty one"
            )
        self.a = a
        self.out = a.max() if self.op == "max" else a.min()
        return self.out

    def backward(self, g):
        hit = self.a == self.out
        return (g * hit / hit.sum(),)


class Max(Extremum):
    op = "max"


class Min(Extremum):
    op = "min"


class ExtremumDim(Function):
    """max or min along one dim: the gradient goes to the index returned."""

    def forward(self, a, dim, keepdim):
        if a.shape and a.shape[dim] == 0:
            raise OpError(
                f"{self.op}(): cannot reduce over dimension {dim} of size 0 (shape {a.shape})"
            )
        xp = _xp(a)
        idx = a.argmax(axis=dim) if self.op == "max" else a.argmin(axis=dim)
        self.indices = xp.expand_dims(idx, dim) if a.ndim else idx
        values = xp.take_along_axis(a, self.indices, axis=dim) if a.ndim else a
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


# ----- shapes ---------------------------------------------------------------


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


def _is_advanced(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) or hasattr(p, "__cuda_array_interface__") for p in parts)


class Index(Function):
    op = "index"

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        xp = _xp(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _is_advanced(self.index):
            backend.index_add(out, self.index, g)  # repeated indices must add up
        else:
            out[self.index] = g
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


# ----- matrix product -------------------------------------------------------


class Matmul(Function):
    op = "matmul"
    fresh_grads = True

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise OpError(
                f"matmul: both arguments need at least 1 dimension, got {a.shape} and {b.shape}"
            )
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise OpError(
                f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({k_a} != {k_b})"
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b, xp = self.a, self.b, _xp(g)
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return (g * b if self.needs(0) else None, g * a if self.needs(1) else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        ga = gb = None
        if self.needs(0):
            ga = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs(1):
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return ga, gb


# ----- the public functions (also bound as Tensor methods below) -----------


def add(input, other, *, alpha=1):  # noqa: A002 (PyTorch's names)
    return _binary(Add, input, other if alpha == 1 else other * alpha)


def sub(input, other, *, alpha=1):  # noqa: A002
    return _binary(Sub, input, other if alpha == 1 else other * alpha)


def mul(input, other):  # noqa: A002
    return _binary(Mul, input, other)


def div(input, other):  # noqa: A002
    a, b = input, other
    if not isinstance(a, Tensor):
        a = _constant(a, b)
    if not isinstance(b, Tensor):
        b = _constant(b, a)
    return _binary(Div, a, b)


def pow(input, exponent):  # noqa: A001, A002
    return _binary(Pow, input, exponent)


def matmul(input, other):  # noqa: A002
    return _binary(Matmul, input, other)


def maximum(input, other):  # noqa: A002
    return _binary(Maximum, input, other)


def minimum(input, other):  # noqa: A002
    return _binary(Minimum, input, other)


def where(condition, input, other):  # noqa: A002
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("where: at least one of input and other must be a tensor")
    a, b = input, other
    if not isinstance(a, Tensor):
        a = _constant(a, b)
    if not isinstance(b, Tensor):
        b = _constant(b, a)
    a, b = _promote(a, b)
    cond = condition if isinstance(condition, Tensor) else Tensor(condition)
    if cond._data.dtype != np.bool_:
        cond = Tensor._make(cond._data.astype(bool), False, None)
    return Where.apply(cond, a, b)


def neg(input):  # noqa: A002
    return Neg.apply(input)


def abs(input):  # noqa: A001, A002
    return Abs.apply(input)


def exp(input):  # noqa: A002
    return Exp.apply(_floating(input))


def log(input):  # noqa: A002
    return Log.apply(_floating(input))


def sqrt(input):  # noqa: A002
    return Sqrt.apply(_floating(input))


def sin(input):  # noqa: A002
    return Sin.apply(_floating(input))


def cos(input):  # noqa: A002
    return Cos.apply(_floating(input))


def tanh(input):  # noqa: A002
    return Tanh.apply(_floating(input))


def sigmoid(input):  # noqa: A002
    return Sigmoid.apply(_floating(input))


def relu(input):  # noqa: A002
    return Relu.apply(input)


def clamp(input, min=None, max=None):  # noqa: A001, A002
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    return Clamp.apply(input, min=min, max=max)


def _floating(t: Tensor) -> Tensor:
    return t if t._data.dtype.kind == "f" else Cast.apply(t, dtype=default_dtype.np)


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001, A002
    if dtype is not None:
        input = input.to(dtype)  # noqa: A001
    return Sum.apply(input, axes=_axes(dim, input.ndim, "sum"), keepdim=keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    if dtype is not None:
        input = input.to(dtype)  # noqa: A001
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


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    if isinstance(dim, builtins.bool):  # var(unbiased) positional form
        dim, unbiased = None, dim
    axes = _axes(dim, input.ndim, "var")
    return Var.apply(
        _floating(input), axes=axes, keepdim=keepdim, correction=_correction(unbiased, correction)
    )


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


MinMax = namedtuple("MinMax", ["values", "indices"])


def _extremum(input, dim, keepdim, other, whole, along, pair):
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return _binary(pair, input, other)
    if dim is None:
        return whole.apply(input)
    axis = _axes(dim, input.ndim, whole.op)
    axis = axis[0] if axis else 0
    values = along.apply(input, dim=axis, keepdim=keepdim)
    node = values._ctx
    if node is None:  # no graph was recorded: recompute the indices directly
        return MinMax(values, _argext(input, axis, keepdim, whole.op))
    return MinMax(values, node.index_tensor())


def _argext(input, axis, keepdim, op):
    a = input._data
    idx = a.argmax(axis=axis) if op == "max" else a.argmin(axis=axis)
    if keepdim and a.ndim:
        idx = _xp(a).expand_dims(idx, axis)
    return Tensor._make(_xp(a).asarray(idx, dtype=np.int64), False, None)


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001, A002
    return _extremum(input, dim, keepdim, other, Max, MaxDim, Maximum)


def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001, A002
    return _extremum(input, dim, keepdim, other, Min, MinDim, Minimum)


def argmax(input, dim=None, keepdim=False):  # noqa: A002
    if dim is None:
        flat = input._data.reshape(-1)
        return Tensor._make(_xp(flat).asarray(flat.argmax(), dtype=np.int64), False, None)
    return _argext(input, _axes(dim, input.ndim, "argmax")[0], keepdim, "max")


def argmin(input, dim=None, keepdim=False):  # noqa: A002
    if dim is None:
        flat = input._data.reshape(-1)
        return Tensor._make(_xp(flat).asarray(flat.argmin(), dtype=np.int64), False, None)
    return _argext(input, _axes(dim, input.ndim, "argmin")[0], keepdim, "min")


def reshape(input, *shape):  # noqa: A002
    return Reshape.apply(input, shape=_shape_arg(shape))


def view(input, *shape):  # noqa: A002
    if len(shape) == 1 and not isinstance(shape[0], int | list | tuple):
        return input.to(shape[0])  # view(dtype)
    return Reshape.apply(input, shape=_shape_arg(shape))


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    shape = input.shape
    if not shape:
        return Reshape.apply(input, shape=(1,))
    start, end = _axes((start_dim, end_dim), len(shape), "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    new = shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :]
    return Reshape.apply(input, shape=new)


def permute(input, *dims):  # noqa: A002
    dims = _shape_arg(dims)
    axes = _axes(dims, input.ndim, "permute")
    if sorted(axes) != list(range(input.ndim)):
        raise RuntimeError(
            f"permute: dims {list(dims)} are not a permutation of the {input.ndim} dimensions "
            f"of a tensor of shape {tuple(input.shape)}"
        )
    return Permute.apply(input, axes=axes)


def transpose(input, dim0, dim1):  # noqa: A002
    d0, d1 = _axes((dim0, dim1), input.ndim, "transpose") or (0, 0)
    axes = list(range(input.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(input, axes=tuple(axes))


def t(input):  # noqa: A002
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, -1) if input.ndim == 2 else input


def unsqueeze(input, dim):  # noqa: A002
    n = input.ndim + 1
    if not -n <= dim < n:
        raise IndexError(
            f"unsqueeze: dimension {dim} is out of range for a result with {n} dimensions"
        )
    shape = list(input.shape)
    shape.insert(dim % n, 1)
    return Reshape.apply(input, shape=tuple(shape))


def squeeze(input, dim=None):  # noqa: A002
    shape = input.shape
    axes = set(_axes(dim, len(shape), "squeeze"))
    new = tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1))
    return Reshape.apply(input, shape=new)


def expand(input, *sizes):  # noqa: A002
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
    return Expand.apply(input, shape=tuple(target))


def expand_as(input, other):  # noqa: A002
    return expand(input, *other.shape)


def getitem(input, index):  # noqa: A002
    return Index.apply(input, index=index_for(index))


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


def _compare(ufunc_name):
    def compare(input, other):  # noqa: A002
        b = other._data if isinstance(other, Tensor) else other
        out = getattr(_xp(input._data), ufunc_name)(input._data, b)
        return Tensor._make(_xp(out).asarray(out), False, None)

    compare.__name__ = ufunc_name
    return compare


eq = _compare("equal")
ne = _compare("not_equal")
lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")


def _reflected(fn):
    return lambda self, other: fn(other, self)


_METHODS = {
    "__add__": add, "__radd__": _reflected(add), "add": add,
    "__sub__": sub, "__rsub__": _reflected(sub), "sub": sub,
    "__mul__": mul, "__rmul__": _reflected(mul), "mul": mul,
    "__truediv__": div, "__rtruediv__": _reflected(div), "div": div,
    "__pow__": pow, "__rpow__": _reflected(pow), "pow": pow,
    "__matmul__": matmul, "__rmatmul__": _reflected(matmul), "matmul": matmul, "mm": matmul,
    "__neg__": neg, "neg": neg, "__abs__": abs, "abs": abs,
    "exp": exp, "log": log, "sqrt": sqrt, "sin": sin, "cos": cos, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu, "clamp": clamp, "clip": clamp,
    "maximum": maximum, "minimum": minimum,
    "sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min,
    "argmax": argmax, "argmin": argmin,
    "reshape": reshape, "view": view, "flatten": flatten, "permute": permute,
    "transpose": transpose, "t": t, "unsqueeze": unsqueeze, "squeeze": squeeze,
    "expand": expand, "expand_as": expand_as, "__getitem__": getitem,
    "__eq__": eq, "eq": eq, "__ne__": ne, "ne": ne, "__lt__": lt, "lt": lt,
    "__le__": le, "le": le, "__gt__": gt, "gt": gt, "__ge__": ge, "ge": ge,
}  # fmt: skip

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


def view_as(input, other):  # noqa: A002
    return reshape(input, *other.shape)


Tensor.view_as = view_as
Tensor.where = lambda self, condition, other: where(condition, self, other)
Tensor.reshape_as = view_as
