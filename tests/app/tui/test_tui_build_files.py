"""Pilot tests of the Build screen's dialogs: moving between a confirm dialog's answers."""

from __future__ import annotations

from textual.widgets import Button, Checkbox, Input, RadioSet, Static

from app.model.design import Design
from app.model.editor import DesignEditor
from app.tui.dialogs.confirm import ConfirmScreen
from app.tui.dialogs.export import ExportDialog
from tests.app.tui.tui_helpers import app_on
from widgets.layer_tree import LayerTree


async def test_left_and_right_move_between_confirm_answers(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    answers = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        question = ConfirmScreen(
            "Pick one",
            [("a", "First", "primary"), ("b", "Second", "default"), ("c", "Third", "error")],
        )
        app.push_screen(question, answers.append)
        await pilot.pause()
        ids = lambda: app.focused.id  # noqa: E731
        assert isinstance(app.focused, Button) and ids() == "answer-a"
        await pilot.press("right")
        assert ids() == "answer-b"
        await pilot.press("right", "right")
        assert ids() == "answer-a"  # wraps past the last answer
        await pilot.press("left")
        assert ids() == "answer-c"
        await pilot.press("enter")
        await pilot.pause()
    assert answers == ["c"]


async def test_ctrl_n_offers_a_blank_design(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("home", "enter")
        await pilot.pause()
        assert app.editor.design.layers == []
        assert app.editor.path is None


async def test_unsaved_changes_default_to_cancel_and_name_the_problems(tmp_path):
    app = app_on("shape_mismatch", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.editor.modified = True
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.focused.id == "answer-cancel"
        assert "1 problem" in str(app.screen.query_one(".question").render())
        await pilot.press("enter")  # Cancel: nothing is written
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.editor.modified


async def test_saving_a_design_with_problems_says_so(tmp_path):
    app = app_on("shape_mismatch", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.editor.modified = True
        await app.action_save().wait()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("1 problem" in m for m in messages), messages


async def test_export_dialog_keeps_its_path_from_a_space_and_remembers_the_target(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+e")
        await pilot.pause()
        dialog = app.screen
        path = dialog.query_one("#export-path", Input).value
        assert path == "cnn_digits_engine.py"
        assert not isinstance(app.focused, Input)
        await pilot.press("space")
        assert dialog.query_one("#export-path", Input).value != ""
        dialog.query_one("#export-target", RadioSet).focus()
        title = dialog.query_one("#export-title", Static)
        assert str(title.content).endswith("target: stepgrad engine")
        await pilot.press("down", "enter")  # PyTorch
        await pilot.pause()
        assert dialog.target == "torch"
        assert str(title.content).endswith("target: PyTorch")  # in words, not only in colour
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert app.screen.target == "torch"
        assert app.screen.query_one("#export-path", Input).value == "cnn_digits_torch.py"


async def test_export_weights_box_says_its_state_and_the_preview_names_the_file_written(
    tmp_path,
):
    app = app_on("cnn_digits", tmp_path)
    weights = tmp_path / "runs" / "cnn_digits" / "weights.npz"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.push_screen(ExportDialog(app.editor.design, "engine", weights))
        await pilot.pause()
        dialog = app.screen
        box = dialog.query_one("#export-weights", Checkbox)
        assert "no" in str(box.label)
        box.value = True
        await pilot.pause()
        assert "yes" in str(box.label)
        dialog.query_one("#export-path", Input).value = str(tmp_path / "out" / "model.py")
        await pilot.pause()
        code = dialog.query_one("#export-preview").code
        assert "../runs/cnn_digits/weights.npz" in code


async def test_every_shape_fits_only_when_the_output_suits_the_dataset_and_loss(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        problem = app.screen.query_one("#problem")
        assert "every shape fits" in str(problem.render())
        last = app.editor.design.layers[-1]
        assert last.type == "Linear" and last.args["out_features"] == 10
        app.editor.select((len(app.editor.design.layers) - 1,))
        app.editor.set_arg("out_features", 64)
        await pilot.pause()
        text = str(problem.render())
        assert "every shape fits" not in text
        assert "(64,)" in text and "(10,)" in text
        app.use_editor(DesignEditor(Design()))
        await pilot.pause()
        text = str(app.screen.query_one("#problem").render())
        assert "every shape fits" not in text and "no layers" in text


async def test_parameters_after_an_error_show_a_question_mark(tmp_path):
    app = app_on("shape_mismatch", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        rows = app.screen.query_one(LayerTree).rows
        at = next(i for i, r in enumerate(rows) if r.problem)
        after = rows[at + 1 :]
        assert after and all(r.params == "?" for r in after)
        assert rows[0].params != "?"
        assert str(app.screen.query_one("#totals").render()).startswith("? params")


async def test_new_layers_are_named_by_type_and_keep_their_names(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("end")
        await pilot.press("a", *"linear", "enter")
        await pilot.pause()
        names = [n.name for n in app.editor.design.layers]
        added = names[-1]
        assert added.startswith("fc") and names.count(added) == 1
        app.editor.select((0,))
        await pilot.press("a", *"linear", "enter")
        await pilot.pause()
        layers = app.editor.design.layers
        assert layers[1].name.startswith("fc") and layers[1].name != added
        assert layers[-1].name == added  # inserting before it did not rename it
