"""Watching a run: one batch at a time from a pause, and a cap on steps per second."""

from __future__ import annotations

import threading

from app.sessions.training import TrainingSession
from tests.app.sessions.test_training import mlp


def test_step_once_trains_one_batch_reports_it_and_pauses_again():
    session = TrainingSession(mlp(epochs=1))
    reports = []
    session.request_pause()
    session.will_run()
    thread = threading.Thread(target=session.run, kwargs={"on_report": reports.append})
    thread.start()
    assert session.wait_paused(10)
    first = session.global_step
    for expected in (first + 1, first + 2):
        session.step_once()
        while session.global_step < expected or not session.paused:
            assert session.wait_paused(10)
        assert session.global_step == expected
        assert reports[-1].global_step == expected
    session.request_stop()
    thread.join(10)
    assert session.global_step == first + 2


def test_a_speed_cap_reports_every_step():
    session = TrainingSession(mlp(epochs=1))
    session.steps_per_second = 1000.0
    reports = []
    session.run(epochs=1, on_report=reports.append)
    steps = [r.global_step for r in reports if hasattr(r, "batches")]
    assert steps == list(range(1, session.global_step + 1))
