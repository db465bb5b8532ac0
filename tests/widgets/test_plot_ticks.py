"""Axis ticks: round values, and labels that are short, distinct and true to their ticks."""

from __future__ import annotations

import pytest

from app.tui.train.view import lr_marks
from widgets.plots import compact, nice_ticks, tick_labels, y_ticks


@pytest.mark.parametrize(
    ("low", "high", "labels"),
    [
        (0.1142, 1.116, ["0.2", "0.4", "0.6", "0.8", "1"]),
        (0.50001, 0.50003, ["0.50001", "0.500015", "0.50002", "0.500025", "0.50003"]),
        (0.9917, 0.99172, ["0.9917", "0.991705", "0.99171", "0.991715", "0.99172"]),
        (20_000, 26_000, ["2e4", "2.2e4", "2.4e4", "2.6e4"]),
        (1e-7, 3e-7, ["1e-7", "1.5e-7", "2e-7", "2.5e-7", "3e-7"]),
        (-0.3, 0.7, ["-0.2", "0", "0.2", "0.4", "0.6"]),
        (2.3, 2.3, ["2.3"]),
    ],
)
def test_a_small_or_large_range_gets_distinct_short_labels(low, high, labels):
    ticks = y_ticks(low, high, log=False)
    assert tick_labels(ticks) == labels
    assert all(low <= t <= high for t in ticks)


def test_labels_take_the_fewest_digits_that_keep_them_apart_and_true():
    assert tick_labels([0.5, 1.0]) == ["0.5", "1"]  # not "0" and "1"
    assert tick_labels([1.0, 1.5, 2.0]) == ["1", "1.5", "2"]
    assert tick_labels([0.1, 1e6, 1e13]) == ["0.1", "1e6", "1e13"]  # a log axis
    ticks = [0.5 * 4 ** (i / 4) for i in range(5)]  # not round: within half a percent
    labels = tick_labels(ticks)
    assert len(set(labels)) == 5
    assert all(abs(float(a) - t) <= 0.005 * t for a, t in zip(labels, ticks, strict=True))
    assert compact(25_000, 0) == "2e4" and compact(25_000, 1) == "2.5e4"


def test_steps_and_epochs_get_whole_round_ticks():
    assert nice_ticks(1, 900, integer=True) == [200, 400, 600, 800]
    assert nice_ticks(1, 3, integer=True) == [1, 2, 3]  # no 1.5 epochs
    assert nice_ticks(1, 60, integer=True) == [20, 40, 60]
    assert tick_labels(nice_ticks(1, 15, integer=True)) == ["5", "10", "15"]


def test_two_lr_changes_at_one_step_make_one_mark():
    changes = [{"step": 30, "lr": 0.01}, {"step": 30, "lr": 0.002}, {"step": 90, "lr": 0.1}]
    assert [(m.x, m.label) for m in lr_marks(changes)] == [(30, "lr 0.002"), (90, "lr 0.1")]


def test_a_log_axis_gets_powers_of_ten_or_one_two_five_within_two_decades():
    assert tick_labels(y_ticks(0.5, 1e31, log=True)) == ["0.1", "1e6", "1e13", "1e20", "1e27"]
    assert tick_labels(y_ticks(1.5, 90, log=True)) == ["2", "5", "10", "20", "50"]
    assert tick_labels(y_ticks(0.9, 1.2, log=True)) == ["0.9", "1", "1.1", "1.2"]
