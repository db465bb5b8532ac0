"""Vector p-norms along dims, and what is built on them: normalize, cosine similarity, distance."""

from __future__ import annotations

import math

from engine.autograd import Function, is_grad_enabled
from engine.dtypes import scalar_name
from engine.ops.elementwise import _operands, _xp
from engine.ops.movement import expand
from engine.ops.reduce import _axes
from engine.ops.unary import clamp
from engine.tensor import Tensor


class VectorNormOp(Function):
    """(sum |x|^p)^(1/p) over `axes`; p = inf and -inf are the max and min of |x|, p = 0 counts."""

    op = "norm"
    saves = ((0, None), ("out", None))

    def forward(self, x, p, axes, keepdim):
        xp = _xp(x)
        a = xp.abs(x)
        if p == 2:
            out = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            out = a.sum(axis=axes, keepdims=True)
        elif p == math.inf:
            out = a.max(axis=axes, keepdims=True)
        elif p == -math.inf:
            out = a.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        else:
            out = (a**p).sum(axis=axes, keepdims=True) ** x.dtype.type(1 / p)
        self.x, self.norm, self.p, self.axes, self.keepdim = x, out, p, axes, keepdim
        return out if keepdim else out.squeeze(axis=axes) if axes else out

    def backward(self, g):
        x, norm, p, xp = self.x, self.norm, self.p, _xp(g)
        if not self.keepdim and self.axes:
            g = xp.expand_dims(g, self.axes)
        zero = norm == 0
        if p == 0:
            return (xp.zeros_like(x),)
        if p == 1:
            return (xp.sign(x) * g,)
        if p == 2:
            return (x * xp.where(zero, 0, g / xp.where(zero, 1, norm)),)
        if math.isinf(p):  # the gradient is shared among the entries that reach the extreme
            a = xp.abs(x)
            hit = (a == norm) | xp.isnan(a)
            count = hit.sum(axis=self.axes, keepdims=True).astype(x.dtype)
            return (xp.sign(x) * (g / count) * hit,)
        a = xp.abs(x)
        if p < 1:
            scaled = xp.sign(x) * xp.where(x == 0, 0, a ** (p - 1))
            return (scaled * g * norm ** (1 - p),)
        scaled = xp.sign(x) * a ** (p - 1) if p < 2 else x * a ** (p - 2)
        return (scaled * xp.where(zero, 0, g / xp.where(zero, 1, norm ** (p - 1))),)

    def backward_graph(self, g):
        """The gradient as engine ops, for create_graph: p = 0, 1, 2 and +-inf."""
        from engine import ops
        from engine.ops import graph_grads as gg

        x, p, xp = gg._input(self, 0, self.x), self.p, _xp(self.x)
        if not self.keepdim and self.axes:
            g = g.reshape(self.norm.shape)
        if p == 0:
            return (x * 0,)
        if p == 1:
            return (gg._const(xp.sign(self.x)) * g,)
        if math.isinf(p):
            a = xp.abs(self.x)
            hit = (a == self.norm) | xp.isnan(a)
            share = xp.sign(self.x) * hit / hit.sum(axis=self.axes, keepdims=True)
            return (gg._const(share.astype(self.x.dtype)) * g,)
        if p != 2:
            raise RuntimeError(
                f"norm: differentiating the gradient of the {p:g}-norm (create_graph=True) is "
                "not supported yet"
            )
        out = gg._output(self, self.norm if self.keepdim else self.norm.squeeze(axis=self.axes))
        norm = out.reshape(self.norm.shape)
        zero = gg._const(self.norm == 0)
        return (x * ops.where(zero, 0.0, g / ops.where(zero, 1.0, norm)),)


def vector_norm(input, p=2.0, dim=None, keepdim=False):
    """The p-norm of `input` over `dim` (all dims when None), as torch.linalg.vector_norm."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {scalar_name(input._data.dtype)}"
        )
    axes = _axes(dim, input.ndim, "norm")
    p = float(p)
    if p < 0 or p == math.inf:  # max and min have no value over nothing
        for axis in axes or range(input.ndim):
            if input.shape[axis] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {p:g} norm on the dimension {axis} "
                    "because this dimension is empty and the operation does not have an identity"
                )
    return VectorNormOp.apply(input, p=p, axes=axes, keepdim=keepdim)


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
        shape = tuple(_xp(a._data).broadcast_shapes(a.shape, b.shape))
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
