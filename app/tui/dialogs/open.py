"""Open a design: a file tree limited to designs (.json) and exported files (.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Static

OPENABLE = (".json", ".py")


class DesignTree(DirectoryTree):
    """A directory tree that shows folders, .json and .py files, hidden ones left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p for p in paths if not p.name.startswith(".") and (p.is_dir() or p.suffix in OPENABLE)
        ]


class OpenDialog(ModalScreen[Path | None]):
    """Dismisses with the file picked in the tree or typed in, or None (Escape)."""

    CSS_PATH = "dialog.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, folder: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.folder = folder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="open"):
            yield Static("Open a design (.json) or an exported file (.py)", classes="question")
            yield DesignTree(self.folder, id="open-tree")
            yield Input(placeholder="or type a path and press Enter", id="open-path")

    def on_mount(self) -> None:
        self.query_one(DesignTree).focus()

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(Path(event.path))

    @on(Input.Submitted, "#open-path")
    def _typed(self, event: Input.Submitted) -> None:
        path = Path(event.value.strip()).expanduser()
        if path.is_file():
            self.dismiss(path)
        else:
            self.notify(f"{path}: no such file", severity="error")
