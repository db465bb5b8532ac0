"""Exported Python files: they run, load their weights, match the engine and stay ruff-clean."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import engine
from app.model.design import Design
from app.model.export import ExportError, export_file, export_source

ROOT = Path(__file__).resolve().parents[3]
HAS_RUFF = importlib.util.find_spec("ruff") is not None
needs_ruff = pytest.mark.skipif(not HAS_RUFF, reason="needs ruff (the 'dev' extra)")


def doc(name, layers, shape=(1, 8, 8)):
    return {
        "format": "stepgrad.design",
        "version": 1,
        "name": name,
        "input": {"shape": list(shape)},
        "layers": layers,
    }


def layer(type_, name="", **args):
    return {"type": type_, "args": args, **({"name": name} if name else {})}


def block(type_, layers, name=""):
    return {"type": type_, "args": {}, "layers": layers, **({"name": name} if name else {})}


DESIGNS = {
    "mlp": doc(
        "mlp",
        [
            layer("Flatten"),
            layer("Linear", "fc1", in_features=64, out_features=32),
            layer("BatchNorm1d", "bn", num_features=32, eps=1e-5, momentum=0.1),
            layer("ReLU"),
            layer("Dropout", p=0.25),
            layer("Linear", "out", in_features=32, out_features=10, bias=False),
        ],
    ),
    "cnn": doc(
        "cnn",
        [
            layer("Conv2d", "conv1", in_channels=1, out_channels=6, kernel_size=3, padding=1),
            layer("BatchNorm2d", num_features=6),
            layer("ReLU"),
            layer("MaxPool2d", kernel_size=2),
            layer("Conv2d", in_channels=6, out_channels=8, kernel_size=[3, 3], stride=1, padding=1),
            layer("AvgPool2d", kernel_size=2, stride=1),
            layer("AdaptiveAvgPool2d", output_size=1),
            layer("Flatten"),
            layer("Linear", "fc", in_features=8, out_features=10),
        ],
    ),
    "residual": doc(
        "residual",
        [
            layer("Flatten"),
            layer("Linear", in_features=64, out_features=16),
            block("Residual", [layer("Linear", in_features=16, out_features=16), layer("ReLU")]),
            block(
                "Residual",
                [layer("Linear", "inner", in_features=16, out_features=16), layer("Tanh")],
                name="skip",
            ),
            block(
                "Sequential",
                [
                    layer("LayerNorm", normalized_shape=[16]),
                    layer("Linear", "fc", in_features=16, out_features=10),
                ],
                name="head",
            ),
        ],
    ),
    "activations": doc(
        "activations",
        [
            layer("Flatten", start_dim=1, end_dim=-1),
            layer("Linear", in_features=64, out_features=16),
            layer("LeakyReLU", negative_slope=0.1),
            layer("LayerNorm", "norm", normalized_shape=[16], eps=1e-6),
            layer("GELU", approximate="tanh"),
            layer("Linear", in_features=16, out_features=16),
            layer("GELU"),
            layer("Tanh"),
            layer("Linear", in_features=16, out_features=16),
            layer("Sigmoid"),
            layer("Identity"),
            layer("Linear", in_features=16, out_features=10),
            layer("Softmax", dim=1),
        ],
    ),
    "resampling": doc(
        "resampling",
        [
            layer("ZeroPad2d", padding=[1]),
            layer("Conv2d", in_channels=1, out_channels=4, kernel_size=3),
            layer("AdaptiveMaxPool2d", "pool", output_size=4),
            layer("ConvTranspose2d", "up", in_channels=4, out_channels=3, kernel_size=2, stride=2),
            layer("Upsample", scale_factor=2.0, mode="bilinear"),
            layer("ZeroPad2d", padding=[1, 0, 2, 1]),
            layer("Upsample", size=[5, 6]),
            layer("AdaptiveMaxPool2d", output_size=[2, 3]),
            layer("Flatten"),
            layer("Linear", in_features=18, out_features=10),
        ],
    ),
}
TARGETS = ("engine", "torch")


def random_state(design: Design, seed: int = 0) -> OrderedDict:
    """The design's state dict with every value moved, as if trained (variances positive)."""
    rng = np.random.default_rng(seed)
    state = OrderedDict()
    for key, value in design.build().state_dict().items():
        array = value.numpy()
        if array.dtype.kind == "f":
            array = (array + 0.1 * rng.standard_normal(array.shape)).astype(array.dtype)
            if key.endswith("running_var"):
                array = np.abs(array) + 0.5
        state[key] = engine.tensor(array)
    return state


def exported(tmp_path, name, target, weights=True):
    """Export design `name` for `target` into tmp_path/name/, with random weights beside it."""
    design = Design.from_dict(DESIGNS[name])
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    npz = None
    if weights:
        npz = folder / "weights.npz"
        engine.save(random_state(design), npz)
    return design, export_file(design, folder / f"{name}_{target}.py", target, weights=npz)


def import_file(path: Path):
    """Import an exported file as a module (tests may run generated code; the app never does)."""
    module_name = f"exported_{path.stem}_{abs(hash(str(path)))}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def run_file(path: Path, block_engine: bool = False) -> str:
    """Run an exported file as a script in a fresh interpreter; its standard output."""
    code = "import runpy, sys\n"
    if block_engine:  # prove the PyTorch file needs nothing from stepgrad
        code += "sys.modules['engine'] = None\n"
    code += f"runpy.run_path({str(path)!r}, run_name='__main__')\n"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def ruff(*args: str) -> subprocess.CompletedProcess:
    """ruff with its defaults (line length 88), as a user's own folder would have it."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "--isolated"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def ruff_clean(path: Path) -> None:
    check = ruff("check", "--select", "E,F,W,I,B,UP", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = ruff("format", "--check", "--diff", str(path))
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def torch_params(target):
    marks = [pytest.mark.torch] if target == "torch" else []
    return pytest.param(target, marks=marks, id=target)


# ----- each design, each target -----------------------------------------------
@pytest.mark.parametrize("target", [torch_params(t) for t in TARGETS])
@pytest.mark.parametrize("name", list(DESIGNS))
def test_exported_file_runs_and_prints_the_output_shape(tmp_path, name, target):
    _, path = exported(tmp_path, name, target)
    out = run_file(path, block_engine=target == "torch")
    assert "output shape: (1, 10)" in out


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", list(DESIGNS))
def test_exported_file_reopens_as_the_same_design(tmp_path, name, target):
    design, path = exported(tmp_path, name, target)
    assert Design.load(path).to_dict() == design.to_dict()


@needs_ruff
@pytest.mark.parametrize("weights", [True, False], ids=["weights", "no-weights"])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", list(DESIGNS))
def test_exported_file_is_ruff_clean_and_formatted(tmp_path, name, target, weights):
    _, path = exported(tmp_path, name, target, weights=weights)
    ruff_clean(path)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_engine_export_loads_the_weights_it_was_given(tmp_path, name):
    design, path = exported(tmp_path, name, "engine")
    model = import_file(path).build_model().eval()
    reference = design.build()
    reference.load_state_dict(engine.load(path.with_name("weights.npz")))
    reference.eval()
    x = engine.randn(3, *design.input_shape)
    with engine.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), reference(x).numpy())
    assert list(model.state_dict()) == list(reference.state_dict())


@pytest.mark.torch
@pytest.mark.parametrize("name", list(DESIGNS))
def test_torch_export_computes_what_the_engine_export_computes(tmp_path, name):
    import torch

    design, engine_path = exported(tmp_path, name, "engine")
    _, torch_path = exported(tmp_path, name, "torch")
    engine_model = import_file(engine_path).build_model().eval()
    torch_model = import_file(torch_path).build_model().eval()
    assert list(torch_model.state_dict()) == list(engine_model.state_dict())
    x = np.random.default_rng(1).standard_normal((4, *design.input_shape)).astype(np.float32)
    with engine.no_grad():
        want = engine_model(engine.tensor(x)).numpy()
    with torch.no_grad():
        got = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_torch_export_imports_nothing_from_stepgrad(tmp_path):
    for name in DESIGNS:
        _, path = exported(tmp_path, name, "torch")
        source = path.read_text()
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
        }
        assert imported == {"collections", "json", "numpy", "pathlib", "torch"}
        assert "engine" not in source


def test_engine_export_reads_like_pytorch(tmp_path):
    _, path = exported(tmp_path, "cnn", "engine")
    source = path.read_text()
    assert "import engine as torch\nimport engine.nn as nn\n" in source
    assert '("conv1", nn.Conv2d(1, 6, kernel_size=3, padding=1)),' in source
    assert '("3", nn.MaxPool2d(kernel_size=2)),' in source  # only non-default arguments
    assert '("4", nn.Conv2d(6, 8, kernel_size=(3, 3), padding=1)),' in source  # default stride
    assert "model.load_state_dict(torch.load(WEIGHTS))" in source
    assert 'WEIGHTS = Path(__file__).with_name("weights.npz")' in source


def test_residual_keys_match_in_both_targets(tmp_path):
    for target in TARGETS:
        _, path = exported(tmp_path, "residual", target, weights=False)
        source = path.read_text()
        if target == "torch":
            assert "class Residual(nn.Module):" in source
            assert "Residual(\n" in source and "nn.Residual" not in source
        else:
            assert "nn.Residual(\n" in source and "class Residual" not in source
    _, path = exported(tmp_path, "residual", "engine")
    keys = list(import_file(path).build_model().state_dict())
    assert "2.body.0.weight" in keys and "skip.body.inner.weight" in keys
    assert "head.fc.weight" in keys and "head.0.weight" in keys


# ----- weights beside the file ----------------------------------------------------
@pytest.mark.parametrize("target", [torch_params(t) for t in TARGETS])
def test_weights_are_found_after_the_folder_moves(tmp_path, target):
    design = Design.from_dict(DESIGNS["mlp"])
    folder = tmp_path / "project"
    (folder / "weights").mkdir(parents=True)
    npz = folder / "weights" / "trained.npz"
    engine.save(random_state(design), npz)
    path = export_file(design, folder / "code" / "model.py", target, weights=npz)
    assert 'Path(__file__).parent / "../weights/trained.npz"' in path.read_text()
    moved = tmp_path / "elsewhere" / "project"
    moved.parent.mkdir()
    shutil.move(folder, moved)
    assert "output shape: (1, 10)" in run_file(moved / "code" / "model.py", target == "torch")


def test_weights_that_do_not_fit_the_design_are_refused(tmp_path):
    design = Design.from_dict(DESIGNS["mlp"])
    other = Design.from_dict(DESIGNS["cnn"])
    npz = tmp_path / "w.npz"
    engine.save(other.build().state_dict(), npz)
    with pytest.raises(ExportError, match="do not fit design 'mlp'.*missing fc1.weight"):
        export_file(design, tmp_path / "m.py", "engine", weights=npz)
    with pytest.raises(ExportError, match="no such weights file"):
        export_file(design, tmp_path / "m.py", "engine", weights=tmp_path / "none.npz")
    assert not (tmp_path / "m.py").exists()


def test_a_design_with_problems_is_not_exported():
    broken = Design.from_dict(doc("broken", [layer("Linear", in_features=3, out_features=2)]))
    with pytest.raises(ExportError, match=r"layer 1 \(Linear\): expects input"):
        export_source(broken)
    twice = Design.from_dict(doc("twice", [layer("Flatten", "x"), layer("ReLU", "x")]))
    with pytest.raises(ExportError, match="layer 1 already goes by 'x'"):
        export_source(twice)
    with pytest.raises(ValueError, match="export target must be one of engine, torch"):
        export_source(Design.from_dict(DESIGNS["mlp"]), "jax")


# ----- odd inputs still make formatted, faithful files ----------------------------
@needs_ruff
@pytest.mark.parametrize("target", TARGETS)
def test_long_names_deep_nesting_and_quotes_stay_formatted(tmp_path, target):
    long_name = "a_layer_name_long_enough_to_push_its_entry_past_the_width"
    data = doc(
        'A "quoted" design with a \\ backslash, """triple quotes""", and a name long '
        "enough that its line in the embedded JSON passes eighty-eight characters",
        [
            block(
                "Sequential",
                [
                    block(
                        "Residual",
                        [
                            layer(
                                "Conv2d",
                                long_name,
                                in_channels=1,
                                out_channels=1,
                                kernel_size=[3, 3],
                                stride=[1, 1],
                                padding=[1, 1],
                                dilation=[1, 1],
                                groups=1,
                                bias=False,
                            ),
                            block("Sequential", []),
                            layer("ReLU", "a name with spaces, " * 4),
                        ],
                    ),
                    layer("MaxPool2d", "a 'quoted' pool", kernel_size=2, stride=None),
                ],
                name="features",
            ),
            layer("Flatten"),
            layer("Linear", "x" * 80, in_features=16, out_features=10),
        ],
    )
    design = Design.from_dict(data)
    path = export_file(design, tmp_path / "odd.py", target)
    ruff_clean(path)
    assert Design.load(path).to_dict() == design.to_dict()
    if target == "engine":
        model = import_file(path).build_model()
        assert list(model.state_dict()) == list(design.build().state_dict())
        assert "output shape: (1, 10)" in run_file(path)


def test_export_overwrites_atomically(tmp_path):
    design = Design.from_dict(DESIGNS["mlp"])
    path = tmp_path / "m.py"
    path.write_text("old")
    export_file(design, path, "engine")
    assert path.read_text().startswith('"""mlp, exported from stepgrad')
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


# ----- reading is never running -------------------------------------------------------
def test_design_load_reads_an_exported_file_without_running_it(tmp_path):
    design = Design.from_dict(DESIGNS["mlp"])
    flag = tmp_path / "ran.txt"
    path = tmp_path / "trap.py"
    path.write_text(
        "from pathlib import Path\n"
        f"Path({str(flag)!r}).write_text('the file was run')\n"
        f"DESIGN_JSON = {design.to_json()!r}\n"
        "raise SystemExit('the file was run')\n"
    )
    assert Design.load(path).to_dict() == design.to_dict()
    assert not flag.exists()


SAMPLE_DESIGNS = sorted(
    p.stem
    for p in (Path(__file__).resolve().parents[3] / "sample_models").glob("*.json")
    if p.stem != "shape_mismatch"  # its planted bug makes it unexportable on purpose
)


@pytest.mark.torch
@pytest.mark.parametrize("name", SAMPLE_DESIGNS)
def test_every_sample_exports_to_the_same_function_in_both_libraries(tmp_path, name):
    import torch

    design = Design.load(Path(__file__).resolve().parents[3] / "sample_models" / f"{name}.json")
    npz = tmp_path / "weights.npz"
    engine.save(random_state(design), npz)
    engine_model = import_file(export_file(design, tmp_path / "e.py", "engine", weights=npz))
    torch_model = import_file(export_file(design, tmp_path / "t.py", "torch", weights=npz))
    engine_model, torch_model = engine_model.build_model().eval(), torch_model.build_model().eval()
    x = np.random.default_rng(2).standard_normal((3, *design.input_shape)).astype(np.float32)
    with engine.no_grad():
        want = engine_model(engine.tensor(x)).numpy()
    with torch.no_grad():
        got = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
