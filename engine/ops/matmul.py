"""Matrix products: matmul and linear."""

from __future__ import annotations

import math

from engine.autograd import Function, OpError, unbroadcast, version_counter
from engine.dtypes import scalar_name
from engine.ops.elementwise import _written, _xp, tensor_arg
from engine.tensor import Tensor


class Matmul(Function):
    op = "matmul"
    saves = ((0, 1), (1, 0))
    fresh_grads = True

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise OpError(
                f"matmul: both arguments need at least 1 dimension, got {a.shape} and {b.shape}"
            )
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise OpError(
                f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({k_a} != {k_b})"
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b, xp = self.a, self.b, _xp(g)
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return (g * b if self.needs(0) else None, g * a if self.needs(1) else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        ga = gb = None
        if self.needs(0):
            ga = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs(1):
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(input, other, *, out=None):
    """The matrix product, broadcast over batch dimensions; vectors as rows or columns."""
    return _written("matmul", _matmul(input, other), out, exact_dtype=True)


def _matmul(input, other):
    a = tensor_arg("matmul", input)
    b = tensor_arg("matmul", other, "other", 2)
    if a._data.dtype != b._data.dtype and _batched_and_empty(a, b):
        # PyTorch's batched product returns before it checks dtypes: the result has b's
        cast = a.to(b.dtype) if b.is_floating_point() else a.detach().to(b.dtype)
        # it saves a itself (expanded) for b's gradient: the cast shares a's version, so a
        # change to a in place makes backward fail as there
        cast._counter = version_counter(a)
        return Matmul.apply(cast, b)
    if a._data.dtype != b._data.dtype:  # PyTorch does not promote matrix products
        raise RuntimeError(
            f"matmul: expected both operands to have the same dtype, but found {a.dtype} "
            f"and {b.dtype}"
        )
    empty = not (a.shape[-1] and a._data.size and b._data.size)
    if a._data.dtype.kind == "b" and (not empty or a.ndim == b.ndim == 1):
        raise NotImplementedError('"matmul" not implemented for bool')
    return Matmul.apply(a, b)


def _batched_and_empty(a, b) -> bool:
    """Whether PyTorch's matmul takes its batched path (it folds a 3-d by 2-d product into
    one matrix product) and that path has nothing to multiply."""
    if min(a.ndim, b.ndim) < 2 or max(a.ndim, b.ndim) < 3 or a.ndim == 0 or b.ndim == 0:
        return False
    big, small = (a, b) if a.ndim >= b.ndim else (b, a)
    folds = small.ndim <= 2 and (small.requires_grad or a.ndim != 2)
    if folds and a.ndim >= b.ndim and big._data.size:  # folds only if rows are contiguous
        arr = big._data
        lead = [
            (arr.strides[i], arr.strides[i + 1] * arr.shape[i + 1]) for i in range(arr.ndim - 2)
        ]
        folds = all(s == want for s, want in lead)
    if folds or (a.requires_grad and not b.is_floating_point()):
        return False  # the second: PyTorch's "Autograd not support dtype"
    if a.requires_grad and a.ndim >= 3 and a.shape[:-2] != b.shape[:-2]:
        return False  # PyTorch then expands a and multiplies through mm
    if b.requires_grad and a.ndim == b.ndim == 3 and b.shape[0] == 1 != a.shape[0]:
        return False  # PyTorch then multiplies a by b's one matrix through mm
    k = a.shape[-1]
    rows, cols = a.shape[-2], b.shape[-1]
    return a._data.size == 0 or b._data.size == 0 or k == 0 or rows == 0 or cols == 0


def mm(input, mat2, *, out=None):
    """The product of two matrices (2-D only, unlike matmul)."""
    for name, t in (("self", input), ("mat2", tensor_arg("mm", mat2, "mat2", 2))):
        if tensor_arg("mm", t).ndim != 2:
            raise RuntimeError(f"mm: {name} must be a matrix (got shape {tuple(t.shape)})")
    return _written("mm", _matmul(input, mat2), out, exact_dtype=True)


class LinearOp(Function):
    op = "linear"
    saves = ((0, 1), (1, 0))
    fresh_grads = True

    def forward(self, x, weight, bias=None):
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise OpError(
                f"linear: input of shape {x.shape} does not fit weight {weight.shape}: "
                f"expected input (*, {weight.shape[1]})"
            )
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        # one matrix product over all leading dims (NumPy runs a stack of small ones otherwise)
        out = (_rows(x) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        x, w = self.x, self.weight
        g2 = g.reshape(-1, g.shape[-1])
        gx = (_rows(g) @ w).reshape(x.shape) if self.needs(0) else None
        gw = (g2.T @ x.reshape(-1, x.shape[-1])) if self.needs(1) else None
        if not self.has_bias:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if self.needs(2) else None)


def _rows(x):
    """`x` as a matrix of its last dim's rows (a view when its layout allows)."""
    return x if x.ndim <= 2 else x.reshape(math.prod(x.shape[:-1]), x.shape[-1])


def linear(input, weight, bias=None):
    """input @ weight.T + bias."""
    for name, other in (("mat1", input), ("self", bias)):
        if isinstance(other, Tensor) and other._data.dtype != weight._data.dtype:
            raise RuntimeError(
                f"{name} and mat2 must have the same dtype, but got "
                f"{scalar_name(other._data.dtype)} and {scalar_name(weight._data.dtype)}"
            )
    return LinearOp.apply(input, weight) if bias is None else LinearOp.apply(input, weight, bias)
