"""Rprop and ASGD: resilient backpropagation, and averaged stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from engine import backend, dtypes
from engine.optim.optimizer import Optimizer, zeros_state
from engine.tensor import Tensor


class Rprop(Optimizer):
    """Rprop (Riedmiller & Braun): a per-element step size grown by `etas[1]` while the
    gradient keeps its sign and shrunk by `etas[0]` when it flips, clamped to `step_sizes`;
    each element moves by its step size against the gradient's sign.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    @backend.quiet_float_errors()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()`'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad._data if group["maximize"] else p.grad._data
                xp = backend.array_module(p._data)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["prev"] = zeros_state(p)
                    state["step_size"] = Tensor._make(xp.full_like(grad, group["lr"]), False, None)
                state["step"] += 1
                prev, step_size = state["prev"]._data, state["step_size"]._data
                sign = xp.sign(grad * prev)
                factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1.0))
                factor = factor.astype(step_size.dtype, copy=False)
                step_size *= factor
                xp.clip(step_size, step_size_min, step_size_max, out=step_size)
                grad = xp.where(factor == factor.dtype.type(etaminus), 0, grad).astype(
                    grad.dtype, copy=False
                )
                self._apply_update(p, xp.sign(grad) * step_size, group)
                prev[...] = grad
        return loss


def _scalar_state(value: float) -> float:
    """`value` rounded as PyTorch's 0-d state tensors of the default scalar dtype hold it."""
    if dtypes.get_default_dtype() is dtypes.float64:
        return float(value)
    return float(np.float32(value))


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky): SGD with a decaying step `eta`, and a running
    average `ax` of the iterates that starts after `t0` steps.

    State per parameter: 'step', 'eta', 'mu' (numbers here; 0-d tensors in PyTorch)
    and 'ax', the averaged parameter.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    @backend.quiet_float_errors()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()`'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad._data if group["maximize"] else p.grad._data
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["eta"] = _scalar_state(lr)
                    state["mu"] = 1.0
                    state["ax"] = zeros_state(p)
                state["step"] += 1
                step, eta = state["step"], state["eta"]
                if weight_decay != 0:
                    grad = grad + weight_decay * p._data
                decayed = p._data * (1 - lambd * eta)
                new = decayed - eta * grad
                self._apply_update(p, p._data - new, group)
                ax = state["ax"]._data
                if state["mu"] != 1:
                    ax += (p._data - ax) * state["mu"]
                else:
                    ax[...] = p._data
                state["eta"] = _scalar_state(lr / ((1 + lambd * lr * step) ** alpha))
                state["mu"] = _scalar_state(1 / max(1, step - t0))
        return loss
