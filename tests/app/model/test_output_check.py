"""An output that misses the dataset's classes is a warning on the output layer, as training
treats it: more outputs than classes train, fewer are refused."""

from __future__ import annotations

import pytest

from app.model.analysis import analyse
from app.model.design import Design
from app.sessions.training import SessionError, TrainingSession
from tests.app.tui.tui_helpers import SAMPLES


def mlp(out_features: int) -> Design:
    design = Design.load(SAMPLES / "mlp_digits.json")
    design.layers[-1].args["out_features"] = out_features
    return design


def test_more_outputs_than_classes_warn_on_the_last_layer_and_train():
    design = mlp(64)
    analysis = analyse(design)
    assert analysis.ok and len(analysis.warnings) == 1
    assert "training runs, 54 outputs unused" in analysis.warnings[0]
    warned = [i.path for i in analysis.layers if i.warning]
    assert warned == [(len(design.layers) - 1,)]
    TrainingSession(design)  # refuses nothing


def test_fewer_outputs_than_classes_warn_that_training_refuses_them():
    design = mlp(5)
    analysis = analyse(design)
    assert analysis.ok and "training refuses it" in analysis.warnings[0]
    with pytest.raises(SessionError, match="one score per class"):
        TrainingSession(design)
