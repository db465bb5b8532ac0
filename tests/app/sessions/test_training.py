"""TrainingSession: training, pause/resume/stop from another thread, exact checkpoints."""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pytest

import engine
from app.model.data import DatasetError, make_datasets
from app.model.design import Design
from app.sessions.reports import BatchReport, EpochReport, NonFiniteReport
from app.sessions.setup import OPTIMIZERS, SessionError
from app.sessions.training import TrainingSession

DIGITS_BATCHES = 23  # ceil(1442 / 64)


def mlp(dropout: float = 0.0, **training) -> Design:
    """A small digits MLP, with a Dropout layer when `dropout` is set."""
    layers = [
        {"type": "Flatten"},
        {"type": "Linear", "args": {"in_features": 64, "out_features": 32}, "name": "fc1"},
        {"type": "ReLU"},
    ]
    if dropout:
        layers.append({"type": "Dropout", "args": {"p": dropout}})
    layers.append({"type": "Linear", "args": {"in_features": 32, "out_features": 10}})
    settings = {
        "dataset": "digits",
        "loss": "CrossEntropyLoss",
        "optimizer": {"type": "Adam", "lr": 0.01},
        "batch_size": 64,
        "epochs": 2,
        "seed": 0,
    }
    settings.update(training)
    return Design.from_dict(
        {
            "format": "stepgrad.design",
            "version": 1,
            "name": "mlp",
            "input": {"shape": [1, 8, 8]},
            "layers": layers,
            "training": settings,
        }
    )


def toy(dataset: str, outputs: int, loss: str) -> Design:
    return Design.from_dict(
        {
            "format": "stepgrad.design",
            "version": 1,
            "name": dataset,
            "input": {"shape": [2]},
            "layers": [
                {"type": "Linear", "args": {"in_features": 2, "out_features": 16}},
                {"type": "Tanh"},
                {"type": "Linear", "args": {"in_features": 16, "out_features": outputs}},
            ],
            "training": {
                "dataset": dataset,
                "loss": loss,
                "optimizer": {"type": "Adam", "lr": 0.05},
                "batch_size": 32,
                "epochs": 5,
                "seed": 1,
                "n": 200,
            },
        }
    )


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def paused_after_a_batch() -> tuple[TrainingSession, threading.Thread, list]:
    """A session running in a thread, paused after its first batch; `result` gets its status."""
    session = TrainingSession(mlp())
    session.request_pause()
    result: list = []
    worker = threading.Thread(target=lambda: result.append(session.run()))
    worker.start()
    wait_for(lambda: session.status == "paused")
    return session, worker, result


def weights(session: TrainingSession) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in session.model.state_dict().items()}


class TestTraining:
    def test_accuracy_rises_on_digits(self):
        session = TrainingSession(mlp())
        _, before = session.evaluate()
        reports = []
        assert session.run(on_report=reports.append) == "finished"
        epochs = [r for r in reports if isinstance(r, EpochReport)]
        assert [r.epoch for r in epochs] == [1, 2]
        assert before < 0.3 and epochs[-1].val_acc > 0.85
        assert epochs[-1].train_loss < epochs[0].train_loss
        assert (session.epoch, session.batch) == (2, 0)
        assert session.global_step == 2 * DIGITS_BATCHES
        assert [h["epoch"] for h in session.history] == [1, 2]

    def test_same_seed_same_run(self):
        first, second = TrainingSession(mlp(dropout=0.3)), TrainingSession(mlp(dropout=0.3))
        first.run(epochs=1)
        second.run(epochs=1)
        assert first.losses == second.losses

    def test_toy_sets_split_deterministically_and_train(self):
        a = make_datasets({"dataset": "moons", "n": 100, "seed": 3})
        b = make_datasets({"dataset": "moons", "n": 100, "seed": 3})
        assert (len(a.train), len(a.val)) == (80, 20)
        assert np.array_equal(a.val.tensors[0].numpy(), b.val.tensors[0].numpy())
        session = TrainingSession(toy("moons", 1, "BCEWithLogitsLoss"))
        session.run()
        assert session.history[-1]["val_acc"] > 0.75

    @pytest.mark.parametrize("kind", OPTIMIZERS)
    def test_every_offered_optimizer_learns(self, kind):
        lr = {"SGD": 0.1, "Adadelta": 1.0, "Adagrad": 0.05}.get(kind, 0.01)
        session = TrainingSession(mlp(optimizer={"type": kind, "lr": lr}))
        _, before = session.evaluate()
        session.run()
        assert session.history[-1]["val_acc"] > before + 0.2

    @pytest.mark.parametrize(
        "schedule",
        [
            {"type": "LinearLR", "start_factor": 0.5, "total_iters": 2},
            {"type": "ConstantLR", "factor": 0.5, "total_iters": 1},
            {"type": "PolynomialLR", "total_iters": 4, "power": 2.0},
            {"type": "CosineAnnealingWarmRestarts", "T_0": 1},
        ],
    )
    def test_schedules_set_the_lr_each_epoch(self, schedule):
        session = TrainingSession(mlp(schedule=schedule))
        session.run()
        reference = engine.optim.SGD([engine.zeros(1, requires_grad=True)], lr=0.01)
        expected = getattr(engine.optim.lr_scheduler, schedule["type"])(
            reference, **{k: v for k, v in schedule.items() if k != "type"}
        )
        expected.step()
        expected.step()
        assert session.optimizer.param_groups[0]["lr"] == pytest.approx(expected.get_last_lr()[0])

    def test_regression_loss_has_no_accuracy(self):
        session = TrainingSession(toy("blobs", 3, "MSELoss"))
        reports = []
        session.run(epochs=1, on_report=reports.append)
        assert reports[-1].train_acc is None and reports[-1].val_acc is None
        assert math.isfinite(reports[-1].val_loss)


class TestControl:
    def test_pause_and_resume_from_another_thread(self):
        session = TrainingSession(mlp())
        session.request_pause()  # takes effect after the first batch
        result = []
        worker = threading.Thread(target=lambda: result.append(session.run()))
        worker.start()
        wait_for(lambda: session.status == "paused")
        assert session.global_step == 1 and session.paused
        time.sleep(0.05)
        assert session.global_step == 1  # blocked while paused
        session.resume()
        worker.join(10)
        assert result == ["finished"]
        assert session.global_step == 2 * DIGITS_BATCHES

    def test_stop_ends_after_the_batch_and_run_goes_on_later(self):
        session, worker, result = paused_after_a_batch()
        session.request_stop()
        worker.join(10)
        assert result == ["stopped"]
        assert (session.epoch, session.batch, session.global_step) == (0, 1, 1)
        assert session.run() == "finished"
        assert session.global_step == 2 * DIGITS_BATCHES

    @pytest.mark.parametrize("released", [True, False])
    def test_make_way_holds_the_next_batch_until_go_on_or_its_time(self, released):
        session, worker, result = paused_after_a_batch()
        session.make_way(0.3 if not released else 30)
        session.resume()
        time.sleep(0.05)
        assert session.global_step == 1  # held before its second batch
        if released:
            session.go_on()
        worker.join(10)
        assert result == ["finished"] and session.global_step == 2 * DIGITS_BATCHES

    def test_reports_are_rate_limited(self):
        every = []
        TrainingSession(mlp(), report_interval=0).run(on_report=every.append)
        batch_reports = [r for r in every if isinstance(r, BatchReport)]
        assert len(batch_reports) == 2 * DIGITS_BATCHES

        few = []
        TrainingSession(mlp(), report_interval=1e9).run(on_report=few.append)
        batch_reports = [r for r in few if isinstance(r, BatchReport)]
        # the first batch of the run, and the last batch of every epoch
        assert [(r.epoch, r.batch) for r in batch_reports] == [(1, 1), (1, 23), (2, 23)]
        last = batch_reports[-1]
        assert last.batches == DIGITS_BATCHES and last.eta_s == 0
        assert last.samples_per_s > 0 and math.isfinite(last.smooth_loss)

    def test_lr_change_is_applied_and_marked_with_its_step(self):
        session = TrainingSession(mlp(), report_interval=0)
        session.set_lr(0.05)
        assert session.lr == 0.05
        seen = []

        def on_report(report):
            if isinstance(report, BatchReport):
                seen.append((report.global_step, report.lr))
                if report.global_step == 5:
                    session.set_lr(0.001)

        session.run(epochs=1, on_report=on_report)
        assert session.lr_changes == [{"step": 0, "lr": 0.05}, {"step": 5, "lr": 0.001}]
        assert seen[4] == (5, 0.05) and seen[5] == (6, 0.001)
        with pytest.raises(SessionError, match="positive"):
            session.set_lr(-1)

    def test_nonfinite_loss_stops_and_keeps_the_batch_for_replay(self):
        session = TrainingSession(mlp(optimizer={"type": "SGD", "lr": 1e6}))
        reports = []
        assert session.run(on_report=reports.append) == "nonfinite"
        assert isinstance(reports[-1], NonFiniteReport)
        bad = session.bad_batch
        assert bad is not None and tuple(bad.inputs.shape) == (64, 1, 8, 8)
        assert reports[-1].global_step == bad.global_step + 1 == session.global_step + 1
        # the model still holds the weights it ran with: the same step gives the same loss
        engine.set_rng_state(bad.rng_state)
        loss = session.loss_fn(session.model(bad.inputs), bad.targets).item()
        assert not math.isfinite(loss)


class TestCheckpoints:
    @pytest.mark.parametrize("stop_at", [5, DIGITS_BATCHES, 30])
    def test_resume_mid_epoch_gives_bitwise_equal_weights(self, tmp_path, stop_at):
        schedule = {"type": "StepLR", "step_size": 1, "gamma": 0.5}
        design = mlp(dropout=0.3, schedule=schedule)
        straight = TrainingSession(design)
        straight.run()

        first = TrainingSession(design, report_interval=0)

        def stop(report):
            if isinstance(report, BatchReport) and report.global_step == stop_at:
                first.request_stop()

        assert first.run(on_report=stop) == "stopped"
        first.save_checkpoint(tmp_path)
        engine.manual_seed(123)  # whatever happens in between must not matter
        resumed = TrainingSession.resume_from(tmp_path, design)
        assert resumed.global_step == stop_at
        assert resumed.run() == "finished"

        want, got = weights(straight), weights(resumed)
        assert want.keys() == got.keys()
        for key in want:
            assert np.array_equal(want[key], got[key]), key
        assert resumed.losses == straight.losses
        assert resumed.lr == straight.lr == 0.01 * 0.5**2

    def test_checkpoint_files_are_plain_data(self, tmp_path):
        session = TrainingSession(mlp(optimizer={"type": "SGD", "lr": 0.1, "momentum": 0.9}))
        session.run(epochs=1)
        session.set_lr(0.02)
        session.save_checkpoint(tmp_path)
        names = {"weights.npz", "optimizer.npz", "metrics.json", "session.json", "design.json"}
        assert names <= {p.name for p in tmp_path.iterdir()}
        with np.load(tmp_path / "weights.npz", allow_pickle=False) as npz:
            assert npz.files
        metrics = json.loads((tmp_path / "metrics.json").read_text())
        assert metrics["lr_changes"] == [{"step": DIGITS_BATCHES, "lr": 0.02}]
        position = json.loads((tmp_path / "session.json").read_text())
        assert (position["epoch"], position["batch"], position["design"]) == (1, 0, "mlp")

        restored = TrainingSession.resume_from(tmp_path, session.design)
        assert restored.lr == 0.02
        assert restored.optimizer.state_dict()["state"].keys() == {0, 1, 2, 3}
        for key, value in session.optimizer.state_dict()["state"][0].items():
            other = restored.optimizer.state_dict()["state"][0][key]
            assert np.array_equal(np.asarray(value.numpy()), np.asarray(other.numpy()))

    def test_resume_from_a_folder_that_is_not_a_checkpoint(self, tmp_path):
        with pytest.raises(SessionError, match="no session.json"):
            TrainingSession.resume_from(tmp_path, mlp())


class TestSetupErrors:
    def test_mnist_without_a_folder_names_the_files(self, tmp_path):
        with pytest.raises(DatasetError, match="--data DIR.*train-images-idx3-ubyte"):
            make_datasets({"dataset": "mnist"})
        with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
            make_datasets({"dataset": "fashion_mnist"}, tmp_path)
        with pytest.raises(DatasetError, match="does not exist"):
            make_datasets({"dataset": "mnist"}, tmp_path / "nowhere")

    def test_unknown_names_and_misfits(self):
        with pytest.raises(DatasetError, match="unknown dataset 'cifar'"):
            TrainingSession(mlp(dataset="cifar"))
        with pytest.raises(SessionError, match="unknown optimizer 'LBFGS'"):
            TrainingSession(mlp(optimizer={"type": "LBFGS"}))
        with pytest.raises(SessionError, match="optimizer Adam"):
            TrainingSession(mlp(optimizer={"type": "Adam", "lr": 0.1, "moment": 3}))
        with pytest.raises(SessionError, match="unknown loss"):
            TrainingSession(mlp(loss="HingeLoss"))
        with pytest.raises(
            SessionError, match=r"samples are \(2,\), the design expects \(1, 8, 8\)"
        ):
            TrainingSession(mlp(dataset="moons"))
        with pytest.raises(SessionError, match="batch_size"):
            TrainingSession(mlp(batch_size=0))
