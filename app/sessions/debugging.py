"""Debugging one batch: a stepper over forward, backward and update, its history and findings."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

import engine
from app.model.data import DatasetError, make_datasets
from app.model.design import Design, DesignError
from app.sessions.breakpoints import Breakpoints
from app.sessions.findings import failed_node, find_all, rms, vanishing_below
from app.sessions.setup import SessionError, loss_target, make_loss, make_optimizer
from engine import debug
from engine.debug import Event, NodeRecord, Stats, Stepper, Trace, Tracer
from engine.debug.stepper import update_ratio
from engine.debug.trace import DEFAULT_VALUE_CAP
from engine.random import Generator, use_generator
from engine.utils.data import DataLoader

ZEROS = 0.75  # a node whose values are at least this fraction zero gets the "zeros" glyph


class DebugError(ValueError):
    """The design or its data cannot be debugged; the message names what is wrong."""


@dataclass
class DebugBatch:
    """The batch a pass runs on, the RNG state its forward starts from, and where it came from."""

    inputs: engine.Tensor
    targets: engine.Tensor
    rng_state: dict
    origin: str


class Group(NamedTuple):
    """A module on the way to a node's scope: its attribute name and its class."""

    name: str
    kind: str | None = None


@dataclass(frozen=True)
class Row:
    """One node of the graph as the list shows it."""

    node: int
    op: str
    scope: str
    groups: tuple[Group, ...]
    shape: tuple
    name: str
    glyph: str
    detail: str


@dataclass
class NodeView:
    """What is known of one node at the event the history cursor is on."""

    record: NodeRecord
    reached: bool  # its forward op has run (leaves: always)
    value: np.ndarray | None = None
    value_stats: Stats | None = None
    grad: np.ndarray | None = None
    grad_stats: Stats | None = None
    inputs: list[NodeRecord] = field(default_factory=list)
    split: list[tuple[NodeRecord, Stats | None, float]] = field(default_factory=list)
    update: np.ndarray | None = None
    update_stats: Stats | None = None
    lr: float | None = None
    update_ratio: float | None = None
    dropped: bool = False  # its arrays were dropped to keep the history under the cap


class _OverviewTracer(Tracer):
    """Records every value and gradient, and each parameter's update before it is applied."""

    def __init__(self, value_cap: int):
        super().__init__("values", value_cap)
        self.updates: dict[int, tuple[Stats, float, float | None]] = {}

    def on_update(self, rec, p, update, group):
        u = np.asarray(engine.backend.to_numpy(update))
        ratio = update_ratio(u, engine.backend.to_numpy(p._data))
        self.updates[rec.id] = (debug.stats(u, histogram=False), ratio, group.get("lr"))


class DebugSession:
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
        self._model_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._modules = dict(model.named_modules())  # read for names and types only
        self._optimizer_state = optimizer.state_dict()
        self.batch = batch or self._first_batch(seed, data_dir)
        self.breakpoints = Breakpoints()
        self.overview, self.updates = self._overview()
        self.findings = find_all(self.overview, self.updates, lambda: self._anomaly)
        self._vanishing_below = vanishing_below(self.overview)
        self.stepper: Stepper | None = None
        self.cursor = -1  # index into the history of the event shown (set by restart)
        self._event_of: dict[tuple[str, int], int] = {}  # (phase, node) -> history index
        self._indexed = 0  # history events already in _event_of
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
        self.cursor, self._event_of, self._indexed = -1, {}, 0

    def _moved(self, event: Event) -> Event:
        history = self.stepper.history
        for e in history[self._indexed :]:
            if e.node is not None:
                self._event_of.setdefault((e.phase, e.node.id), e.index)
        self._indexed = len(history)
        self.cursor = event.index
        return event

    def step(self) -> Event:
        """Next event: an op forward, a node backward, or a parameter update."""
        return self._moved(self.stepper.step())

    def step_over(self) -> Event:
        return self._moved(self.stepper.step_over())

    def step_out(self) -> Event:
        return self._moved(self.stepper.step_out())

    def resume(self) -> Event:
        """To the next breakpoint or the end."""
        return self._moved(self.stepper.resume())

    def run_to_node(self, node: int, phase: str | None = None) -> Event:
        """To the first event on `node` (in `phase`, when given) or the end."""
        return self._moved(
            self.stepper.run_to(
                lambda e: (
                    e.node is not None and e.node.id == node and (phase is None or e.phase == phase)
                )
            )
        )

    def back(self) -> Event | None:
        """One event back in the history (nothing is re-run)."""
        if self.cursor > 0:
            self.cursor -= 1
        return self.current

    def forward(self) -> Event | None:
        """One event forward: through the history, then by stepping."""
        if self.cursor < len(self.stepper.history) - 1:
            self.cursor += 1
            return self.current
        return self.step()

    @property
    def current(self) -> Event | None:
        history = self.stepper.history
        return history[self.cursor] if 0 <= self.cursor < len(history) else None

    @property
    def phase(self) -> str:
        event = self.current
        return "ready" if event is None else event.phase

    @property
    def live(self) -> bool:
        """The cursor is on the newest event (not looking back through the history)."""
        return self.cursor == len(self.stepper.history) - 1

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
        modules = self._module_types
        rows = []
        for rec in self.overview.nodes:
            if rec.op == "constant":
                continue
            view = self.view(rec.id, arrays=False)
            glyph = self._glyph(rec, view)
            detail = ""
            if view.grad_stats is not None and view.grad_stats.count:
                detail = f"‖g‖ {view.grad_stats.norm:.2g}"
            rows.append(
                Row(
                    rec.id,
                    rec.op,
                    rec.scope,
                    groups_of(rec, modules),
                    tuple(rec.shape),
                    rec.name,
                    glyph,
                    detail,
                )
            )
        return rows

    def view(self, node: int, arrays: bool = True) -> NodeView:
        """What is known of `node` as of the event under the cursor."""
        rec = self.overview.nodes[node]
        live = self.stepper.trace.nodes
        here = live[node] if node < len(live) else None
        fwd = self._seen_event("forward", node)
        bwd = self._seen_event("backward", node)
        upd = self._seen_event("update", node)
        reached = rec.is_leaf or fwd is not None  # the batch and the weights exist from the start
        view = NodeView(rec, reached, inputs=[self.overview.nodes[p] for p in rec.parents])
        if reached:
            view.value_stats = here.value_stats if here is not None else rec.value_stats
        if here is not None and (bwd is not None or (rec.is_leaf and self._backward_done())):
            view.grad_stats = here.grad_stats
        if upd is not None:
            view.lr, view.update_ratio = upd.lr, upd.update_ratio
        if not arrays:
            return view
        if fwd is not None:
            view.value, view.dropped = fwd.output, fwd.dropped
        elif rec.is_leaf and reached:
            view.value = rec.value  # leaves: the overview's copy (the same weights and batch)
            view.dropped = rec.value_dropped
        if bwd is not None:
            view.grad, view.dropped = bwd.grad_output, view.dropped or bwd.dropped
            parents = [self.overview.nodes[p] for p in rec.parents]
            norms = [0.0 if g is None else float(np.linalg.norm(g)) for g in bwd.grad_inputs]
            total = sum(norms) or 1.0
            for parent, g, n in zip(parents, bwd.grad_inputs, norms, strict=False):
                view.split.append((parent, None if g is None else debug.stats(g), n / total))
        elif rec.is_leaf and view.grad_stats is not None:
            view.grad = rec.grad
        if upd is not None:
            view.update, view.value = upd.update, upd.inputs[0] if upd.inputs else view.value
            view.update_stats = None if upd.update is None else debug.stats(upd.update)
            view.dropped = view.dropped or upd.dropped
        return view

    def _seen_event(self, phase: str, node: int) -> Event | None:
        index = self._event_of.get((phase, node))
        if index is None or index > self.cursor:
            return None
        return self.stepper.history[index]

    def _backward_done(self) -> bool:
        event = self.current
        return event is not None and event.phase in ("update", "done")

    def _glyph(self, rec: NodeRecord, view: NodeView) -> str:
        if rec.error:  # known from the full pass, before the stepper gets there
            return "error"
        if not view.reached:
            return ""
        vs, gs = view.value_stats, view.grad_stats
        if (vs is not None and not vs.finite) or (gs is not None and not gs.finite):
            return "nonfinite"
        bias = rec.op == "parameter" and len(rec.shape) < 2  # before a BatchNorm, rightly ~0
        if gs is not None and gs.count and not bias and rms(gs) < self._vanishing_below:
            return "vanishing"
        if vs is not None and vs.zero_fraction >= ZEROS and not rec.is_leaf:  # zero biases: fine
            return "zeros"
        return "ok" if vs is not None else ""

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


def _forward_line(cls: type) -> str:
    """Where a layer's forward returns its result, as "file:line: code"."""
    try:
        lines, start = inspect.getsourcelines(cls.forward)
        path = os.path.relpath(inspect.getsourcefile(cls.forward) or "")
    except (OSError, TypeError):
        return ""
    for offset, line in enumerate(lines):
        if line.strip().startswith("return"):
            return f"{path}:{start + offset}: {line.strip()}"
    return f"{path}:{start}"


def groups_of(rec: NodeRecord, modules: dict[str, str]) -> tuple[Group, ...]:
    """The foldable groups of a row: each module on the way to the node's scope."""
    scope = rec.scope
    if rec.is_leaf:  # a parameter sits under its module; the input at the top
        scope = rec.name.rpartition(".")[0] if rec.name else ""
    if not scope:
        return ()
    parts = scope.split(".")
    return tuple(Group(part, modules.get(".".join(parts[: i + 1]))) for i, part in enumerate(parts))


def scope_of(groups: tuple[Group, ...]) -> str:
    """The module scope a group of the graph list stands for."""
    return ".".join(g.name for g in groups)
