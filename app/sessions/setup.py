"""What a design's training settings make: the loss, its target, the optimizer and the schedule."""

from __future__ import annotations

from typing import Any

import engine
import engine.nn as nn
import engine.nn.functional as F
from engine.optim import lr_scheduler

CLASSIFICATION_LOSSES = ("CrossEntropyLoss", "NLLLoss")
BINARY_LOSSES = ("BCEWithLogitsLoss", "BCELoss")
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam")
SCHEDULES = (
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
    "LinearLR", "ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
)  # fmt: skip


class SessionError(ValueError):
    """A design or setting that cannot be trained: the message names the value."""


def loss_target(loss_name: str, out: engine.Tensor, y: engine.Tensor) -> engine.Tensor:
    """Labels as the loss wants them: indices, or floats shaped like the output."""
    if loss_name in CLASSIFICATION_LOSSES or y.is_floating_point():
        return y
    if out.ndim == 2 and out.shape[1] > 1:
        return F.one_hot(y, out.shape[1]).float()
    return y.float().reshape(out.shape)


def make_loss(name: str) -> nn.Module:
    """The loss module named in a design's training settings."""
    cls = getattr(nn, name, None)
    if not isinstance(cls, type) or not name.endswith("Loss"):
        known = ", ".join(n for n in dir(nn) if n.endswith("Loss") and not n.startswith("_"))
        raise SessionError(f"unknown loss {name!r} (known: {known})")
    return cls()


def make_optimizer(settings: Any, params) -> engine.optim.Optimizer:
    """The optimizer a design's training settings describe, over `params`."""
    if not isinstance(settings, dict) or settings.get("type") not in OPTIMIZERS:
        kind = settings.get("type") if isinstance(settings, dict) else settings
        raise SessionError(f"unknown optimizer {kind!r} (known: {', '.join(OPTIMIZERS)})")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    kind = kwargs.pop("type")
    try:
        return getattr(engine.optim, kind)(params, **kwargs)
    except (TypeError, ValueError) as err:
        raise SessionError(f"optimizer {kind}: {err}") from None


def make_scheduler(settings: Any, optimizer) -> lr_scheduler.LRScheduler | None:
    """The learning-rate schedule a design's training settings describe, or None."""
    if settings is None:
        return None
    if not isinstance(settings, dict) or settings.get("type") not in SCHEDULES:
        kind = settings.get("type") if isinstance(settings, dict) else settings
        raise SessionError(f"unknown schedule {kind!r} (known: {', '.join(SCHEDULES)})")
    kwargs = dict(settings)
    kind = kwargs.pop("type")
    try:
        return getattr(lr_scheduler, kind)(optimizer, **kwargs)
    except (TypeError, ValueError) as err:
        raise SessionError(f"schedule {kind}: {err}") from None
