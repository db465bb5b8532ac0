"""Debugging one batch: a stepper over forward, backward and update, its history and findings."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

import engine
from app.model.data import DatasetError, make_datasets
from app.model.design import Design, DesignError
from app.sessions import nodes
from app.sessions.breakpoints import Breakpoints
from app.sessions.findings import failed_node, find_all, vanishing_below
from app.sessions.history import History, Stepping
from app.sessions.nodes import NodeView, Row
from app.sessions.setup import SessionError, loss_target, make_loss, make_optimizer
from engine import debug
from engine.debug import NodeRecord, Stats, Stepper, Trace, Tracer
from engine.debug.stepper import update_ratio
from engine.debug.trace import DEFAULT_VALUE_CAP
from engine.random import Generator, use_generator
from engine.utils.data import DataLoader


class DebugError(ValueError):
    """The design or its data cannot be debugged; the message names what is wrong."""


@dataclass
class DebugBatch:
    """The batch a pass runs on, the RNG state its forward starts from, and where it came from."""

    inputs: engine.Tensor
    targets: engine.Tensor
    rng_state: dict
    origin: str


class _OverviewTracer(Tracer):
    """Records every value and gradient, and each parameter's update before it is applied."""

    def __init__(self, value_cap: int):
        super().__init__("values", value_cap)
        self.updates: dict[int, tuple[Stats, float, float | None]] = {}

    def on_update(self, rec, p, update, group):
        u = np.asarray(engine.backend.to_numpy(update))
        ratio = update_ratio(u, engine.backend.to_numpy(p._data))
        self.updates[rec.id] = (debug.stats(u, histogram=False), ratio, group.get("lr"))


class DebugSession(Stepping):
    """One batch of a design, stepped op by op through forward, backward and the update.

    The model and optimizer are copies: the weights and optimizer state of a
    training session when one is given (its run is not touched), else the
    design's seeded initial weights. Every pass (and every restart) starts from
    the same copies, batch and RNG state, so node ids are the same in each.
    """

    def __init__(
        self,
        design: Design,
        training=None,
        batch: DebugBatch | None = None,
        data_dir=None,
        value_cap: int = DEFAULT_VALUE_CAP,
    ):
        self.design, self.value_cap = design, value_cap
        settings = design.training
        self.loss_name = str(settings.get("loss", "CrossEntropyLoss"))
        seed = int(settings.get("seed", 0))
        try:
            with use_generator(Generator().manual_seed(seed)):
                model = design.build()
            if training is not None:
                model.load_state_dict(training.model.state_dict())
            optimizer = make_optimizer(settings.get("optimizer"), model.parameters())
            if training is not None:
                optimizer.load_state_dict(training.optimizer.state_dict())
            make_loss(self.loss_name)
        except (DesignError, SessionError, TypeError, ValueError) as err:
            raise DebugError(f"cannot debug {design.name!r}: {err}") from None
        self.weights = weights_label(training)
        self._model_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._modules = dict(model.named_modules())  # read for names and types only
        self._optimizer_state = optimizer.state_dict()
        self.batch = batch or self._first_batch(seed, data_dir)
        self.breakpoints = Breakpoints()
        self.overview, self.updates = self._overview()
        self.findings = find_all(
            self.overview, self.updates, lambda: self._anomaly, settings.get("optimizer")
        )
        self._vanishing_below = vanishing_below(self.overview)
        self.stepper: Stepper | None = None
        self.history: History  # the cursor over this pass's events (set by restart)
        self.restart()

    # ----- the batch and the pass ---------------------------------------------------
    def _first_batch(self, seed: int, data_dir) -> DebugBatch:
        settings = self.design.training
        try:
            data = make_datasets(settings, data_dir)
        except DatasetError as err:
            raise DebugError(str(err)) from None
        size = int(settings.get("batch_size", 32))
        loader = DataLoader(
            data.train, size, shuffle=True, generator=engine.Generator().manual_seed(seed)
        )
        x, y = next(iter(loader))
        with use_generator(Generator().manual_seed(seed)) as generator:
            self.design.build()  # the RNG as training's first step finds it: after the weights
        origin = f"the first batch of {data.name} ({size})"
        return DebugBatch(x, y, generator.get_state(), origin)

    def _fresh(self):
        with use_generator(Generator()):  # initial weights, replaced at once
            model = self.design.build()
        model.load_state_dict(self._model_state)
        model.train()
        optimizer = make_optimizer(self.design.training.get("optimizer"), model.parameters())
        optimizer.load_state_dict(self._optimizer_state)
        return model, make_loss(self.loss_name), optimizer

    def pass_fn(self) -> Callable[[], float]:
        """Forward, loss, backward and the optimizer's step on fresh copies; returns the loss."""
        model, loss_fn, optimizer = self._fresh()
        batch = self.batch

        def run() -> float:
            generator = Generator()
            generator.set_state(batch.rng_state)
            with use_generator(generator):  # the pass's thread draws from its own generator
                out = model(batch.inputs)
                loss = loss_fn(out, loss_target(self.loss_name, out, batch.targets))
                loss.backward()
                optimizer.step()
            return loss.item()

        return run

    def _overview(self) -> tuple[Trace, dict]:
        tracer = _OverviewTracer(self.value_cap)
        try:
            with engine.backend.quiet_float_errors(), tracer:
                self.pass_fn()()
        except Exception as exc:  # the partial graph is what the screen shows
            tracer.trace.error = exc
        return tracer.trace, tracer.updates

    # ----- moving -------------------------------------------------------------------
    def restart(self) -> None:
        """A new pass over the same batch from the same weights; breakpoints stay."""
        if self.stepper is not None:
            self.stepper.close(wait=False)  # its thread ends at its next event
        self.stepper = Stepper(self.pass_fn(), "stats", self.value_cap)
        self.breakpoints.attach(self.stepper)
        self.history = History(self.stepper)

    # ----- tools --------------------------------------------------------------------
    @cached_property
    def _anomaly(self) -> debug.AnomalyError | None:
        """A pass under anomaly detection: every pass is the same, so one answers for all."""
        with engine.backend.quiet_float_errors():
            return debug.find_anomaly(self.pass_fn())

    def find_anomaly(self) -> debug.AnomalyError | None:
        """Find the first NaN/Inf's producer; when there is one, step a new pass to it."""
        err = self._anomaly
        if err is None:
            return None
        self.restart()
        self.stepper.breakpoints.clear()  # straight to the producer, past every breakpoint
        try:
            if not err.node.is_leaf or err.phase == "update":
                self.run_to_node(err.node.id, err.phase)
        finally:
            self.breakpoints.apply()
        return err

    def gradcheck(self, node: int) -> debug.GradCheck:
        """Finite differences against the op's backward, at the inputs recorded for `node`."""
        return debug.check_node_grad(self.overview, node)

    # ----- what the screen shows ----------------------------------------------------
    @property
    def trace(self) -> Trace:
        """The whole graph (partial when the forward pass failed)."""
        return self.overview

    @property
    def failed_node(self) -> NodeRecord | None:
        """The op the forward pass failed in, if it failed in one."""
        return failed_node(self.overview)

    @property
    def history_bytes(self) -> int:
        return self.stepper._history_bytes

    def rows(self) -> list[Row]:
        """Every node of the pass, in execution order, with health as of the cursor."""
        return nodes.rows(self.overview, self.history, self._module_types, self._vanishing_below)

    def view(self, node: int, arrays: bool = True) -> NodeView:
        """What is known of `node` as of the event under the cursor."""
        return nodes.node_view(self.overview, self.history, node, arrays)

    @cached_property
    def _module_types(self) -> dict[str, str]:
        return {name: type(m).__name__ for name, m in self._modules.items() if name}

    def layer_of(self, rec: NodeRecord) -> str:
        """The layer a node belongs to, as its constructor call, and the line that ran the op."""
        scope = rec.name.rpartition(".")[0] if rec.is_leaf else rec.scope
        module = self._modules.get(scope) if scope else None
        parts = []
        if module is not None:
            parts.append(f"layer {scope}: {type(module).__name__}({module.extra_repr()})")
        if rec.source and not rec.source.startswith(__file__):
            parts.append(f"at {rec.source}")
        elif module is not None and not rec.is_leaf:  # a design's layer: the line of its forward
            parts.append(_forward_line(type(module)))
        return "\n".join(p for p in parts if p)

    def close(self) -> None:
        """Tell the stepper's thread to stop; returns at once (the thread ends on its own)."""
        if self.stepper is not None:
            self.stepper.close(wait=False)


def weights_label(training) -> str:
    """Which weights a pass uses: the design's initial ones, or a training run's at its step."""
    if training is None or not training.global_step:
        return "initial weights"
    if training.batch:  # stopped inside an epoch
        return f"weights in epoch {training.epoch + 1}, step {training.global_step}"
    return f"weights after epoch {training.epoch}, step {training.global_step}"


ENGINE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))


def source_path(filename: str) -> str:
    """`filename` as shown in a source link: an engine file from the engine package
    (engine/nn/linear.py), any other relative to the working directory where shorter."""
    absolute = os.path.abspath(filename)
    engine_dir = os.path.join(ENGINE_ROOT, "engine")
    if os.path.commonpath([absolute, engine_dir]) == engine_dir:
        return os.path.relpath(absolute, ENGINE_ROOT).replace(os.sep, "/")
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive
        return filename
    return relative if len(relative) < len(absolute) else absolute


def _forward_line(cls: type) -> str:
    """Where a layer's forward returns its result, as "file:line: code"."""
    try:
        lines, start = inspect.getsourcelines(cls.forward)
        path = source_path(inspect.getsourcefile(cls.forward) or "")
    except (OSError, TypeError):
        return ""
    for offset, line in enumerate(lines):
        if line.strip().startswith("return"):
            return f"{path}:{start + offset}: {line.strip()}"
    return f"{path}:{start}"
