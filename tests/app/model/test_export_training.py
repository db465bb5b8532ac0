"""Exported training scripts: they train without stepgrad, as stepgrad does, also under torchrun."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.model.analysis import analyse
from app.model.design import Design
from app.model.export_training import export_training_file
from tests.app.cli_process import ROOT, stepgrad

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="needs PyTorch installed"
)
SAMPLES = ROOT / "sample_models"
DIGIT_DESIGNS = ("mlp_digits", "cnn_digits")


def torch_path() -> str:
    spec = importlib.util.find_spec("torch")
    return str(Path(spec.origin).parents[1])


def isolated(*argv: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -S ARGV` with only torch's site-packages on the path: no stepgrad."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = torch_path()
    return subprocess.run(
        [sys.executable, "-S", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def export(tmp_path: Path, name: str) -> Path:
    out = tmp_path / "script"
    out.mkdir(exist_ok=True)
    return export_training_file(Design.load(SAMPLES / f"{name}.json"), out / f"{name}_train.py")


def accuracy(folder: Path) -> float:
    with open(folder / "curves.csv") as f:
        return float(list(csv.DictReader(f))[-1]["val_accuracy"])


def test_stepgrad_cannot_be_imported_where_the_script_runs(tmp_path):
    done = isolated("-c", "import app", cwd=tmp_path)
    assert "No module named 'app'" in done.stderr
    done = isolated("-c", "import engine", cwd=tmp_path)
    assert "No module named 'engine'" in done.stderr


def test_cli_writes_the_script_and_refuses_the_engine_target(tmp_path):
    design = str(SAMPLES / "mlp_digits.json")
    done = stepgrad("export", design, "--target", "torch", "--training", "-o", "t.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.py", "t_digits.npz", "t_init.npz"]
    done = stepgrad("export", design, "--training", "-o", "e.py", cwd=tmp_path)
    assert done.returncode == 2
    assert "--target torch" in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="needs ruff")
def test_every_digits_and_mnist_sample_exports_compiles_and_is_ruff_clean(tmp_path):
    names = []
    for path in sorted(SAMPLES.glob("*.json")):
        design = Design.load(path)
        if analyse(design).ok and design.training.get("dataset", "digits") in ("digits", "mnist"):
            names.append(path.stem)
            export(tmp_path, path.stem)
    assert "mlp_digits" in names
    folder = str(tmp_path / "script")
    for args in (
        ["check", "--select", "E,F,W,I,B,UP", folder],
        ["format", "--check", "--diff", folder],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", "--isolated"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    for path in (tmp_path / "script").glob("*.py"):
        compile(path.read_text(), str(path), "exec")


def test_script_trains_without_stepgrad_and_resumes(tmp_path):
    script = export(tmp_path, "mlp_digits")
    done = isolated(script.name, "--epochs", "2", "--out", "a", cwd=script.parent)
    assert done.returncode == 0, done.stderr
    assert "epoch 2/2" in done.stdout
    once = script.parent / "a"
    assert {p.name for p in once.iterdir()} >= {"epoch1.pt", "epoch2.pt", "last.pt", "curves.csv"}
    # resuming from epoch 1 gives what the uninterrupted run gave
    resumed = isolated(
        script.name, "--epochs", "2", "--out", "b", "--resume", "a/epoch1.pt", cwd=script.parent
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 1/2" not in resumed.stdout
    assert abs(accuracy(script.parent / "b") - accuracy(once)) < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("name", DIGIT_DESIGNS)
def test_script_matches_stepgrad_train_single_and_under_torchrun(tmp_path, name):
    script = export(tmp_path, name)
    epochs = "5"
    single = isolated(script.name, "--epochs", epochs, "--out", "one", cwd=script.parent)
    assert single.returncode == 0, single.stderr
    trained = stepgrad("train", str(SAMPLES / f"{name}.json"), "--epochs", epochs, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    last = [line for line in trained.stdout.splitlines() if line.startswith(f"epoch {epochs}/")]
    stepgrad_accuracy = float(last[-1].split("acc ")[-1].split("%")[0]) / 100
    assert abs(accuracy(script.parent / "one") - stepgrad_accuracy) <= 0.01

    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    two = subprocess.run(
        [torchrun, "--nproc_per_node", "2", script.name, "--epochs", epochs, "--out", "two"],
        capture_output=True,
        text=True,
        env=env,
        cwd=script.parent,
        timeout=600,
    )
    assert two.returncode == 0, two.stderr[-2000:]
    assert two.stdout.count(f"epoch {epochs}/{epochs}") == 1  # only rank 0 reports
    assert sorted(p.name for p in (script.parent / "two").iterdir()) == sorted(
        [*(f"epoch{i}.pt" for i in range(1, int(epochs) + 1)), "last.pt", "curves.csv"]
    )
    assert abs(accuracy(script.parent / "two") - accuracy(script.parent / "one")) <= 0.01
