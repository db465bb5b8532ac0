"""Running reductions along a dim: cumsum and cumprod."""

from __future__ import annotations

import numpy as np

from engine.autograd import Function
from engine.ops.aggregate import accumulated
from engine.ops.elementwise import _xp, tensor_arg
from engine.ops.reduce import _axes


def _running(name: str, a, axis):
    """cumsum or cumprod along `axis`; a float32 or float16 one accumulates in float64 and
    rounds each result, as PyTorch's CPU kernels do."""
    wide = np.float64 if a.dtype.kind == "f" else a.dtype
    return getattr(_xp(a), name)(a, axis=axis, dtype=wide).astype(a.dtype, copy=False)


def _reverse_cumsum(g, axis):
    xp = _xp(g)
    return xp.flip(_running("cumsum", xp.flip(g, axis), axis), axis)


class CumSum(Function):
    op = "cumsum"

    def forward(self, a, axis):
        self.axis = axis
        if a.ndim == 0:
            return a.copy()
        return _running("cumsum", a, axis)

    def backward(self, g):
        return (g if g.ndim == 0 else _reverse_cumsum(g, self.axis),)


class CumProd(Function):
    """The running product. Its gradient at x[k] is sum over j >= k of g[j] times the
    product of x[:j + 1] without x[k]: where a slice holds a zero, only the elements up to
    its first zero get one, computed without dividing by that zero."""

    op = "cumprod"
    saves = ((0, None), ("out", None))

    def forward(self, a, axis):
        self.a, self.axis = a, axis
        if a.ndim == 0:
            self.out = a.copy()
        else:
            self.out = _running("cumprod", a, axis)
        return self.out

    def backward(self, g):
        a, out, axis, xp = self.a, self.out, self.axis, _xp(g)
        if a.ndim == 0 or not a.size:
            return (g,)
        zero, one = g.dtype.type(0), g.dtype.type(1)
        shape = [1] * a.ndim
        shape[axis] = a.shape[axis]
        position = xp.arange(a.shape[axis]).reshape(shape)
        zeros = a == 0
        # the first zero of each slice (its length where there is none)
        first = xp.where(zeros, position, a.shape[axis]).min(axis=axis, keepdims=True)
        before = position < first
        grad = xp.where(before, _reverse_cumsum(xp.where(before, g * out, zero), axis), zero)
        grad = xp.where(before, grad / xp.where(before, a, one), zero)
        if bool(zeros.any()):
            # at the first zero: the product before it times sum_j g[j] * prod(x[zero+1:j+1])
            upto = xp.where(before, a, one).prod(axis=axis, keepdims=True)
            after = _running("cumprod", xp.where(position <= first, one, a), axis)
            tail = xp.where(position >= first, g * after, zero).sum(axis=axis, keepdims=True)
            grad = xp.where(position == first, upto * tail, grad)
        return (grad,)


def _scan(cls, input, dim, dtype):
    tensor_arg(cls.op, input)
    axes = _axes(dim, input.ndim, cls.op)
    input = accumulated(input, dtype)  # integer and bool scans are int64, as in PyTorch
    return cls.apply(input, axis=axes[0] if axes else 0)


def cumsum(input, dim, *, dtype=None):
    """The running sum along `dim`; integer and bool inputs give int64."""
    return _scan(CumSum, input, dim, dtype)


def cumprod(input, dim, *, dtype=None):
    """The running product along `dim`; integer and bool inputs give int64."""
    return _scan(CumProd, input, dim, dtype)
