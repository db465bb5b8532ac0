"""What the screens share: one typed state object, and the messages that change it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.message import Message

from app.sessions.reports import BadBatch
from app.sessions.training import TrainingSession


@dataclass
class SharedState:
    """The App's one record of what one screen makes and another uses.

    The open design is not here: it is the App's `editor`, whose listeners every
    screen already follows. Screens read these fields; the App writes them when a
    message below arrives.
    """

    data_dir: Path | None = None  # where MNIST-like sets are read from
    training: TrainingSession | None = None  # the Train screen's run, whose weights Debug copies
    bad_batch: BadBatch | None = None  # the batch a run stopped on with a non-finite loss
    trained_weights: Path | None = None  # the weights of the last checkpoint saved or loaded


class RunStarted(Message):
    """A new training session is the one the screens share."""

    def __init__(self, session: TrainingSession) -> None:
        super().__init__()
        self.session = session


class BadBatchKept(Message):
    """A run stopped on a non-finite loss; its batch is there to debug."""

    def __init__(self, bad: BadBatch) -> None:
        super().__init__()
        self.bad = bad


class CheckpointSaved(Message):
    """A checkpoint was saved or loaded: its weights are the ones to export."""

    def __init__(self, weights: Path) -> None:
        super().__init__()
        self.weights = weights
