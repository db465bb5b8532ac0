"""Elementwise math of one tensor: neg, abs, exp, log, sqrt, sin, cos, clamp."""

from __future__ import annotations

from engine import _fast
from engine.autograd import Function
from engine.ops.elementwise import _floating, _xp


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


class Clamp(Function):
    op = "clamp"

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
    return Neg.apply(input)


def abs(input):
    return Abs.apply(input)


def exp(input):
    return Exp.apply(_floating(input))


def log(input):
    return Log.apply(_floating(input))


def sqrt(input):
    return Sqrt.apply(_floating(input))


def sin(input):
    return Sin.apply(_floating(input))


def cos(input):
    return Cos.apply(_floating(input))


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    return Clamp.apply(input, min=min, max=max)
