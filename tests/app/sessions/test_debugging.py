"""DebugSession: stepping one batch, history, breakpoints, findings and tools, as plain Python."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import engine
from app.model.design import Design
from app.sessions.debugging import (
    DebugBatch,
    DebugError,
    DebugSession,
    Group,
    describe_event,
    scope_of,
)
from app.sessions.setup import loss_target, make_loss
from app.sessions.training import TrainingSession
from engine import debug

SAMPLES = Path(__file__).resolve().parents[3] / "sample_models"
MAX_EVENTS = 500  # far more than any sample's pass has: a runaway loop fails instead of hanging


def load(name: str) -> Design:
    return Design.load(SAMPLES / f"{name}.json")


@pytest.fixture
def open_session():
    """Builds DebugSessions and closes each one's stepper thread after the test."""
    opened: list[DebugSession] = []

    def open_(design: Design | str, **kwargs) -> DebugSession:
        session = DebugSession(load(design) if isinstance(design, str) else design, **kwargs)
        opened.append(session)
        return session

    yield open_
    for session in opened:
        session.close()


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


class TestStepping:
    def test_phases_come_in_order_and_each_op_runs_forward_once(self, open_session):
        session = open_session("mlp_digits")
        assert session.phase == "ready" and session.current is None
        events = step_to_end(session)
        phases = [e.phase for e in events]
        assert phases[-1] == "done"
        order = ["forward", "backward", "update", "done"]
        ranks = [order.index(p) for p in phases]
        assert ranks == sorted(ranks) and set(phases) == set(order)
        assert phases.count("done") == 1
        forward = [e.node.id for e in events if e.phase == "forward"]
        assert sorted(forward) == [r.id for r in session.trace.ops]
        updated = sorted(e.node.id for e in events if e.phase == "update")
        params = [r.id for r in session.trace.nodes if r.op == "parameter"]
        assert updated == params
        assert [e.index for e in events] == list(range(len(events)))
        assert session.phase == "done" and session.live
        # past the end, stepping keeps answering the final event
        assert session.step() is events[-1]

    def test_gradients_match_a_backward_pass_done_by_hand(self, open_session):
        session = open_session("mlp_digits")
        session.run_to_node(node_id(session, "linear", "fc1"), "backward")
        assert session.phase == "backward"
        first_update = session.step()  # the backward pass is over: leaves show their grads
        assert first_update.phase == "update"
        model, _, _ = reference_pass(session.design, session.batch)
        expected = dict(model.named_parameters())
        params = [r for r in session.trace.nodes if r.op == "parameter"]
        assert {r.name for r in params} == set(expected)
        for rec in params:
            grad = session.view(rec.id).grad
            assert grad is not None, rec.name
            np.testing.assert_allclose(grad, expected[rec.name].grad.numpy(), rtol=1e-5)

    def test_op_values_are_the_forward_activations(self, open_session):
        session = open_session("mlp_digits")
        session.resume()
        model, out, loss = reference_pass(session.design, session.batch)
        x = session.batch.inputs.numpy().reshape(len(session.batch.inputs), -1)
        fc1 = x @ model.fc1.weight.detach().numpy().T + model.fc1.bias.detach().numpy()
        np.testing.assert_allclose(session.view(node_id(session, "reshape")).value, x, rtol=1e-6)
        np.testing.assert_allclose(
            session.view(node_id(session, "linear", "fc1")).value, fc1, rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            session.view(node_id(session, "relu", "relu1")).value,
            np.maximum(fc1, 0),
            rtol=1e-5,
            atol=1e-6,
        )
        np.testing.assert_allclose(
            session.view(node_id(session, "linear", "out")).value, out.detach().numpy(), rtol=1e-5
        )
        np.testing.assert_allclose(
            session.view(node_id(session, "nll_loss")).value, loss.item(), rtol=1e-6
        )

    def test_dropout_and_batchnorm_run_as_in_training(self, open_session):
        session = open_session("cnn_digits")  # train mode, and the batch's RNG state for dropout
        session.resume()
        _, out, loss = reference_pass(session.design, session.batch)
        np.testing.assert_allclose(
            session.view(node_id(session, "linear", "fc")).value,
            out.detach().numpy(),
            rtol=1e-4,
            atol=1e-6,
        )
        np.testing.assert_allclose(
            session.view(node_id(session, "nll_loss")).value, loss.item(), rtol=1e-5
        )

    def test_resume_without_breakpoints_reaches_done(self, open_session):
        session = open_session("residual_mlp")
        assert session.resume().phase == "done"
        assert session.resume().phase == "done"

    def test_run_to_node_stops_on_that_node_in_that_phase(self, open_session):
        session = open_session("mlp_digits")
        relu = node_id(session, "relu", "relu1")
        event = session.run_to_node(relu)
        assert (event.phase, event.node.id) == ("forward", relu)
        event = session.run_to_node(relu, "backward")
        assert (event.phase, event.node.id) == ("backward", relu)
        assert session.current is event
        weight = node_id(session, "parameter", "out.weight")
        event = session.run_to_node(weight, "update")
        assert (event.phase, event.node.name) == ("update", "out.weight")
        assert event.lr == pytest.approx(0.005)


class TestStepOverAndOut:
    def test_step_over_finishes_the_module(self, open_session):
        session = open_session("residual_mlp")
        first_op = next(r.id for r in session.trace.ops if r.scope == "norm")
        first = session.run_to_node(first_op)
        assert (first.phase, first.scope) == ("forward", "norm")  # LayerNorm: many ops
        event = session.step_over()
        assert event.phase == "forward" and event.scope != "norm"
        skipped = session.stepper.history[first.index + 1 : event.index]
        assert len(skipped) > 3 and all(e.scope == "norm" for e in skipped)
        assert session.current is event

    def test_step_over_at_a_one_op_module_goes_to_the_next(self, open_session):
        session = open_session("mlp_digits")
        first = session.step()
        assert first.scope == "flatten"
        assert session.step_over().index == first.index + 1

    def test_step_out_leaves_the_enclosing_module(self, open_session):
        session = open_session("residual_mlp")
        inner = session.run_to_node(node_id(session, "linear", "block1.body.fc_a"))
        event = session.step_out()  # out of block1.body: block1's own add is next
        assert (event.phase, event.node.op, event.scope) == ("forward", "add", "block1")
        between = session.stepper.history[inner.index + 1 : event.index]
        assert between and all(e.scope.startswith("block1.body.") for e in between)


class TestCopies:
    def test_the_training_session_is_not_touched(self, open_session):
        design = load("mlp_digits")
        training = TrainingSession(design)
        training.run(epochs=1)
        before = weights(training.model)
        optimizer_before = training.optimizer.state_dict()
        session = open_session(design, training=training)
        events = step_to_end(session)
        assert [e.phase for e in events].count("update") == len(before)
        for name, value in weights(training.model).items():
            np.testing.assert_array_equal(value, before[name], err_msg=name)
        after = training.optimizer.state_dict()
        for index, state in optimizer_before["state"].items():
            np.testing.assert_array_equal(
                after["state"][index]["exp_avg"].numpy(), state["exp_avg"].numpy()
            )
        # the pass ran on the trained weights, not the design's initial ones
        weight = node_id(session, "parameter", "fc1.weight")
        np.testing.assert_array_equal(session.view(weight).value, before["fc1.weight"])
        update = next(e for e in events if e.phase == "update" and e.node.id == weight)
        np.testing.assert_array_equal(update.inputs[0], before["fc1.weight"])
        model, _, _ = reference_pass(design, session.batch, training.model.state_dict())
        np.testing.assert_allclose(
            session.view(weight).grad, model.fc1.weight.grad.numpy(), rtol=1e-5
        )

    def test_the_update_phase_computes_but_keeps_the_weights_for_the_next_pass(self, open_session):
        session = open_session("mlp_digits")
        first = [e for e in step_to_end(session) if e.phase == "update"]
        assert all(np.abs(e.update).max() > 0 for e in first)
        session.restart()
        second = [e for e in step_to_end(session) if e.phase == "update"]
        for a, b in zip(first, second, strict=True):
            np.testing.assert_array_equal(a.inputs[0], b.inputs[0])  # the same start each pass

    def test_restart_gives_the_same_nodes_and_values(self, open_session):
        session = open_session("cnn_digits")  # BatchNorm and Dropout: state and randomness
        first = step_to_end(session)
        session.restart()
        assert session.phase == "ready" and session.current is None
        second = step_to_end(session)
        key = [(e.phase, e.node and (e.node.id, e.node.op, e.node.scope)) for e in first]
        assert key == [(e.phase, e.node and (e.node.id, e.node.op, e.node.scope)) for e in second]
        for a, b in zip(first, second, strict=True):
            for x, y in zip(a.arrays(), b.arrays(), strict=True):
                if x is None:
                    assert y is None
                else:
                    np.testing.assert_array_equal(x, y)


class TestBreakpoints:
    def test_node_breakpoint_stops_forward_then_backward(self, open_session):
        session = open_session("mlp_digits")
        target = node_id(session, "linear", "out")
        assert session.breakpoints.toggle(node=target) is True
        assert session.breakpoints.nodes == {target}
        event = session.resume()
        assert (event.phase, event.node.id) == ("forward", target)
        event = session.resume()
        assert (event.phase, event.node.id) == ("backward", target)
        assert session.resume().phase == "done"

    def test_toggling_again_clears_it(self, open_session):
        session = open_session("mlp_digits")
        target = node_id(session, "linear", "out")
        session.breakpoints.toggle(node=target)
        assert session.breakpoints.toggle(node=target) is False
        assert session.breakpoints.nodes == set() and session.breakpoints.specs == []
        assert session.resume().phase == "done"

    def test_scope_breakpoint_stops_at_the_first_event_inside(self, open_session):
        session = open_session("residual_mlp")
        assert session.breakpoints.toggle(scope="block2") is True
        assert session.breakpoints.scopes == {"block2"}
        event = session.resume()
        assert (event.phase, event.scope) == ("forward", "block2.body.fc_a")
        before = session.stepper.history[: event.index]
        assert not any(e.scope.startswith("block2") for e in before)
        event = session.resume()
        assert event.phase == "forward" and event.scope == "block2.body.relu_a"

    def test_nonfinite_condition_stops_at_the_first_nan_or_inf(self, open_session):
        design, training, batch = exploding_bad_batch()
        session = open_session(design, training=training, batch=batch)
        assert session.breakpoints.add_condition("nonfinite") == "NaN/Inf"
        assert session.breakpoints.conditions == ["NaN/Inf"]
        event = session.resume()
        assert event.phase == "forward" and holds_nonfinite(event)
        assert not any(holds_nonfinite(e) for e in session.stepper.history[: event.index])

    def test_norm_condition_stops_at_the_first_norm_above_the_limit(self, open_session):
        session = open_session("mlp_digits")
        limit = 30.0
        assert session.breakpoints.add_condition("norm", limit) == "norm > 30"
        event = session.resume()
        assert event.index > 0, "the limit should let some events through"
        assert event_norm(event) > limit
        assert debug.event_stats(event).norm > limit
        assert all(event_norm(e) <= limit for e in session.stepper.history[: event.index])

    def test_a_norm_limit_never_reached_runs_to_the_end(self, open_session):
        session = open_session("mlp_digits")
        session.breakpoints.add_condition("norm", 1e6)
        assert session.resume().phase == "done"

    def test_breakpoints_survive_restart(self, open_session):
        session = open_session("mlp_digits")
        target = node_id(session, "relu", "relu1")
        session.breakpoints.toggle(node=target)
        session.breakpoints.toggle(scope="out")
        session.breakpoints.add_condition("norm", 1e6)
        session.resume()
        session.restart()
        assert session.breakpoints.nodes == {target}
        assert session.breakpoints.scopes == {"out"}
        assert session.breakpoints.conditions == ["norm > 1e+06"]
        assert session.resume().node.id == target
        assert session.resume().scope == "out"

    @pytest.mark.parametrize(
        "args",
        [("norm",), ("norm", 0), ("norm", -1.0), ("norm", float("nan")), ("nan",), ("",)],
    )
    def test_bad_conditions_are_refused(self, open_session, args):
        session = open_session("mlp_digits")
        with pytest.raises(ValueError):
            session.breakpoints.add_condition(*args)
        assert session.breakpoints.specs == [] and session.stepper.breakpoints == {}

    def test_a_breakpoint_needs_a_node_or_a_scope(self, open_session):
        session = open_session("mlp_digits")
        with pytest.raises(ValueError):
            session.breakpoints.toggle()

    def test_find_anomaly_goes_past_breakpoints_to_the_producer(self, open_session):
        design, training, batch = exploding_bad_batch()
        session = open_session(design, training=training, batch=batch)
        session.breakpoints.toggle(node=node_id(session, "linear", "fc1"))
        err = session.find_anomaly()
        assert err is not None
        assert session.current.node.id == err.node.id
        assert session.breakpoints.nodes == {node_id(session, "linear", "fc1")}


class TestHistory:
    def test_back_shows_the_graph_as_it_was(self, open_session):
        session = open_session("mlp_digits")
        assert session.live  # nothing run yet: the cursor is at the (empty) end
        for _ in range(4):
            session.step()
        fc1, relu = node_id(session, "linear", "fc1"), node_id(session, "relu", "relu1")
        assert session.view(relu).reached and session.view(relu).value is not None
        event = session.back()
        assert event.index == 2 and session.cursor == 2 and not session.live
        event = session.back()
        assert event.index == 1 and event.node.id == fc1
        assert len(session.stepper.history) == 4  # nothing was re-run
        view = session.view(relu)
        assert not view.reached and view.value is None and view.value_stats is None
        assert session.view(fc1).reached and session.view(fc1).value is not None

    def test_back_stops_at_the_first_event(self, open_session):
        session = open_session("mlp_digits")
        session.step()
        session.step()
        assert session.back().index == 0
        assert session.back().index == 0

    def test_forward_walks_the_history_then_steps(self, open_session):
        session = open_session("mlp_digits")
        for _ in range(3):
            session.step()
        session.back()
        session.back()
        assert session.forward().index == 1 and not session.live
        assert session.forward().index == 2 and session.live
        assert len(session.stepper.history) == 3
        event = session.forward()
        assert event.index == 3 and session.live
        assert len(session.stepper.history) == 4

    def test_gradients_hide_when_looking_back_before_the_backward_pass(self, open_session):
        session = open_session("mlp_digits")
        session.resume()
        weight = node_id(session, "parameter", "fc1.weight")
        assert session.view(weight).grad is not None
        while session.phase != "forward":
            session.back()
        view = session.view(weight)
        assert view.grad is None and view.grad_stats is None
        assert session.view(node_id(session, "linear", "out")).grad is None


class TestFindings:
    def test_a_healthy_model_has_none(self, open_session):
        session = open_session("mlp_digits")
        assert session.findings == []
        assert session.find_anomaly() is None

    def test_exploding_lr_bad_batch_is_nonfinite_and_find_anomaly_goes_there(self, open_session):
        design, training, batch = exploding_bad_batch()
        session = open_session(design, training=training, batch=batch)
        nonfinite = [f for f in session.findings if f.kind == "nonfinite"]
        assert len(nonfinite) == 1
        err = session.find_anomaly()
        assert isinstance(err, debug.AnomalyError)
        assert nonfinite[0].node == err.node.id
        event = session.current
        assert event.node.id == err.node.id and event.phase == err.phase == "forward"
        assert not np.isfinite(event.output).all()
        assert all(np.isfinite(x).all() for x in event.inputs)

    def test_exploding_lr_before_training_reports_the_update(self, open_session):
        session = open_session("exploding_lr")
        updates = [f for f in session.findings if f.kind == "update"]
        assert len(updates) == 1
        rec = session.trace.nodes[updates[0].node]
        assert rec.op == "parameter" and rec.name.endswith(".weight")
        assert rec.name in updates[0].text and "lr 5000" in updates[0].text

    def test_dead_relu_after_training(self, open_session):
        design = load("dead_relu")
        assert [f for f in open_session(design).findings if f.kind == "dead"] == []
        training = TrainingSession(design)
        assert training.run() == "finished"
        session = open_session(design, training=training)
        dead = {session.trace.nodes[f.node].scope: f for f in session.findings if f.kind == "dead"}
        assert "relu1" in dead
        text = dead["relu1"].text
        assert text.startswith("relu1")
        fraction = int(re.search(r"(\d+)%", text).group(1))
        assert fraction >= 50

    def test_vanishing_sigmoid(self, open_session):
        session = open_session("vanishing_sigmoid")
        vanishing = [f for f in session.findings if f.kind == "vanishing"]
        assert len(vanishing) == 1
        assert vanishing[0].node == node_id(session, "parameter", "fc1.weight")
        assert "fc1.weight" in vanishing[0].text
        assert not any(r.glyph == "vanishing" for r in session.rows())
        session.resume()
        glyphs = {r.name: r.glyph for r in session.rows() if r.name}
        assert glyphs["fc1.weight"] == "vanishing"
        assert glyphs["out.weight"] != "vanishing"

    def test_shape_mismatch_is_an_error_at_fc1(self, open_session):
        session = open_session("shape_mismatch")  # constructing does not raise
        finding = session.findings[0]
        assert finding.kind == "error" and "fc1" in finding.text
        failing = session.trace.nodes[finding.node]
        assert failing.scope == "fc1" and failing.error
        # the full pass already knows the failing node: it is marked before the stepper gets there
        assert [r.node for r in session.rows() if r.glyph == "error"] == [failing.id]
        events = step_to_end(session)
        error = events[-1]
        assert error.phase == "error" and session.phase == "error"
        assert error.node.id == failing.id and error.error is not None
        rows = {r.node: r for r in session.rows()}
        assert rows[failing.id].glyph == "error"
        assert [r.node for r in session.rows() if r.glyph == "error"] == [failing.id]
        assert session.step() is error and session.resume() is error


class TestTools:
    def test_gradcheck_of_a_linear_node_passes(self, open_session):
        session = open_session("mlp_digits")
        result = session.gradcheck(node_id(session, "linear", "fc1"))
        assert result.passed()
        assert result.max_abs_error < 1e-6
        assert {c.parent for c in result.inputs} >= {
            node_id(session, "parameter", "fc1.weight"),
            node_id(session, "parameter", "fc1.bias"),
        }

    @pytest.mark.parametrize("op", ["relu", "log_softmax", "nll_loss"])
    def test_gradcheck_of_nonlinear_nodes_passes(self, open_session, op):
        session = open_session("mlp_digits")
        result = session.gradcheck(node_id(session, op))
        assert result.passed() and result.max_abs_error < 1e-6

    def test_gradcheck_refuses_a_leaf(self, open_session):
        session = open_session("mlp_digits")
        with pytest.raises(ValueError):
            session.gradcheck(node_id(session, "parameter", "fc1.weight"))

    @pytest.mark.parametrize("data_dir", [None, "/nonexistent/stepgrad-data"])
    def test_a_dataset_that_cannot_be_made(self, open_session, data_dir):
        with pytest.raises(DebugError, match="folder"):
            open_session("lenet_mnist", data_dir=data_dir)

    def test_an_unknown_optimizer(self, open_session):
        design = load("mlp_digits")
        design.training["optimizer"] = {"type": "Nope"}
        with pytest.raises(DebugError, match="'Nope'"):
            open_session(design)


class TestRows:
    def test_rows_fold_into_module_groups(self, open_session):
        session = open_session("residual_mlp")
        rows = session.rows()
        assert [r.node for r in rows] == [r.id for r in session.trace.nodes if r.op != "constant"]
        fc_a = next(r for r in rows if r.scope == "block1.body.fc_a")
        assert fc_a.groups[0] == Group("block1", "Residual")
        assert [g.label for g in (fc_a.groups[0], fc_a.groups[-1])] == [
            "block1 Residual",
            "fc_a Linear",
        ]
        assert scope_of(fc_a.groups) == "block1.body.fc_a"
        weight = next(r for r in rows if r.name == "block1.body.fc_a.weight")
        assert weight.groups == fc_a.groups  # a parameter sits under its module
        assert {r.glyph for r in rows if r.op not in ("input", "parameter")} == {""}  # none ran
        assert {r.glyph for r in rows if r.op in ("input", "parameter")} == {"ok"}  # known
        session.resume()
        glyphs = {r.name or r.node: r.glyph for r in session.rows()}
        assert glyphs.pop("norm.bias") == "ok"  # a bias at zero is no warning sign
        assert set(glyphs.values()) == {"ok"}
        assert all(r.detail.startswith("‖g‖") for r in session.rows() if r.op == "linear")

    def test_describe_event_names_where_the_stepper_is(self, open_session):
        assert describe_event(None) == "press n to run the first op"
        session = open_session("mlp_digits")
        assert describe_event(session.step()) == "#1 reshape in flatten"
        update = session.run_to_node(node_id(session, "parameter", "fc1.weight"), "update")
        assert describe_event(update) == "update of fc1.weight (lr 0.005)"
        assert "complete" in describe_event(session.resume())
        failing = open_session("shape_mismatch")
        assert "(*, 128)" in describe_event(failing.resume())


class TestValueCap:
    CAP = 50_000

    def test_history_stays_under_the_cap(self, open_session):
        session = open_session("mlp_digits", value_cap=self.CAP)
        events = []
        for _ in range(MAX_EVENTS):
            events.append(session.step())
            history = session.stepper.history
            # the newest event is kept whole even when it alone is over the cap
            assert session.history_bytes <= self.CAP or all(e.dropped for e in history[:-1])
            if events[-1].phase == "done":
                break
        assert session.history_bytes <= self.CAP
        assert events[0].dropped and events[0].output is None
        view = session.view(events[0].node.id)
        assert view.reached and view.value is None and view.dropped
        assert not events[-2].dropped  # the newest arrays are the ones kept

    def test_a_dropped_parameter_says_so(self, open_session):
        session = open_session("mlp_digits", value_cap=self.CAP)
        session.resume()
        view = session.view(node_id(session, "parameter", "fc1.weight"))
        assert view.value is None
        assert view.dropped


def test_layer_of_names_the_layer_and_the_line_of_its_forward(open_session):
    session = open_session("cnn_digits")
    conv = next(r for r in session.trace.nodes if r.op == "conv2d")
    where = session.layer_of(conv)
    assert where.startswith("layer conv1: Conv2d(1, 16, kernel_size=(3, 3)")
    path, line, code = where.split("\n")[1].split(":", 2)
    assert path.endswith("engine/nn/conv.py") and code.strip().startswith("return F.conv2d")
    weight = next(r for r in session.trace.nodes if r.name == "conv1.weight")
    assert session.layer_of(weight) == where.split("\n")[0]  # a parameter: its layer only
