"""Pilot tests of the Build screen at 80 columns: the tree's rows whole, the palette on demand,
and a first design built from a blank one."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Input

from tests.app.tui.test_tui_build_picture import answer_prompt, screen_rows
from tests.app.tui.tui_helpers import app_on, settled
from widgets.layer_palette import LayerPalette
from widgets.layer_tree import LayerTree


def tree_text(app) -> list[str]:
    """The tree's lines as the screen shows them (inside its border)."""
    inside = (re.search(r"│(.*?)│", row) for row in screen_rows(app))
    return [m.group(1) for m in inside if m]


@pytest.mark.parametrize("sample", ["residual_mlp", "cnn_digits", "lenet_mnist"])
async def test_at_80_columns_every_row_shows_its_name_type_shape_and_params_whole(sample):
    app = app_on(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        tree = app.screen.query_one(LayerTree)
        shown = tree_text(app)
        await pilot.press("end")  # the rows below the first screenful
        await settled(pilot)
        shown += tree_text(app)
        for row in tree.rows:
            name, shape, params = (re.escape(t) for t in (row.name, row.shape, row.params))
            pattern = rf"\b{name} {row.type}\b.*{shape}\s+{params}"
            assert any(re.search(pattern, line) for line in shown), (row, shown)
        assert not app.screen.query_one(LayerPalette).display  # it shows on a


async def test_at_80_columns_a_shows_the_palette_and_it_folds_away_after_the_add():
    app = app_on("residual_mlp")
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        palette = app.screen.query_one(LayerPalette)
        await pilot.press("a")
        await settled(pilot)
        assert palette.display and palette.region.width > 0
        await pilot.press(*"dropout", "enter")
        await settled(pilot)
        assert app.editor.selected.type == "Dropout"
        assert not palette.display and app.focused is app.screen.query_one(LayerTree)
        await pilot.press("a", "escape")  # leaving the palette folds it too
        await settled(pilot)
        assert not palette.display


async def test_at_120_columns_the_palette_stays_beside_the_tree():
    app = app_on("residual_mlp")
    async with app.run_test(size=(120, 35)) as pilot:
        await settled(pilot)
        assert app.screen.query_one(LayerPalette).display
        assert any("stem Linear 64→64" in line for line in tree_text(app))
        await pilot.resize_terminal(80, 24)
        await settled(pilot)
        assert not app.screen.query_one(LayerPalette).display
        assert any("norm LayerNorm normalized_shape=64" in line for line in tree_text(app))


async def add(pilot, type_name: str) -> None:
    await pilot.press("a", *type_name.lower(), "enter")
    await settled(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 35)], ids=["80x24", "120x35"])
async def test_a_first_design_from_blank_reads_whole_at_each_step(tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        await pilot.press("ctrl+n")
        await settled(pilot)
        await pilot.press("home", "enter")
        await settled(pilot)
        shown = "\n".join(screen_rows(app))
        # the form's one-line title whole; the tree says how to begin, and what goes in
        assert app.screen.query_one("#args").title == "no layers yet"
        assert "no layers yet" in shown and "press a to add the first layer" in shown
        assert "input (1, 8, 8)" in shown
        for type_name in ("Conv2d", "ReLU", "MaxPool2d"):
            await add(pilot, type_name)
        # the warning's fix whole in its box: the advice it stands for is left out
        problem = str(app.screen.query_one("#problem").render())
        assert "end with 10 outputs" not in problem
        assert "press f to add Flatten and Linear(256, 10) at the end" in problem.replace("\n", " ")
        assert "Linear(256, 10) at the end" in "\n".join(screen_rows(app))
        for type_name in ("Flatten", "Linear"):
            await add(pilot, type_name)
        # the palette lists every type again, not the last filter's one
        palette = app.screen.query_one(LayerPalette)
        assert palette.query_one("#palette-filter").value == ""
        assert palette.query_one("#palette-list").option_count > 20
        await pilot.press("f")
        await settled(pilot)
        assert app.editor.analysis.output_shape == (10,) and not app.editor.analysis.warnings
        assert "✓ every shape fits" in "\n".join(screen_rows(app))
        await pilot.press("R")
        await settled(pilot)
        await answer_prompt(pilot, "my_lenet")
        await pilot.press("ctrl+s")
        await settled(pilot)
        await answer_prompt(pilot, "my_lenet.json")
        assert (tmp_path / "my_lenet.json").exists() and not app.editor.modified
        await pilot.press("ctrl+n", "home", "enter")  # another design, then the saved one
        await settled(pilot)
        assert app.editor.design.layers == []
        await pilot.press("ctrl+o")
        await settled(pilot)
        app.screen.query_one("#open-path", Input).value = "my_lenet.json"
        await pilot.press("tab", "enter")  # from the folder's tree to the path box
        await settled(pilot)
        assert app.editor.path.resolve() == tmp_path / "my_lenet.json"
        names = [layer.name for layer in app.editor.design.layers]
        assert names == ["conv1", "relu1", "pool1", "flatten1", "fc1"]
        rows = "\n".join(tree_text(app))
        for name in names:
            assert re.search(rf"\b{name} \w+.*\(\d", rows), (name, rows)
