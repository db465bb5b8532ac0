"""A run's speed and ETA count the time it spends training, not the time held in a pause."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from app.model.design import Design
from app.sessions import training
from app.sessions.reports import BatchReport
from app.sessions.training import TrainingSession
from app.tui.train.view import progress_text
from tests.app.tui.tui_helpers import SAMPLES

HOUR = 3600.0


def test_an_hour_in_a_pause_leaves_the_speed_and_eta_as_they_were(monkeypatch):
    clock = [0.0]

    def perf_counter() -> float:  # every reading: a millisecond more of training
        clock[0] += 0.001
        return clock[0]

    monkeypatch.setattr(
        training, "time", SimpleNamespace(perf_counter=perf_counter, monotonic=time.monotonic)
    )
    session = TrainingSession(Design.load(SAMPLES / "spiral_mlp.json"), report_interval=0.0)
    reports: list[BatchReport] = []

    def on_report(report) -> None:
        if isinstance(report, BatchReport):
            reports.append(report)
            if report.global_step == 3:
                session.request_pause()

    session.will_run()
    thread = threading.Thread(target=session.run, args=(1, on_report))
    thread.start()
    assert session.wait_paused(30)
    clock[0] += HOUR  # the person went away
    session.resume()
    thread.join(30)
    assert session.status == "finished"
    before, after = reports[2], reports[-1]
    assert before.global_step == 3 and after.global_step == len(session.train_loader)
    assert after.samples_per_s > before.samples_per_s / 2  # an hour would make it ~0
    assert after.eta_s < 1.0
    assert session.history[-1]["seconds"] < 1.0


def test_a_paused_run_shows_no_speed_or_eta_and_an_ended_one_no_eta():
    report = BatchReport(1, 3, 46, 3, 2.3, 2.3, 6.0, 4600.0, 0.01)
    line = progress_text("paused", 15, report, timing=True, batch_size=32)
    assert "/s" not in line and "ETA" not in line, line
    assert line.startswith("paused · epoch 1/15 · batch 3/46 · step 3 ")
    running = progress_text("running", 15, report, timing=True, batch_size=32)
    assert running.endswith("· 6/s · ETA 1.0 h"), running
    stopped = progress_text("stopped", 15, report, timing=True, batch_size=32)
    assert stopped.endswith("· 6/s"), stopped
