"""torch.autograd.function: the custom Function and its once_differentiable decorator."""

from __future__ import annotations

import functools

from engine.autograd import Function, no_grad

__all__ = ["Function", "once_differentiable"]


def once_differentiable(backward):
    """Mark a custom Function's backward as not differentiable itself: it runs without
    recording a graph."""

    @functools.wraps(backward)
    def run(ctx, *grad_outputs):
        with no_grad():
            return backward(ctx, *grad_outputs)

    return run
