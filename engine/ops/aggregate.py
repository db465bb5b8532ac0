"""More reductions: all, any, amax, amin, prod, logsumexp, norms; softmax as torch.softmax."""

from __future__ import annotations

import builtins
import math

import numpy as np

from engine.autograd import Function, state
from engine.dtypes import scalar_name, to_dtype
from engine.ops import activation
from engine.ops.elementwise import _floating, _xp, tensor_arg
from engine.ops.reduce import _axes
from engine.tensor import NO_DIM, Tensor


def _kept(g, axes, keepdim):
    """A reduced array with its reduced axes back as size 1 (it broadcasts over the input)."""
    return g if keepdim or not axes else _xp(g).expand_dims(g, axes)


def _contiguous(out):
    return out if out.flags.c_contiguous else _xp(out).ascontiguousarray(out)


def _reduced_count(shape, axes) -> int:
    return math.prod(shape[i] for i in axes)


# ----- all, any ------------------------------------------------------------------------


def _logical(op: str, input, dim, keepdim):
    tensor_arg(op, input)
    a = input._data
    axes = _axes(dim if dim != () else None, a.ndim, op)
    xp = _xp(a)
    found = a.astype(bool)
    out = (
        found.all(axis=axes, keepdims=keepdim)
        if op == "all"
        else found.any(axis=axes, keepdims=keepdim)
    )
    out = xp.asarray(out)
    if a.dtype == np.uint8:  # PyTorch keeps uint8 for uint8 input
        out = out.astype(np.uint8)
    return Tensor._make(_contiguous(out), False, None)


def all(input, dim=None, keepdim=False):
    """Whether every element (along `dim`) is nonzero."""
    return _logical("all", input, dim, keepdim)


def any(input, dim=None, keepdim=False):
    """Whether some element (along `dim`) is nonzero."""
    return _logical("any", input, dim, keepdim)


# ----- amax, amin ----------------------------------------------------------------------


class ExtremumOver(Function):
    """amax/amin over some dims: the gradient is split evenly among the elements equal to
    the result (a slice whose result is NaN gets NaN, as PyTorch's count of 0 gives)."""

    saves = ((0, None), ("out", None))

    def forward(self, a, axes, keepdim):
        self.a, self.axes, self.keepdim = a, axes, keepdim
        out = (
            a.max(axis=axes, keepdims=keepdim)
            if self.op == "amax"
            else a.min(axis=axes, keepdims=keepdim)
        )
        self.out = _contiguous(_xp(a).asarray(out))
        return self.out

    def backward(self, g):
        hit = self.a == _kept(self.out, self.axes, self.keepdim)
        count = hit.sum(axis=self.axes, keepdims=True).astype(g.dtype)
        return ((_kept(g, self.axes, self.keepdim) / count) * hit,)


class Amax(ExtremumOver):
    op = "amax"


class Amin(ExtremumOver):
    op = "amin"


def _extremum_over(cls, input, dim, keepdim):
    tensor_arg(cls.op, input)
    shape = input.shape
    whole = dim is None or (not isinstance(dim, int) and len(dim) == 0)
    axes = _axes(None if whole else dim, input.ndim, cls.op)
    if input._data.size == 0:
        if whole:
            raise RuntimeError(
                f"{cls.op}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        for axis in axes:
            if shape[axis] == 0:
                raise IndexError(
                    f"{cls.op}(): Expected reduction dim {axis} to have non-zero size."
                )
    return cls.apply(input, axes=axes, keepdim=keepdim)


def amax(input, dim=(), keepdim=False):
    """The maximum over `dim` (all dims by default); ties share the gradient evenly."""
    return _extremum_over(Amax, input, dim, keepdim)


def amin(input, dim=(), keepdim=False):
    """The minimum over `dim` (all dims by default); ties share the gradient evenly."""
    return _extremum_over(Amin, input, dim, keepdim)


# ----- prod ----------------------------------------------------------------------------


def _exclusive_products(a, axis):
    """For each element, the product of the others along `axis` (exact where there are zeros)."""
    xp = _xp(a)

    def shifted_cumprod(x):  # the product of the elements before each one
        head = (slice(None),) * axis
        ones = xp.ones_like(x[(*head, slice(0, 1))])
        return xp.cumprod(xp.concatenate([ones, x[(*head, slice(0, -1))]], axis=axis), axis=axis)

    return shifted_cumprod(a) * xp.flip(shifted_cumprod(xp.flip(a, axis)), axis)


class Prod(Function):
    """The product over one dim or all elements. Without zeros in the input the gradient is
    out / x, as PyTorch computes it; with zeros, the product of the other elements (all 0
    for a product of all elements with two zeros or more, PyTorch's shortcut)."""

    op = "prod"
    saves = ((0, None), ("out", None))

    def forward(self, a, axis, keepdim):
        self.a, self.axis, self.keepdim = a, axis, keepdim
        axes = tuple(range(a.ndim)) if axis is None else (axis,)
        self.out = _contiguous(_xp(a).asarray(a.prod(axis=axes, keepdims=keepdim, dtype=a.dtype)))
        return self.out

    def backward(self, g):
        a, xp = self.a, _xp(g)
        if a.ndim == 0:
            return (g,)
        axes = tuple(range(a.ndim)) if self.axis is None else (self.axis,)
        g = _kept(g, axes, self.keepdim)
        if not bool((a == 0).any()):
            return (g * _kept(self.out, axes, self.keepdim) / a,)
        if self.axis is None:
            if int((a == 0).sum()) > 1:  # PyTorch's shortcut: every product of the others is 0
                return (xp.zeros(a.shape, dtype=g.dtype),)
            others = _exclusive_products(a.reshape(-1), 0).reshape(a.shape)
        else:
            others = _exclusive_products(a, self.axis)
        return (xp.broadcast_to(g, a.shape) * others,)


def accumulated(input, dtype):
    """`input` in the dtype a product or a scan works in: `dtype` when given, int64 for an
    integer or bool input. A tensor that requires grad cannot go to an integer dtype."""
    if dtype is not None:
        np_dtype = to_dtype(dtype).np
        if np_dtype.kind != "f" and input.requires_grad and state.grad_enabled:
            raise RuntimeError(f"Autograd not support dtype: {scalar_name(np_dtype)}")
        return input.to(dtype)
    if input._data.dtype.kind in "biu":
        return input.to(np.int64)
    return input


def prod(input, dim=NO_DIM, keepdim=False, *, dtype=None):
    """The product of all elements, or along one dim; integer and bool inputs give int64."""
    tensor_arg("prod", input)
    if dim is NO_DIM and keepdim or dim is not NO_DIM and not isinstance(dim, int):
        got = "keepdim=bool" if dim is NO_DIM else type(dim).__name__
        raise TypeError(
            f"prod() received an invalid combination of arguments - got ({got}): expected "
            "(*, dtype) or (int dim, bool keepdim=False, *, dtype)"
        )
    input = accumulated(input, dtype)
    if dim is NO_DIM:
        return Prod.apply(input, axis=None, keepdim=False)
    axes = _axes(dim, input.ndim, "prod")
    if not axes:  # a 0-d tensor
        return Prod.apply(input, axis=None, keepdim=False)
    return Prod.apply(input, axis=axes[0], keepdim=keepdim)


# ----- logsumexp -----------------------------------------------------------------------


class LogSumExp(Function):
    op = "logsumexp"
    saves = ((0, None), ("out", None))

    def forward(self, a, axes, keepdim):
        xp = _xp(a)
        self.a, self.axes, self.keepdim = a, axes, keepdim
        if _reduced_count(a.shape, axes):
            shift = a.max(axis=axes, keepdims=True)
            shift = xp.where(xp.isinf(shift), a.dtype.type(0), shift)  # inf - inf is no shift
        else:
            shift = xp.zeros((1,) * a.ndim, dtype=a.dtype)
        total = xp.exp(a - shift).sum(axis=axes, keepdims=True)
        out = xp.log(total) + shift
        if not keepdim and axes:
            out = out.squeeze(axes)
        self.out = _contiguous(xp.asarray(out))
        return self.out

    def backward(self, g):
        out = _kept(self.out, self.axes, self.keepdim)
        return (_kept(g, self.axes, self.keepdim) * _xp(g).exp(self.a - out),)


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(input))) over `dim`, computed without overflow."""
    tensor_arg("logsumexp", input)
    axes = _axes(dim, input.ndim, "logsumexp")
    return LogSumExp.apply(_floating(input), axes=axes, keepdim=keepdim)


# ----- norms ---------------------------------------------------------------------------


class VectorNorm(Function):
    """The `p`-norm of the elements over some dims (inf: max |x|, -inf: min |x|, 0: count)."""

    op = "linalg_vector_norm"
    saves = ((0, None), ("out", None))

    def forward(self, a, p, axes, keepdim, single_is_abs=True):
        xp = _xp(a)
        self.a, self.p, self.axes, self.keepdim = a, p, axes, keepdim
        mag = xp.abs(a)
        reduced = a.size if axes is None else math.prod(a.shape[i] for i in axes)
        if reduced == 1 and p != 0 and single_is_abs:
            # PyTorch's norm of a single element is |x| (no overflow from its square),
            # except for a 0-d tensor reduced over an explicit dim
            out = mag.sum(axis=axes, keepdims=keepdim)
        elif p == math.inf:
            out = mag.max(axis=axes, keepdims=keepdim)
        elif p == -math.inf:
            out = mag.min(axis=axes, keepdims=keepdim)
        elif p == 0:
            out = (a != 0).sum(axis=axes, keepdims=keepdim).astype(a.dtype)
        elif p == 1:
            out = mag.sum(axis=axes, keepdims=keepdim)
        elif p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=keepdim))
        else:
            out = (mag ** a.dtype.type(p)).sum(axis=axes, keepdims=keepdim) ** a.dtype.type(1 / p)
        self.out = _contiguous(xp.asarray(out, dtype=a.dtype))
        return self.out

    def backward(self, g):
        # PyTorch's formulas, products and all, so that NaN and inf spread as they do there
        a, p, xp = self.a, self.p, _xp(g)
        zero = g.dtype.type(0)
        g = _kept(g, self.axes, self.keepdim)
        out = _kept(self.out, self.axes, self.keepdim)
        sign = (a > 0).astype(g.dtype) - (a < 0).astype(g.dtype)  # 0 at NaN, as PyTorch's sgn
        if p == 0:
            return (None,)  # PyTorch's undefined gradient: a leaf's .grad stays None
        if p == 1:
            return (sign * g,)
        if p == 2:
            return (g * xp.where(out == 0, zero, a / out),)
        if builtins.abs(p) == math.inf:  # the elements at the norm share it; so do NaNs
            mag = xp.abs(a)
            hit = (mag == out) | xp.isnan(mag)
            count = hit.sum(axis=self.axes, keepdims=True).astype(g.dtype)
            return (sign * ((g / count) * hit),)
        if p < 1:
            scaled = sign * xp.where(a == 0, zero, xp.abs(a) ** g.dtype.type(p - 1))
            return (scaled * g * out ** g.dtype.type(1 - p),)
        if p < 2:
            scaled = sign * xp.abs(a) ** g.dtype.type(p - 1)
        else:
            scaled = a * xp.abs(a) ** g.dtype.type(p - 2)
        return (scaled * xp.where(out == 0, zero, g / out ** g.dtype.type(p - 1)),)

    def backward_graph(self, g):
        """The gradient as engine ops, for create_graph: p = 0, 1, 2 and +-inf."""
        from engine import ops
        from engine.ops import graph_grads as gg

        a, p, xp = self.a, self.p, _xp(self.a)
        kept = _kept(self.out, self.axes, self.keepdim)
        if kept.shape != tuple(g.shape):
            g = g.reshape(kept.shape)
        sign = (a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)
        if p == 0:
            return (None,)
        if p == 1:
            return (gg._const(sign) * g,)
        if builtins.abs(p) == math.inf:
            mag = xp.abs(a)
            hit = (mag == kept) | xp.isnan(mag)
            share = sign * hit / hit.sum(axis=self.axes, keepdims=True).astype(a.dtype)
            return (gg._const(share) * g,)
        if p != 2:
            raise RuntimeError(
                f"{self.op}: differentiating the gradient of the {p:g}-norm (create_graph=True) "
                "is not supported yet"
            )
        norm = gg._output(self, self.out).reshape(kept.shape)
        zero = gg._const(kept == 0)
        return (ops.where(zero, 0.0, g * (gg._input(self, 0, a) / ops.where(zero, 1.0, norm))),)


def _check_floating(op: str, input) -> None:
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. "
            f"Got {scalar_name(input._data.dtype)}"
        )


def vector_norm(input, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector `ord`-norm of `input` over `dim` (all elements by default)."""
    tensor_arg("linalg.vector_norm", input)
    if isinstance(ord, str) or not isinstance(ord, int | float):
        raise TypeError(
            f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, "
            f"not {type(ord).__name__}"
        )
    _check_floating("linalg.vector_norm", input)
    if dtype is not None:
        input = input.to(dtype)
    axes = _axes(dim, input.ndim, "linalg.vector_norm")
    if (ord < 0 or builtins.abs(ord) == math.inf) and _reduced_count(input.shape, axes) == 0:
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
            "operation does not have an identity"
        )
    single_is_abs = input.ndim > 0 or dim is None or dim == ()
    return VectorNorm.apply(
        input, p=float(ord), axes=axes, keepdim=keepdim, single_is_abs=single_is_abs
    )


def _dims(dim) -> tuple:
    return (dim,) if isinstance(dim, int) else tuple(dim)


def matrix_norm(input, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix `ord`-norm ('fro', 1, -1, inf, -inf) over the two dims `dim`."""
    tensor_arg("linalg.matrix_norm", input)
    _check_floating("linalg.matrix_norm", input)
    if input.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    dims = _dims(dim)
    if len(dims) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dims))}"
        )
    rows, cols = _axes(dims, input.ndim, "linalg.matrix_norm")
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({rows}, {cols})")
    if dtype is not None:
        input = input.to(dtype)
    if ord == "fro":
        return VectorNorm.apply(input, p=2.0, axes=(rows, cols), keepdim=keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        summed, over = (rows, cols) if builtins.abs(ord) == 1 else (cols, rows)
        sums = input.abs().sum(summed, keepdim=True)
        out = (amax if ord > 0 else amin)(sums, over, keepdim=True)
        return (
            out
            if keepdim
            else out.squeeze(builtins.max(rows, cols)).squeeze(builtins.min(rows, cols))
        )
    raise NotImplementedError(
        f"linalg.matrix_norm: ord={ord!r} is not supported (supported: 'fro', 1, -1, inf, -inf)"
    )


def linalg_norm(input, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm over one dim (or all, flattened), a matrix norm
    over two."""
    tensor_arg("linalg.norm", input)
    if dim is not None:
        dims = _dims(dim)
        if len(dims) == 2:
            return matrix_norm(input, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(input, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(input, 2, None, keepdim, dtype=dtype)
    if input.ndim not in (1, 2):
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
            f"Got {input.ndim}D."
        )
    if input.ndim == 1:
        if isinstance(ord, str):
            raise RuntimeError(
                "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
            )
        return vector_norm(input, ord, None, keepdim, dtype=dtype)
    return matrix_norm(input, ord, (0, 1), keepdim, dtype=dtype)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm: the `p`-norm over `dim` (all elements by default); 'fro' is the 2-norm."""
    tensor_arg("norm", input)
    if out is not None:
        raise TypeError("norm(): out= is not supported")
    if p is None:
        p = "fro"
    if isinstance(p, str):
        if p != "fro":
            raise NotImplementedError(f"norm(): p={p!r} is not supported (use 'fro' or a number)")
        if dim is not None and len(_dims(dim)) > 2:
            raise RuntimeError(
                f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, _dims(dim)))}"
            )
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


# ----- softmax and log_softmax as torch functions and Tensor methods -------------------


def _dim_int(op: str, dim, position: int) -> None:
    if not isinstance(dim, int):
        raise TypeError(
            f"{op}(): argument 'dim' (position {position}) must be int, not {type(dim).__name__}"
        )


def softmax(input, dim, dtype=None, *, _position=2):
    """torch.softmax: `dim` is required."""
    _dim_int("softmax", dim, _position)
    return activation.softmax(input, dim, dtype)


def log_softmax(input, dim, dtype=None, *, _position=2):
    """torch.log_softmax: `dim` is required."""
    _dim_int("log_softmax", dim, _position)
    return activation.log_softmax(input, dim, dtype)


__all__ = [
    "all", "amax", "amin", "any", "linalg_norm", "log_softmax", "logsumexp", "matrix_norm",
    "norm", "prod", "softmax", "vector_norm",
]  # fmt: skip
