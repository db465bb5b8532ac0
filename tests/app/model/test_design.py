"""Design documents, the layer registry, validation and shape inference."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import engine
import engine.nn as nn
from app.model.analysis import analyse, suggested_args
from app.model.design import Design, DesignError, LayerNode
from app.model.registry import REGISTRY, by_category, check_arg, spec


def doc(layers, shape=(1, 8, 8), **extra):
    data = {"format": "stepgrad.design", "version": 1, "name": "t", "input": {"shape": list(shape)}}
    data["layers"] = layers
    data.update(extra)
    return data


MLP = [
    {"type": "Flatten", "args": {}},
    {"type": "Linear", "args": {"in_features": 64, "out_features": 32}, "name": "fc1"},
    {"type": "ReLU", "args": {}},
    {
        "type": "Residual",
        "args": {},
        "layers": [
            {"type": "Linear", "args": {"in_features": 32, "out_features": 32}},
            {"type": "Tanh", "args": {}},
        ],
    },
    {"type": "Linear", "args": {"in_features": 32, "out_features": 10}},
]


# ----- the document ---------------------------------------------------------
def test_round_trip_through_a_file(tmp_path):
    design = Design.from_dict(doc(MLP, training={"epochs": 3}))
    path = tmp_path / "d.json"
    design.save(path)
    again = Design.load(path)
    assert again.to_dict() == design.to_dict()
    assert again.training["epochs"] == 3 and again.training["optimizer"]["type"] == "Adam"
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]  # no temporary file left


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "d.json"
    Design.from_dict(doc(MLP)).save(path)
    before = path.read_text()

    design = Design.from_dict(doc(MLP[:1]))

    def failing_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr("engine.files.os.replace", failing_replace)
    with pytest.raises(OSError):
        design.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": "stepgrad.design",\n "version": 1,,}', r"d.json:2:15: malformed JSON"),
        ('{"format": "other"}', "not a stepgrad design"),
        (json.dumps(doc([], version=2)), "version 2 is newer"),
        (json.dumps(doc([], shape=(0, 3))), "input.shape"),
        (json.dumps(doc([{"args": {}}])), r"layers\[0\]: a layer needs a 'type'"),
        (json.dumps(doc([], version=-7)), "version must be a whole number from 1, got -7"),
        (json.dumps(doc([], version=0)), "version must be a whole number from 1, got 0"),
        (json.dumps(doc([], version=True)), "version must be a whole number from 1, got True"),
        (json.dumps(doc([], shape=(True, 8, 8))), "input.shape"),
        (json.dumps(doc([], training=["seed"])), "'training' must be an object, got list"),
        (json.dumps(doc([], training={"seed": "abc"})), "training.seed must be a whole number"),
        (json.dumps(doc([], training={"seed": -1})), "training.seed must be a whole number"),
        (json.dumps(doc([], training={"seed": [1]})), "training.seed must be a whole number"),
        (json.dumps(doc([], training={"seed": 1.5})), "training.seed must be a whole number"),
        (json.dumps(doc([], training={"seed": 2**63})), "training.seed must be a whole number"),
        (
            '{"format": "stepgrad.design", "version": 1, "input": {"shape": [4]}, '
            '"training": {"seed": NaN}}',
            "training.seed must be a whole number",
        ),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, text, message):
    path = tmp_path / "d.json"
    path.write_text(text)
    with pytest.raises(DesignError, match=message):
        Design.load(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DesignError, match="nope.json: no such file"):
        Design.load(tmp_path / "nope.json")


def test_design_embedded_in_python_is_read_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    source = (
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n"
        f"DESIGN_JSON = {json.dumps(json.dumps(doc(MLP)))}\n"
    )
    path = tmp_path / "model.py"
    path.write_text(source)
    assert Design.load(path).to_dict()["layers"][1]["name"] == "fc1"
    assert not marker.exists()
    (tmp_path / "other.py").write_text("x = 1\n")
    with pytest.raises(DesignError, match="not a file stepgrad exported"):
        Design.load(tmp_path / "other.py")


def test_build_names_layers_like_the_design():
    model = Design.from_dict(doc(MLP)).build()
    keys = list(model.state_dict())
    assert keys == [
        "fc1.weight",
        "fc1.bias",
        "3.body.0.weight",
        "3.body.0.bias",
        "4.weight",
        "4.bias",
    ]
    assert model(engine.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_edits_apply_to_nested_layers():
    design = Design.from_dict(doc(MLP))
    design.apply([{"op": "set", "path": [3, 0], "arg": "out_features", "value": 16}])
    assert design.node((3, 0)).args["out_features"] == 16
    design.apply([{"op": "insert", "path": [3, 1], "layer": {"type": "ReLU", "args": {}}}])
    assert [n.type for n in design.node((3,)).layers] == ["Linear", "ReLU", "Tanh"]
    design.apply([{"op": "remove", "path": [0]}])
    assert design.layers[0].name == "fc1"


# ----- the registry ---------------------------------------------------------
def test_registry_reads_signatures_from_the_engine():
    for type_name, layer_spec in REGISTRY.items():
        if layer_spec.container:
            continue
        params = inspect.signature(getattr(nn, type_name).__init__).parameters
        for arg in layer_spec.args:
            assert arg.name in params, (type_name, arg.name)
            assert arg.default == params[arg.name].default, (type_name, arg.name)
    linear = spec("Linear")
    assert [a.name for a in linear.args] == ["in_features", "out_features", "bias"]
    assert linear.arg("in_features").required and linear.arg("bias").default is True
    assert set(by_category()) >= {"Linear", "Convolution", "Pooling", "Activation", "Container"}


@pytest.mark.parametrize(
    ("type_name", "arg", "value", "ok"),
    [
        ("Linear", "in_features", 3, True),
        ("Linear", "in_features", 0, False),
        ("Linear", "in_features", 2.5, False),
        ("Linear", "bias", "yes", False),
        ("Conv2d", "kernel_size", [3, 5], True),
        ("Conv2d", "kernel_size", [3, 5, 7], False),
        ("Dropout", "p", 1.5, False),
        ("GELU", "approximate", "tanh", True),
        ("GELU", "approximate", "fast", False),
        ("MaxPool2d", "stride", None, True),
        ("Linear", "out_features", None, False),
    ],
)
def test_argument_checks(type_name, arg, value, ok):
    assert (check_arg(spec(type_name).arg(arg), value) is None) == ok


# ----- validation and shapes --------------------------------------------------
def test_shapes_and_parameters_come_from_the_engine():
    analysis = analyse(Design.from_dict(doc(MLP)))
    assert analysis.ok
    shapes = [(i.path, i.output_shape, i.params) for i in analysis.layers]
    assert shapes == [
        ((0,), (64,), 0),
        ((1,), (32,), 64 * 32 + 32),
        ((2,), (32,), 0),
        ((3,), (32,), 32 * 32 + 32),
        ((3, 0), (32,), 32 * 32 + 32),
        ((3, 1), (32,), 0),
        ((4,), (10,), 32 * 10 + 10),
    ]
    model = Design.from_dict(doc(MLP)).build()
    assert analysis.total_params == sum(p.numel() for p in model.parameters())
    assert analysis.activation_bytes == 4 * (64 + 32 + 32 + 32 + 32 + 10)


def test_every_argument_problem_is_collected_in_one_pass():
    layers = [
        {"type": "Conv2d", "args": {"in_channels": -1, "out_channels": 4, "bogus": 1}},
        {"type": "Wobble", "args": {}},
        {"type": "Linear", "args": {"in_features": 3}, "name": "head"},
    ]
    problems = analyse(Design.from_dict(doc(layers))).problems
    text = [str(p) for p in problems]
    assert (
        "layer 1 (Conv2d): unknown argument 'bogus' (it takes: in_channels, out_channels, "
        in text[0]
    )
    assert "layer 1 (Conv2d): in_channels must be at least 1, got -1" in text
    assert "layer 1 (Conv2d): missing required argument 'kernel_size'" in text
    assert "layer 2 (Wobble): unknown layer type 'Wobble'" in text
    assert "layer 3 'head' (Linear): missing required argument 'out_features'" in text


def test_engine_constructor_errors_are_tied_to_the_layer():
    layers = [
        {
            "type": "Conv2d",
            "args": {"in_channels": 1, "out_channels": 3, "kernel_size": 3, "groups": 2},
        }
    ]
    (problem,) = analyse(Design.from_dict(doc(layers))).problems
    assert problem.where == "layer 1 (Conv2d)" and "divisible by groups" in problem.message


def test_kernel_larger_than_input_is_an_error_of_that_layer():
    layers = [{"type": "Conv2d", "args": {"in_channels": 1, "out_channels": 2, "kernel_size": 9}}]
    (problem,) = analyse(Design.from_dict(doc(layers))).problems
    assert problem.where == "layer 1 (Conv2d)" and "larger than" in problem.message


@pytest.mark.parametrize(
    ("layers", "fix_label", "expect"),
    [
        (
            [{"type": "Linear", "args": {"in_features": 10, "out_features": 4}}],
            "insert Flatten before it and set in_features=64",
            "expects input (*, 10), gets (1, 8, 8)",
        ),
        (
            [{"type": "Conv2d", "args": {"in_channels": 3, "out_channels": 4, "kernel_size": 3}}],
            "set in_channels=1",
            "expects input (3, H, W), gets (1, 8, 8)",
        ),
        (
            [{"type": "Flatten", "args": {}}, {"type": "BatchNorm1d", "args": {"num_features": 8}}],
            "set num_features=64",
            "expects input (8,) or (8, L), gets (64,)",
        ),
        (
            [{"type": "BatchNorm2d", "args": {"num_features": 2}}],
            "set num_features=1",
            "gets (1, 8, 8)",
        ),
        (
            [{"type": "LayerNorm", "args": {"normalized_shape": [3]}}],
            "set normalized_shape=[8]",
            "(1, 8, 8)",
        ),
    ],
)
def test_shape_errors_offer_fixes_that_work(layers, fix_label, expect):
    design = Design.from_dict(doc(layers))
    (problem,) = analyse(design).problems
    assert expect in problem.message
    fix = next(f for f in problem.fixes if f.label == fix_label)
    design.apply(fix.edits)
    assert analyse(design).ok


def test_a_residual_block_must_keep_its_shape():
    layers = [
        {"type": "Flatten", "args": {}},
        {
            "type": "Residual",
            "args": {},
            "layers": [{"type": "Linear", "args": {"in_features": 64, "out_features": 8}}],
        },
    ]
    (problem,) = analyse(Design.from_dict(doc(layers))).problems
    assert problem.where == "layer 2 (Residual)" and "(64,) into (8,)" in problem.message


def test_shape_inference_runs_the_engines_residual(monkeypatch):
    seen = []
    forward = nn.Residual.forward

    def spy(self, x):
        out = forward(self, x)
        seen.append((tuple(x.shape), tuple(out.shape)))
        return out

    monkeypatch.setattr(nn.Residual, "forward", spy)
    analysis = analyse(Design.from_dict(doc(MLP)))
    assert analysis.ok and seen == [((2, 32), (2, 32))]  # the probe batch of two


def test_a_residual_adds_its_input_to_the_very_layers_shape_inference_ran(monkeypatch):
    # Each layer is built once: the engine's Residual holds the modules whose shapes the rows
    # show, so its output is its input plus those layers' output on the same weights.
    linears, runs = [], []
    init, forward = nn.Linear.__init__, nn.Residual.forward

    def spy_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        linears.append(self)

    def spy_forward(self, x):
        out = forward(self, x)
        runs.append((x.numpy(), out.numpy(), self.body))
        return out

    monkeypatch.setattr(nn.Linear, "__init__", spy_init)
    monkeypatch.setattr(nn.Residual, "forward", spy_forward)
    assert analyse(Design.from_dict(doc(MLP))).ok
    assert len(linears) == 3
    ((x, out, body),) = runs
    inner = linears[1]
    assert body[0] is inner
    expected = x + np.tanh(x @ inner.weight.detach().numpy().T + inner.bias.detach().numpy())
    assert np.abs(x).sum() > 0 and np.allclose(out, expected, atol=1e-6)


def test_a_container_of_unknown_type_is_reported_not_run():
    layers = [{"type": "Bogus", "args": {}, "layers": [{"type": "ReLU", "args": {}}]}]
    analysis = analyse(Design.from_dict(doc(layers, shape=(3,))))
    assert [p.message for p in analysis.problems] == ["unknown layer type 'Bogus'"]
    assert analysis.output_shape is None


def test_layers_after_an_error_have_no_shape_but_are_still_checked():
    layers = [
        {"type": "Linear", "args": {"in_features": 10, "out_features": 4}},
        {"type": "Linear", "args": {"in_features": 4, "out_features": 0}},
    ]
    analysis = analyse(Design.from_dict(doc(layers)))
    assert [p.where for p in analysis.problems] == ["layer 1 (Linear)", "layer 2 (Linear)"]
    assert analysis.layers[1].output_shape is None and analysis.output_shape is None


def test_suggested_arguments_fit_what_arrives():
    assert suggested_args("Linear", (16, 5, 5))["in_features"] == 400
    assert suggested_args("Linear", (32,))["in_features"] == 32
    assert suggested_args("Conv2d", (6, 14, 14))["in_channels"] == 6
    assert suggested_args("BatchNorm2d", (6, 14, 14))["num_features"] == 6
    args = suggested_args("Dropout", (32,))
    assert args == {"p": 0.5}
    node = LayerNode("Linear", suggested_args("Linear", (16, 5, 5)))
    design = Design(input_shape=(16, 5, 5), layers=[LayerNode("Flatten", {}), node])
    assert analyse(design).ok


def test_inference_matches_a_real_forward_pass():
    data = doc(
        [
            {
                "type": "Conv2d",
                "args": {
                    "in_channels": 1,
                    "out_channels": 4,
                    "kernel_size": 3,
                    "stride": 2,
                    "padding": 1,
                },
            },
            {"type": "MaxPool2d", "args": {"kernel_size": 2}},
            {"type": "Flatten", "args": {}},
        ]
    )
    d = Design.from_dict(data)
    out = d.build()(engine.tensor(np.zeros((3, 1, 8, 8), np.float32)))
    assert analyse(d).output_shape == tuple(out.shape[1:])
