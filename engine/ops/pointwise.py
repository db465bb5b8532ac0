"""More elementwise math with PyTorch's names: rounding, sign, logs and exps, trigonometry,
NaN/inf tests, logical ops, remainders, clamp_min/clamp_max and lerp."""

from __future__ import annotations

import builtins
import math

import numpy as np

from engine.autograd import Function, unbroadcast
from engine.dtypes import scalar_name
from engine.ops.elementwise import _floating, _operands, _xp, tensor_arg
from engine.ops.unary import _no_kernel, clamp
from engine.tensor import Tensor


def _plain(out) -> Tensor:
    """An array as a tensor outside the graph (bool results, which take no gradient)."""
    return Tensor._make(_xp(out).asarray(out), False, None)


# ----- rounding and sign: piecewise constant, zero gradient -----------------------------
class _Flat(Function):
    """An op whose gradient is zero everywhere (PyTorch's zeros_like(grad))."""

    ufunc = ""

    def forward(self, a):
        if a.dtype.kind != "f" and self.op != "sign":
            return a.copy()  # integers are already whole: PyTorch returns a copy
        return getattr(_xp(a), self.ufunc)(a)

    def backward(self, g):
        return (_xp(g).zeros_like(g),)


class Floor(_Flat):
    op, ufunc = "floor", "floor"


class Ceil(_Flat):
    op, ufunc = "ceil", "ceil"


class Round(_Flat):
    op, ufunc = "round", "round"  # half to even, as PyTorch


class Trunc(_Flat):
    op, ufunc = "trunc", "trunc"


class Sign(_Flat):
    op = "sign"

    def forward(self, a):
        xp = _xp(a)
        if a.dtype.kind == "b":
            return a.copy()
        if a.dtype.kind == "f":  # PyTorch's sign of NaN is 0
            return xp.sign(xp.where(a == a, a, 0)).astype(a.dtype)
        return xp.sign(a)


def _rounding(cls, name):
    def op(input):
        _no_kernel(f"{name}_vml_cpu", input, "b")
        return cls.apply(input)

    op.__name__ = name
    return op


floor = _rounding(Floor, "floor")
ceil = _rounding(Ceil, "ceil")
trunc = _rounding(Trunc, "trunc")
_round = _rounding(Round, "round")


class RoundDecimals(Function):
    """Round half to even at `decimals` places (negative: tens, hundreds), in the input's
    dtype (half in float): x * 10**d rounded, divided back (x / 10**-d, multiplied, d < 0)."""

    op = "round"

    def forward(self, a, decimals):
        xp = _xp(a)
        work = a.astype(np.float32) if a.dtype.itemsize < 4 else a  # half: in float, as there
        ten = work.dtype.type(10.0 ** builtins.abs(decimals))
        out = xp.rint(work * ten) / ten if decimals > 0 else xp.rint(work / ten) * ten
        return out.astype(a.dtype, copy=False)

    def backward(self, g):
        return (_xp(g).zeros_like(g),)


def round(input, *, decimals=0):
    if decimals == 0:
        return _round(input)
    kind = tensor_arg("round", input)._data.dtype.kind
    if kind != "f":
        raise NotImplementedError(
            f"\"round_cpu\" not implemented for '{scalar_name(input._data.dtype)}'"
        )
    return RoundDecimals.apply(input, decimals=int(decimals))


def sign(input):
    return Sign.apply(input)


# ----- float-valued functions of one tensor (ints and bools give float32) ---------------
class Log1p(Function):
    op = "log1p"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).log1p(a)

    def backward(self, g):
        return (g / (self.a + 1),)


class Expm1(Function):
    op = "expm1"
    saves = (("out", None),)

    def forward(self, a):
        self.out = _xp(a).expm1(a)
        return self.out

    def backward(self, g):
        return (g * (self.out + 1),)


class Log2(Function):
    op = "log2"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).log2(a)

    def backward(self, g):
        return (g / (self.a * self.a.dtype.type(math.log(2.0))),)


class Log10(Function):
    op = "log10"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).log10(a)

    def backward(self, g):
        return (g / (self.a * self.a.dtype.type(math.log(10.0))),)


class Rsqrt(Function):
    op = "rsqrt"
    saves = (("out", None),)

    def forward(self, a):
        self.out = 1 / _xp(a).sqrt(a)
        return self.out

    def backward(self, g):
        return (g * g.dtype.type(-0.5) * self.out**3,)


class Tan(Function):
    op = "tan"
    saves = (("out", None),)

    def forward(self, a):
        self.out = _xp(a).tan(a)
        return self.out

    def backward(self, g):
        return (g * (1 + self.out * self.out),)


class Asin(Function):
    op = "asin"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).arcsin(a)

    def backward(self, g):
        return (g * (1 / _xp(g).sqrt(-self.a * self.a + 1)),)


class Acos(Function):
    op = "acos"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).arccos(a)

    def backward(self, g):
        return (g * -(1 / _xp(g).sqrt(-self.a * self.a + 1)),)


class Atan(Function):
    op = "atan"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).arctan(a)

    def backward(self, g):
        return (g / (self.a * self.a + 1),)


class Sinh(Function):
    op = "sinh"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).sinh(a)

    def backward(self, g):
        return (g * _xp(g).cosh(self.a),)


class Cosh(Function):
    op = "cosh"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        return _xp(a).cosh(a)

    def backward(self, g):
        return (g * _xp(g).sinh(self.a),)


def _float_fn(cls, name):
    def op(input):
        return cls.apply(_floating(input))

    op.__name__ = name
    return op


log1p = _float_fn(Log1p, "log1p")
expm1 = _float_fn(Expm1, "expm1")
log2 = _float_fn(Log2, "log2")
log10 = _float_fn(Log10, "log10")
rsqrt = _float_fn(Rsqrt, "rsqrt")
tan = _float_fn(Tan, "tan")
asin = _float_fn(Asin, "asin")
acos = _float_fn(Acos, "acos")
atan = _float_fn(Atan, "atan")
sinh = _float_fn(Sinh, "sinh")
cosh = _float_fn(Cosh, "cosh")
arcsin, arccos, arctan = asin, acos, atan


def square(input):
    from engine.ops.elementwise import pow

    return pow(input, 2)  # PyTorch's square is pow(x, 2): ints stay ints, bool gives int64


# ----- atan2 --------------------------------------------------------------------------
class Atan2(Function):
    op = "atan2"
    saves = ((0, None), (1, None))

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).arctan2(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        recip = 1 / (a * a + b * b)
        return (
            unbroadcast(g * b * recip, a.shape) if self.needs(0) else None,
            unbroadcast(g * -a * recip, b.shape) if self.needs(1) else None,
        )


def atan2(input, other):
    a, b = _operands(tensor_arg("atan2", input), tensor_arg("atan2", other, "other", 2))
    return Atan2.apply(_floating(a), _floating(b))


arctan2 = atan2


# ----- NaN and inf ----------------------------------------------------------------------
def isnan(input):
    x = tensor_arg("isnan", input)._data
    return _plain(x != x)


def isinf(input):
    x = tensor_arg("isinf", input)._data
    return _plain(_xp(x).isinf(x) if x.dtype.kind == "f" else _xp(x).zeros(x.shape, bool))


def isfinite(input):
    x = tensor_arg("isfinite", input)._data
    return _plain(_xp(x).isfinite(x) if x.dtype.kind == "f" else _xp(x).ones(x.shape, bool))


class NanToNum(Function):
    op = "nan_to_num"
    saves = ((0, None),)

    def forward(self, a, nan=0.0, posinf=None, neginf=None):
        self.a = a
        if a.dtype.kind != "f":
            return a.copy()
        info = np.finfo(a.dtype)
        xp = _xp(a)
        out = xp.where(a == a, a, a.dtype.type(nan))
        out = xp.where(out == np.inf, a.dtype.type(info.max if posinf is None else posinf), out)
        return xp.where(out == -np.inf, a.dtype.type(info.min if neginf is None else neginf), out)

    def backward(self, g):
        return (g * _xp(g).isfinite(self.a),)  # PyTorch multiplies: NaN * 0 stays NaN


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


# ----- logical ops: bool results, no gradient -------------------------------------------
def logical_not(input):
    return _plain(~tensor_arg("logical_not", input)._data.astype(bool))


def _logical(name, fn):
    def op(input, other):
        a = tensor_arg(name, input)._data.astype(bool)
        b = tensor_arg(name, other, "other", 2)._data.astype(bool)
        return _plain(fn(a, b))

    op.__name__ = name
    return op


logical_and = _logical("logical_and", lambda a, b: a & b)
logical_or = _logical("logical_or", lambda a, b: a | b)
logical_xor = _logical("logical_xor", lambda a, b: a ^ b)


# ----- remainders -----------------------------------------------------------------------
class Remainder(Function):
    op = "remainder"
    saves = ((0, 1), (1, 1))

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).remainder(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        return (
            unbroadcast(g, a.shape) if self.needs(0) else None,
            unbroadcast(-g * _xp(g).floor_divide(a, b), b.shape) if self.needs(1) else None,
        )


class Fmod(Function):
    op = "fmod"
    saves = ((0, 1), (1, 1))

    def forward(self, a, b):
        self.a, self.b = a, b
        return _xp(a).fmod(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        return (
            unbroadcast(g, a.shape) if self.needs(0) else None,
            unbroadcast(-g * _xp(g).trunc(a / b), b.shape) if self.needs(1) else None,
        )


class FloorDivide(Function):
    op = "floor_divide"

    def forward(self, a, b):
        return _xp(a).floor_divide(a, b)

    def backward(self, g):
        raise RuntimeError("the derivative for 'floor_divide' is not implemented.")


def _integer_division(cls, kernel, input, other, **kwargs):
    a, b = _operands(input, other)
    kind = a._data.dtype.kind
    if kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    if kind in "iu" and (b._data == 0).any():
        raise RuntimeError("ZeroDivisionError")
    return cls.apply(a, b, **kwargs)


def remainder(input, other):
    return _integer_division(Remainder, "remainder_cpu", input, other)


def fmod(input, other):
    return _integer_division(Fmod, "fmod_cpu", input, other)


def floor_divide(input, other):
    return _integer_division(FloorDivide, "div_floor_cpu", input, other)


class RoundedDivide(Function):
    """div with rounding_mode 'floor' or 'trunc': a step function, so its gradient is zero."""

    op = "div"

    def forward(self, a, b, mode):
        xp, self.a_shape, self.b_shape = _xp(a), a.shape, b.shape
        if mode == "floor":
            return xp.floor_divide(a, b)
        if a.dtype.kind in "iu":  # truncation: round the floor towards zero where inexact
            q = xp.floor_divide(a, b)
            return q + ((q < 0) & (q * b != a)).astype(q.dtype)
        return xp.trunc(a / b)

    def backward(self, g):
        zeros = _xp(g).zeros_like(g)
        return (
            unbroadcast(zeros, self.a_shape) if self.needs(0) else None,
            unbroadcast(zeros, self.b_shape) if self.needs(1) else None,
        )


def rounded_division(input, other, rounding_mode: str):
    """torch.div with rounding_mode: 'floor' as floor_divide, 'trunc' towards zero."""
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    return _integer_division(
        RoundedDivide, f"div_{rounding_mode}_cpu", input, other, mode=rounding_mode
    )


# ----- clamp_min, clamp_max, lerp -------------------------------------------------------
def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


class Lerp(Function):
    op = "lerp"
    saves = ((0, 2), (1, 2), (2, None))

    def forward(self, a, b, w):
        self.a, self.b, self.w = a, b, w
        xp = _xp(a)
        diff = b - a
        # PyTorch's kernel: from the nearer end, so lerp(a, b, 1) is exactly b
        return xp.where(xp.abs(w) < 0.5, a + w * diff, b - diff * (1 - w)).astype(a.dtype)

    def backward(self, g):
        a, b, w = self.a, self.b, self.w
        return (
            unbroadcast(g * (1 - w), a.shape) if self.needs(0) else None,
            unbroadcast(g * w, b.shape) if self.needs(1) else None,
            unbroadcast(g * (b - a), w.shape) if self.needs(2) else None,
        )


def lerp(input, end, weight):
    input = tensor_arg("lerp", input)
    end = tensor_arg("lerp", end, "end", 2)
    dt = input._data.dtype
    if dt.kind != "f":
        kernel = "lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar"
        name = {"b": "Bool", "u": "Byte", "i": "Long"}.get(dt.kind, str(dt))
        if dt.kind == "i":
            name = {1: "Char", 2: "Short", 4: "Int", 8: "Long"}[dt.itemsize]
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{name}'")
    short = {"float32": "float", "float64": "double", "float16": "c10::Half"}
    for what, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t._data.dtype != dt:
            raise RuntimeError(
                f"expected dtype {short.get(dt.name, dt.name)} for `{what}` but got dtype "
                f"{short.get(t._data.dtype.name, t._data.dtype.name)}"
            )
    if not isinstance(weight, Tensor):
        if isinstance(weight, builtins.bool) or not isinstance(weight, int | float):
            kind = type(weight).__name__
            raise TypeError(f"lerp(): argument 'weight' must be Number or Tensor, not {kind}")
        weight = Tensor._make(_xp(input._data).asarray(weight, dtype=dt), False, None)
    return Lerp.apply(input, end, weight)
