"""Pilot tests of the Build screen's dialogs: moving between a confirm dialog's answers."""

from __future__ import annotations

from textual.widgets import Button

from app.tui.dialogs.confirm import ConfirmScreen
from tests.app.tui.tui_helpers import app_on


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
