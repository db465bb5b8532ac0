"""Pilot tests of the Build screen at 80 columns: the tree's rows whole, the palette on demand,
and a first design built from a blank one."""

from __future__ import annotations

import re

import pytest

from tests.app.tui.test_tui_build_picture import screen_rows
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
