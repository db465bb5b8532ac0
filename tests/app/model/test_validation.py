"""One validation decides: names, structure, memory and training settings, checked up front."""

from __future__ import annotations

import importlib.util
import math
import os
import tracemalloc

import numpy as np
import pytest

import engine
from app.cli import main
from app.model import budget
from app.model.analysis import analyse
from app.model.design import RESERVED_NAMES, Design, DesignError, LayerNode
from app.model.editor import DesignEditor
from app.model.export import ExportError, export_source
from app.model.registry import REGISTRY
from app.sessions.setup import SessionError
from app.sessions.training import TrainingSession

FLAT = {"type": "Flatten"}


def doc(layers, shape=(1, 8, 8), **training):
    data = {"format": "stepgrad.design", "version": 1, "name": "t", "input": {"shape": list(shape)}}
    data["layers"] = layers
    if training:
        data["training"] = training
    return data


def linear(n_in, n_out, name=""):
    node = {"type": "Linear", "args": {"in_features": n_in, "out_features": n_out}}
    return {**node, "name": name} if name else node


def problems(data, **kwargs) -> list[str]:
    return [str(p) for p in analyse(Design.from_dict(data), **kwargs).problems]


# ----- names ------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["training", "forward", "to", "cuda", "state_dict", "add_module", "_modules", "__class__"],
)
def test_names_a_module_already_holds_are_refused_everywhere(name, tmp_path):
    data = doc([FLAT, linear(64, 10, name)])
    [problem] = problems(data)
    assert f"layer 2 '{name}' (Linear)" in problem and "taken by PyTorch's nn.Module" in problem
    with pytest.raises(ExportError, match="taken by PyTorch"):
        export_source(Design.from_dict(data), "torch")
    editor = DesignEditor(Design.from_dict(doc([FLAT, linear(64, 10)])))
    editor.select((1,))
    with pytest.raises(ValueError, match="taken by PyTorch"):
        editor.rename(name)


def test_reserved_names_cover_every_attribute_of_the_engine_sequential():
    attributes = {a for a in dir(engine.nn.Sequential()) if not a.startswith("_")}
    assert attributes <= RESERVED_NAMES


@pytest.mark.torch
def test_reserved_names_cover_every_attribute_of_the_torch_sequential():
    import torch

    attributes = {a for a in dir(torch.nn.Sequential()) if not a.startswith("_")}
    assert attributes <= RESERVED_NAMES


@pytest.mark.parametrize(
    ("name", "phrase"),
    [("a.b", "cannot contain '.'"), ("a\nb", "printable text"), ("x" * 201, "at most 200")],
)
def test_names_a_model_cannot_hold_are_refused(name, phrase):
    [problem] = problems(doc([FLAT, linear(64, 10, name)]))
    assert phrase in problem and "\n" not in problem


def test_two_layers_of_one_name_in_a_container_are_refused_the_position_counts_too():
    data = doc(
        [
            FLAT,
            {"type": "ReLU", "name": "x"},
            {"type": "Sequential", "layers": [{"type": "ReLU", "name": "x"}]},  # its own scope
            {"type": "ReLU", "name": "x"},
            {"type": "ReLU", "name": "0"},  # the Flatten goes by "0"
        ]
    )
    found = problems(data)
    assert len(found) == 2
    assert "layer 4 'x' (ReLU): layer 2 already goes by 'x'" in found[0]
    assert "layer 5 '0' (ReLU): layer 1 already goes by '0'" in found[1]
    with pytest.raises(ExportError, match="already goes by"):
        export_source(Design.from_dict(data))


def test_names_that_pass_build_and_export_to_both_targets():
    names = ["fc 1", "Ünïcode", "x" * 200, "3", "a'\"b"]
    data = doc([FLAT, *[linear(64, 64, n) for n in names]])
    assert problems(data) == []
    model = Design.from_dict(data).build()
    assert [name for name, _ in model.named_children()] == ["0", *names]
    for target in ("engine", "torch"):
        compile(export_source(Design.from_dict(data), target), "m.py", "exec")


# ----- structure ----------------------------------------------------------------
def test_layers_inside_a_layer_that_holds_none_are_a_problem_not_a_silent_drop():
    data = doc([FLAT, {**linear(64, 10), "layers": [{"type": "ReLU"}]}])
    [problem] = problems(data)
    assert "a Linear holds no layers, but 1 layer inside it" in problem
    analysis = analyse(Design.from_dict(data))
    assert [i.path for i in analysis.layers] == [(0,), (1,), (1, 0)]  # the tree still shows it
    with pytest.raises(ExportError, match="holds no layers"):
        export_source(Design.from_dict(data))


def test_an_empty_layers_list_on_a_plain_layer_is_dropped():
    design = Design.from_dict(doc([FLAT, {**linear(64, 10), "layers": []}]))
    assert design.layers[1].layers is None and analyse(design).ok


# ----- memory -------------------------------------------------------------------
def _cases():
    """(type, args, input shape) covering every layer type the registry has, leaves only."""
    cases = []
    for name, layer_spec in REGISTRY.items():
        if layer_spec.container:
            continue
        for shape in [(3, 9, 7), (12,), (4, 6)]:
            cases.append((name, layer_spec.suggest(shape), shape))
    cases += [
        (
            "Conv2d",
            dict(
                in_channels=4,
                out_channels=6,
                kernel_size=[3, 2],
                stride=2,
                padding=1,
                dilation=[1, 2],
                groups=2,
                bias=False,
            ),
            (4, 11, 9),
        ),  # fmt: skip
        ("MaxPool2d", dict(kernel_size=3, stride=None, padding=1, dilation=2), (2, 10, 13)),
        ("AvgPool2d", dict(kernel_size=[2, 3], stride=[1, 2], padding=1), (2, 10, 13)),
        ("AdaptiveAvgPool2d", dict(output_size=[5, 2]), (3, 9, 7)),
        ("BatchNorm2d", dict(num_features=3, affine=False), (3, 4, 4)),
        ("LayerNorm", dict(normalized_shape=[4, 6], elementwise_affine=False), (4, 6)),
        ("LayerNorm", dict(normalized_shape=[6], bias=False), (4, 6)),
        ("Linear", dict(in_features=6, out_features=5, bias=False), (4, 6)),
        ("GroupNorm", dict(num_groups=2, num_channels=4, affine=False), (4, 6)),
        ("GroupNorm", dict(num_groups=3, num_channels=3, bias=False), (3, 4, 4)),
        ("InstanceNorm2d", dict(num_features=3, affine=True, bias=False), (3, 4, 4)),
        ("PReLU", dict(num_parameters=3), (3, 4, 4)),
        ("GLU", dict(dim=1), (4, 6)),
        ("Unflatten", dict(dim=2, unflattened_size=[2, -1]), (3, 8)),
    ]
    return cases


def test_the_memory_estimate_matches_what_the_engine_builds_for_every_layer_type():
    checked = set()
    for name, args, shape in _cases():
        node = {"type": name, "args": dict(args)}
        analysis = analyse(Design.from_dict(doc([node], shape)))
        if not analysis.ok:
            continue  # arguments that do not fit this shape: validation says why
        [info] = analysis.layers
        params, activations = budget.estimate(LayerNode(name, dict(args)), shape)
        assert params == info.params, (name, args, shape)
        assert activations == math.prod(info.output_shape), (name, args, shape)
        checked.add(name)
    leaves = {n for n, s in REGISTRY.items() if not s.container}
    assert checked == leaves  # a new layer type needs a rule, or this fails


def test_image_layers_refuse_samples_they_would_read_as_a_batch():
    conv = {"type": "Conv2d", "args": dict(in_channels=1, out_channels=2, kernel_size=3)}
    [problem] = problems(doc([conv], shape=(8, 8)))  # (1, 8, 8) unbatched: 1 channel
    assert "expects input (1, H, W), gets (8, 8)" in problem
    pool = {"type": "MaxPool2d", "args": {"kernel_size": 2}}
    assert "expects input (C, H, W), gets (8, 8)" in problems(doc([pool], shape=(8, 8)))[0]
    norm = {"type": "BatchNorm1d", "args": {"num_features": 2}}
    assert "gets (2, 3, 4)" in problems(doc([norm], shape=(2, 3, 4)))[0]


@pytest.mark.parametrize(
    ("layers", "shape", "where"),
    [
        ([FLAT, linear(64, 30_000_000)], (1, 8, 8), "layer 2 (Linear)"),
        (
            [{"type": "Conv2d", "args": dict(in_channels=1, out_channels=10**7, kernel_size=1)}],
            (1, 8, 8),
            "layer 1 (Conv2d)",
        ),  # fmt: skip
        ([{"type": "AdaptiveAvgPool2d", "args": {"output_size": 100_000}}], (1, 8, 8), "layer 1"),
        ([{"type": "LayerNorm", "args": {"normalized_shape": [10**6, 10**6]}}], (8,), "layer 1"),
        ([], (100_000, 100_000), "input"),
    ],
)
def test_layers_over_the_memory_budget_are_refused_before_any_memory_is_taken(layers, shape, where):
    tracemalloc.start()
    try:
        [problem] = problems(doc(layers, shape))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problem.startswith(f"{where}") and "over the memory budget of 4.0 GiB" in problem
    assert "--memory-budget" in problem
    assert peak < 20 * 1024**2  # the layers asked for gigabytes


def test_the_budget_counts_the_batch_and_can_be_lowered_and_raised(monkeypatch):
    data = doc([FLAT, linear(64, 4096), linear(4096, 10)], batch_size=64)
    assert problems(data) == []
    monkeypatch.setattr(budget, "_budget", budget.parse_size("1M"))
    [problem] = problems(data)
    # 16 bytes a parameter (weights, gradients, two moments) and 8 an activation value
    assert 16 * 266_240 + 8 * 64 * (64 + 64 + 4096) == 6_422_528  # 6.1 MiB
    assert problem.startswith("layer 2 (Linear): training would need about 6.1 MiB")
    budget.set_budget(budget.parse_size("8M"))
    assert problems(data) == []
    data["training"]["batch_size"] = 4096  # activations grow with the batch
    assert "activations at batch size 4096" in problems(data)[0]


@pytest.mark.parametrize(
    ("text", "n_bytes"),
    [
        ("512M", 512 * 1024**2),
        ("8G", 8 * 1024**3),
        ("8gb", 8 * 1024**3),
        ("1.5GiB", 1536 * 1024**2),
        ("4096", 4096),
    ],  # fmt: skip
)
def test_sizes_read_for_the_budget(text, n_bytes):
    assert budget.parse_size(text) == n_bytes


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "8X", ""])
def test_sizes_that_are_not_sizes_are_refused(text):
    with pytest.raises(ValueError, match="expected a size"):
        budget.parse_size(text)


def test_the_cli_takes_a_memory_budget(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(budget, "_budget", budget.DEFAULT_BUDGET)
    path = tmp_path / "d.json"
    Design.from_dict(doc([FLAT, linear(64, 4096), linear(4096, 10)])).save(path)
    assert main(["summary", str(path)]) == 0
    assert main(["summary", str(path), "--memory-budget", "1M"]) == 1
    assert "over the memory budget of 1.0 MiB" in capsys.readouterr().out
    assert main(["summary", str(path), "--memory-budget", "lots"]) == 2
    assert "expected a size such as 512M" in capsys.readouterr().err


# ----- training settings --------------------------------------------------------
def test_bce_loss_needs_probabilities_not_logits():
    [problem] = problems(doc([FLAT, linear(64, 10)], loss="BCELoss"))
    assert problem.startswith(
        "training: BCELoss takes probabilities in [0, 1]: use BCEWithLogitsLoss, or end with "
        "Sigmoid"
    )
    assert "ends with Linear" in problem and "BCEWithLogitsLoss" in problem
    assert problems(doc([FLAT, linear(64, 10), {"type": "Sigmoid"}], loss="BCELoss")) == []
    inside = {"type": "Sequential", "layers": [linear(64, 10), {"type": "Sigmoid"}]}
    assert problems(doc([FLAT, inside], loss="BCELoss")) == []
    assert problems(doc([FLAT, linear(64, 10)], loss="BCEWithLogitsLoss")) == []


@pytest.mark.parametrize("key", ["batch_size", "epochs"])
@pytest.mark.parametrize("value", [0, -3, 2.5, "64", True, None, [64]])
def test_batch_size_and_epochs_are_whole_numbers_from_one(key, value):
    [problem] = problems(doc([FLAT, linear(64, 10)], **{key: value}))
    assert problem.startswith(f"training: {key} must be a whole number from 1")


BATCH_NORM = [FLAT, linear(64, 10), {"type": "BatchNorm1d", "args": {"num_features": 10}}]


def test_a_last_batch_of_one_sample_under_batch_norm_is_refused_with_a_size_that_works():
    # 1,442 training digits: 131 leaves 1 over (11 * 131 = 1,441)
    [problem] = problems(doc(BATCH_NORM, batch_size=131))
    assert "the last batch of each epoch holds 1 sample (1,442 training samples" in problem
    assert "layer 3 (BatchNorm1d)" in problem and "a batch_size such as 130" in problem
    assert problems(doc(BATCH_NORM, batch_size=130)) == []
    [problem] = problems(doc(BATCH_NORM, batch_size=1))
    assert "batch_size is 1" in problem
    # known from the data the session read
    assert "1 sample (65 training" in problems(doc(BATCH_NORM, batch_size=64), train_size=65)[0]
    toy = doc([linear(2, 4), {"type": "BatchNorm1d", "args": {"num_features": 4}}], shape=(2,))
    toy["training"] = {"dataset": "moons", "n": 41, "batch_size": 32, "loss": "CrossEntropyLoss"}
    assert "1 sample (33 training samples" in problems(toy)[0]  # 41 less 8 held out


def test_batch_norm_over_many_values_a_channel_takes_a_batch_of_one():
    conv = [
        {"type": "Conv2d", "args": dict(in_channels=1, out_channels=2, kernel_size=3)},
        {"type": "BatchNorm2d", "args": {"num_features": 2}},
    ]
    assert problems(doc(conv, batch_size=131)) == []
    pooled = [*conv, {"type": "AdaptiveAvgPool2d", "args": {"output_size": 1}},
              {"type": "BatchNorm2d", "args": {"num_features": 2}}]  # fmt: skip
    assert "last batch of each epoch holds 1 sample" in problems(doc(pooled, batch_size=131))[0]


def test_what_validation_passes_trains_every_batch(tmp_path):
    design = Design.from_dict(doc(BATCH_NORM, batch_size=130, epochs=1))
    assert analyse(design).ok
    session = TrainingSession(design)
    assert session.run(1) == "finished" and session.batch == 0 and session.epoch == 1
    refused = Design.from_dict(doc(BATCH_NORM, batch_size=131, epochs=1))
    with pytest.raises(SessionError, match="last batch of each epoch holds 1 sample"):
        TrainingSession(refused)


# ----- reading the file ---------------------------------------------------------
def _write(tmp_path, text: str, name="d.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = '{"format": "stepgrad.design", "version": 1, "input": {"shape": [1, 8, 8]}, '


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (BASE + '"layers": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested 100001 deep"),
        (BASE.replace('"version": 1', '"version": ' + "9" * 5000) + '"layers": []}', "4300"),
        (
            BASE.replace('"version": 1', '"version": ' + "9" * 4000) + '"layers": []}',
            "an integer of 4000 digits",
        ),  # fmt: skip
        (BASE + '"layers": [{"type": ["Linear"]}]}', "'type' must be a layer type's name"),
        (BASE + '"layers": [{"type": "ReLU", "name": 3}]}', "'name' must be a string"),
        (BASE + '"name": ["x"], "layers": []}', "'name' must be a string"),
        (BASE + '"layers": [{"type": "ReLU", "name": "\\ud800"}]}', "lone surrogate"),
        (BASE.replace("[1, 8, 8]", "[1, 8, 1e20]") + '"layers": []}', "input.shape must be"),
        (BASE.replace("[1, 8, 8]", "[" + "1, " * 9 + "1]") + '"layers": []}', "1 to 8 positive"),
    ],
)
def test_hostile_documents_give_one_design_error(tmp_path, text, phrase):
    with pytest.raises(DesignError, match=phrase.replace("[", r"\[")) as caught:
        Design.load(_write(tmp_path, text))
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


def test_containers_nested_deeper_than_the_limit_are_refused_without_recursion(tmp_path):
    def nest(depth):
        node = {"type": "ReLU"}
        for _ in range(depth):
            node = {"type": "Sequential", "layers": [node]}
        return node

    assert len(list(Design.from_dict(doc([nest(31)])).walk())) == 32
    with pytest.raises(DesignError, match="nested more than 32 deep"):
        Design.from_dict(doc([nest(32)]))
    text = BASE + '"layers": [' + '{"type": "Sequential", "layers": [' * 1000 + "]}" * 1000 + "]}"
    with pytest.raises(DesignError, match="nested 2002 deep"):
        Design.load(_write(tmp_path, text))


def test_devices_fifos_folders_and_huge_files_are_refused_before_reading(tmp_path, monkeypatch):
    fifo = tmp_path / "d.json"
    os.mkfifo(fifo)
    for path in ("/dev/zero", fifo, tmp_path):
        with pytest.raises(DesignError, match="not a regular file|a folder"):
            Design.load(path)  # a FIFO with no writer would block; /dev/zero never ends
    import app.model.design as design_module

    monkeypatch.setattr(design_module, "MAX_FILE_BYTES", 100)
    with pytest.raises(DesignError, match="more than the 100 bytes this reader takes"):
        Design.load(_write(tmp_path, BASE + '"layers": []}' + " " * 100, "big.json"))


def test_an_exported_file_is_read_token_by_token_never_parsed_or_run(tmp_path):
    design = Design.from_dict(doc([FLAT, linear(64, 10)]))
    source = export_source(design)
    path = _write(tmp_path, "x = " + "(" * 50_000 + ")" * 50_000 + "\n" + source, "m.py")
    assert Design.load(path).to_dict() == design.to_dict()  # deep code before it is skipped
    bad = _write(tmp_path, "def f(:\n  'unterminated\n", "bad.py")
    with pytest.raises(DesignError, match="bad.py"):
        Design.load(bad)
    trap = _write(tmp_path, "raise SystemExit('ran')\nDESIGN_JSON = f'{1}'\n", "trap.py")
    with pytest.raises(DesignError, match="no DESIGN_JSON string"):
        Design.load(trap)


def test_shown_values_stay_short_and_printable():
    from app.model.design import shown

    assert shown("\ud800") == "'\\ud800'"
    assert len(shown(list(range(10_000)))) <= 60
    assert shown(10**100) == "an integer of 101 digits"
    assert np.isfinite(1.0)  # keeps numpy imported for the cases above


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs PyTorch")
def test_reserved_names_hold_in_a_torch_export_run(tmp_path):
    data = doc([FLAT, linear(64, 10, "fc"), {"type": "ReLU", "name": "act"}])
    namespace: dict = {"__name__": "exported"}
    exec(compile(export_source(Design.from_dict(data), "torch"), "m.py", "exec"), namespace)
    model = namespace["build_model"]()
    assert [n for n, _ in model.named_children()] == ["0", "fc", "act"]


def test_a_name_with_a_line_break_shows_escaped_in_the_build_tree_and_the_summary(capsys):
    from app.cli import summary_table
    from app.tui.build.view import layer_rows

    design = Design.from_dict(doc([FLAT, {"type": "ReLU", "name": "a\nb"}]))
    analysis = analyse(design)
    assert [row.name for row in layer_rows(analysis)] == ["0", "'a\\nb'"]
    from rich.console import Console

    console = Console(width=100, file=None)
    with console.capture() as captured:
        console.print(summary_table(design, analysis))
    assert "2 'a\\nb'" in captured.get()


@pytest.mark.parametrize(
    "flatten", [{"start_dim": 0}, {"start_dim": 0, "end_dim": 2}, {"start_dim": -4}]
)
def test_a_layer_that_merges_the_batch_into_a_sample_is_refused(flatten):
    [problem] = problems(doc([{"type": "Flatten", "args": flatten}, linear(128, 10)]))
    assert "layer 1 (Flatten): it merges the samples of a batch" in problem


@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss", "BCEWithLogitsLoss"])
def test_a_loss_on_labels_needs_one_value_or_one_per_class(loss):
    # (1, 8, 8) per sample cannot be compared with a label: it failed in the first batch
    image_out = Design.from_dict(doc([{"type": "Identity"}], loss=loss))
    with pytest.raises(SessionError, match=r"gives \(1, 8, 8\) per sample, but .* needs \(1,\)"):
        TrainingSession(image_out)
    for width in (1, 10):
        TrainingSession(Design.from_dict(doc([FLAT, linear(64, width)], loss=loss)))
