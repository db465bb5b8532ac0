"""The app on device 'cuda': a training run, checkpoints, debugging, views, export, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from app.cli import main
from app.model.design import Design
from app.model.export import export_file
from app.sessions.debugging import DebugSession
from app.sessions.training import TrainingSession
from app.tui.train.view import decision_grid, evaluate_classifier
from engine.utils.data import DataLoader
from tests.app.model.test_export import import_file, run_file
from tests.app.sessions.test_training import mlp, toy, weights
from tests.app.test_cli import write_design

pytestmark = pytest.mark.gpu


def trained(device: str, epochs: int = 1, **training) -> TrainingSession:
    session = TrainingSession(mlp(**training), device=device)
    assert session.run(epochs=epochs) == "finished"
    return session


def assert_close_weights(got: dict, want: dict, rtol: float = 1e-4) -> None:
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=1e-5, err_msg=key)


def host_weights(session: TrainingSession) -> dict[str, np.ndarray]:
    return {k: v.cpu().numpy().copy() for k, v in session.model.state_dict().items()}


def test_a_training_run_on_the_device_follows_the_cpu_run():
    cpu, gpu = trained("cpu", dropout=0.3), trained("cuda", dropout=0.3)
    assert all(p.is_cuda for p in gpu.model.parameters())
    assert all(
        s.is_cuda
        for state in gpu.optimizer.state.values()
        for s in state.values()
        if isinstance(s, engine.Tensor)
    )
    # a whole epoch of float32 steps: a GPU's sums differ from the CPU's in the last bits
    np.testing.assert_allclose(gpu.losses, cpu.losses, rtol=1e-3)
    assert gpu.history[0]["val_acc"] == pytest.approx(cpu.history[0]["val_acc"], abs=0.01)
    assert_close_weights(host_weights(gpu), weights(cpu), rtol=1e-3)


@pytest.mark.parametrize("loss", ["BCEWithLogitsLoss", "MSELoss"])
def test_toy_losses_train_on_the_device(loss):
    outputs = 1 if loss == "BCEWithLogitsLoss" else 3
    design = toy("moons" if outputs == 1 else "blobs", outputs, loss)
    session = TrainingSession(design, device="cuda")
    assert session.run(epochs=2) == "finished"
    assert np.isfinite(session.history[-1]["val_loss"])


@pytest.mark.parametrize("resume_on", ["cuda", "cpu"])
def test_a_device_checkpoint_resumes_on_either_device(tmp_path, resume_on):
    design = mlp(optimizer={"type": "SGD", "lr": 0.1, "momentum": 0.9})
    first = TrainingSession(design, device="cuda")
    first.run(epochs=1)
    first.save_checkpoint(tmp_path)
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as npz:
        assert npz.files
    resumed = TrainingSession.resume_from(tmp_path, design, device=resume_on)
    assert_close_weights(host_weights(resumed), host_weights(first), rtol=0)
    assert all(p.is_cuda == (resume_on == "cuda") for p in resumed.model.parameters())
    assert resumed.run(epochs=2) == "finished"
    assert np.isfinite(resumed.losses).all()


def test_debugging_copies_a_device_run_onto_the_cpu():
    session = trained("cuda")
    debug = DebugSession(session.design, training=session)
    try:
        state = debug._model_state
        assert not any(v.is_cuda for v in state.values())
        assert_close_weights({k: v.numpy() for k, v in state.items()}, host_weights(session), 0)
    finally:
        debug.close()


def test_views_read_a_device_model():
    session = TrainingSession(toy("moons", 1, "BCEWithLogitsLoss"), device="cuda")
    session.run(epochs=1)
    grid = decision_grid(session.model, session.data.train, "cuda", size=(8, 4))
    assert grid.classes.shape == (4, 8)
    digits = trained("cuda")
    loader = DataLoader(digits.data.val, 128)
    evaluation = evaluate_classifier(digits.model, loader, 10, "cuda")
    assert evaluation.confusion.sum() == len(digits.data.val) and evaluation.worst
    assert all(type(e.image) is np.ndarray for e in evaluation.worst)


def test_device_weights_export_and_run(tmp_path):
    session = trained("cuda")
    engine.save(session.model.state_dict(), tmp_path / "weights.npz")
    path = export_file(session.design, tmp_path / "model.py", weights=tmp_path / "weights.npz")
    model = import_file(path).build_model().eval()
    session.model.eval()
    x = engine.randn(3, 1, 8, 8)
    with engine.no_grad():
        want = session.model(x.to("cuda")).cpu().numpy()
        np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-5, atol=1e-6)
    assert "output shape: (1, 10)" in run_file(path)


def test_cli_trains_on_the_device_and_exports_its_weights(tmp_path, capsys):
    path, run = write_design(tmp_path), tmp_path / "run"
    assert main(["train", path, "--epochs", "1", "--device", "cuda", "--out", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "cuda" in printed and "epoch 1/1  train loss" in printed
    assert main(["train", path, "--device", "cuda", "--resume", str(run)]) == 0
    assert json.loads((run / "session.json").read_text())["epoch"] == 2
    out = tmp_path / "model.py"
    assert main(["export", path, "-o", str(out), "--weights", str(run / "weights.npz")]) == 0
    reference = Design.load(path).build()
    reference.load_state_dict(engine.load(run / "weights.npz"))
    model = import_file(out).build_model()
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key].numpy(), value.numpy())
