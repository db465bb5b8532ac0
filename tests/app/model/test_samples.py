"""Every sample design loads and analyses; the ones meant to train learn; each planted bug shows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import engine
import engine.debug as debug
import engine.nn as nn
from app.model.analysis import analyse
from app.model.design import Design
from engine.datasets import Digits, make_spirals
from engine.utils.data import DataLoader, TensorDataset

SAMPLES = Path(__file__).resolve().parents[3] / "sample_models"
TRAINABLE = ["mlp_digits", "cnn_digits", "spiral_mlp", "residual_mlp"]
BUGGY = ["exploding_lr", "dead_relu", "vanishing_sigmoid", "shape_mismatch"]


def load(name: str) -> Design:
    return Design.load(SAMPLES / f"{name}.json")


def setup(design: Design):
    """Model, optimizer, loss and training batches as the design asks (seeded)."""
    t = design.training
    engine.manual_seed(t["seed"])
    model = design.build()
    options = dict(t["optimizer"])
    optimizer = getattr(engine.optim, options.pop("type"))(model.parameters(), **options)
    loss_fn = getattr(nn, t["loss"])()
    if t["dataset"] == "digits":
        data = Digits(train=True)
    else:
        x, y = make_spirals(t["n"], t["noise"], t["seed"], classes=t["classes"])
        data = TensorDataset(x, y)
    loader = DataLoader(data, batch_size=t["batch_size"], shuffle=True, seed=t["seed"])
    return model, optimizer, loss_fn, loader


def train_steps(design: Design, steps: int, monitor_every: int | None = None):
    model, optimizer, loss_fn, loader = setup(design)
    monitor = debug.Monitor(model, every=monitor_every) if monitor_every else None
    losses = []
    while len(losses) < steps:
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            losses.append(loss.item())
            if not math.isfinite(losses[-1]) or len(losses) >= steps:
                return model, losses, monitor
            loss.backward()
            optimizer.step()
            if monitor is not None:
                monitor.step()
    return model, losses, monitor


def test_the_folder_documents_every_sample():
    names = sorted(p.stem for p in SAMPLES.glob("*.json"))
    assert names == sorted(TRAINABLE + BUGGY + ["lenet_mnist"])
    readme = (SAMPLES / "README.md").read_text()
    for name in names:
        assert f"`{name}.json`" in readme


@pytest.mark.parametrize(
    "name", TRAINABLE + ["lenet_mnist", "exploding_lr", "dead_relu", "vanishing_sigmoid"]
)
def test_sample_is_valid_and_its_shapes_close(name):
    analysis = analyse(load(name))
    assert analysis.ok, [str(p) for p in analysis.problems]
    assert analysis.output_shape in ((10,), (3,))
    assert analysis.total_params > 0


@pytest.mark.parametrize("name", TRAINABLE)
def test_trainable_samples_learn(name):
    design = load(name)
    _, losses, _ = train_steps(design, 1200 if name == "spiral_mlp" else 60)
    assert all(math.isfinite(v) for v in losses)
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:5]), name


def test_exploding_lr_reaches_nan_in_the_first_epoch():
    design = load("exploding_lr")
    batches_per_epoch = math.ceil(len(Digits(train=True)) / design.training["batch_size"])
    _, losses, _ = train_steps(design, batches_per_epoch)
    assert not math.isfinite(losses[-1])
    assert len(losses) < batches_per_epoch
    assert losses[1] > 100 * losses[0]  # it explodes before it breaks


def test_exploding_lr_nan_is_traced_to_its_producer():
    design = load("exploding_lr")
    model, optimizer, loss_fn, loader = setup(design)
    error = None
    for x, y in loader:

        def step(x=x, y=y):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()

        error = debug.find_anomaly(step)
        if error is not None:
            break
    assert error is not None
    assert not error.node.is_leaf or error.phase == "update"
    assert "non-finite" in str(error) or "NaN" in str(error) or "Inf" in str(error)


def test_dead_relu_kills_most_units():
    _, _, monitor = train_steps(load("dead_relu"), 60, monitor_every=10)
    last = monitor.reports[-1]
    dead = {
        layer.name: layer.dead_fraction for layer in last.layers if layer.dead_fraction is not None
    }
    assert dead["relu1"] > 0.5 and dead["relu2"] > 0.5, dead


def test_vanishing_sigmoid_starves_the_first_layer():
    _, _, monitor = train_steps(load("vanishing_sigmoid"), 12, monitor_every=10)
    grads = {p.name: p.grad_norm for p in monitor.reports[-1].params}
    assert grads["fc1.weight"] < 1e-4 * grads["out.weight"], grads


def test_shape_mismatch_is_tied_to_fc1_with_a_flatten_fix():
    design = load("shape_mismatch")
    analysis = analyse(design)
    assert len(analysis.problems) == 1
    problem = analysis.problems[0]
    assert problem.where == "layer 4 'fc1' (Linear)"
    assert "expects input (*, 128), gets (8, 4, 4)" in problem.message
    fix = problem.fixes[0]
    assert fix.label == "insert Flatten before it"
    design.apply(fix.edits)
    assert analyse(design).ok
    assert [n.type for n in design.layers][3] == "Flatten"
