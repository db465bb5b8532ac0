"""torch.autograd.function and torch.autograd.Variable as PyTorch 1.0-era code uses them."""

from __future__ import annotations

import functools
import warnings

from engine.autograd import Function, no_grad
from engine.tensor import Tensor

__all__ = ["Function", "Variable", "once_differentiable"]


def once_differentiable(backward):
    """Mark a custom Function's backward as not differentiable itself: it runs without
    recording a graph."""

    @functools.wraps(backward)
    def run(ctx, *grad_outputs):
        with no_grad():
            return backward(ctx, *grad_outputs)

    return run


class _VariableType(type):
    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)  # every tensor is a Variable since PyTorch 0.4


class Variable(metaclass=_VariableType):
    """Variable(tensor, requires_grad=False): since PyTorch 0.4 a tensor itself; this gives a
    detached alias of `data` (same storage) that requires grad if asked."""

    def __new__(cls, data, requires_grad: bool = False, volatile=None):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if volatile is not None:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                UserWarning,
                stacklevel=2,
            )
        return data.detach().requires_grad_(requires_grad)
