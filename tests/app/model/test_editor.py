"""DesignEditor: edits, selection, undo/redo, fixes, saving and the recovery file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.model.design import Design
from app.model.editor import DesignEditor
from app.model.recovery import Autosave, orphans

SAMPLES = Path(__file__).resolve().parents[3] / "sample_models"


def editor(name="mlp_digits") -> DesignEditor:
    return DesignEditor.open(SAMPLES / f"{name}.json")


def types(ed: DesignEditor) -> list[str]:
    return [n.type for n in ed.design.layers]


def test_adding_layers_fills_sizes_from_the_incoming_shape():
    ed = editor()
    ed.select((1,))  # fc1: 64 -> 128
    path = ed.add_layer("Linear")
    assert path == (2,) and ed.selection == (2,)
    assert ed.design.node(path).args["in_features"] == 128
    assert (
        ed.analysis.ok is False
    )  # the old relu1 now follows a 64-wide layer: fine, but out breaks
    total_before = ed.analysis.total_params
    ed.undo()
    assert types(ed) == ["Flatten", "Linear", "ReLU", "Linear"]
    assert ed.analysis.ok and ed.analysis.total_params < total_before
    ed.redo()
    assert types(ed) == ["Flatten", "Linear", "Linear", "ReLU", "Linear"]


def test_conv_then_linear_makes_a_fixable_shape_error():
    ed = DesignEditor(Design(input_shape=(1, 8, 8)))
    ed.add_layer("Conv2d")
    assert ed.design.layers[0].args["in_channels"] == 1
    ed.add_layer("Linear")
    (problem,) = ed.analysis.problems
    assert problem.path == (1,)
    ed.apply_fix(problem.fixes[0])
    assert ed.analysis.ok
    assert types(ed) == ["Conv2d", "Flatten", "Linear"]
    ed.undo()
    assert not ed.analysis.ok


def test_delete_duplicate_move_wrap_rename():
    ed = editor()
    ed.select((1,))
    ed.duplicate()
    assert ed.selection == (2,) and ed.design.layers[2].name == "fc1_2"
    ed.delete()
    assert ed.selection == (2,) and types(ed) == ["Flatten", "Linear", "ReLU", "Linear"]
    ed.move(-1)
    assert ed.selection == (1,) and types(ed)[1] == "ReLU"
    ed.move(-5)  # out of range: nothing happens
    assert ed.selection == (1,)
    ed.undo()
    ed.select((2,))
    ed.wrap_in_residual()
    assert ed.design.layers[2].type == "Residual" and ed.design.layers[2].layers[0].type == "ReLU"
    ed.rename("skip")
    assert ed.design.layers[2].name == "skip"
    with pytest.raises(ValueError, match="already called"):
        ed.rename("fc1")
    with pytest.raises(ValueError, match="'.'"):
        ed.rename("a.b")


def test_adding_into_a_selected_container():
    ed = editor("residual_mlp")
    ed.select((3,))  # block1
    path = ed.add_layer("ReLU")
    assert path == (3, 3)
    assert ed.analysis.ok


def test_set_arg_and_default_removal():
    ed = editor()
    ed.select((3,))
    ed.set_arg("out_features", 5)
    assert ed.analysis.output_shape == (5,)
    ed.set_arg("bias", False)
    ed.set_arg("bias", None)
    assert "bias" not in ed.design.node((3,)).args


def test_modified_flag_save_and_recovery(tmp_path):
    ed = editor()
    ed.recovery = Autosave(tmp_path / "recovery")
    assert not ed.modified
    ed.select((3,))
    ed.set_arg("out_features", 7)
    assert ed.modified
    assert orphans(None, tmp_path / "recovery") == []  # this instance is alive
    kept = json.loads(ed.recovery.path.read_text())
    assert kept["design"]["layers"][3]["args"]["out_features"] == 7 and kept["source"] == str(
        ed.path.resolve()
    )
    saved = ed.save(tmp_path / "mine.json")
    assert not ed.modified and not list((tmp_path / "recovery").glob("*.json"))
    assert Design.load(saved).layers[3].args["out_features"] == 7


def test_an_editor_without_an_autosave_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    ed = editor()
    ed.delete()
    assert ed.modified and not list(tmp_path.rglob("*.json"))


def test_exported_python_is_saved_as_json(tmp_path):
    ed = editor()
    py = tmp_path / "model.py"
    py.write_text(f"DESIGN_JSON = {ed.design.to_json()!r}\n")
    opened = DesignEditor.open(py)
    assert opened.save() == tmp_path / "model.json"
    assert py.read_text().startswith("DESIGN_JSON")


def test_listeners_hear_every_change():
    ed = editor()
    heard = []
    ed.listeners.append(lambda e: heard.append(e.analysis.total_params))
    ed.select((3,))
    ed.set_arg("out_features", 2)
    ed.undo()
    assert len(heard) == 3 and heard[1] != heard[2]


def test_typing_one_argument_undoes_as_one_step():
    from app.model.design import Design, LayerNode

    editor = DesignEditor(
        Design(
            input_shape=(4,), layers=[LayerNode("Linear", {"in_features": 4, "out_features": 8})]
        )
    )
    for value in (1, 12, 128):
        editor.set_arg("out_features", value)
    editor.set_arg("in_features", 4)
    assert editor.undo() and editor.design.layers[0].args["out_features"] == 128
    assert editor.undo() and editor.design.layers[0].args["out_features"] == 8
    assert not editor.can_undo


def test_saving_never_replaces_another_file_unasked(tmp_path):
    ed = editor()
    py = tmp_path / "model.py"
    py.write_text(f"DESIGN_JSON = {ed.design.to_json()!r}\n")
    unrelated = tmp_path / "model.json"
    unrelated.write_text("my own notes")
    opened = DesignEditor.open(py)
    with pytest.raises(FileExistsError) as err:
        opened.save()
    assert err.value.filename == str(unrelated) and unrelated.read_text() == "my own notes"
    assert opened.save(replace=True) == unrelated
    assert Design.load(unrelated).name == ed.design.name
    opened.delete()
    assert opened.save() == unrelated  # now the design's own file: no question


def test_save_as_onto_an_existing_file_asks(tmp_path):
    ed = editor()
    other = tmp_path / "other.json"
    other.write_text("{}")
    with pytest.raises(FileExistsError):
        ed.save(other)
    assert other.read_text() == "{}"
