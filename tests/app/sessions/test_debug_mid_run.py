"""Debugging a run mid-epoch: the acknowledged pause, and a seeded run that stays reproducible."""

from __future__ import annotations

import threading

import numpy as np

from app.sessions.debugging import DebugSession
from app.sessions.training import TrainingSession
from tests.app.sessions.test_training import mlp, weights

PAUSE_AT = 5  # the batch (from 0) during whose forward pass the debugger is opened


def _run(interrupt: bool) -> tuple[list[float], dict[str, np.ndarray]]:
    """A seeded run with dropout; when `interrupt`, Debug opens mid-batch and the run resumes."""
    design = mlp(dropout=0.5, epochs=1)
    session = TrainingSession(design)
    relu = session.model[2]  # Dropout draws after it: the forward is mid-way here
    mid_batch, built = threading.Event(), threading.Event()
    calls = [0]
    forward = relu.forward

    def slow_forward(x):
        calls[0] += 1
        if interrupt and calls[0] == PAUSE_AT + 1:
            mid_batch.set()
            built.wait(0.3)  # an unacknowledged copy would land here, mid-batch
        return forward(x)

    relu.forward = slow_forward
    result: list = []
    worker = threading.Thread(target=lambda: result.append(session.run()))
    worker.start()
    if interrupt:
        assert mid_batch.wait(10)
        session.request_pause()
        assert session.wait_paused(10)
        assert session.batch == PAUSE_AT + 1  # held between batches, after the one it was in
        debug = DebugSession(design, session)
        debug.step_over()
        debug.close()
        built.set()
        session.resume()
    worker.join(30)
    assert result == ["finished"]
    return session.losses, weights(session)


def test_opening_debug_mid_run_leaves_a_seeded_run_unchanged():
    losses, final = _run(interrupt=False)
    interrupted_losses, interrupted_final = _run(interrupt=True)
    assert interrupted_losses == losses
    assert final.keys() == interrupted_final.keys()
    assert all(np.array_equal(final[k], interrupted_final[k]) for k in final)


def test_wait_paused_is_true_for_a_run_not_started_and_a_finished_one():
    session = TrainingSession(mlp(epochs=1))
    assert session.wait_paused(0)
    session.run()
    assert session.wait_paused(0)


def test_wait_paused_times_out_while_a_batch_computes():
    session = TrainingSession(mlp(epochs=1))
    inside, leave = threading.Event(), threading.Event()
    forward = session.model[2].forward

    def held(x):
        inside.set()
        leave.wait(10)
        return forward(x)

    session.model[2].forward = held
    worker = threading.Thread(target=session.run)
    worker.start()
    assert inside.wait(10)
    session.request_pause()
    assert not session.wait_paused(0.05)  # mid-batch: not acknowledged
    session.model[2].forward = forward
    leave.set()
    assert session.wait_paused(10)
    assert session.status == "paused"
    session.request_stop()
    worker.join(10)


def test_a_run_about_to_start_in_another_thread_is_not_paused():
    session = TrainingSession(mlp(epochs=1))
    session.will_run()  # the screen's thread worker has not reached run() yet
    assert not session.wait_paused(0)
    worker = threading.Thread(target=session.run)
    worker.start()
    assert session.wait_paused(30)  # acknowledged once run() has ended
    worker.join(10)
    assert session.status == "finished"
