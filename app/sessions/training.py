"""Training a design: epochs of batches, pause/resume/stop, checkpoints and plain reports."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import engine
from app.model.analysis import analyse
from app.model.data import image_size, make_datasets
from app.model.design import Design
from app.sessions import checkpoints
from app.sessions.reports import BadBatch, BatchReport, EpochReport, NonFiniteReport, Report
from app.sessions.setup import (
    BINARY_LOSSES,
    CLASSIFICATION_LOSSES,
    SessionError,
    loss_target,
    make_loss,
    make_optimizer,
    make_scheduler,
)
from engine.backend import is_cuda_available
from engine.optim import lr_scheduler
from engine.random import Generator, use_generator
from engine.utils.data import DataLoader

SMOOTHING = 0.9  # weight of the past in the smoothed loss


class TrainingSession:
    """Trains a design's network on its dataset; the same code runs headless and in the TUI.

    `epoch` is the number of finished epochs and `batch` the batches done in the
    current one. `run` is meant for one thread; `request_pause`, `wait_paused`,
    `resume`, `request_stop` and `set_lr` may be called from any other, and take
    effect between batches.
    """

    def __init__(
        self,
        design: Design,
        data_dir: str | os.PathLike | None = None,
        device: str = "cpu",
        report_interval: float = 0.1,
    ):
        if device not in ("cpu", "cuda"):
            raise SessionError(f"device must be 'cpu' or 'cuda', got {device!r}")
        if device == "cuda" and not is_cuda_available():
            raise SessionError(
                "--device cuda: no usable CUDA GPU (needs an NVIDIA GPU, its driver and "
                "the 'gpu' extra: pip install 'stepgrad[gpu]')"
            )
        training = design.training
        self.design, self.device, self.report_interval = design, device, report_interval
        self.data = make_datasets(training, data_dir)
        _check_fits(design, self.data, str(training.get("loss")))
        self.epochs = _positive_int(training, "epochs")
        self.batch_size = _positive_int(training, "batch_size")
        self.seed = int(training.get("seed", 0))

        # the session's own generator: the same seed gives the same weights and dropout,
        # whatever other threads draw meanwhile
        self.generator = Generator().manual_seed(self.seed)
        with use_generator(self.generator):
            self.model = design.build().to(device)
        self.loss_name = str(training["loss"])
        self.loss_fn = make_loss(self.loss_name)
        self.optimizer = make_optimizer(training.get("optimizer"), self.model.parameters())
        self.scheduler = make_scheduler(training.get("schedule"), self.optimizer)
        self.shuffle_generator = engine.Generator().manual_seed(self.seed)
        self.train_loader = DataLoader(
            self.data.train, self.batch_size, shuffle=True, generator=self.shuffle_generator
        )
        self.val_loader = DataLoader(self.data.val, max(self.batch_size, 256))

        self.epoch = self.batch = self.global_step = 0
        self.history: list[dict] = []
        self.lr_changes: list[dict] = []  # {"step": global step, "lr": value}
        self.losses: list[float] = []  # every batch's loss, for plots
        self.bad_batch: BadBatch | None = None
        # called in the training thread after every optimizer step (debug.Monitor.step)
        self.step_hooks: list[Callable[[], Any]] = []
        # called with (inputs, labels, outputs) of each validation batch: what the views
        # need from the validation pass, without a second one
        self.val_hooks: list[Callable[[engine.Tensor, engine.Tensor, engine.Tensor], Any]] = []
        self.status = "ready"
        self._epoch_shuffle_state = self.shuffle_generator.get_state()
        self._sums = _empty_sums()
        self._smooth = [0.0, 0]  # running average and its count, before debiasing
        self._gate = threading.Event()  # set: may run; clear: pause after the batch
        self._gate.set()
        self._stop = threading.Event()
        self._at_rest = threading.Event()  # set: no batch is computing (paused or not running)
        self._at_rest.set()
        self._way = threading.Event()  # clear: wait before the next batch, until _way_until
        self._way.set()
        self._way_until = 0.0
        self._lock = threading.Lock()
        self._pending_lr: float | None = None
        self.steps_per_second: float | None = None  # a cap for watching it learn; None: no cap
        self._one_step = False  # paused again after the next batch
        self._running = False
        self._last_report = -math.inf
        self._last_step = -math.inf

    # ----- control, from any thread --------------------------------------
    def request_pause(self) -> None:
        """Block the running thread after the current batch until `resume` or `request_stop`."""
        self._gate.clear()

    def step_once(self) -> None:
        """From a pause: train one batch, report it, and pause again."""
        self._one_step = True
        self._gate.set()

    def wait_paused(self, timeout: float | None = None) -> bool:
        """Wait until the run is held between batches or not running; False on timeout.

        After `request_pause`, True means the training thread has acknowledged: it
        draws nothing and changes no weight until `resume`.
        """
        return self._at_rest.wait(timeout)

    def will_run(self) -> None:
        """Say, before handing `run` to another thread, that a batch is about to compute.

        Without it, `wait_paused` answers True in the moment between starting that
        thread and `run` beginning, and a copy taken then would overlap the first batch.
        """
        self._at_rest.clear()

    def resume(self) -> None:
        """Let a paused run go on."""
        self._gate.set()

    def request_stop(self) -> None:
        """End the run after the current batch (a paused run ends at once)."""
        self._stop.set()
        self._gate.set()
        self._way.set()

    def make_way(self, seconds: float) -> None:
        """Hold the run before its next batch for up to `seconds`, or until `go_on`.

        For the interface: a key handled while a batch computes shares the interpreter
        with it, and answers about twice as slowly.
        """
        self._way_until = time.monotonic() + seconds
        self._way.clear()

    def go_on(self) -> None:
        """End a `make_way` hold."""
        self._way.set()

    @property
    def paused(self) -> bool:
        return not self._gate.is_set()

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def set_lr(self, value: float) -> None:
        """Set every parameter group's lr before the next batch; recorded with its step."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise SessionError(f"lr must be a positive number, got {value!r}")
        with self._lock:
            self._pending_lr = float(value)
            if not self._running:
                self._apply_pending_lr()

    def _apply_pending_lr(self) -> None:
        if self._pending_lr is None:
            return
        for group in self.optimizer.param_groups:
            group["lr"] = self._pending_lr
        self.lr_changes.append({"step": self.global_step, "lr": self._pending_lr})
        self._pending_lr = None

    # ----- training ---------------------------------------------------------
    def run(
        self, epochs: int | None = None, on_report: Callable[[Report], Any] | None = None
    ) -> str:
        """Train until `epochs` epochs in all are done; "finished", "stopped" or "nonfinite"."""
        total = self.epochs if epochs is None else epochs
        self._running, self.status = True, "running"
        self._at_rest.clear()
        self._way.set()
        try:
            with use_generator(self.generator):
                while self.epoch < total and self.status == "running":
                    self.status = self._run_epoch(on_report or (lambda report: None))
            if self.status == "running":
                self.status = "finished"
        finally:
            self._running = False
            self._at_rest.set()
            self._stop.clear()
            with self._lock:
                self._apply_pending_lr()
        return self.status

    def _run_epoch(self, on_report: Callable[[Report], Any]) -> str:
        """Train the current epoch from batch `self.batch` on; "running" when it ended."""
        self.model.train()
        self.shuffle_generator.set_state(self._epoch_shuffle_state)  # the epoch's own order
        batches, skip = len(self.train_loader), self.batch
        start, samples = time.perf_counter(), 0
        paused_s = 0.0  # time held in a pause: speed and ETA count the running time only
        for index, (x, y) in enumerate(self.train_loader):
            if index < skip:
                continue  # done before a checkpoint
            if not self._way.is_set():
                self._way.wait(max(0.0, self._way_until - time.monotonic()))
                self._way.set()
            if self._stop.is_set():
                return "stopped"
            with self._lock:
                self._apply_pending_lr()
            rng_state = self.generator.get_state()
            x, y = x.to(self.device), y.to(self.device)
            out = self.model(x)
            target = self._target(out, y)
            loss = self.loss_fn(out, target)
            value = loss.item()
            if not math.isfinite(value):
                self.bad_batch = BadBatch(
                    x, y, rng_state, self.epoch, self.batch, self.global_step, value
                )
                report = NonFiniteReport(
                    self.epoch + 1, self.batch + 1, self.global_step + 1, value
                )
                on_report(report)
                return "nonfinite"
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            for hook in self.step_hooks:
                hook()

            self.batch += 1
            self.global_step += 1
            self.losses.append(value)
            self._count(out, target, value, len(y))
            samples += len(y)
            one_step, self._one_step = self._one_step, False
            if one_step:
                self._gate.clear()
            if self.steps_per_second:
                self._stop.wait(
                    max(0.0, self._last_step + 1 / self.steps_per_second - time.perf_counter())
                )
            now = time.perf_counter()
            self._last_step = now
            if (
                one_step
                or not self._gate.is_set()  # the batch a pause holds at: where it is
                or self.steps_per_second
                or self.batch == batches
                or now - self._last_report >= self.report_interval
            ):
                self._last_report = now
                elapsed = now - start - paused_s
                on_report(
                    BatchReport(
                        self.epoch + 1,
                        self.batch,
                        batches,
                        self.global_step,
                        value,
                        self._smoothed(),
                        samples / elapsed if elapsed > 0 else 0.0,
                        elapsed / (index + 1 - skip) * (batches - self.batch),
                        self.lr,
                    )
                )
            if not self._gate.is_set():
                self.status = "paused"
                self._at_rest.set()
                held_at = time.perf_counter()
                self._gate.wait()
                paused_s += time.perf_counter() - held_at
                self._at_rest.clear()
                self.status = "running"
            if self._stop.is_set():
                return "stopped"
        on_report(self._finish_epoch(time.perf_counter() - start - paused_s))
        return "running"

    def _finish_epoch(self, seconds: float) -> EpochReport:
        sums = self._sums
        train_loss = sums["loss"] / max(sums["seen"], 1)
        train_acc = sums["correct"] / max(sums["seen"], 1) if self.classifies else None
        val_loss, val_acc = self.evaluate()
        if isinstance(self.scheduler, lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(val_loss)
        elif self.scheduler is not None:
            self.scheduler.step()
        self.epoch += 1
        self.batch = 0
        self._sums = _empty_sums()
        self._epoch_shuffle_state = self.shuffle_generator.get_state()
        report = EpochReport(self.epoch, train_loss, train_acc, val_loss, val_acc, seconds)
        self.history.append({**asdict(report), "lr": self.lr, "global_step": self.global_step})
        return report

    def evaluate(self) -> tuple[float, float | None]:
        """Loss and accuracy (None for regression) on the validation set, in eval mode."""
        self.model.eval()
        total = correct = seen = 0
        with engine.no_grad():
            for x, y in self.val_loader:
                x, y = x.to(self.device), y.to(self.device)
                out = self.model(x)
                for hook in self.val_hooks:
                    hook(x, y, out)
                target = self._target(out, y)
                total += self.loss_fn(out, target).item() * len(y)
                correct += self._correct(out, target)
                seen += len(y)
        self.model.train()
        return total / max(seen, 1), correct / max(seen, 1) if self.classifies else None

    @property
    def classifies(self) -> bool:
        return self.loss_name in CLASSIFICATION_LOSSES + BINARY_LOSSES

    def _target(self, out: engine.Tensor, y: engine.Tensor) -> engine.Tensor:
        return loss_target(self.loss_name, out, y)

    def _correct(self, out: engine.Tensor, target: engine.Tensor) -> int:
        if self.loss_name in CLASSIFICATION_LOSSES:
            return int((out.argmax(dim=1) == target).sum().item())
        if self.loss_name in BINARY_LOSSES:
            if out.ndim == 2 and out.shape[1] > 1:
                return int((out.argmax(dim=1) == target.argmax(dim=1)).sum().item())
            threshold = 0.0 if self.loss_name == "BCEWithLogitsLoss" else 0.5
            return int(((out > threshold) == (target > 0.5)).sum().item())
        return 0

    def _count(self, out, target, loss: float, n: int) -> None:
        self._sums["loss"] += loss * n
        self._sums["seen"] += n
        if self.classifies:
            with engine.no_grad():
                self._sums["correct"] += self._correct(out, target)
        average, count = self._smooth
        self._smooth = [SMOOTHING * average + (1 - SMOOTHING) * loss, count + 1]

    def _smoothed(self) -> float:
        average, count = self._smooth
        return average / (1 - SMOOTHING**count) if count else math.nan

    # ----- checkpoints ------------------------------------------------------
    def position(self) -> dict:
        """Where the run is, as JSON-ready data: counters, RNG states, running sums."""
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "global_step": self.global_step,
            "rng_state": self.generator.get_state(),
            "epoch_shuffle_state": self._epoch_shuffle_state,
            "sums": self._sums,
            "smooth": self._smooth,
        }

    def restore_position(self, position: dict) -> None:
        """Go back to a `position()`: the next batch is the one that came after it."""
        self.epoch, self.batch = position["epoch"], position["batch"]
        self.global_step = position["global_step"]
        self._epoch_shuffle_state = position["epoch_shuffle_state"]
        self._sums, self._smooth = position["sums"], position["smooth"]
        self.generator.set_state(position["rng_state"])

    def save_checkpoint(self, folder: str | os.PathLike) -> Path:
        """Write weights, optimizer, metrics and position into `folder`; no pickle anywhere.

        Call it while the session is not running, or paused.
        """
        return checkpoints.write(self, Path(folder))

    def load_checkpoint(self, folder: str | os.PathLike) -> None:
        """Restore everything `save_checkpoint` wrote, so training goes on exactly."""
        checkpoints.read_into(self, Path(folder))
        self.status = "ready"

    @classmethod
    def resume_from(
        cls,
        folder: str | os.PathLike,
        design: Design,
        data_dir: str | os.PathLike | None = None,
        device: str = "cpu",
        report_interval: float = 0.1,
    ) -> TrainingSession:
        """A session for `design` that continues the run checkpointed in `folder`."""
        checkpoints.read_position(Path(folder))  # a clear error before the datasets load
        session = cls(design, data_dir, device, report_interval)
        session.load_checkpoint(folder)
        return session


DIVERGED = 10  # the last epoch's loss over this many times the first batch's is divergence


def divergence(session: TrainingSession) -> str | None:
    """How the training loss ran away, in words, or None while it has not.

    Non-finite losses stop training at once (`run` returns "nonfinite"); this catches
    the finite runaway: the last epoch's mean training loss above DIVERGED times the
    loss of the first batch, which the untrained network gave.
    """
    if not session.history or not session.losses:
        return None
    first = session.losses[0]
    last = session.history[-1]["train_loss"]
    if not math.isfinite(first) or last <= DIVERGED * max(first, 1e-12):
        return None
    return (
        f"the training loss rose from {first:.4g} (first batch) to {last:.4g} (epoch "
        f"{session.history[-1]['epoch']}): training diverged; lower the learning rate"
    )


def same_network(mine: Design, theirs: Design) -> bool:
    """Both designs train the same network the same way (the number of epochs aside)."""
    a, b = mine.to_dict(), theirs.to_dict()
    a["training"] = {k: v for k, v in a["training"].items() if k != "epochs"}
    b["training"] = {k: v for k, v in b["training"].items() if k != "epochs"}
    return a == b


def _empty_sums() -> dict:
    return {"loss": 0.0, "correct": 0, "seen": 0}


def _positive_int(training: dict, key: str) -> int:
    value = training.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SessionError(f"training.{key} must be a positive integer, got {value!r}")
    return value


def _check_fits(design: Design, data, loss: str) -> None:
    """The design is valid and its input and output fit the dataset."""
    analysis = analyse(design, train_size=len(data.train))
    if analysis.problems:
        listed = "\n  ".join(str(p) for p in analysis.problems)
        raise SessionError(f"design {design.name!r} has problems:\n  {listed}")
    want, got = tuple(design.input_shape), tuple(data.input_shape)
    if want != got:
        if len(want) == len(got) == 3 and want[0] == got[0]:
            found = f"images are {image_size(got)}, the design expects {image_size(want)}"
        else:
            found = f"samples are {got}, the design expects {want}"
        raise SessionError(
            f"{data.source or data.name}: {found} (design {design.name!r} on dataset "
            f"{data.name!r}); give the design's input the data's shape, or other data"
        )
    out = analysis.output_shape or ()
    if loss in CLASSIFICATION_LOSSES and (len(out) != 1 or out[0] < data.num_classes):
        raise SessionError(
            f"design {design.name!r} gives {out} per sample, but {loss} on {data.name!r} "
            f"needs ({data.num_classes},): one score per class"
        )
    one_hot = len(out) == 1 and out[0] > 1 and out[0] >= data.num_classes
    if loss not in CLASSIFICATION_LOSSES and not (math.prod(out) == 1 or one_hot):
        raise SessionError(
            f"design {design.name!r} gives {out} per sample, but {loss} on {data.name!r} "
            f"compares it with the label: it needs (1,) for the label itself, or "
            f"({data.num_classes},) for the label one-hot"
        )
