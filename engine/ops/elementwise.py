"""Elementwise arithmetic, where, comparisons, and dtype/device casts; operand promotion."""

from __future__ import annotations

import builtins
import math

import numpy as np

from engine import _fast, backend
from engine import dtypes as _dt
from engine.autograd import Function, unbroadcast, version_counter
from engine.tensor import Tensor


def _xp(a):
    return backend.array_module(a)


def _constant(value, like: Tensor) -> Tensor:
    """A Python number as a tensor that follows `like`'s dtype, as PyTorch does."""
    dt = like._data.dtype
    if isinstance(value, builtins.bool):
        pass
    elif isinstance(value, int) and dt.kind == "b":
        dt = np.dtype(np.int64)
    elif isinstance(value, float) and dt.kind != "f":
        dt = _dt.default_dtype.np
    elif not isinstance(value, int | float):
        if isinstance(value, np.ndarray | np.generic):
            value = np.asarray(value)
            if value.ndim == 0:  # a NumPy scalar is a number: it goes where `like` is
                return Tensor._make(_xp(like._data).asarray(value), False, None)
            return Tensor._make(value, False, None)
        raise TypeError(f"unsupported operand type {type(value).__name__!r} for a tensor op")
    if isinstance(value, int) and dt.kind in "iu":
        value = wrapped_int(value, dt)
    return Tensor._make(_xp(like._data).asarray(value, dtype=dt), False, None)


def wrapped_int(value: int, dt):
    """A Python int in an integer dtype, wrapping around as PyTorch does (uint8 + 300 is 44)."""
    if not -(2**63) <= value < 2**64:
        raise RuntimeError(f"Overflow when unpacking long: {value} does not fit 64 bits")
    bits = np.dtype(dt).itemsize * 8
    return np.array(value & ((1 << bits) - 1), dtype=f"uint{bits}").view(dt)[()]


_C_TYPES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int"}
_C_TYPES |= {"int64": "int64_t", "float16": "c10::Half", "float32": "float", "float64": "double"}


def checked_scalar(value, dt):
    """A Python number as an element of dtype `dt`, refused as PyTorch refuses one that does
    not fit (fill_, x[i] = v, clamp bounds); uint8 takes -255..255, negatives wrapping."""
    dt = np.dtype(dt)
    if dt.kind == "b" or isinstance(value, builtins.bool) or not isinstance(value, int | float):
        return value
    if dt.kind == "f":
        fits = not math.isfinite(value) or builtins.abs(value) <= float(np.finfo(dt).max)
    else:
        info = np.iinfo(dt)
        if isinstance(value, float):  # NaN and inf never fit an integer
            fits = float(info.min) <= value <= float(info.max)
        else:
            fits = (-int(info.max) if dt.kind == "u" else int(info.min)) <= value <= info.max
    if not fits:
        name = _C_TYPES.get(dt.name, dt.name)
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    return wrapped_int(value, dt) if isinstance(value, int) and dt.kind in "iu" else value


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Cast two tensors to one dtype with PyTorch's rules (float beats int beats bool)."""
    da, db = a._data.dtype, b._data.dtype
    if da == db:
        return a, b
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if ca != cb:
        target = da if ca > cb else db
    elif a._data.ndim == 0 and b._data.ndim:
        target = db  # a 0-d tensor does not widen a dimensioned one
    elif b._data.ndim == 0 and a._data.ndim:
        target = da
    else:
        target = np.promote_types(da, db)
    if da != target:
        a = _promoted(a, target)
    if db != target:
        b = _promoted(b, target)
    return a, b


def _promoted(t: Tensor, dtype) -> Tensor:
    """`t` cast for an op; the copy shares `t`'s version counter, as PyTorch's op saves `t`
    itself (promoting inside its kernel), so a later change in place to `t` is caught."""
    out = Cast.apply(t, dtype=dtype)
    out._counter = version_counter(t)
    return out


def _operands(a, b):
    """Both operands as tensors of one dtype (Python numbers follow the tensor's dtype)."""
    if not isinstance(a, Tensor):
        a = _constant(a, b)
    elif not isinstance(b, Tensor):
        b = _constant(b, a)
    if a._data.dtype != b._data.dtype:
        a, b = _promote(a, b)
    return a, b


def _binary(cls, a, b):
    return cls.apply(*_operands(a, b))


def _no_bool(op: str, *tensors) -> None:
    """PyTorch refuses `-` on bool tensors: it points at `~` and logical_xor instead."""
    if any(
        isinstance(t, builtins.bool) or (isinstance(t, Tensor) and t._data.dtype.kind == "b")
        for t in tensors
    ):
        what = (
            "Negation, the `-` operator, on"
            if op == "neg"
            else "Subtraction, the `-` operator, with"
        )
        raise RuntimeError(
            f"{what} a bool tensor is not supported. If you are trying to invert a mask, use "
            "the `~` or `logical_not()` operator instead."
        )


def _scaled(a: Tensor, b: Tensor, alpha) -> Tensor:
    """b * alpha in the already promoted dtype, with PyTorch's checks on alpha."""
    kind = b._data.dtype.kind
    if isinstance(alpha, builtins.bool) and kind != "b":
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and kind != "f":
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    if kind == "b":
        alpha = builtins.bool(alpha)  # a bool result takes alpha as a bool
    if alpha == 1:
        return b
    return Mul.apply(b, _constant(alpha, b))


class Add(Function):
    op = "add"

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        sa, sb = self.shapes
        return (
            unbroadcast(g, sa) if self.needs(0) else None,
            unbroadcast(g, sb) if self.needs(1) else None,
        )


class Sub(Function):
    op = "sub"

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        return (
            unbroadcast(g, sa) if self.needs(0) else None,
            unbroadcast(-g, sb) if self.needs(1) else None,
        )


class Mul(Function):
    op = "mul"
    saves = ((0, 1), (1, 0))

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        return (
            unbroadcast(g * b, a.shape) if self.needs(0) else None,
            unbroadcast(g * a, b.shape) if self.needs(1) else None,
        )


class Div(Function):
    op = "div"
    saves = ((1, None), (0, 1))

    def forward(self, a, b):
        self.a, self.b = a, b
        out = a / b
        if a.dtype.kind != "f" and b.dtype.kind != "f":
            out = out.astype(_dt.default_dtype.np)  # true division of integers gives floats
        return out

    def backward(self, g):
        a, b = self.a, self.b
        return (
            unbroadcast(g / b, a.shape) if self.needs(0) else None,
            # PyTorch's order, -g * ((a / b) / b): b * b overflows where a / b / b does not
            unbroadcast(-g * (a / b / b), b.shape) if self.needs(1) else None,
        )


class Pow(Function):
    op = "pow"
    saves = ((0, None), (1, None), ("out", 1))

    def forward(
        self, a, b, bool_exponent=False, python_bool=False, wrapped_base=False, number=None
    ):
        self.a, self.b, self.bool_exponent = a, b, bool_exponent
        self.python_bool, self.wrapped_base, self.number = python_bool, wrapped_base, number
        if a.dtype.kind in "iu" and b.dtype.kind == "i" and (b < 0).any():
            self.out = _int_pow(_xp(a), a, b)
        elif number in (0.5, -0.5) and a.dtype.kind == "f" and b.dtype == a.dtype:
            self.out = _scalar_power(_xp(a), a, number).astype(a.dtype, copy=False)
        else:
            self.out = a**b
        return self.out

    def backward(self, g):
        a, b, out = self.a, self.b, self.out
        xp = _xp(a)
        ga = gb = None
        if self.needs(0) and self.bool_exponent:
            # PyTorch's gradient takes exponent - 1 of the bool tensor, which it refuses
            _no_bool("sub", True)
        if self.needs(0) and self.python_bool:
            # a Python bool is no number to PyTorch's "exponent == 0" test, so x ** False
            # gets g * (0 * x ** -1): NaN at x == 0 or where g is NaN, as there
            e = float(bool(b))
            ga = g * (e * a ** (e - 1))
        elif self.needs(0):  # PyTorch takes it as 0 where b == 0, even at a == 0
            if self.number is None or a.dtype.kind != "f":
                power = a ** (b - 1)
            else:  # a Python exponent: PyTorch takes its x ** (n - 1) in float64, where an
                # odd n - 1 stays odd (2 ** 40 - 1 in float32 is 2 ** 40)
                power = _scalar_power(xp, a.astype(np.float64), self.number - 1).astype(a.dtype)
            ga = unbroadcast(_fast.select(xp, b != 0, g * b * power), a.shape)
        if self.needs(1) and self.wrapped_base:
            # a Python int base past int64 (2 ** 63 ** x): PyTorch's backward takes the log
            # of it wrapped to a negative int64, so the exponent's gradient is all NaN
            gb = unbroadcast(g * g.dtype.type(np.nan), b.shape)
        elif self.needs(1):
            # d(a**b)/db = a**b * log(a), taken as 0 where a == 0 and b >= 0 (not where b
            # is NaN); PyTorch multiplies g by that 0, so an inf g gives NaN there
            keep = (a != 0) | ~(b >= 0)
            gb = unbroadcast(g * _fast.select(xp, keep, out * xp.log(a)), b.shape)
        return ga, gb


class Maximum(Function):
    op = "maximum"
    saves = ((0, None), (1, None))

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).maximum(a, b)

    def backward(self, g):
        return _tie_split(g, self.a, self.b, self.a < self.b, self.a > self.b, self)


class Minimum(Function):
    op = "minimum"
    saves = ((0, None), (1, None))

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).minimum(a, b)

    def backward(self, g):
        return _tie_split(g, self.a, self.b, self.a > self.b, self.a < self.b, self)


def _tie_split(g, a, b, a_loses, b_loses, node):
    """PyTorch's rule: the gradient goes to the winner and ties share it equally; where
    either side is NaN neither loses and both get all of it; a loser gets exactly 0."""
    xp = _xp(g)
    tie = a == b
    share = xp.where(tie, g * g.dtype.type(0.5), g) if tie.any() else g
    return (
        unbroadcast(_fast.select(xp, ~a_loses, share), a.shape) if node.needs(0) else None,
        unbroadcast(_fast.select(xp, ~b_loses, share), b.shape) if node.needs(1) else None,
    )


class Where(Function):
    op = "where"
    saves = ((0, None),)

    def forward(self, cond, a, b):
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return _xp(a).where(cond, a, b)

    def backward(self, g):
        zero = g.dtype.type(0)
        sa, sb = self.shapes
        xp = _xp(g)
        return (
            None,
            unbroadcast(xp.where(self.cond, g, zero), sa) if self.needs(1) else None,
            unbroadcast(xp.where(self.cond, zero, g), sb) if self.needs(2) else None,
        )


class Cast(Function):
    op = "to"

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return (g.astype(self.src),)


class ToDevice(Function):
    op = "to_device"

    def forward(self, a, device):
        self.src = backend.device_of(a)
        return backend.to_device(a, device)

    def backward(self, g):
        return (backend.to_device(g, self.src),)


class Clone(Function):
    """A copy; by default laid out as its input (PyTorch's preserve_format), row-major
    for contiguous()."""

    op = "clone"

    def forward(self, a, order="K"):
        return a.copy(order=order)

    def backward(self, g):
        return (g,)


def _floating(t: Tensor) -> Tensor:
    if not isinstance(t, Tensor):
        return t  # Function.apply names the op in its TypeError
    return t if t._data.dtype.kind == "f" else Cast.apply(t, dtype=_dt.default_dtype.np)


def add(input, other, *, alpha=1, out=None):
    a, b = _operands(input, other)
    return _written("add", Add.apply(a, _scaled(a, b, alpha)), out)


def sub(input, other, *, alpha=1, out=None):
    _no_bool("sub", input, other)
    a, b = _operands(input, other)
    return _written("sub", Sub.apply(a, _scaled(a, b, alpha)), out)


def mul(input, other, *, out=None):
    return _written("mul", _binary(Mul, input, other), out)


def div(input, other, *, rounding_mode=None, out=None):
    if rounding_mode is not None:
        from engine.ops.pointwise import rounded_division

        return _written("div", rounded_division(input, other, rounding_mode), out)
    a, b = input, other
    if not isinstance(a, Tensor):
        a = _constant(_true_divided(a, b), b)
    if not isinstance(b, Tensor):
        b = _constant(_true_divided(b, a), a)
    return _written("div", _binary(Div, a, b), out)


def true_divide(input, other, *, out=None):
    """div without rounding: the quotient as a float, for integers too."""
    return div(input, other, out=out)


def _written(op, result, out, exact_dtype=False):
    if out is None:
        return result
    from engine.ops.out import write_out

    return write_out(op, result, out, exact_dtype)


def _true_divided(value, like: Tensor):
    """A Python int divides an integer tensor as a float, as PyTorch's true division
    does: it never wraps into the tensor's dtype first (uint8 / -1 is -x, not x / 255)."""
    if isinstance(value, int) and not isinstance(value, builtins.bool):
        if like._data.dtype.kind in "biu":
            return float(value)
    return value


def pow(input, exponent):
    kinds = [t._data.dtype.kind if isinstance(t, Tensor) else None for t in (input, exponent)]
    if kinds == ["b", "b"] or (isinstance(input, builtins.bool) and kinds[1] == "b"):
        # a bool tensor to a Python bool is allowed (x ** True is x); not the other way round
        raise NotImplementedError('"pow" not implemented for bool')
    if kinds[0] in ("i", "u", "b") and isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if (
        kinds[0] in ("i", "u")
        and isinstance(exponent, int)
        and not isinstance(exponent, builtins.bool)
    ):
        dt = input._data.dtype
        if not np.iinfo(dt).min <= exponent <= np.iinfo(dt).max:  # even for an empty tensor
            raise RuntimeError(f"value cannot be converted to type {dt.name}_t without overflow")
    a, b = _operands(input, exponent)
    if a._data.dtype.kind == "b":  # bool ** bool scalar: x ** True is x, x ** False is True
        return Tensor._make(a._data | ~b._data, False, None)
    op = PowTensor if isinstance(exponent, Tensor) else Pow
    python_bool = isinstance(exponent, builtins.bool) and isinstance(input, Tensor)
    wrapped = isinstance(input, int) and not isinstance(input, builtins.bool) and input >= 2**63
    number = None
    if isinstance(exponent, int | float) and not isinstance(exponent, builtins.bool):
        number = float(exponent) if math.isfinite(exponent) else None
    return op.apply(
        a,
        b,
        bool_exponent=kinds[1] == "b",
        python_bool=python_bool,
        wrapped_base=wrapped,
        number=number,
    )


def _scalar_power(xp, a, e: float):
    """a ** e as PyTorch's kernel takes a Python exponent: +-0.5 through sqrt and rsqrt,
    whose -inf and -0 give NaN and -0 (or -inf) where pow gives inf and 0."""
    if e == 0.5:
        return xp.sqrt(a)
    if e == -0.5:
        return 1 / xp.sqrt(a)
    return a**e


class PowTensor(Pow):
    """A tensor exponent: PyTorch saves the result whatever needs a gradient
    (pow.Tensor_Tensor and pow.Scalar), so a change in place to it fails backward."""

    saves = ((0, None), (1, None), ("out", None))


def _int_pow(xp, a, b):
    """Integer powers with negative exponents as PyTorch takes them: 1 ** -n is 1,
    (-1) ** -n is -1 or 1 by parity, anything else ** -n is 0 (NumPy refuses them)."""
    negative = b < 0
    out = a ** xp.where(negative, 0, b)
    by_parity = xp.where(b % 2 == 0, 1, -1).astype(out.dtype)
    inverse = xp.where(a == 1, 1, xp.where(a == -1, by_parity, 0)).astype(out.dtype)
    return xp.where(negative, inverse, out)


def maximum(input, other):
    return _binary(Maximum, input, tensor_arg("maximum", other, "other", 2))


def minimum(input, other):
    return _binary(Minimum, input, tensor_arg("minimum", other, "other", 2))


def tensor_arg(op: str, value, name: str = "input", position: int = 1) -> Tensor:
    """`value` when it is a Tensor, else PyTorch's TypeError naming the op and argument."""
    if isinstance(value, Tensor):
        return value
    hint = ""
    if isinstance(value, tuple) and value and all(isinstance(v, Tensor) for v in value):
        hint = " (max/min with dim= give a (values, indices) pair: take .values)"
    raise TypeError(
        f"{op}(): argument '{name}' (position {position}) must be Tensor, "
        f"not {type(value).__name__}{hint}"
    )


def _checked_constant(value, like: Tensor) -> Tensor:
    """A Python number as a tensor of its promoted dtype with `like`, refused if it does
    not fit that dtype (where(c, uint8, 300) raises in PyTorch; -7 wraps to 249)."""
    probe = 0.0 if isinstance(value, float) else value
    return _constant(checked_scalar(value, _constant(probe, like)._data.dtype), like)


_NOT_GIVEN = object()


def where(condition, input=_NOT_GIVEN, other=_NOT_GIVEN):
    if input is _NOT_GIVEN and other is _NOT_GIVEN:  # where(condition): nonzero's indices
        from engine.ops.indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if input is _NOT_GIVEN or other is _NOT_GIVEN:
        raise TypeError("where() takes a condition alone, or a condition, input and other")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        # two numbers: each becomes a tensor of its own type (float: the default dtype)
        from engine.creation import tensor

        on = condition.device if isinstance(condition, Tensor) else None
        input, other = tensor(input, device=on), tensor(other, device=on)
    a, b = input, other
    if not isinstance(a, Tensor):
        a = _checked_constant(a, b)
    if not isinstance(b, Tensor):
        b = _checked_constant(b, a)
    a, b = _promote(a, b)
    cond = condition if isinstance(condition, Tensor) else Tensor(condition)
    if cond._data.dtype != np.bool_:
        cond = Tensor._make(cond._data.astype(bool), False, None)
    return Where.apply(cond, a, b)


def _compare(ufunc_name):
    def compare(input, other):
        if isinstance(input, Tensor) and input._data.dtype.kind in "iub":
            # an int operand of another dtype, or a Python int, is compared in PyTorch's
            # promoted dtype (uint8 < -2 is uint8 < 254 there)
            if isinstance(other, Tensor) and other._data.dtype != input._data.dtype:
                input, other = (t.detach() for t in _operands(input, other))
            elif isinstance(other, int) and not isinstance(other, builtins.bool):
                input, other = (t.detach() for t in _operands(input, other))
        b = other._data if isinstance(other, Tensor) else other
        if isinstance(b, np.ndarray) and b.ndim == 0 and not isinstance(other, Tensor):
            b = b[()]  # a 0-d NumPy array is a number, on any device
        if backend.cuda_used and isinstance(other, Tensor):
            backend.check_same_device(ufunc_name, [input._data, b])
        out = getattr(_xp(input._data), ufunc_name)(input._data, b)
        return Tensor._make(_xp(out).asarray(out), False, None)

    compare.__name__ = ufunc_name
    return compare


eq = _compare("equal")


ne = _compare("not_equal")


lt = _compare("less")


le = _compare("less_equal")


gt = _compare("greater")


ge = _compare("greater_equal")
