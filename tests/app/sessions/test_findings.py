"""Findings over a debugged pass: NaN/Inf producers, dead ReLUs, vanishing gradients, updates."""

from __future__ import annotations

import re

import numpy as np

from app.sessions.training import TrainingSession
from engine import debug
from tests.app.sessions.debug_helpers import (
    exploding_bad_batch,
    load,
    node_id,
    step_to_end,
)


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
        assert not any(r.health == "vanishing" for r in session.rows())
        session.resume()
        glyphs = {r.name: r.health for r in session.rows() if r.name}
        assert glyphs["fc1.weight"] == "vanishing"
        assert glyphs["out.weight"] != "vanishing"

    def test_shape_mismatch_is_an_error_at_fc1(self, open_session):
        session = open_session("shape_mismatch")  # constructing does not raise
        finding = session.findings[0]
        assert finding.kind == "error" and "fc1" in finding.text
        failing = session.trace.nodes[finding.node]
        assert failing.scope == "fc1" and failing.error
        # the full pass already knows the failing node: it is marked before the stepper gets there
        assert [r.node for r in session.rows() if r.health == "error"] == [failing.id]
        events = step_to_end(session)
        error = events[-1]
        assert error.phase == "error" and session.phase == "error"
        assert error.node.id == failing.id and error.error is not None
        rows = {r.node: r for r in session.rows()}
        assert rows[failing.id].health == "error"
        assert [r.node for r in session.rows() if r.health == "error"] == [failing.id]
        assert session.step() is error and session.resume() is error
