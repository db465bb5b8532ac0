"""The footer on every screen: its keys fit the width, compact and then without the app-wide
keys help lists, and come back when the terminal widens."""

from __future__ import annotations

import pytest
from textual.widgets import Footer

from tests.app.tui.tui_helpers import app_on
from widgets.footer import fitting_keys, key_width


def test_keys_that_fit_are_all_kept_in_the_full_style():
    keys = [("a", "Add", False), ("q", "Quit", False)]
    assert fitting_keys(keys, palette=12, width=80) == (False, [0, 1])


def test_compact_comes_before_dropping_keys():
    keys = [("k", "x" * 10, True)] * 5  # 14 wide each, 13 compact
    full = 5 * key_width("k", "x" * 10, False) + 1
    assert fitting_keys(keys, palette=0, width=full) == (False, [0, 1, 2, 3, 4])
    assert fitting_keys(keys, palette=0, width=full - 1) == (True, [0, 1, 2, 3, 4])


def test_droppable_keys_go_from_the_right_and_only_as_far_as_needed():
    keys = [
        ("s", "Step", False),
        ("^s", "Save", True),
        ("^e", "Export", True),
        ("q", "Quit", False),
    ]
    compact = [key_width(k, d, True) for k, d, _ in keys]
    width = sum(compact) + 1 - 1  # one column short
    assert fitting_keys(keys, palette=0, width=width) == (True, [0, 1, 3])
    assert fitting_keys(keys, palette=0, width=compact[0] + compact[3] + 1) == (True, [0, 3])


def shown(app) -> list[tuple[str, int, int]]:
    footer = app.screen.query_one(Footer)
    return [(key.key, key.region.x, key.region.right) for key in footer.query("FooterKey")]


@pytest.mark.parametrize("screen", ["1", "2", "3"])
async def test_no_key_is_cut_at_80_columns_and_all_come_back_at_140(screen):
    app = app_on("cnn_digits")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(screen)
        await pilot.pause(0.3)
        keys = shown(app)
        *screen_keys, (palette, palette_x, palette_right) = keys
        assert palette == "ctrl+p" and palette_right <= 80
        assert all(right <= palette_x for _, _, right in screen_keys), keys
        names = [key for key, _, _ in screen_keys]
        assert "question_mark" in names and "q" in names  # the way to every other key
        await pilot.resize_terminal(140, 30)
        await pilot.pause(0.3)
        wide = [key for key, _, _ in shown(app)]
        assert set(names) < set(wide) or set(names) == set(wide)
        assert "ctrl+s" in wide and "ctrl+e" in wide
