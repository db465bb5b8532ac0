"""Exported training scripts: they train without stepgrad, as stepgrad does, also under torchrun."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.model.analysis import analyse
from app.model.data import TOY_SETS, make_datasets
from app.model.design import Design
from app.model.export_training import export_training_file
from app.sessions.training import TrainingSession
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


def export(tmp_path: Path, name: str, target: str = "torch", **training) -> Path:
    """The training script of sample `name`, its training settings updated by `training`."""
    out = tmp_path / "script"
    out.mkdir(exist_ok=True)
    design = Design.load(SAMPLES / f"{name}.json")
    design.training.update(training)
    return export_training_file(design, out / f"{name}_{target}_train.py", target)


def script_module(path: Path):
    """The exported script imported as a module (its main() not run)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def engine_script(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python ARGV` with the engine importable, as a person with stepgrad installed runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def engine_history(design: Design, epochs: int) -> list[dict]:
    session = TrainingSession(design)
    session.run(epochs)
    return session.history


def accuracy(folder: Path) -> float:
    with open(folder / "curves.csv") as f:
        return float(list(csv.DictReader(f))[-1]["val_accuracy"])


def test_stepgrad_cannot_be_imported_where_the_script_runs(tmp_path):
    done = isolated("-c", "import app", cwd=tmp_path)
    assert "No module named 'app'" in done.stderr
    done = isolated("-c", "import engine", cwd=tmp_path)
    assert "No module named 'engine'" in done.stderr


def test_cli_writes_the_script_for_either_target(tmp_path):
    design = str(SAMPLES / "mlp_digits.json")
    done = stepgrad("export", design, "--target", "torch", "--training", "-o", "t.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.py", "t_digits.npz", "t_init.npz"]
    # it says what it wrote and how to run it, on one process and under torchrun
    said = done.stdout.splitlines()
    assert "t_init.npz and t_digits.npz beside it" in said[0]
    assert said[1:] == ["  python t.py", "  torchrun --nproc_per_node N t.py"]
    done = stepgrad("export", design, "--training", "-o", "e.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "import engine as torch" in (tmp_path / "e.py").read_text()
    assert {"e.py", "e_digits.npz", "e_init.npz"} <= {p.name for p in tmp_path.iterdir()}
    assert done.stdout.splitlines()[1:] == ["  python e.py"]  # one process: no torchrun
    mnist = str(SAMPLES / "lenet_mnist.json")
    done = stepgrad("export", mnist, "--target", "torch", "--training", "-o", "m.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "  python m.py --data DIR" in done.stdout.splitlines()


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="needs ruff")
def test_every_sample_exports_for_both_targets_compiles_and_is_ruff_clean(tmp_path):
    names = []
    for path in sorted(SAMPLES.glob("*.json")):
        if analyse(Design.load(path)).ok:
            names.append(path.stem)
            for target in ("torch", "engine"):
                export(tmp_path, path.stem, target)
    assert {"mlp_digits", "spiral_mlp", "lenet_mnist"} <= set(names)
    folder = tmp_path / "script"
    for args in (["check", "--select", "E,F,W,I,B,UP", "."], ["format", "--check", "--diff", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", "--isolated"],
            capture_output=True,
            text=True,
            cwd=folder,  # a folder of the person's own, where `engine` is a library
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    scripts = sorted(folder.glob("*.py"))
    assert len(scripts) == 2 * len(names)
    for path in scripts:
        compile(path.read_text(), str(path), "exec")


TOY_VARIANTS = {
    "moons": [{}, {"noise": 0.3, "n": 51}],
    "circles": [{}, {"factor": 0.3, "noise": 0.0}],
    "spirals": [{}, {"classes": 4, "n": 203}],
    "xor": [{}, {"n": 99}],
    "blobs": [{}, {"centers": [[0, 1], [2.5, -1]]}, {"centers": 5}],
}


@pytest.mark.parametrize("target", ["torch", "engine"])
@pytest.mark.parametrize("name", sorted(TOY_SETS))
def test_the_script_draws_the_same_2d_points_as_stepgrad(tmp_path, name, target):
    assert set(TOY_VARIANTS) == set(TOY_SETS)
    for options in TOY_VARIANTS[name]:
        for seed in (0, 1, 12345):
            training = {"dataset": name, "seed": seed, **options}
            script = export(tmp_path, "spiral_mlp", target, **training)
            x_train, y_train, x_val, y_val = script_module(script).load_data(None)
            design = Design.load(SAMPLES / "spiral_mlp.json")
            design.training.update(training)
            data = make_datasets(design.training)
            x, y = data.train.tensors
            np.testing.assert_array_equal(x_train, x.numpy())
            np.testing.assert_array_equal(y_train, y.numpy())
            x, y = data.val.tensors
            np.testing.assert_array_equal(x_val, x.numpy())
            np.testing.assert_array_equal(y_val, y.numpy())
            assert x_train.dtype == np.float32 and y_train.dtype == np.int64


def test_a_2d_script_trains_as_stepgrad_trains(tmp_path):
    epochs = 5
    script = export(tmp_path, "spiral_mlp")
    done = isolated(script.name, "--epochs", str(epochs), "--out", "t", cwd=script.parent)
    assert done.returncode == 0, done.stderr
    history = engine_history(Design.load(SAMPLES / "spiral_mlp.json"), epochs)
    assert abs(accuracy(script.parent / "t") - history[-1]["val_acc"]) <= 0.01


def test_the_engine_script_trains_exactly_as_stepgrad_and_resumes(tmp_path):
    epochs = 3
    script = export(tmp_path, "mlp_digits", "engine")
    done = engine_script(script.name, "--epochs", str(epochs), "--out", "a", cwd=script.parent)
    assert done.returncode == 0, done.stderr
    assert f"epoch {epochs}/{epochs}" in done.stdout
    once = script.parent / "a"
    assert {p.name for p in once.iterdir()} == {
        *(f"epoch{i}.npz" for i in range(1, epochs + 1)),
        "last.npz",
        "curves.csv",
    }
    with open(once / "curves.csv") as f:
        rows = list(csv.DictReader(f))
    history = engine_history(Design.load(SAMPLES / "mlp_digits.json"), epochs)
    assert [float(r["val_accuracy"]) for r in rows] == [h["val_acc"] for h in history]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx([h["val_loss"] for h in history])
    resumed = engine_script(
        script.name, "--epochs", str(epochs), "--out", "b", "--resume", "a/epoch1.npz",
        cwd=script.parent,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 1/" not in resumed.stdout
    assert accuracy(script.parent / "b") == accuracy(once)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def small_idx_set(folder: Path, gz: bool = True, train: int = 40, test: int = 12) -> None:
    """Random 28x28 images with labels 0-9, as the four IDX files, in `folder`."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    end = ".gz" if gz else ""
    for split, n in (("train", train), ("t10k", test)):
        write_idx(folder / f"{split}-images-idx3-ubyte{end}", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{split}-labels-idx1-ubyte{end}", rng.integers(0, 10, n))


@pytest.mark.parametrize("target", ["torch", "engine"])
@pytest.mark.parametrize(
    ("dataset", "where", "gz"),
    [
        ("mnist", ".", True),
        ("mnist", "MNIST/raw", False),
        ("fashion_mnist", "FashionMNIST/raw", True),
    ],
)
def test_the_script_reads_idx_files_as_stepgrad_does(tmp_path, target, dataset, where, gz):
    data = tmp_path / "data"
    small_idx_set(data / where, gz)
    script = script_module(export(tmp_path, "lenet_mnist", target, dataset=dataset))
    arrays = script.load_data(str(data))
    split = make_datasets({"dataset": dataset}, data)
    for ours, part in zip((arrays[:2], arrays[2:]), (split.train, split.val), strict=True):
        x, y = part.get_batch(range(len(part)))
        np.testing.assert_array_equal(ours[0], x.numpy())
        np.testing.assert_array_equal(ours[1], y.numpy())
        assert ours[0].shape[1:] == (1, 28, 28) and ours[0].dtype == np.float32


FAKE_TORCHVISION = """
import os

import numpy as np
import torch

used = []


class MNIST:
    def __init__(self, root, train=True):
        name = ("train" if train else "t10k") + "-{}-idx{}-ubyte"
        folder = os.path.join(root, "MNIST", "raw")
        if not os.path.isfile(os.path.join(folder, name.format("images", 3))):
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        used.append(train)
        arrays = []
        for kind, dims in (("images", 3), ("labels", 1)):
            with open(os.path.join(folder, name.format(kind, dims)), "rb") as f:
                raw = f.read()
            shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
            arrays.append(np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape))
        self.data = torch.from_numpy(arrays[0].copy())
        self.targets = torch.from_numpy(arrays[1].astype(np.int64))
"""


def test_the_torch_script_reads_torchvisions_layout_through_torchvision(tmp_path, monkeypatch):
    fake = tmp_path / "site" / "torchvision"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "datasets.py").write_text(FAKE_TORCHVISION)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in ("torchvision", "torchvision.datasets"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    script = script_module(export(tmp_path, "lenet_mnist", "torch"))
    try:
        import torchvision.datasets

        unzipped, zipped = tmp_path / "unzipped", tmp_path / "zipped"
        small_idx_set(unzipped / "MNIST" / "raw", gz=False)
        small_idx_set(zipped / "MNIST" / "raw", gz=True)
        through_torchvision = script.load_data(str(unzipped))
        assert torchvision.datasets.used == [True, False]
        own_reader = script.load_data(str(zipped))  # torchvision reads no .gz: the script does
        assert torchvision.datasets.used == [True, False]
    finally:  # the stand-in must not pass for torchvision in the tests that run after
        for name in ("torchvision", "torchvision.datasets"):
            if (getattr(sys.modules.get(name), "__file__", None) or "").startswith(str(tmp_path)):
                del sys.modules[name]
    for a, b in zip(through_torchvision, own_reader, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_missing_idx_files_are_named_with_their_folder(tmp_path):
    script = script_module(export(tmp_path, "lenet_mnist", "torch"))
    data = tmp_path / "data"
    small_idx_set(data)
    (data / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(SystemExit, match=f"t10k-labels-idx1-ubyte.gz is missing from {data}"):
        script.load_data(str(data))
    with pytest.raises(SystemExit, match="pass --data DIR"):
        script.load_data(None)
    with pytest.raises(SystemExit, match="no such folder"):
        script.load_data(str(tmp_path / "nowhere"))
    (data / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(SystemExit, match="train-images-idx3-ubyte.gz: Not a gzipped file"):
        script.load_data(str(data))
    (data / "train-images-idx3-ubyte.gz").unlink()
    (data / "train-images-idx3-ubyte").write_bytes(b"\0\0\x08\x01\0\0\0\x09abc")
    with pytest.raises(SystemExit, match="train-images-idx3-ubyte: 11 bytes, not what its header"):
        script.load_data(str(data))


def test_an_mnist_script_trains_on_idx_files_without_stepgrad(tmp_path):
    data = tmp_path / "data"
    small_idx_set(data)
    script = export(tmp_path, "lenet_mnist")
    done = isolated(script.name, "--data", str(data), "--out", "t", cwd=script.parent)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stdout
    done = isolated(script.name, "--out", "t", cwd=script.parent)
    assert done.returncode != 0 and "pass --data DIR" in done.stderr


MNIST = Path(os.environ.get("STEPGRAD_MNIST", "/work/shared/data/mnist"))


@pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="no MNIST here")
def test_the_script_reads_real_mnist_as_stepgrad_does(tmp_path):
    script = script_module(export(tmp_path, "lenet_mnist", "engine"))
    x_train, y_train, x_val, y_val = script.load_data(str(MNIST))
    assert x_train.shape == (60000, 1, 28, 28) and x_val.shape == (10000, 1, 28, 28)
    val = make_datasets({"dataset": "mnist"}, MNIST).val
    x, y = val.get_batch(range(len(val)))
    np.testing.assert_array_equal(x_val, x.numpy())
    np.testing.assert_array_equal(y_val, y.numpy())


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
