"""Keys typed ahead (a paste, fast typing, tmux send-keys: read by the app in one go) go
where the keys before them moved the focus: into the palette's filter after `a`, into a
dialog after the key that opens it."""

from __future__ import annotations

import contextvars

from textual import events

from app.tui.dialogs.prompt import PromptScreen
from tests.app.tui.tui_helpers import app_on


def typed_at_once(app, text: list[str]) -> None:
    """Each key queued before the app handles the first, as a terminal hands them over."""
    names = {".": "full_stop", "\r": "enter", " ": "space"}
    for character in text:
        key = names.get(character, character)
        app.post_message(contextvars.Context().run(events.Key, key, character))


async def test_the_learning_rate_typed_after_l_goes_into_its_prompt(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        typed_at_once(app, list("l0.05\r"))
        for _ in range(20):
            await pilot.pause(0.05)
        assert not isinstance(app.screen, PromptScreen)  # the Enter typed ahead closed it
        assert app.editor.design.training["optimizer"]["lr"] == 0.05
        assert app.current_mode == "train"  # no 0 or 5 read as a screen's key


async def test_a_name_typed_after_r_renames_the_design(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        before = [node.name for node in app.editor.design.layers]
        typed_at_once(app, list("Rquick_net\r"))
        for _ in range(20):
            await pilot.pause(0.05)
        assert app.editor.design.name == "quick_net"
        assert [node.name for node in app.editor.design.layers] == before  # no layer key ran


async def test_keys_typed_slowly_after_a_dialog_closes_are_not_held(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("2", "l")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("escape")
        await pilot.press("1")
        await pilot.pause()
        assert app.current_mode == "build"
