"""A read-only view of source code with syntax highlighting."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.containers import ScrollableContainer
from textual.widgets import Static


class CodeView(ScrollableContainer, can_focus=True):
    """Shows `code` highlighted as `language`; scrolls with the keys and the mouse."""

    DEFAULT_CSS = """
    CodeView { height: 1fr; border: round $border-blurred; }
    CodeView:focus { border: round $border; }
    CodeView > Static { width: auto; }
    """

    def __init__(self, code: str = "", language: str = "python", **kwargs) -> None:
        super().__init__(**kwargs)
        self.code = code
        self.language = language

    def compose(self):
        yield Static(self._render_code())

    def show(self, code: str) -> None:
        """Replace the code shown."""
        self.code = code
        self.query_one(Static).update(self._render_code())

    def _render_code(self) -> Syntax:
        return Syntax(self.code, self.language, theme="ansi_dark", line_numbers=True)
