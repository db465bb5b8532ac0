"""Breakpoints on a DebugSession: nodes, scopes, conditions, and kept across restarts."""

from __future__ import annotations

import pytest

from engine import debug
from tests.app.sessions.debug_helpers import (
    event_norm,
    exploding_bad_batch,
    holds_nonfinite,
    node_id,
)


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
