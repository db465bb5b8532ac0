"""DebugSession: stepping one batch, copies, history, rows, tools and the value cap."""

from __future__ import annotations

import numpy as np
import pytest

from app.sessions.debugging import DebugError
from app.sessions.nodes import Group, scope_of
from app.sessions.training import TrainingSession
from tests.app.sessions.debug_helpers import (
    MAX_EVENTS,
    load,
    node_id,
    reference_pass,
    step_to_end,
    weights,
)


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
        assert (fc_a.groups[0], fc_a.groups[-1]) == (
            Group("block1", "Residual"),
            Group("fc_a", "Linear"),
        )
        assert scope_of(fc_a.groups) == "block1.body.fc_a"
        weight = next(r for r in rows if r.name == "block1.body.fc_a.weight")
        assert weight.groups == fc_a.groups  # a parameter sits under its module
        assert {r.health for r in rows if r.op not in ("input", "parameter")} == {""}  # none ran
        assert {r.health for r in rows if r.op in ("input", "parameter")} == {"ok"}  # known
        session.resume()
        glyphs = {r.name or r.node: r.health for r in session.rows()}
        assert glyphs.pop("norm.bias") == "ok"  # a bias at zero is no warning sign
        assert set(glyphs.values()) == {"ok"}
        assert all(r.grad_norm is not None for r in session.rows() if r.op == "linear")


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
