"""Pilot tests of the Build screen: adding, shapes, fixes, undo and redo, all through keys."""

from __future__ import annotations

import contextvars

import pytest
from textual import events

from app.model.design import Design
from tests.app.tui.tui_helpers import app_on, settled
from widgets._textual_internals import layout_passes
from widgets.layer_tree import LayerTree
from widgets.param_form import ParamForm


def tree_rows(app):
    return app.screen.query_one(LayerTree).rows


CLEAR = ("end", *["backspace"] * 12)


async def add_by_filter(pilot, text: str) -> None:
    await pilot.press("a", *text, "enter")
    await pilot.pause()


async def test_add_conv2d_and_linear_through_keys_updates_shapes_and_total(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        totals = app.screen.query_one("#totals")
        before = app.editor.analysis.total_params
        assert f"{before:,} params" in str(totals.render())
        # after pool2 (32, 2, 2): a Conv2d gets in_channels=32 from the shape that arrives
        app.editor.select((6,))
        await add_by_filter(pilot, "conv2d")
        conv = app.editor.design.node((7,))
        assert conv.type == "Conv2d" and conv.args["in_channels"] == 32
        assert tree_rows(app)[7].shape == "(16, 2, 2)"
        assert app.focused is app.screen.query_one(LayerTree)
        # the Flatten after it now gives 64 features: the old fc (128 in) is at fault
        assert app.editor.analysis.problems
        problem = app.screen.query_one("#problem")
        assert "✗" in str(problem.render()) and problem.has_class("-problem")
        # a Linear at the end takes in_features from what arrives
        await pilot.press("end")
        await add_by_filter(pilot, "linear")
        last = app.editor.design.layers[-1]
        assert last.type == "Linear"
        after = app.editor.analysis.total_params
        assert after != before
        # the fc at fault leaves the new Linear's parameters unknown: no total is claimed
        assert "? params" in str(totals.render())
        assert tree_rows(app)[-1].params == "?"
        assert "●" in app.title


async def test_shape_error_is_marked_and_fixed_with_f(tmp_path):
    app = app_on("shape_mismatch", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bad = [r for r in tree_rows(app) if r.problem]
        assert [r.name for r in bad] == ["fc1"]
        problem = app.screen.query_one("#problem")
        assert "press f" in str(problem.render()) and problem.has_class("-problem")
        await pilot.press("down", "down", "down", "f")
        await pilot.pause()
        assert app.editor.analysis.ok
        assert [r.type for r in tree_rows(app)][3] == "Flatten"
        assert not problem.has_class("-problem") and "✗" not in str(problem.render())
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert not app.editor.analysis.ok
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.editor.analysis.ok


async def test_making_a_shape_error_and_fixing_it(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("home", "d")  # delete the Flatten: fc1 now gets (1, 8, 8)
        await pilot.pause()
        assert tree_rows(app)[0].problem
        await pilot.press("f")
        await pilot.pause()
        assert app.editor.analysis.ok


async def test_editing_keys_and_undo_redo_restore_every_step(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        original = app.editor.design.to_dict()
        steps = []
        for key in ("down", "c", "shift+down", "shift+up", "w", "d"):
            await pilot.press(key)
            await pilot.pause()
            steps.append(app.editor.design.to_dict())
        assert app.editor.design.layers[1].type == "Linear"  # the wrap was deleted
        assert steps[1]["layers"][2]["name"] == "fc1_2"
        assert steps[4]["layers"][2]["type"] == "Residual"
        for _ in range(5):
            await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.editor.design.to_dict() == original
        for _ in range(5):
            await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.editor.design.to_dict() == steps[-1]


async def test_the_form_validates_as_you_type_and_applies_good_values(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("down", "e")  # fc1: focus its first argument, in_features
        await pilot.pause()
        form = app.screen.query_one("#args", ParamForm)
        field = form.widget_of("in_features")
        assert app.focused is field
        await pilot.press(*CLEAR, "x")
        await pilot.pause()
        assert field.has_class("bad")
        problem = str(app.screen.query_one("#problem").render())
        assert problem.startswith("✗ fc1: in_features") and field.tooltip in problem
        # good values apply as typed ("6" on the way to clearing it), bad ones never
        assert app.editor.design.layers[1].args["in_features"] == 6
        await pilot.press("backspace", "6", "4")
        await pilot.pause()
        assert not field.has_class("bad")
        form.focus_field("out_features")
        await pilot.press(*CLEAR, "3", "2")
        await pilot.pause()
        assert app.editor.design.layers[1].args["out_features"] == 32
        assert tree_rows(app)[1].shape == "(32,)"
        assert tree_rows(app)[3].problem  # out (in_features 128) no longer fits
        await pilot.press("escape", "ctrl+z")
        await pilot.pause()
        assert app.editor.design.layers[1].args["out_features"] == 128  # one undo step


async def test_rename_and_training_settings(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r", *CLEAR, *"flat", "escape")
        await pilot.pause()
        assert app.editor.design.layers[0].name == "flat"
        await pilot.press("t")
        await pilot.pause()
        training = app.screen.query_one("#training", ParamForm)
        training.focus_field("epochs")
        await pilot.press(*CLEAR, "3")
        await pilot.pause()
        assert app.editor.design.training["epochs"] == 3
        training.focus_field("lr")
        await pilot.press(*CLEAR, "-", "1")
        await pilot.pause()
        assert training.widget_of("lr").has_class("bad")
        assert app.editor.design.training["optimizer"]["lr"] == 0.005


async def test_save_and_reload_give_the_same_design(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("end", "c", "ctrl+s")
        await pilot.pause()
        assert not app.editor.modified and "●" not in app.title
        saved = app.editor.design.to_dict()
    assert Design.load(tmp_path / "cnn_digits.json").to_dict() == saved
    assert len(saved["layers"]) == 11  # the duplicate made before saving is there


async def test_palette_click_and_enter_add_layers(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        count = len(app.editor.design.layers)
        await pilot.press("a", *"relu", "down", "enter")
        await pilot.pause()
        assert len(app.editor.design.layers) == count + 1
        assert app.editor.design.layers[1].type == "ReLU"


async def test_selecting_duplicating_and_undoing_lay_out_nothing(tmp_path):
    # A layout pass re-arranges and repaints the whole screen: it is most of what a key
    # costs. Selecting another Linear (new values in the same fields), duplicating a
    # ReLU (a row more, the copy selected) and undoing it change no widget's size.
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        # the first frames of a new app may still lay out (its size and breakpoint class
        # arrive as events): go once through both rows and let it settle before counting
        for row in ((3,), (1,)):
            app.editor.select(row)
            await settled(pilot)
        await pilot.pause(0.2)
        await settled(pilot)
        with layout_passes() as passes:
            form = app.screen.query_one("#args", ParamForm)
            app.editor.select((3,))
            await settled(pilot)
            assert form.value_of("in_features") == "128" and form.value_of("name") == "out"
        assert passes == []
        await pilot.press("up")  # to relu1: other fields, laid out
        await settled(pilot)
        with layout_passes() as passes:
            await pilot.press("c")
            await settled(pilot)
            assert [r.type for r in tree_rows(app)] == [
                "Flatten",
                "Linear",
                "ReLU",
                "ReLU",
                "Linear",
            ]
            assert app.editor.selection == (3,)
            await pilot.press("ctrl+z")
            await settled(pilot)
            assert [r.name for r in tree_rows(app)] == ["flatten", "fc1", "relu1", "out"]
        assert passes == []


async def test_f_fixes_an_output_that_misses_the_classes(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        app.editor.select((len(app.editor.design.layers) - 1,))
        app.editor.set_arg("out_features", 64)
        await pilot.pause()
        assert "press f to set out_features=10" in str(app.screen.query_one("#problem").content)
        await pilot.press("f")
        await pilot.pause()
        assert app.editor.analysis.output_shape == (10,)
        assert not app.editor.analysis.warnings


def typed_at_once(app, keys: list[tuple[str, str | None]]) -> None:
    """Keys read in one go, as a terminal hands over a paste or fast typing: all queued
    before the app handles the first."""
    for key, character in keys:
        app.post_message(contextvars.Context().run(events.Key, key, character))


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
@pytest.mark.parametrize("picture", [False, True])
async def test_a_and_a_layer_name_typed_at_once_add_that_layer(tmp_path, size, picture):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=size) as pilot:
        if picture:
            await pilot.press("p")
        before = [node.type for node in app.editor.design.layers]
        typed_at_once(app, [("a", "a"), *((c, c) for c in "conv2d"), ("enter", "\r")])
        await pilot.pause()
        await pilot.pause()
        after = [node.type for node in app.editor.design.layers]
        assert app.current_mode == "build"  # the 2 of conv2d switched no screen
        assert sorted(after) == sorted([*before, "Conv2d"])  # c duplicated nothing
