"""Elementwise math of one tensor: neg, abs, exp, log, sqrt, reciprocal, sin, cos, clamp."""

from __future__ import annotations

from engine import _fast
from engine.autograd import Function
from engine.ops.elementwise import _floating, _no_bool, _operands, _xp, checked_scalar
from engine.tensor import Tensor


class Neg(Function):
    op = "neg"

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Abs(Function):
    op = "abs"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).abs(a)

    def backward(self, g):
        xp = _xp(g)  # PyTorch's sign of NaN is 0, NumPy's NaN
        return (g * xp.sign(xp.where(self.a == self.a, self.a, 0)),)


class Exp(Function):
    op = "exp"
    saves = (("out", None),)

    def forward(self, a):
        self.out = _xp(a).exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    op = "log"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):
    op = "sqrt"
    saves = (("out", None),)

    def forward(self, a):
        self.out = _xp(a).sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Reciprocal(Function):
    op = "reciprocal"
    saves = (("out", None),)

    def forward(self, a):
        self.out = 1 / a
        return self.out

    def backward(self, g):
        return (-g * (self.out * self.out),)  # PyTorch's order: out**2 may overflow alone


class Sin(Function):
    op = "sin"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).sin(a)

    def backward(self, g):
        return (g * _xp(g).cos(self.a),)


class Cos(Function):
    op = "cos"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).cos(a)

    def backward(self, g):
        return (-g * _xp(g).sin(self.a),)


class Clamp(Function):
    op = "clamp"
    saves = ((0, None),)

    def forward(self, a, min=None, max=None):
        self.a, self.lo, self.hi = a, min, max
        return _xp(a).clip(a, min, max)

    def backward(self, g):
        # inputs inside [min, max] pass the gradient; clamped ones, and NaN, get exactly 0
        keep = _xp(g).ones(g.shape, dtype=bool)
        if self.lo is not None:
            keep &= self.a >= self.lo
        if self.hi is not None:
            keep &= self.a <= self.hi
        return (_fast.select(_xp(g), keep, g),)


def neg(input):
    _no_bool("neg", input)
    return Neg.apply(input)


def abs(input):
    _no_kernel("abs", input, "b")
    return Abs.apply(input)


def _no_kernel(op: str, input, kinds: str) -> None:
    """PyTorch has no kernel of `op` for these dtype kinds: NotImplementedError, a RuntimeError."""
    if isinstance(input, Tensor) and input._data.dtype.kind in kinds:
        raise NotImplementedError(f'"{op}" not implemented for {input.dtype}')


def exp(input):
    return Exp.apply(_floating(input))


def log(input):
    return Log.apply(_floating(input))


def sqrt(input):
    return Sqrt.apply(_floating(input))


def reciprocal(input):
    return Reciprocal.apply(_floating(input))


def sin(input):
    return Sin.apply(_floating(input))


def cos(input):
    return Cos.apply(_floating(input))


def _bound(like, value):
    """A clamp bound as a value of the result's dtype; a Python number must fit it."""
    if not isinstance(value, Tensor):
        value = checked_scalar(value, like._data.dtype)
    return _operands(like, value)[1]._data[()]


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if min is not None and max is not None and isinstance(min, Tensor) != isinstance(max, Tensor):
        raise TypeError(
            "clamp() received an invalid combination of arguments: min and max must both be "
            f"tensors or both be numbers, got {type(min).__name__} and {type(max).__name__}"
        )
    # the result dtype is PyTorch's promotion of the tensor with its bounds (int tensor with a
    # float bound: float32); each bound is then a value of that dtype (uint8 min=-1 is 255)
    like = input
    for bound in (min, max):
        if bound is not None:
            like = _operands(like, 0.0 if isinstance(bound, float) else bound)[0]
    bounds = [None if v is None else _bound(like, v) for v in (min, max)]
    return Clamp.apply(like, min=bounds[0], max=bounds[1])
