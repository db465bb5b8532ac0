"""More elementwise math with PyTorch's names: sgn, signbit, frac, exp2, erfc, erfinv, lgamma,
digamma, logit, xlogy, hypot, logaddexp(2), angle conversions, sinc, heaviside, fmax/fmin,
float_power, gcd/lcm, ldexp, addcdiv/addcmul and the inf/real/membership tests.

lgamma, digamma and their derivative trigamma are computed in float64 on any array module:
the reflection formula below 1/2, the recurrence up to 10, then the asymptotic series."""

from __future__ import annotations

import math

import numpy as np

from engine import ops
from engine.autograd import Function, unbroadcast
from engine.ops.elementwise import _floating, _operands, _xp, tensor_arg
from engine.ops.pointwise import _plain
from engine.ops.special import _TWO_OVER_SQRT_PI, erf_array
from engine.ops.unary import _no_kernel
from engine.tensor import Tensor

_SHIFT = 10.0


def _f64(a):
    return a.astype(np.float64, copy=False)


def _shifted(x):
    """(z, terms): z = x + n >= 10 and the n values x, x+1, ... stepped over (NaN-safe)."""
    xp = _xp(x)
    z = x.copy()
    steps = []
    for _ in range(int(_SHIFT) + 1):
        low = z < _SHIFT
        if not bool(low.any()):
            break
        steps.append((low, z.copy()))
        z = xp.where(low, z + 1.0, z)
    return z, steps


def _reflected(x):
    """Where x < 1/2, the reflected point 1 - x (else x itself)."""
    xp = _xp(x)
    refl = x < 0.5
    return refl, xp.where(refl, 1.0 - x, x)


def _sin_pi(x):
    """sin(pi x), exactly zero at the integers."""
    xp = _xp(x)
    r = x - 2.0 * xp.round(x / 2.0)  # in [-1, 1], exact
    out = xp.sin(math.pi * r)
    return xp.where(r == xp.floor(r), 0.0, out)


def lgamma_array(a):
    xp = _xp(a)
    x = _f64(a)
    refl, y = _reflected(x)
    z, steps = _shifted(y)
    iz = 1.0 / z
    iz2 = iz * iz
    series = iz * (1 / 12 + iz2 * (-1 / 360 + iz2 * (1 / 1260 + iz2 * (-1 / 1680 + iz2 / 1188))))
    with np.errstate(all="ignore"):
        out = (z - 0.5) * xp.log(z) - z + 0.5 * math.log(2 * math.pi) + series
    for low, v in steps:
        out = out - xp.where(low, xp.log(xp.abs(v)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xp.abs(_sin_pi(x))
        out = xp.where(refl, math.log(math.pi) - xp.log(s) - out, out)
    out = xp.where(xp.isinf(x), xp.inf, out)
    return out.astype(a.dtype, copy=False)


def digamma_array(a):
    xp = _xp(a)
    x = _f64(a)
    refl, y = _reflected(x)
    z, steps = _shifted(y)
    iz2 = 1.0 / (z * z)
    series = iz2 * (1 / 12 - iz2 * (1 / 120 - iz2 * (1 / 252 - iz2 * (1 / 240 - iz2 / 132))))
    out = xp.log(z) - 0.5 / z - series
    for low, v in steps:
        out = out - xp.where(low, 1.0 / v, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = _sin_pi(x)
        c = _sin_pi(x + 0.5)  # cos(pi x)
        out = xp.where(refl, out - math.pi * c / s, out)
        out = xp.where((x <= 0) & (x == xp.floor(x)), xp.nan, out)  # the poles
        out = xp.where(x == 0, -xp.copysign(xp.inf, x), out)
    out = xp.where(x == xp.inf, xp.inf, out)
    return out.astype(a.dtype, copy=False)


def trigamma_array(a):
    xp = _xp(a)
    x = _f64(a)
    refl, y = _reflected(x)
    z, steps = _shifted(y)
    iz = 1.0 / z
    iz2 = iz * iz
    with np.errstate(all="ignore"):
        out = iz + 0.5 * iz2 + iz * iz2 * (1 / 6 - iz2 * (1 / 30 - iz2 * (1 / 42 - iz2 / 30)))
    for low, v in steps:
        out = out + xp.where(low, 1.0 / (v * v), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = _sin_pi(x)
        out = xp.where(refl, math.pi**2 / (s * s) - out, out)
    return out.astype(a.dtype, copy=False)


def erfc_array(a):
    """erfc in float64: its continued fraction for x >= 2.5, 2 - erfc(-x) for x <= -2.5."""
    xp = _xp(a)
    x = _f64(a)
    ax = xp.abs(x)
    big = ax >= 2.5
    out = 1.0 - erf_array(x)
    c = xp.where(big, ax, 3.0)
    f = c.copy()
    for k in range(60, 0, -1):
        f = c + (k * 0.5) / f
    with np.errstate(all="ignore"):
        tail = xp.exp(-c * c) / (math.sqrt(math.pi) * f)
    tail = xp.where(xp.isinf(c), 0.0, tail)
    out = xp.where(big & (x > 0), tail, out)
    out = xp.where(big & (x < 0), 2.0 - tail, out)
    return out.astype(a.dtype, copy=False)


def erfinv_array(a):
    """erfinv in float64: Winitzki's closed form, then Newton steps on erf (on erfc near
    +-1, where 1 - |y| is exact and erfc keeps its relative precision)."""
    xp = _xp(a)
    y = _f64(a)
    ay = xp.abs(y)
    inside = ay < 1
    t = xp.where(inside, ay, 0.5)
    k = 0.147
    with np.errstate(all="ignore"):
        ln = xp.log((1.0 - t) * (1.0 + t))
        first = 2.0 / (math.pi * k) + 0.5 * ln
        x = xp.sqrt(xp.sqrt(first * first - ln / k) - first)
        rest = 1.0 - t  # exact for these t
        upper = t > 0.5
        for _ in range(5):
            deriv = _TWO_OVER_SQRT_PI * xp.exp(-x * x)
            err = xp.where(upper, rest - erfc_array(x), erf_array(x) - t)
            step = xp.where(deriv > 0, err / deriv, 0.0)
            x = x - step
    out = xp.copysign(x, y)
    out = xp.where(ay == 1, xp.copysign(xp.inf, y), out)
    out = xp.where(inside | (ay == 1), out, xp.nan)
    return out.astype(a.dtype, copy=False)


# ----- functions of one tensor, each with its derivative ---------------------------------
class _Unary(Function):
    saves = ((0, None),)
    fn = None
    grad = None

    def forward(self, a):
        self.a = a
        with np.errstate(all="ignore"):
            return type(self).fn(a)

    def backward(self, g):
        with np.errstate(all="ignore"):
            return ((g * type(self).grad(self.a)).astype(g.dtype, copy=False),)


class Lgamma(_Unary):
    op = "lgamma"
    fn = staticmethod(lgamma_array)
    grad = staticmethod(digamma_array)


class Digamma(_Unary):
    op = "digamma"
    fn = staticmethod(digamma_array)
    grad = staticmethod(trigamma_array)


class Erfc(_Unary):
    op = "erfc"
    fn = staticmethod(erfc_array)

    @staticmethod
    def grad(a):
        return -_TWO_OVER_SQRT_PI * _xp(a).exp(-(a * a))


class Erfinv(Function):
    op = "erfinv"
    saves = (("out", None),)

    def forward(self, a):
        self.out = erfinv_array(a)
        return self.out

    def backward(self, g):
        xp = _xp(g)
        with np.errstate(all="ignore"):
            d = (math.sqrt(math.pi) / 2) * xp.exp(self.out * self.out)
        return ((g * d).astype(g.dtype, copy=False),)


class Sinc(_Unary):
    op = "sinc"

    @staticmethod
    def fn(a):
        return _xp(a).sinc(a)

    @staticmethod
    def grad(a):
        xp = _xp(a)
        px = math.pi * a
        safe = xp.where(a == 0, 1.0, a)
        d = (xp.cos(px) - xp.sinc(a)) / safe
        return xp.where(a == 0, 0.0, d)


def _float_unary(name: str, cls):
    def op(input):
        return cls.apply(_floating(tensor_arg(name, input)))

    op.__name__ = name
    return op


lgamma = _float_unary("lgamma", Lgamma)
digamma = _float_unary("digamma", Digamma)
erfc = _float_unary("erfc", Erfc)
erfinv = _float_unary("erfinv", Erfinv)
sinc = _float_unary("sinc", Sinc)


def sgn(input):
    return ops.sign(input)


def signbit(input):
    a = tensor_arg("signbit", input)._data
    xp = _xp(a)
    if a.dtype.kind == "b":
        return _plain(xp.zeros(a.shape, dtype=bool))
    return _plain(xp.signbit(a))


def frac(input):
    input = tensor_arg("frac", input)
    _no_kernel("frac_cpu", input, "biu")
    return input - ops.trunc(input)


def exp2(input):
    return ops.pow(2.0, _floating(tensor_arg("exp2", input)))


def deg2rad(input):
    input = tensor_arg("deg2rad", input)
    _no_kernel("deg2rad", input, "b")
    return _floating(input) * (math.pi / 180.0)


def rad2deg(input):
    input = tensor_arg("rad2deg", input)
    _no_kernel("rad2deg", input, "b")
    return _floating(input) * (180.0 / math.pi)


class Logit(Function):
    op = "logit"
    saves = ((0, None),)

    def forward(self, a, eps):
        self.a, self.eps = a, eps
        xp = _xp(a)
        x = a if eps is None else xp.clip(a, eps, 1.0 - eps)
        with np.errstate(all="ignore"):
            return xp.log(x / (1 - x)).astype(a.dtype, copy=False)

    def backward(self, g):
        a, eps = self.a, self.eps
        xp = _xp(a)
        with np.errstate(all="ignore"):
            d = g / (a * (1 - a))
        if eps is None:  # outside [0, 1]: NaN; clamped by eps: zero
            d = xp.where((a < 0) | (a > 1), xp.nan, d)
        else:
            d = xp.where((a < eps) | (a > 1 - eps), 0.0, d)
        return (d.astype(g.dtype, copy=False),)


def logit(input, eps=None):
    return Logit.apply(_floating(tensor_arg("logit", input)), eps=eps)


# ----- functions of two tensors ---------------------------------------------------------
class _Binary(Function):
    saves = ((0, None), (1, None))

    def forward(self, a, b):
        self.a, self.b = a, b
        with np.errstate(all="ignore"):
            self.out = self.compute(_xp(a), a, b)
        return self.out

    def backward(self, g):
        with np.errstate(all="ignore"):
            ga, gb = self.grads(_xp(g), g)
        return (
            unbroadcast(ga, self.a.shape).astype(g.dtype, copy=False) if self.needs(0) else None,
            unbroadcast(gb, self.b.shape).astype(g.dtype, copy=False) if self.needs(1) else None,
        )


class Hypot(_Binary):
    op = "hypot"
    saves = ((0, None), (1, None), ("out", None))

    def compute(self, xp, a, b):
        return xp.hypot(a, b)

    def grads(self, xp, g):
        r = xp.where(self.out == 0, xp.inf, self.out)  # zero gradient at the origin
        return g * self.a / r, g * self.b / r


class Logaddexp(_Binary):
    op = "logaddexp"
    power = "exp"  # the base's power function: each input's share is 1 / (1 + power(other - it))

    def compute(self, xp, a, b):
        return xp.logaddexp(a, b)

    def grads(self, xp, g):
        a, b, power = self.a, self.b, getattr(xp, self.power)
        return g * (1.0 / (1.0 + power(b - a))), g * (1.0 / (1.0 + power(a - b)))


class Logaddexp2(Logaddexp):
    op = "logaddexp2"
    power = "exp2"

    def compute(self, xp, a, b):
        return xp.logaddexp2(a, b)


class Xlogy(_Binary):
    op = "xlogy"

    def compute(self, xp, a, b):
        out = a * xp.log(b)
        return xp.where((a == 0) & (b == b), 0.0, out).astype(a.dtype, copy=False)

    def grads(self, xp, g):
        a, b = self.a, self.b
        ga = xp.where((a == 0) & (b == b), 0.0, xp.log(b))
        return g * ga, g * a / b


class Fmax(_Binary):
    op = "fmax"

    def compute(self, xp, a, b):
        return xp.fmax(a, b)

    def grads(self, xp, g):
        a, b = self.a, self.b
        take_a = (a >= b) | (b != b)
        return xp.where(take_a, g, 0), xp.where(take_a, 0, g)


class Fmin(Fmax):
    op = "fmin"

    def compute(self, xp, a, b):
        return xp.fmin(a, b)

    def grads(self, xp, g):
        a, b = self.a, self.b
        take_a = (a <= b) | (b != b)
        return xp.where(take_a, g, 0), xp.where(take_a, 0, g)


def _pair(name: str, input, other):
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        tensor_arg(name, input)
    return _operands(input, other)


def _float_pair(name: str, cls, kernel: str | None = None):
    def op(input, other):
        a, b = _pair(name, input, other)
        if kernel is not None:
            _no_kernel(kernel, a, "biu")
        return cls.apply(_floating(a), _floating(b))

    op.__name__ = name
    return op


hypot = _float_pair("hypot", Hypot, "hypot_cpu")
logaddexp = _float_pair("logaddexp", Logaddexp, "logaddexp_cpu")
logaddexp2 = _float_pair("logaddexp2", Logaddexp2, "logaddexp2_cpu")
xlogy = _float_pair("xlogy", Xlogy)


def _fextremum(name, cls):
    def op(input, other):
        a, b = _operands(tensor_arg(name, input), tensor_arg(name, other, "other", 2))
        if a._data.dtype.kind != "f":
            xp = _xp(a._data)
            fn = xp.maximum if name == "fmax" else xp.minimum
            return _plain(fn(a._data, b._data))
        return cls.apply(a, b)

    op.__name__ = name
    return op


fmax = _fextremum("fmax", Fmax)
fmin = _fextremum("fmin", Fmin)


def heaviside(input, values):
    input = tensor_arg("heaviside", input)
    values = tensor_arg("heaviside", values, "values", 2)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    a, v = input._data, values._data
    xp = _xp(a)
    out = xp.where(a == 0, v, (a > 0).astype(a.dtype))
    out = out.astype(a.dtype, copy=False)
    result = _plain(xp.broadcast_to(out, xp.broadcast_shapes(a.shape, v.shape)).copy())
    return result


def float_power(input, exponent):
    def f64(v):
        if isinstance(v, Tensor):
            return v.to(np.float64) if v._data.dtype != np.float64 else v
        return float(v)

    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        tensor_arg("float_power", input)
    base = f64(input)
    if not isinstance(base, Tensor):
        from engine import creation

        base = creation.tensor(base, dtype=np.float64, device=exponent.device)
    return ops.pow(base, f64(exponent))


def _integer_pair(name: str):
    def op(input, other):
        a, b = _operands(tensor_arg(name, input), other)
        if a._data.dtype.kind not in "iu":
            raise NotImplementedError(f'"{name}_cpu" not implemented for {a.dtype}')
        xp = _xp(a._data)
        return _plain(getattr(xp, name)(a._data, b._data))

    op.__name__ = name
    return op


gcd = _integer_pair("gcd")
lcm = _integer_pair("lcm")


def ldexp(input, other):
    input = _floating(tensor_arg("ldexp", input))
    other = tensor_arg("ldexp", other, "other", 2)
    return input * ops.pow(2.0, _floating(other).to(input.dtype).detach())


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * (tensor1 * tensor2)


def addcdiv(input, tensor1, tensor2, *, value=1):
    for t in (tensor1, tensor2):
        if isinstance(t, Tensor) and t._data.dtype.kind in "biu":
            if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
                raise RuntimeError(
                    "Integer division with addcdiv is no longer supported, and in a future "
                    "release addcdiv will perform a true division of tensor1 and tensor2."
                )
    return input + value * (tensor1 / tensor2)


def isposinf(input):
    a = tensor_arg("isposinf", input)._data
    return _plain(a == _xp(a).inf if a.dtype.kind == "f" else _xp(a).zeros(a.shape, bool))


def isneginf(input):
    a = tensor_arg("isneginf", input)._data
    return _plain(a == -_xp(a).inf if a.dtype.kind == "f" else _xp(a).zeros(a.shape, bool))


def isreal(input):
    a = tensor_arg("isreal", input)._data
    return _plain(_xp(a).ones(a.shape, dtype=bool))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        tensor_arg("isin", elements, "elements")
    like = elements if isinstance(elements, Tensor) else test_elements
    xp = _xp(like._data)
    e = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    found = xp.isin(e, t.reshape(-1), invert=invert)
    return _plain(xp.asarray(found, dtype=bool))
