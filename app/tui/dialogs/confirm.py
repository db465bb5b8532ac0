"""A question with a few answers, as a modal dialog."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[str | None]):
    """Dismisses with the id of the answer chosen; Escape dismisses with None."""

    CSS_PATH = "dialog.tcss"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("left", "move(-1)", "Previous answer", show=False),
        Binding("right", "move(1)", "Next answer", show=False),
    ]

    def __init__(
        self,
        question: str,
        answers: list[tuple[str, str, str]],
        focus: str | None = None,
        **kwargs,
    ) -> None:
        """`answers`: (id, label, variant) for each button; the one with id `focus` is
        focused, the first one when `focus` is None."""
        super().__init__(**kwargs)
        self.question, self.answers, self.focus_id = question, answers, focus

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question")
            with Horizontal(classes="buttons"):
                for answer, label, variant in self.answers:
                    yield Button(label, id=f"answer-{answer}", variant=variant)

    def on_mount(self) -> None:
        if self.focus_id is None:
            self.query(Button).first().focus()
        else:
            self.query_one(f"#answer-{self.focus_id}", Button).focus()

    def action_move(self, step: int) -> None:
        """Focus the answer `step` buttons along from the focused one, wrapping at the ends."""
        buttons = list(self.query(Button))
        here = buttons.index(self.focused) if self.focused in buttons else 0
        buttons[(here + step) % len(buttons)].focus()

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("answer-"))
