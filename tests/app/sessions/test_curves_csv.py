"""A checkpoint carries its run's curves as metrics.csv, one line per finished epoch."""

from __future__ import annotations

import csv

from app.sessions import checkpoints
from app.sessions.training import TrainingSession
from tests.app.sessions.test_training import mlp


def test_a_checkpoint_has_the_curves_as_csv_and_is_replaceable(tmp_path):
    session = TrainingSession(mlp(epochs=2))
    session.run(epochs=2)
    folder = session.save_checkpoint(tmp_path / "run")
    rows = list(csv.DictReader((folder / "metrics.csv").open()))
    assert list(rows[0]) == list(checkpoints.CURVE_COLUMNS)
    assert [int(r["epoch"]) for r in rows] == [h["epoch"] for h in session.history]
    assert int(rows[-1]["step"]) == session.global_step
    assert float(rows[-1]["train_loss"]) == session.history[-1]["train_loss"]
    assert float(rows[-1]["val_loss"]) == session.history[-1]["val_loss"]
    assert float(rows[-1]["lr"]) == session.lr
    session.save_checkpoint(folder)  # a folder holding metrics.csv may still be replaced
    TrainingSession.resume_from(folder, mlp(epochs=3))


def test_missing_accuracies_are_empty_cells():
    history = [
        {
            "epoch": 1,
            "global_step": 4,
            "train_loss": 0.5,
            "train_acc": None,
            "val_loss": 0.6,
            "val_acc": None,
            "lr": 0.1,
        }
    ]
    assert checkpoints.curves_csv(history).splitlines() == [
        "epoch,step,train_loss,train_acc,val_loss,val_acc,lr",
        "1,4,0.5,,0.6,,0.1",
    ]
