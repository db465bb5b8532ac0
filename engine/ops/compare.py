"""Whole-tensor comparisons: equal, isclose and allclose."""

from __future__ import annotations

import numpy as np

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
    if x.dtype.kind != "f":
        x, y = x.astype(np.float64), y.astype(np.float64)
    with np.errstate(all="ignore"):
        diff = xp.abs(x - y)
        close = same | (xp.isfinite(diff) & (diff <= atol + rtol * xp.abs(y)))
    if equal_nan:
        close = close | ((x != x) & (y != y))
    return Tensor._make(xp.asarray(close), False, None)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())
