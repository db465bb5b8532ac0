"""The error function, vectorised on any array module to float64's precision."""

from __future__ import annotations

import math

import numpy as np

from engine.autograd import Function
from engine.ops.elementwise import _floating, _xp

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI = math.sqrt(math.pi)
_SPLIT = 2.5  # below: the power series; above: the continued fraction of erfc


def _series_terms(t: float) -> int:
    """How many terms of sum t^k / (2k+1)!! reach float64's precision."""
    n, term = 0, 1.0
    while term > 1e-17:
        n += 1
        term *= t / (2 * n + 1)
    return n


def erf_array(x):
    """erf of a float array, in its dtype (computed in float64).

    |x| < 2.5: erf(x) = 2/sqrt(pi) exp(-x^2) sum_k (2x^2)^k x / (2k+1)!!, whose terms are all
    positive (no cancellation). |x| >= 2.5: 1 - erfc(x), erfc by its continued fraction
    exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). Within a few ulp of the
    correctly rounded value everywhere.
    """
    xp = _xp(x)
    dtype = x.dtype
    x = x.astype(np.float64, copy=False)
    a = xp.abs(x)
    out = xp.zeros_like(a)
    small = a < _SPLIT
    s = a[small]
    if s.size:
        t = 2.0 * s * s
        p = xp.ones_like(t)
        for k in range(_series_terms(float(t.max())), 0, -1):  # Horner, from the tail
            p = 1.0 + p * t / (2 * k + 1)
        out[small] = _TWO_OVER_SQRT_PI * s * p * xp.exp(-s * s)
    big = a >= _SPLIT  # NaN is in neither part
    c = a[big]
    if c.size:
        lo = float(c.min())
        depth = 60 if lo < 3.5 else 30 if lo < 5 else 12
        f = c.copy()
        for k in range(depth, 0, -1):
            f = c + (k * 0.5) / f
        with np.errstate(all="ignore"):  # inf: exp(-inf) / inf is 0, as it should be
            out[big] = 1.0 - xp.exp(-c * c) / (_SQRT_PI * f)
    out = xp.where(a == a, out, a)  # NaN stays NaN
    return xp.copysign(out, x).astype(dtype, copy=False)


class Erf(Function):
    op = "erf"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return erf_array(a)

    def backward(self, g):
        a = self.a
        return (g * (_TWO_OVER_SQRT_PI * _xp(a).exp(-(a * a))).astype(g.dtype, copy=False),)


def erf(input):
    """The error function (integers and bools give the default float dtype)."""
    return Erf.apply(_floating(input))
