"""A screen that arrives in a later release, saying so."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class PlaceholderScreen(Screen):
    """Stands in for the Train and Debug screens until they are built."""

    CSS_PATH = "placeholder.tcss"

    def __init__(self, title: str, what: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title_text, self.what = title, what

    def compose(self) -> ComposeResult:
        yield Header()
        with Middle(), Center():
            yield Static(
                f"[b]{self.title_text}[/b]\n\n{self.what}\n\nThis screen arrives in a later "
                "release. Meanwhile, `stepgrad train DESIGN` trains headless.\n\n"
                "Press [b]1[/b] to go back to Build.",
                id="placeholder",
            )
        yield Footer()
