"""Pilot tests of the Build screen's views: the tree on resize, the network's picture, the
design's name (save as, rename) and how warnings and unknown counts are shown."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from types import SimpleNamespace

from textual.widgets import Input

from app.model.design import Design
from app.model.editor import DesignEditor
from app.tui.app import StepgradApp
from tests.app.tui.tui_helpers import app_on, settled
from widgets.layer_tree import LayerTree
from widgets.network_picture import NetworkPicture
from widgets.param_form import ParamForm


def screen_rows(app) -> list[str]:
    """The screen's text row by row, from its screenshot (runs of a row joined as drawn)."""
    svg = html.unescape(app.export_screenshot())
    rows: dict[float, str] = defaultdict(str)
    for y, text in re.findall(r'<text[^>]*\by="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        rows[float(y)] += text.replace("\xa0", " ")
    return [rows[y] for y in sorted(rows)]


def row_of(app, name: str) -> str:
    """The tree's row of the layer `name`, as the screen shows it (inside the tree's border)."""
    inside = (re.search(r"│(.*)│", row) for row in screen_rows(app))
    return next(m.group(1) for m in inside if m and re.search(rf"\b{name} ", m.group(1)))


async def test_tree_keeps_shape_and_params_columns_through_a_resize():
    app = app_on("cnn_digits")
    async with app.run_test(size=(120, 35)) as pilot:
        await settled(pilot)
        for size in ((80, 24), (120, 35), (80, 24)):
            await pilot.resize_terminal(*size)
            await settled(pilot)
            conv = row_of(app, "conv2")
            assert "(32, 4, 4)" in conv and "4,640" in conv, (size, conv)


async def answer_prompt(pilot, text: str) -> None:
    """Type `text` over what the open prompt offers, and accept it."""
    pilot.app.screen.query_one("#prompt-input", Input).value = text
    await pilot.press("enter")
    await settled(pilot)


async def test_save_as_names_the_design_after_the_new_file(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        app.state.training = SimpleNamespace(design=Design(name="cnn_digits"), status="done")
        await app.run_action("save(True)")
        await pilot.pause()
        await answer_prompt(pilot, str(tmp_path / "bigger.json"))
        assert app.editor.design.name == "bigger" and app.title == "bigger"
        assert Design.load(tmp_path / "bigger.json").name == "bigger"
        assert Design.load(tmp_path / "cnn_digits.json").name == "cnn_digits"  # left as it was
        assert app.state.training.design.name == "bigger"  # its checkpoints' default folder
        # undoing an edit made before the save keeps the new name
        await pilot.press("d")
        await pilot.press("ctrl+z")
        assert app.editor.design.name == "bigger"
        await pilot.press("ctrl+e")
        await settled(pilot)
        assert app.screen.query_one("#export-path", Input).value.startswith("bigger_")


async def test_shift_r_renames_the_design_and_its_file(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    old = tmp_path / "cnn_digits.json"
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        await pilot.press("d")  # an unsaved change, which stays unsaved
        await pilot.press("R")
        await settled(pilot)
        await answer_prompt(pilot, "small cnn")
        new = tmp_path / "small cnn.json"
        assert not old.exists() and new.exists()
        saved = Design.load(new)
        assert saved.name == "small cnn" and len(saved.layers) == len(app.editor.design.layers) + 1
        assert app.editor.path == new and app.editor.modified
        assert app.title == "small cnn ●" and "small cnn.json" in app.sub_title
        # a name whose file is there is refused, and nothing changes
        (tmp_path / "taken.json").write_text("my notes")
        await pilot.press("R")
        await settled(pilot)
        await answer_prompt(pilot, "taken")
        assert (tmp_path / "taken.json").read_text() == "my notes" and new.exists()
        assert app.editor.design.name == "small cnn"
        messages = [str(n.message) for n in app._notifications]
        assert any("not renamed" in m and "taken.json is already there" in m for m in messages)


async def test_renaming_an_unsaved_design_changes_its_title_and_default_file(tmp_path):
    app = StepgradApp(DesignEditor(Design(name="untitled")), offer_recovery=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        await pilot.press("R")
        await settled(pilot)
        await answer_prompt(pilot, "probe")
        assert app.title == "probe ●" and app.editor.path is None
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert app.screen.query_one("#prompt-input", Input).value == "probe.json"


async def test_an_output_that_misses_the_classes_is_a_warning_not_a_problem(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settled(pilot)
        last = len(app.editor.design.layers) - 1
        app.editor.select((last,))
        app.editor.set_arg("out_features", 64)
        await settled(pilot)
        box = app.screen.query_one("#problem")
        assert box.has_class("-warning") and not box.has_class("-problem")
        text = str(box.render())
        assert text.startswith("⚠") and "training runs" in text
        totals = str(app.screen.query_one("#totals").render())
        assert "1 warning" in totals and "problem" not in totals
        name = app.editor.design.layers[last].name
        assert "⚠" in row_of(app, name) and "(64,)" in row_of(app, name)
        app.editor.set_arg("out_features", 5)
        await settled(pilot)
        assert "training refuses it" in str(box.render()) and box.has_class("-warning")


async def test_layers_after_an_error_show_unknown_shapes_and_counts(tmp_path):
    app = app_on("shape_mismatch", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settled(pilot)
        assert "error" in row_of(app, "fc1") and "8,256" in row_of(app, "fc1")
        for name in ("relu2", "out"):  # with parameters or without, after the error
            assert row_of(app, name).split()[-2:] == ["?", "?"], row_of(app, name)
        assert str(app.screen.query_one("#totals").render()).startswith("? params")


async def test_p_toggles_the_picture_which_follows_and_moves_the_selection(tmp_path):
    app = app_on("residual_mlp", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        tree, picture = app.screen.query_one(LayerTree), app.screen.query_one(NetworkPicture)
        await pilot.press("p")
        await settled(pilot)
        assert not tree.display and not app.screen.query_one("#palette").display
        assert app.focused is picture
        shown = "\n".join(screen_rows(app))
        assert "input" in shown and "(1, 8, 8) │" in shown and "┃ flatten Flatten" in shown
        assert "relu_a ReLU" in shown and "out Linear" not in shown  # two lines a layer
        await pilot.press("down", "down", "down")  # stem, relu, the residual block
        await settled(pilot)
        assert app.editor.selection == (3,)
        shown = "\n".join(screen_rows(app))
        assert (
            "block1 Residual ┝━" in shown and "⊕━" in shown and "━┙" in shown
        )  # the whole block in view
        await pilot.press("end")
        await settled(pilot)
        shown = "\n".join(screen_rows(app))
        assert app.editor.selection == (6,) and "┃ out Linear" in shown and "input" not in shown
        picture = app.screen.query_one(NetworkPicture)
        line = max(i for i, ln in enumerate(picture.lines) if "fc_b" in ln.text)
        await pilot.click(picture, offset=(30, line - picture.scroll_offset.y + 1))
        assert app.editor.selection == (5, 2)  # block2's fc_b
        await pilot.press("end", "d")  # edits redraw it
        await settled(pilot)
        assert "out Linear" not in "\n".join(screen_rows(app))
        await pilot.press("p")
        await settled(pilot)
        assert tree.display and app.focused is tree and not picture.display
        assert max(len(row) for row in screen_rows(app)) <= 80


async def test_arguments_changed_elsewhere_while_the_form_shows_them_stay_changed(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settled(pilot)
        last = (len(app.editor.design.layers) - 1,)
        edits = []
        app.editor.select(last)  # the form is filled in for it, its fields post their values
        app.editor.listeners.append(lambda editor: edits.append(editor.design.node(last).args))
        app.editor.set_arg("out_features", 64)  # as a fix or an undo changes it
        await settled(pilot)
        app.editor.set_arg("out_features", 5)
        await settled(pilot)
        assert app.editor.design.node(last).args["out_features"] == 5
        assert len(edits) == 2  # the two above, and no edit the form made of its own
        assert app.screen.query_one("#args", ParamForm).value_of("out_features") == "5"
