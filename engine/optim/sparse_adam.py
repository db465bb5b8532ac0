"""SparseAdam: Adam for sparse gradients. The engine's gradients are all dense, so its
`step` refuses them as PyTorch's does for a dense gradient."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from engine.optim.optimizer import Optimizer
from engine.tensor import Tensor


class SparseAdam(Optimizer):
    """PyTorch's SparseAdam options and checks; `step()` raises RuntimeError for every
    (necessarily dense) gradient, with PyTorch's message."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Refuse the dense gradients the engine produces, as PyTorch does."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    raise RuntimeError(
                        "SparseAdam does not support dense gradients, please consider Adam instead"
                    )
        return loss
