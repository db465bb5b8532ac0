"""Cheap per-layer health summaries during training, every N steps."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine import backend
from engine.nn.activation import ReLU


@dataclass
class LayerHealth:
    """One module's activations at a sampled step."""

    name: str
    kind: str
    act_mean: float
    act_std: float
    dead_fraction: float | None  # ReLU layers: units that are zero for every sample of the batch


@dataclass
class ParamHealth:
    """One parameter at a sampled step."""

    name: str
    grad_norm: float | None
    weight_norm: float
    update_ratio: float | None  # |update| / |weight before it| of the step that followed


@dataclass
class HealthReport:
    step: int
    layers: list[LayerHealth] = field(default_factory=list)
    params: list[ParamHealth] = field(default_factory=list)


class Monitor:
    """Summarises a model's layers every `every` steps.

    Forward hooks record activation statistics on sampled steps; call
    `monitor.step()` once per training step, after `optimizer.step()`, to add
    gradient norms and update-to-weight ratios. `reports` keeps the summaries.
    """

    def __init__(self, model, every: int = 10, keep: int = 1000):
        if every < 1:
            raise ValueError(f"Monitor: every must be a positive integer, got {every}")
        self.model, self.every, self.keep = model, every, keep
        self.steps = 0
        self.reports: list[HealthReport] = []
        self._pending: HealthReport | None = None
        self._before: dict[str, object] = {}
        self._handles = []
        for name, module in model.named_modules():
            if name and not list(module.children()):  # leaf layers only
                self._handles.append(module.register_forward_hook(self._hook(name)))

    @property
    def sampling(self) -> bool:
        """Whether the current step is one that gets summarised."""
        return self.steps % self.every == 0

    def _hook(self, name: str):
        @backend.quiet_float_errors()
        def hook(module, inputs, output):
            # evaluation passes (eval mode) would mix into the training step's summary
            if not self.sampling or not module.training or not hasattr(output, "_data"):
                return
            if self._pending is None:
                self._pending = HealthReport(self.steps)
                self._before = {n: p._data.copy() for n, p in self.model.named_parameters()}
            a = output._data
            mean = float(a.mean()) if a.size else math.nan
            std = float(a.std()) if a.size else math.nan
            dead = None
            if isinstance(module, ReLU) and a.ndim >= 2 and a.shape[0] > 0:
                units = (a != 0).any(axis=0)
                dead = 1.0 - float(units.mean())
            self._pending.layers.append(LayerHealth(name, type(module).__name__, mean, std, dead))

        return hook

    @backend.quiet_float_errors()
    def step(self) -> HealthReport | None:
        """Close the current step; returns its report when it was a sampled one."""
        report = self._pending
        if report is not None:
            for name, p in self.model.named_parameters():
                xp = backend.array_module(p._data)
                w = float(xp.linalg.norm(p._data))
                g = None if p.grad is None else float(xp.linalg.norm(p.grad._data))
                before = self._before.get(name)
                ratio = None
                if before is not None and before.shape == p._data.shape:
                    delta = float(xp.linalg.norm(p._data - before))
                    w_before = float(xp.linalg.norm(before))
                    ratio = delta / w_before if w_before else math.inf
                report.params.append(ParamHealth(name, g, w, ratio))
            self.reports.append(report)
            del self.reports[: -self.keep]
            self._pending, self._before = None, {}
        self.steps += 1
        return report

    def close(self) -> None:
        """Remove the hooks from the model."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
