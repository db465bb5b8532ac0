"""The design's name: saving as another file names it, and renaming moves its file."""

from __future__ import annotations

import pytest

from app.model.design import Design, LayerNode
from app.model.editor import DesignEditor
from tests.app.tui.tui_helpers import SAMPLES


def editor(name: str = "net") -> DesignEditor:
    layers = [LayerNode("Linear", {"in_features": 4, "out_features": 2}, "fc1")]
    return DesignEditor(Design(name=name, input_shape=(4,), layers=layers))


def test_saving_as_another_file_takes_its_name_and_saving_again_keeps_it(tmp_path):
    ed = editor()
    ed.save(tmp_path / "first.json")
    assert ed.design.name == "first" and Design.load(tmp_path / "first.json").name == "first"
    ed.save()
    ed.save(tmp_path / "first.json")
    assert ed.design.name == "first"
    ed.save(tmp_path / "second.json")
    assert Design.load(tmp_path / "second.json").name == "second"
    assert Design.load(tmp_path / "first.json").name == "first"


def test_rename_moves_the_file_and_keeps_unsaved_changes_unsaved(tmp_path):
    ed = editor()
    ed.save(tmp_path / "net.json")
    ed.set_arg("out_features", 3)
    ed.rename_design("wider")
    assert not (tmp_path / "net.json").exists() and ed.path == tmp_path / "wider.json"
    on_disk = Design.load(ed.path)
    assert on_disk.name == "wider" and on_disk.layers[0].args["out_features"] == 2
    assert ed.modified and ed.design.layers[0].args["out_features"] == 3
    assert ed.undo() and ed.design.name == "wider"


@pytest.mark.parametrize(
    ("name", "why"),
    [("", "needs a name"), ("a/b", "without /"), (".hidden", "cannot start with '.'")],
)
def test_rename_refuses_names_that_cannot_name_a_file(tmp_path, name, why):
    ed = editor()
    with pytest.raises(ValueError, match=why):
        ed.rename_design(name)
    assert ed.design.name == "net"


def test_rename_never_replaces_another_file(tmp_path):
    ed = editor()
    ed.save(tmp_path / "net.json")
    (tmp_path / "other.json").write_text("my notes")
    with pytest.raises(ValueError, match="other.json is already there"):
        ed.rename_design("other")
    assert (tmp_path / "other.json").read_text() == "my notes" and ed.design.name == "net"


def test_renaming_a_design_read_from_an_exported_file_leaves_that_file(tmp_path):
    source = tmp_path / "model.py"
    source.write_text(f"DESIGN_JSON = {editor().design.to_json()!r}\n")
    ed = DesignEditor.open(source)
    ed.rename_design("kept")
    assert ed.design.name == "kept" and ed.modified and ed.path == source and source.exists()


def test_a_layer_a_fix_inserts_is_named_by_its_type():
    design = Design.load(SAMPLES / "shape_mismatch.json")
    ed = DesignEditor(design)
    problem = ed.analysis.problems[0]
    ed.apply_fix(next(f for f in problem.fixes if f.label == "insert Flatten before it"))
    assert [n.name for n in ed.design.layers][3:5] == ["flatten1", "fc1"]
