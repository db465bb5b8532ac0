"""Activations: relu, leaky_relu, gelu, sigmoid, tanh, softmax and log_softmax."""

from __future__ import annotations

import math

from engine import _fast, backend
from engine.autograd import Function
from engine.ops.elementwise import _floating, _xp, tensor_arg
from engine.ops.movement import _contiguous
from engine.ops.reduce import _axes
from engine.tensor import Tensor


class TanhOp(Function):
    op = "tanh"
    saves = (("out", None),)

    def forward(self, a):
        self.out = _xp(a).tanh(a)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class SigmoidOp(Function):
    op = "sigmoid"
    saves = (("out", None),)

    def forward(self, a):
        # PyTorch's formula: exp(-a) overflowing to inf gives exactly 0, and a tiny
        # sigmoid(-20) keeps its value where 0.5 * (1 + tanh(a / 2)) rounds it to 0
        self.out = 1 / (1 + _xp(a).exp(-a))
        return self.out

    def backward(self, g):
        return (g * (1 - self.out) * self.out,)


class ReluOp(Function):
    op = "relu"
    saves = (("out", None),)

    def forward(self, a):
        self.out = _xp(a).maximum(a, 0)
        return self.out

    def backward(self, g):
        # a select, so an inf or NaN from downstream stays out of the zeroed inputs;
        # relu(NaN) is NaN and passes its gradient, as in PyTorch
        return (_fast.select(_xp(g), ~(self.out <= 0), g),)


class LeakyReluOp(Function):
    op = "leaky_relu"
    saves = ((0, None),)

    def forward(self, a, negative_slope=0.01):
        self.a, self.slope = a, negative_slope
        return _xp(a).where(a > 0, a, a * a.dtype.type(negative_slope))

    def backward(self, g):
        return (_xp(g).where(self.a > 0, g, g * g.dtype.type(self.slope)),)


class GeluOp(Function):
    op = "gelu"
    saves = ((0, None),)

    def forward(self, a, approximate="none"):
        xp = _xp(a)
        self.a, self.approximate = a, approximate
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.t = xp.tanh(k * (a + 0.044715 * a**3))
            return 0.5 * a * (1 + self.t)
        erf1 = 1 + backend.erf(a * (1 / math.sqrt(2)))
        self.cdf = 0.5 * erf1
        if a.size > 1 and a.flags.c_contiguous:  # PyTorch's vectorised order overflows
            out = a * erf1 * 0.5  # above 1.7e38; its one-at-a-time order does not
            if a.dtype == xp.float32:  # and its vectorised float32 kernel gives NaN at inf
                out[a == xp.inf] = xp.nan
            return out
        return a * self.cdf

    def backward(self, g):
        a, xp = self.a, _xp(g)
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            dt = (1 - self.t**2) * k * (1 + 3 * 0.044715 * a**2)
            return (g * (0.5 * (1 + self.t) + 0.5 * a * dt),)
        pdf = xp.exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))
        return (g * (self.cdf + a * pdf),)


def tanh(input):
    return TanhOp.apply(_floating(input))


def sigmoid(input):
    return SigmoidOp.apply(_floating(input))


def relu(input):
    if isinstance(input, Tensor) and input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return ReluOp.apply(input)


def _floats_only(op: str, input) -> None:
    """PyTorch has no integer kernel for `op`: NotImplementedError, which is a RuntimeError."""
    if isinstance(input, Tensor) and input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for {input.dtype}')


def leaky_relu(input, negative_slope=0.01):
    _floats_only("leaky_relu", input)
    return LeakyReluOp.apply(input, negative_slope=negative_slope)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    _floats_only("gelu", input)
    return GeluOp.apply(input, approximate=approximate)


def _softmax_dim(ndim: int, dim) -> int:
    if dim is None:  # PyTorch's legacy choice when dim is left out
        dim = 0 if ndim in (0, 1, 3) else 1
    axes = _axes(dim, ndim, "softmax")  # checks the range even for a 0-d tensor
    return axes[0] if axes else 0


def _row_max(x, dim):
    """The max along `dim`, kept as a size-1 axis; a size-0 `dim` has nothing to shift."""
    if x.ndim == 0:
        return x  # a 0-d tensor is its own row
    if x.shape[dim] == 0:
        return x.dtype.type(0)
    return x.max(axis=dim, keepdims=True)


def _shifted(x, dim):
    """`x` less its max along `dim`, computed on a row-major copy as PyTorch computes (and
    lays out) softmax and log_softmax."""
    x = _contiguous(x)
    return x - _row_max(x, dim)


class SoftmaxOp(Function):
    op = "softmax"
    saves = (("out", None),)

    def forward(self, x, dim):
        xp = _xp(x)
        e = xp.exp(_shifted(x, dim))
        self.out, self.dim = e / e.sum(axis=dim, keepdims=True), dim
        return self.out

    def backward(self, g):
        out = self.out
        return (out * (g - (g * out).sum(axis=self.dim, keepdims=True)),)


class LogSoftmaxOp(Function):
    op = "log_softmax"
    saves = (("out", None),)

    def forward(self, x, dim):
        xp = _xp(x)
        shifted = _shifted(x, dim)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.dim = dim
        return self.out

    def backward(self, g):
        return (g - _xp(g).exp(self.out) * g.sum(axis=self.dim, keepdims=True),)


def softmax(input, dim=None, dtype=None):
    axis = _softmax_dim(tensor_arg("softmax", input).ndim, dim)
    if dtype is None:
        if not input._data.size and input._data.dtype.kind != "f":
            return input.clone()  # PyTorch runs no kernel, so an empty int tensor stays int
        _floats_only("softmax", input)
    x = input.to(dtype) if dtype is not None else _floating(input)
    return SoftmaxOp.apply(x, dim=axis)


def log_softmax(input, dim=None, dtype=None):
    axis = _softmax_dim(tensor_arg("log_softmax", input).ndim, dim)
    if dtype is None:
        if not input._data.size and input._data.dtype.kind != "f":
            return input.clone()  # PyTorch runs no kernel, so an empty int tensor stays int
        _floats_only("log_softmax", input)
    x = input.to(dtype) if dtype is not None else _floating(input)
    return LogSoftmaxOp.apply(x, dim=axis)
