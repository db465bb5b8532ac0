"""Each layer type's rules live in its registry entry, and one entry is all a new type needs."""

from __future__ import annotations

from dataclasses import replace

import engine.nn as nn
from app.model import registry
from app.model.analysis import analyse, suggested_args
from app.model.design import Design, LayerNode
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
