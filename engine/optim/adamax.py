"""Adamax, NAdam and RAdam: Adam with an infinity norm, Nesterov momentum, or a rectifier."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from engine import backend
from engine.optim.adam import check_adam_options
from engine.optim.optimizer import Optimizer, check_implementation_options, zeros_state
from engine.tensor import Tensor


class Adamax(Optimizer):
    """Adamax (Kingma & Ba): Adam with the second moment replaced by a decaying max of |g|."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        check_adam_options(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        check_implementation_options(differentiable)
        super().__init__(params, defaults)

    @backend.quiet_float_errors()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()`'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad._data if group["maximize"] else p.grad._data
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = zeros_state(p)
                    state["exp_inf"] = zeros_state(p)
                state["step"] += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * p._data
                xp = backend.array_module(p._data)
                exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
                exp_avg += (1 - beta1) * (grad - exp_avg)  # PyTorch's lerp_(grad, 1 - beta1)
                exp_inf *= beta2
                xp.maximum(exp_inf, xp.abs(grad) + eps, out=exp_inf)
                clr = lr / (1 - beta1 ** state["step"])
                self._apply_update(p, clr * (exp_avg / exp_inf), group)
        return loss


class NAdam(Optimizer):
    """NAdam (Dozat): Adam with Nesterov momentum, its momentum warmed up by `momentum_decay`.

    `decoupled_weight_decay=True` shrinks the parameter by `lr * weight_decay`
    (NAdamW) instead of adding `weight_decay * p` to the gradient.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        check_adam_options(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        check_implementation_options(differentiable)
        super().__init__(params, defaults)

    @backend.quiet_float_errors()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()`'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, momentum_decay = group["weight_decay"], group["momentum_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad._data if group["maximize"] else p.grad._data
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["mu_product"] = 1.0
                    state["exp_avg"] = zeros_state(p)
                    state["exp_avg_sq"] = zeros_state(p)
                state["step"] += 1
                step = state["step"]
                decay = None
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        decay = (lr * weight_decay) * p._data
                    else:
                        grad = grad + weight_decay * p._data
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
                state["mu_product"] *= mu
                mu_product = state["mu_product"]
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                exp_avg += (1 - beta1) * (grad - exp_avg)
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * grad * grad
                denom = backend.array_module(p._data).sqrt(exp_avg_sq / (1 - beta2**step))
                denom += eps
                update = (lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
                update += (lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denom)
                self._apply_update(p, update if decay is None else update + decay, group)
        return loss


class RAdam(Optimizer):
    """RAdam (Liu et al.): Adam whose adaptive step is switched on, rectified, once the
    variance of its estimate is tractable; before that, plain momentum SGD.

    `decoupled_weight_decay=True` shrinks the parameter by `lr * weight_decay`.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        check_adam_options(lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        check_implementation_options(differentiable)
        super().__init__(params, defaults)

    @backend.quiet_float_errors()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()`'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad._data if group["maximize"] else p.grad._data
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = zeros_state(p)
                    state["exp_avg_sq"] = zeros_state(p)
                state["step"] += 1
                step = state["step"]
                decay = None
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        decay = (lr * weight_decay) * p._data
                    else:
                        grad = grad + weight_decay * p._data
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                exp_avg += (1 - beta1) * (grad - exp_avg)
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * grad * grad
                bias_correction2 = 1 - beta2**step
                corrected_avg = exp_avg / (1 - beta1**step)
                rho_inf = 2 / (1 - beta2) - 1  # the longest the averaging window gets
                rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
                if rho_t > 5.0:
                    rect = math.sqrt(
                        (rho_t - 4)
                        * (rho_t - 2)
                        * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    )
                    denom = backend.array_module(p._data).sqrt(exp_avg_sq)
                    denom += eps
                    update = (lr * rect) * corrected_avg * (math.sqrt(bias_correction2) / denom)
                else:
                    update = lr * corrected_avg
                self._apply_update(p, update if decay is None else update + decay, group)
        return loss
