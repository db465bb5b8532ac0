"""What is built on vector p-norms: normalize, cosine similarity, pairwise distance."""

from __future__ import annotations

import numpy as np

from engine.autograd import Function, is_grad_enabled
from engine.dtypes import scalar_name
from engine.ops.aggregate import vector_norm
from engine.ops.elementwise import _operands, _xp
from engine.ops.movement import expand
from engine.ops.unary import clamp
from engine.tensor import Tensor


class ClampMinKeepGradOp(Function):
    """max(x, min) whose gradient passes straight through: the value is clamped out of the
    graph, as PyTorch clamps a norm in place under no_grad."""

    op = "clamp_min_"

    def forward(self, x, min):
        return _xp(x).maximum(x, x.dtype.type(min))

    def backward(self, g):
        return (g,)

    def backward_graph(self, g):
        return (g,)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    if out is not None and input.requires_grad and is_grad_enabled():
        raise RuntimeError(
            "div(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    denom = clamp(vector_norm(input, p, dim, keepdim=True), min=eps)
    result = input / expand(denom, *input.shape)
    if out is None:
        return result
    if tuple(out.shape) == tuple(result.shape):
        return out.copy_(result)
    out._data = result._data.astype(out._data.dtype)  # resized, as PyTorch resizes `out`
    return out


def _float_pair(op, x1, x2):
    """The inputs, an integer one in their promoted dtype (which must be a floating one); a
    floating one keeps its own dtype, as in PyTorch, until the product promotes it."""
    a, b = _operands(x1, x2)
    if a._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: expected common dtype to be floating point, yet common dtype is "
            f"{scalar_name(a._data.dtype)}"
        )
    return (
        x1 if x1._data.dtype.kind == "f" else a,
        x2 if x2._data.dtype.kind == "f" else b,
    )


def _broadcast(op, a, b):
    try:
        shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    except ValueError:
        raise RuntimeError(
            f"{op}: the size of tensor a {tuple(a.shape)} must match the size of tensor b "
            f"{tuple(b.shape)} at each non-singleton dimension"
        ) from None
    return (a if tuple(a.shape) == shape else expand(a, *shape)), (
        b if tuple(b.shape) == shape else expand(b, *shape)
    )


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along dim, after broadcasting."""
    for x in (x1, x2):
        if not isinstance(x, Tensor):
            raise TypeError(f"cosine_similarity(): argument must be Tensor, not {type(x).__name__}")
    a, b = _broadcast("cosine_similarity", *_float_pair("cosine_similarity", x1, x2))
    n1 = ClampMinKeepGradOp.apply(vector_norm(a, 2, dim, keepdim=True), min=eps)
    n2 = ClampMinKeepGradOp.apply(vector_norm(b, 2, dim, keepdim=True), min=eps)
    return ((a / n1) * (b / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension."""
    last = max(x1.ndim, x2.ndim) - 1
    return vector_norm(x1 - x2 + eps, p, last, keepdim)
