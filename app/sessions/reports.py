"""What a training run tells its watchers: plain dataclasses, no live arrays but the bad batch."""

from __future__ import annotations

from dataclasses import dataclass

import engine


@dataclass
class BatchReport:
    """Progress within an epoch; `epoch` counts from 1 and `batch` is batches done in it."""

    epoch: int
    batch: int
    batches: int
    global_step: int
    loss: float
    smooth_loss: float
    samples_per_s: float
    eta_s: float  # to the end of this epoch
    lr: float


@dataclass
class EpochReport:
    """One finished epoch; accuracies are None for regression losses."""

    epoch: int
    train_loss: float
    train_acc: float | None
    val_loss: float
    val_acc: float | None
    seconds: float


@dataclass
class NonFiniteReport:
    """Batch `batch` (from 1) of `epoch` had a NaN or infinite loss; its update was not made.

    `global_step` is the step that batch would have been.
    """

    epoch: int
    batch: int
    global_step: int
    loss: float


@dataclass
class BadBatch:
    """What replays a non-finite step: the batch and the run's RNG state before its forward.

    `epoch`, `batch` and `global_step` are the session's counters when it ran (all
    from 0); the model still holds the weights it ran with.
    """

    inputs: engine.Tensor
    targets: engine.Tensor
    rng_state: dict
    epoch: int
    batch: int
    global_step: int
    loss: float


Report = BatchReport | EpochReport | NonFiniteReport
