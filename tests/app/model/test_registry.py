"""Each layer type's rules live in its registry entry, and one entry is all a new type needs."""

from __future__ import annotations

from dataclasses import replace

import pytest

import engine.nn as nn
from app.model import registry
from app.model.analysis import analyse, suggested_args
from app.model.design import Design, LayerNode
from app.model.editor import DesignEditor
from app.model.export import export_source
from app.model.registry import REGISTRY, Diagnosis, Fix, LayerSpec, by_category
from app.tui.build.view import key_args


def design(layers, shape=(3,)) -> Design:
    data = {"format": "stepgrad.design", "version": 1, "name": "t", "input": {"shape": list(shape)}}
    return Design.from_dict({**data, "layers": layers})


def test_every_entry_answers_defaults_label_and_fixes():
    for name, entry in REGISTRY.items():
        assert isinstance(entry.suggest((4,)), dict), name
        assert isinstance(entry.suggest(None), dict), name
        assert isinstance(entry.label(entry.suggest((4,))), str), name
        found = entry.diagnose(entry.suggest((4,)), (4, 5), (0,))
        assert found is None or isinstance(found, Diagnosis), name


def test_a_new_entry_is_enough_for_palette_analysis_and_label(monkeypatch):
    class Double(nn.Module):
        def __init__(self, width: int = 1):
            super().__init__()
            self.width = width

        def forward(self, x):
            if x.shape[-1] != self.width:
                raise ValueError("wrong width")
            return x * 2

    monkeypatch.setattr(nn, "Double", Double, raising=False)
    entry = registry._spec(
        "Double",
        dict(
            category="Activation",
            help="2x",
            suggest=lambda shape: {"width": shape[-1]},
            label=lambda args: f"×2 over {args.get('width')}",
            diagnose=lambda args, got, path: Diagnosis(
                f"width {args['width']} against {got[-1]}",
                "width",
                [Fix(f"set width={got[-1]}", [registry._set(path, "width", got[-1])])],
            ),
        ),
    )
    assert isinstance(entry, LayerSpec)
    monkeypatch.setitem(REGISTRY, "Double", entry)

    assert entry in by_category()["Activation"]
    assert suggested_args("Double", (7,)) == {"width": 7}
    assert key_args(LayerNode("Double", {"width": 3})) == "×2 over 3"
    good = analyse(design([{"type": "Double", "args": {"width": 3}}]))
    assert good.ok and good.output_shape == (3,)
    bad = analyse(design([{"type": "Double", "args": {"width": 5}}]))
    (problem,) = bad.problems
    assert problem.message == "width 5 against 3"
    assert problem.fixes[0].edits == [{"op": "set", "path": [0], "arg": "width", "value": 3}]
    assert "nn.Double(width=3)" in export_source(
        design([{"type": "Double", "args": {"width": 3}}]), "torch"
    )


def test_a_container_the_engine_has_and_pytorch_lacks_is_one_entry(monkeypatch):
    entry = REGISTRY["Residual"]
    assert entry.wraps_body and entry.torch_source.startswith("class Residual(nn.Module):")
    own = entry.torch_source.replace("class Residual", "class Skip")
    monkeypatch.setitem(REGISTRY, "Skip", replace(entry, type="Skip", torch_source=own))
    monkeypatch.setattr(nn, "Skip", nn.Residual, raising=False)
    skip = {"type": "Skip", "args": {}, "layers": [{"type": "ReLU", "args": {}}]}
    assert analyse(design([skip])).ok
    assert isinstance(design([skip]).build()[0], nn.Residual)
    source = export_source(design([skip]), "torch")
    assert "        Skip(\n" in source and "class Skip(nn.Module):" in source


@pytest.mark.parametrize(
    "layer, shape, fix",
    [
        (
            {"type": "GroupNorm", "args": {"num_groups": 4, "num_channels": 8}},
            (6, 5),
            "set num_channels=6 and num_groups=2",
        ),
        (
            {"type": "GroupNorm", "args": {"num_groups": 2, "num_channels": 8}},
            (6, 5),
            "set num_channels=6",
        ),
        ({"type": "InstanceNorm2d", "args": {"num_features": 3}}, (1, 8, 8), "set num_features=1"),
        (
            {"type": "InstanceNorm2d", "args": {"num_features": 3, "affine": True}},
            (2, 8, 8),
            "set num_features=2",
        ),
        ({"type": "PReLU", "args": {"num_parameters": 3}}, (4, 5), "set num_parameters=4"),
        (
            {"type": "Unflatten", "args": {"dim": 1, "unflattened_size": [2, 5]}},
            (12,),
            "set unflattened_size=[2, -1]",
        ),
        (
            {"type": "Unflatten", "args": {"dim": -1, "unflattened_size": [5, 2]}},
            (3, 12),
            "set unflattened_size=[12]",
        ),
    ],
)
def test_new_layers_explain_a_misfit_and_their_fix_makes_it_fit(layer, shape, fix):
    data = design([layer], shape)
    [problem] = analyse(data).problems
    assert fix in [f.label for f in problem.fixes], problem
    editor = DesignEditor(data)
    editor.apply_fix(next(f for f in problem.fixes if f.label == fix))
    assert analyse(editor.design).ok


@pytest.mark.parametrize(
    "layer, shape, words",
    [
        ({"type": "Dropout2d", "args": {}}, (12,), "use Dropout for other input"),
        ({"type": "GLU", "args": {"dim": -1}}, (3, 5), "whose size 5"),
        ({"type": "GLU", "args": {"dim": 0}}, (4,), "merges the samples of a batch"),
        ({"type": "Hardtanh", "args": {"min_val": 1.0, "max_val": 0.5}}, (4,), "max_val"),
    ],
)
def test_new_layers_say_why_they_do_not_fit(layer, shape, words):
    [problem] = analyse(design([layer], shape)).problems
    assert words in str(problem)


def test_new_layers_suggest_arguments_that_fit():
    for type_name, shape in [
        ("GroupNorm", (12, 4)),
        ("GroupNorm", (7,)),
        ("InstanceNorm2d", (3, 4, 4)),
        ("Unflatten", (64,)),
        ("Unflatten", (10,)),
        ("PReLU", (3,)),
        ("Dropout2d", (3, 4, 4)),
        ("GLU", (6,)),
    ]:
        node = {"type": type_name, "args": suggested_args(type_name, shape)}
        assert analyse(design([node], shape)).ok, (type_name, shape, node)
