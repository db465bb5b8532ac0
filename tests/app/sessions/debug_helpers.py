"""What the DebugSession tests share: samples, a stepping loop, node lookups, a reference pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import engine
from app.model.design import Design
from app.sessions.debugging import DebugBatch, DebugSession
from app.sessions.setup import loss_target, make_loss
from app.sessions.training import TrainingSession

SAMPLES = Path(__file__).resolve().parents[3] / "sample_models"
MAX_EVENTS = 500  # far more than any sample's pass has: a runaway loop fails instead of hanging


def load(name: str) -> Design:
    """A shipped sample design."""
    return Design.load(SAMPLES / f"{name}.json")


def step_to_end(session: DebugSession) -> list:
    """Every event from here to "done" or "error", taken with step()."""
    events = []
    for _ in range(MAX_EVENTS):
        events.append(session.step())
        if events[-1].phase in ("done", "error"):
            return events
    raise AssertionError(f"no end after {MAX_EVENTS} steps")


def event_array(event) -> np.ndarray | None:
    """What an event is about, as norm breakpoints read it: output, gradient or update."""
    return {"forward": event.output, "backward": event.grad_output}.get(event.phase, event.update)


def event_norm(event) -> float:
    return float(np.linalg.norm(event_array(event).astype(np.float64)))


def holds_nonfinite(event) -> bool:
    arrays = [event.output, event.grad_output, event.update, *event.grad_inputs]
    return any(a is not None and not np.isfinite(a).all() for a in arrays)


def node_id(session: DebugSession, op: str | None = None, scope: str | None = None) -> int:
    """The id of the one node with this op and/or exact scope (a parameter's scope is its name)."""
    found = [
        r.id
        for r in session.trace.nodes
        if (op is None or r.op == op) and (scope is None or r.scope == scope)
    ]
    assert len(found) == 1, found
    return found[0]


def reference_pass(design: Design, batch: DebugBatch, state: dict | None = None):
    """Forward, loss and backward done by hand on a model built like the session's."""
    settings = design.training
    engine.manual_seed(int(settings["seed"]))
    model = design.build()
    if state is not None:
        model.load_state_dict(state)
    model.train()
    loss_name = settings["loss"]
    engine.set_rng_state(batch.rng_state)
    out = model(batch.inputs)
    loss = make_loss(loss_name)(out, loss_target(loss_name, out, batch.targets))
    loss.backward()
    return model, out, loss


def weights(model) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def exploding_bad_batch():
    """exploding_lr trained to its NaN, and the batch that made it."""
    design = load("exploding_lr")
    training = TrainingSession(design)
    assert training.run() == "nonfinite"
    bad = training.bad_batch
    assert bad is not None
    return design, training, DebugBatch(bad.inputs, bad.targets, bad.rng_state, "bad")
