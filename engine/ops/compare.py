"""Whole-tensor comparisons: equal, isclose and allclose."""

from __future__ import annotations

import numpy as np

from engine.autograd import Function
from engine.dtypes import scalar_name
from engine.ops.elementwise import _operands, _xp, tensor_arg
from engine.tensor import Tensor


def equal(input, other) -> bool:
    """True when both have the same shape and the same values (NaN is never equal)."""
    a = tensor_arg("equal", input)
    b = tensor_arg("equal", other, "other", 2)
    if a.shape != b.shape:
        return False
    a, b = _operands(a, b)
    return bool((a._data == b._data).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise; infinities equal only themselves."""
    a = tensor_arg("isclose", input)
    b = tensor_arg("isclose", other, "other", 2)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{scalar_name(a._data.dtype)} did not match {scalar_name(b._data.dtype)}"
        )
    for name, v in (("rtol", rtol), ("atol", atol)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {v:g}")
    x, y = a._data, b._data
    xp = _xp(x)
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise RuntimeError(
            f"isclose: the shapes {tuple(x.shape)} and {tuple(y.shape)} do not broadcast"
        ) from None
    same = x == y
    if x.dtype.kind == "b":
        return Tensor._make(xp.asarray(same), False, None)
    with np.errstate(all="ignore"):
        if x.dtype.kind == "f":
            diff = xp.abs(x - y)
        else:  # the difference of integers exactly, then the tolerance in float64
            wide = x.astype(np.int64) - y.astype(np.int64)
            diff = xp.abs(wide).astype(np.float64)
            x, y = x.astype(np.float64), y.astype(np.float64)
        close = same | (xp.isfinite(diff) & (diff <= atol + rtol * xp.abs(y)))
    if equal_nan:
        close = close | ((x != x) & (y != y))
    return Tensor._make(xp.asarray(close), False, None)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


class ComparedInPlace(Function):
    """A comparison written into a float tensor in place (eq_, lt_, ...): piecewise
    constant, so the gradient to the tensor and to what it was compared with is zero."""

    op = "compare_"

    def forward(self, *arrays, value):
        self.shapes = [a.shape for a in arrays]
        return value

    def backward(self, g):
        xp = _xp(g)
        return tuple(
            xp.zeros(s, dtype=g.dtype) if self.needs(i) else None for i, s in enumerate(self.shapes)
        )


def _compared_in_place(compare, input, other):
    """compare(input, other) cast to input's dtype, with a zero gradient where one is asked."""
    out = compare(input, other)._data.astype(input._data.dtype)
    inputs = [t for t in (input, other) if isinstance(t, Tensor) and t._data.dtype.kind == "f"]
    return ComparedInPlace.apply(*inputs, value=out)


def _in_place_form(name):
    def op(input, other):
        from engine import ops

        return _compared_in_place(getattr(ops, name), input, other)

    op.__name__ = name + "_in_place"
    return op


eq_in_place = _in_place_form("eq")
ne_in_place = _in_place_form("ne")
lt_in_place = _in_place_form("lt")
le_in_place = _in_place_form("le")
gt_in_place = _in_place_form("gt")
ge_in_place = _in_place_form("ge")
