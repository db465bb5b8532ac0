"""Activations: relu, leaky_relu, gelu, sigmoid, tanh, softmax and log_softmax."""

from __future__ import annotations

import math

import numpy as np

from engine import _fast, backend
from engine.autograd import Function, unbroadcast
from engine.dtypes import scalar_name
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
        shifted = _shifted(x, dim)  # a new array: written in place below
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.out, self.dim = shifted, dim
        return self.out

    def backward(self, g):
        # in place on one new array: at a language model's logits (1120 x 10000) each
        # fresh array costs as much as the arithmetic
        xp = _xp(g)
        grad = xp.empty_like(self.out)
        xp.exp(self.out, out=grad)
        grad *= g.sum(axis=self.dim, keepdims=True)
        return (xp.subtract(g, grad, out=grad),)


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


# --- the rest of PyTorch's pointwise activations, each with its CPU kernel's formula ---

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _kernel_floats(op: str, input, kernel: str | None = None) -> None:
    """PyTorch's NotImplementedError for an integer or bool input, naming its CPU kernel."""
    if isinstance(input, Tensor) and input._data.dtype.kind != "f":
        name = scalar_name(input._data.dtype)
        raise NotImplementedError(f'"{kernel or op + "_cpu"}" not implemented for {name!r}')


def _sig(xp, a):
    return 1 / (1 + xp.exp(-a))


class SiluOp(Function):
    op = "silu"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return a / (1 + _xp(a).exp(-a))

    def backward(self, g):
        a = self.a
        s = _sig(_xp(a), a)
        return (g * s * (1 + a * (1 - s)),)


class EluOp(Function):
    op = "elu"
    saves = ((0, None),)

    def forward(self, a, alpha=1.0, scale=1.0, input_scale=1.0):
        xp, t = _xp(a), a.dtype.type
        self.a, self.coefs = a, (t(alpha * scale), t(scale), t(input_scale))
        neg, pos, inp = self.coefs
        return xp.where(a > 0, a * pos, xp.expm1(a * inp) * neg)

    def backward(self, g):
        xp, a = _xp(g), self.a
        neg, pos, inp = self.coefs
        # a NaN input takes the exp branch and gives a NaN gradient, as in PyTorch
        return (xp.where(a > 0, g * pos, g * (inp * neg) * xp.exp(a * inp)),)


class EluInplaceOp(EluOp):
    """elu_ and selu_: PyTorch's backward reads the result, not the overwritten input."""

    op = "elu_"
    saves = (("out", None),)

    def forward(self, a, alpha=1.0, scale=1.0, input_scale=1.0):
        self.out = super().forward(a, alpha, scale, input_scale)
        return self.out

    def backward(self, g):
        xp, out = _xp(g), self.out
        neg, pos, inp = self.coefs
        return (xp.where(out > 0, g * pos, g * inp * (out + neg)),)


class SoftplusOp(Function):
    op = "softplus"
    saves = ((0, None),)

    def forward(self, a, beta=1.0, threshold=20.0):
        xp, t = _xp(a), a.dtype.type
        self.a, self.beta, self.threshold = a, t(beta), t(threshold)
        ab = a * self.beta
        # exp overflows for the large inputs in the branch not taken (Function runs quietly)
        return xp.where(ab > self.threshold, a, xp.log1p(xp.exp(ab)) / self.beta)

    def backward(self, g):
        xp, a = _xp(g), self.a
        ab = a * self.beta
        z = xp.exp(ab)
        return (xp.where(ab > self.threshold, g, g * z / (z + 1)),)


class MishOp(Function):
    op = "mish"
    saves = ((0, None),)

    def forward(self, a):
        xp = _xp(a)
        self.a = a
        return a * xp.tanh(xp.log1p(xp.exp(a)))

    def backward(self, g):
        xp, a = _xp(g), self.a
        t = xp.tanh(xp.log1p(xp.exp(a)))
        s = _sig(xp, a)
        return (g * (t + a * s * (1 - t * t)),)


class HardtanhOp(Function):
    op = "hardtanh"
    saves = ((0, None),)

    def forward(self, a, min_val=-1.0, max_val=1.0):
        xp, t = _xp(a), a.dtype.type
        self.a, self.lo, self.hi = a, t(min_val), t(max_val)
        # a maximum then a minimum: NaN stays NaN, as PyTorch's clamp keeps it
        return xp.minimum(xp.maximum(a, self.lo), self.hi)

    def backward(self, g):
        a = self.a
        # PyTorch passes the gradient strictly inside (min_val, max_val): not at a NaN
        return (_fast.select(_xp(g), (a > self.lo) & (a < self.hi), g),)


class LogSigmoidOp(Function):
    op = "log_sigmoid"
    saves = ((0, None),)

    def forward(self, a):
        xp = _xp(a)
        self.a = a
        # min(a, 0) - log1p(exp(-|a|)): no overflow for large negatives, as in PyTorch
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, g):
        xp, a = _xp(g), self.a
        z = xp.exp(-xp.abs(a))
        neg = a < 0
        return (g * (neg.astype(g.dtype) - xp.where(neg, 1, -1).astype(g.dtype) * (z / (1 + z))),)


class HardswishOp(Function):
    op = "hardswish"
    saves = ((0, None),)

    def forward(self, a):
        xp = _xp(a)
        self.a = a
        return a * xp.minimum(xp.maximum(a + 3, 0), 6) / 6

    def backward(self, g):
        xp, a = _xp(g), self.a
        mid = g * (a / 3 + 0.5)
        # PyTorch: 0 up to -3, g from 3 on, the slope between (and at a NaN, giving NaN)
        return (xp.where(a <= -3, g.dtype.type(0), xp.where(a >= 3, g, mid)),)


_SIXTH_F32 = float(np.float32(1.0) / np.float32(6.0))


class HardsigmoidOp(Function):
    op = "hardsigmoid"
    saves = ((0, None),)

    def forward(self, a):
        xp = _xp(a)
        self.a = a
        return xp.minimum(xp.maximum(a + 3, 0), 6) / 6

    def backward(self, g):
        a = self.a
        # PyTorch multiplies by 1/6 rounded to float32, even for float64
        return (_fast.select(_xp(g), (a > -3) & (a < 3), g * g.dtype.type(_SIXTH_F32)),)


class GluOp(Function):
    op = "glu"
    saves = ((0, None),)

    def forward(self, a, dim=-1):
        xp = _xp(a)
        half = a.shape[dim] // 2
        first = xp.take(a, xp.arange(half), axis=dim)
        second = xp.take(a, xp.arange(half, 2 * half), axis=dim)
        self.first, self.sig, self.dim = first, _sig(xp, second), dim
        return first * self.sig

    def backward(self, g):
        xp, s = _xp(g), self.sig
        ga = g * s
        gb = ga * self.first * (1 - s)
        return (xp.concatenate([ga, gb], axis=self.dim),)


def silu(input):
    _kernel_floats("silu", input)
    return SiluOp.apply(input)


def elu(input, alpha=1.0, _inplace=False):
    """`_inplace`: for elu_, whose backward PyTorch computes from the result."""
    _kernel_floats("elu", input)
    return (EluInplaceOp if _inplace else EluOp).apply(input, alpha=alpha)


def selu(input, _inplace=False):
    _kernel_floats("selu", input, "elu_cpu")
    op = EluInplaceOp if _inplace else EluOp
    return op.apply(input, alpha=SELU_ALPHA, scale=SELU_SCALE)


def softplus(input, beta=1.0, threshold=20.0):
    _kernel_floats("softplus", input)
    return SoftplusOp.apply(input, beta=beta, threshold=threshold)


def mish(input):
    _kernel_floats("mish", input)
    return MishOp.apply(input)


def hardtanh(input, min_val=-1.0, max_val=1.0):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if isinstance(input, Tensor) and input._data.dtype.kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    return HardtanhOp.apply(input, min_val=min_val, max_val=max_val)


def relu6(input):
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input):
    _kernel_floats("log_sigmoid", input)
    return LogSigmoidOp.apply(input)


def hardswish(input):
    _kernel_floats("hardswish", input)
    return HardswishOp.apply(input)


def hardsigmoid(input):
    _kernel_floats("hardsigmoid", input)
    return HardsigmoidOp.apply(input)


def glu(input, dim=-1):
    x = tensor_arg("glu", input)
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = _axes(dim, x.ndim, "glu")[0]
    if x.shape[axis] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {axis} is size {x.shape[axis]}"
        )
    _kernel_floats("glu", x)
    return GluOp.apply(x, dim=axis)


def softsign(input):
    """input / (1 + |input|), composed as PyTorch composes it (an int input gives floats)."""
    x = tensor_arg("softsign", input)
    return x / (x.abs() + 1)


def tanhshrink(input):
    """input - tanh(input), composed as PyTorch composes it."""
    x = tensor_arg("tanhshrink", input)
    return x - x.tanh()


class PReluOp(Function):
    """x where positive, else weight * x, with one learned slope per channel (or one in all)."""

    op = "prelu"
    saves = ((0, None), (1, None))

    def forward(self, x, weight):
        self.x, self.weight = x, weight
        return _xp(x).where(x > 0, x, weight * x)

    def backward(self, g):
        x, w, xp = self.x, self.weight, _xp(g)
        positive = x > 0
        gx = xp.where(positive, g, w * g) if self.needs(0) else None
        gw = None
        if self.needs(1):
            gw = unbroadcast(xp.where(positive, 0, x * g), w.shape)
        return gx, gw

    def backward_graph(self, g):
        from engine import ops
        from engine.ops import graph_grads as gg

        positive = gg._const(self.x > 0)
        x, w = gg._input(self, 0, self.x), gg._input(self, 1, self.weight)
        return gg._each(
            self,
            lambda: ops.where(positive, g, w * g),
            lambda: gg._sum_to(ops.where(positive, 0.0, x * g), w.shape),
        )


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), the weight per channel (dim 1) or shared."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"prelu_cpu" not implemented for {scalar_name(input._data.dtype)!r}'
        )
    if weight.dtype != input.dtype:
        raise RuntimeError(
            f"prelu: Type promoting not supported. Got {scalar_name(input._data.dtype)} and "
            f"{scalar_name(weight._data.dtype)}"
        )
    count = weight.numel()
    if count != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim > 1 else 1
        if channels != count:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {count} and channel size = {channels}."
            )
    if weight.ndim > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    if weight.ndim == 1 and input.ndim >= 2:
        weight = weight.reshape(-1, *([1] * (input.ndim - 2)))
    elif input.ndim == 0:
        weight = weight.reshape(())
    return PReluOp.apply(input, weight)
