"""Bitwise ops on integer and bool tensors: and, or, xor, not and shifts (no gradient)."""

from __future__ import annotations

import numpy as np

from engine.ops.elementwise import _operands, _xp, tensor_arg
from engine.tensor import Tensor

_KERNEL = {
    "bitwise_and": "bitwise_and_cpu",
    "bitwise_or": "bitwise_or_cpu",
    "bitwise_xor": "bitwise_xor_cpu",
    "bitwise_not": "bitwise_not_cpu",
    "bitwise_left_shift": "lshift_cpu",
    "bitwise_right_shift": "rshift_cpu",
}


def _plain(out) -> Tensor:
    return Tensor._make(_xp(out).asarray(out), False, None)


def _check_kind(op: str, dt) -> None:
    if dt.kind not in "iub":
        from engine.dtypes import scalar_name

        raise NotImplementedError(f"\"{_KERNEL[op]}\" not implemented for '{scalar_name(dt)}'")


def _pair(op: str, input, other):
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor")
    if isinstance(input, float) or isinstance(other, float):
        like = other if isinstance(input, float) else input
        if like._data.dtype.kind != "f":  # a float number makes the result a float
            raise NotImplementedError(f"\"{_KERNEL[op]}\" not implemented for 'Float'")
    a, b = _operands(input, other)
    _check_kind(op, a._data.dtype)
    return a._data, b._data


def _binary(name, fn):
    def op(input, other):
        a, b = _pair(name, input, other)
        return _plain(fn(_xp(a), a, b))

    op.__name__ = name
    return op


bitwise_and = _binary("bitwise_and", lambda xp, a, b: xp.bitwise_and(a, b))
bitwise_or = _binary("bitwise_or", lambda xp, a, b: xp.bitwise_or(a, b))
bitwise_xor = _binary("bitwise_xor", lambda xp, a, b: xp.bitwise_xor(a, b))


def bitwise_not(input):
    x = tensor_arg("bitwise_not", input)._data
    _check_kind("bitwise_not", x.dtype)
    return _plain(_xp(x).logical_not(x) if x.dtype.kind == "b" else _xp(x).invert(x))


def _shift(a, b, left: bool):
    """a << b or a >> b in a's dtype, as PyTorch: a shift by the width or more (or by a
    negative amount) gives 0 to the left, and the sign's fill to the right."""
    xp = _xp(a)
    if a.dtype.kind == "b":
        a, b = a.astype(np.int64), b.astype(np.int64)  # PyTorch shifts bools as int64
    bits = a.dtype.itemsize * 8
    wide = b.astype(np.int64)
    inside = (wide >= 0) & (wide < bits)
    count = xp.where(inside, wide, 0).astype(a.dtype)
    if left:
        return xp.where(inside, xp.left_shift(a, count), xp.zeros((), a.dtype))
    fill = (
        xp.right_shift(a, a.dtype.type(bits - 1)) if a.dtype.kind == "i" else xp.zeros((), a.dtype)
    )
    return xp.where(inside, xp.right_shift(a, count), fill)


def bitwise_left_shift(input, other):
    a, b = _pair("bitwise_left_shift", input, other)
    return _plain(_shift(a, b, True))


def bitwise_right_shift(input, other):
    a, b = _pair("bitwise_right_shift", input, other)
    return _plain(_shift(a, b, False))
