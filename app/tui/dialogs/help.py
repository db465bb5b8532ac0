"""Every key binding, from the action registry."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.keys import key_to_character
from textual.screen import ModalScreen
from textual.widgets import Static

from app.tui.actions import ACTIONS

SCOPES = {"app": "Everywhere", "build": "Build screen"}
TITLES = {
    **SCOPES,
    "train": "Train screen",
    "debug": "Debug screen",
    "script": "Script debugger",
}
SCREENS = ("build", "train", "debug")  # the app's screens, as their actions' scope


def scopes_for(screen: str) -> tuple[str, ...]:
    """The current screen's keys first, then those that work everywhere, then the others'."""
    return (screen, "app", *(s for s in SCREENS if s != screen))


def keys_table(scopes=tuple(SCOPES), app_keys: tuple[str, ...] | None = None) -> Table:
    """Key, what it does and its command-palette name, for every action with a key; of the
    keys that work everywhere, only the ids in `app_keys` when given (an app with fewer)."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("Key", style="bold cyan", no_wrap=True)
    table.add_column("Does")
    table.add_column("Palette (ctrl+p)", style="dim")
    for scope in scopes:
        title = TITLES[scope]
        table.add_row(f"[b]{title}[/b]", "", "")
        for action in ACTIONS:
            if action.scope == scope and action.key:
                if scope == "app" and app_keys is not None and action.id not in app_keys:
                    continue
                keys = ", ".join(_key_name(k) for k in action.key.split(","))
                table.add_row(keys, action.description, action.palette)
    table.add_row("ctrl+p", "Command palette", "")
    return table


def _key_name(key: str) -> str:
    """A key as typed: "]" for right_square_bracket; named keys (space, left) keep their name."""
    character = key_to_character(key)
    if character and character.isprintable() and character != " ":
        return character
    return {"slash": "/"}.get(key, key)


class HelpScreen(ModalScreen[None]):
    """The keys, grouped by where they work; any of Escape, q or ? closes it, and the
    arrows, Page Up/Down, Home and End scroll it."""

    CSS_PATH = "dialog.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss(None)", "Close"),
    ]

    def __init__(self, scopes=tuple(SCOPES), app_keys: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.scopes, self.app_keys = scopes, app_keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help-keys"):
            yield Static("[b]stepgrad keys[/b]  (Escape closes)", classes="question")
            yield Static(keys_table(self.scopes, self.app_keys))

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()  # the keys scroll it
