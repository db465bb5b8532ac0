"""The Build screen of a script's run: the model's modules, read-only, from the recorded pass."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from widgets.footer import FittingFooter
from widgets.header import AppHeader


class ScriptModelScreen(Screen):
    """Each module the script called (named_modules()), its output shape at its last call and
    its parameters. Edits happen in the script."""

    SCOPE = "script-build"
    DEFAULT_CSS = """
    #model-title { height: 2; padding: 0 1; background: $boost; }
    #model { height: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static(id="model-title")
        with VerticalScroll(id="model"):
            yield Static(id="model-table")
        yield FittingFooter()

    def on_screen_resume(self) -> None:
        session = self.app.script_session()
        rows = session.module_rows()
        title = Text.assemble(
            ("model ", "bold"),
            (f"of {self.app.script} · read-only: change it in the script", "dim"),
        )
        if not rows:
            title.append("\nno module has run yet: step the script on Debug (3)", style="yellow")
        else:
            total = sum(r.params for r in rows if r.depth == 0)
            title.append(f"\n{total:,} parameters · shapes from the last call of each module")
        self.query_one("#model-title", Static).update(title)
        table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
        for column in ("module", "layer", "output", "params"):
            table.add_column(column, justify="right" if column == "params" else "left")
        for row in rows:
            name = "  " * row.depth + (row.name.rpartition(".")[2] if row.depth else row.name)
            layer = f"{row.kind}({row.args})" if row.args else row.kind
            table.add_row(name, layer, row.shape or "—", f"{row.params:,}")
        self.query_one("#model-table", Static).update(table)
