"""The network as a tree: one row a layer with its type, arguments, output shape and parameters."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.fixed_size import resize_content

Path_ = tuple[int, ...]
FOLDED, UNFOLDED = "▶ ", "▼ "  # the fold marker in front of a container's label
MAX_LABEL = 44  # the widest a label gets before the shape column, on wide screens


@dataclass(frozen=True)
class LayerRow:
    """What one row shows; `problem` is the message of a layer at fault."""

    path: Path_
    name: str
    type: str
    args: str  # the key arguments, already formatted
    shape: str
    params: str
    container: bool = False
    problem: str | None = None
    warning: str | None = None  # what builds and runs but will not learn


class LayerTree(ScrollView, can_focus=True):
    """Shows rows given through `show`, a line each, indented under their containers.

    The user moving the cursor posts `LayerTree.Selected`; enter, or a click on the row under
    the cursor, posts `LayerTree.Activated`. Containers in `collapsed` hide their layers.
    """

    COMPONENT_CLASSES = {"layer-tree--guides", "layer-tree--cursor"}

    # a scrollbar that never comes and goes: new rows need no layout pass, only a repaint
    DEFAULT_CSS = """
    LayerTree {
        height: 1fr;
        overflow-y: scroll;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
        color: $foreground;
    }
    LayerTree:focus { background-tint: $foreground 5%; }
    LayerTree > .layer-tree--guides { color: $text-muted; }
    LayerTree > .layer-tree--cursor {
        background: $block-cursor-blurred-background;
        text-style: $block-cursor-blurred-text-style;
    }
    LayerTree:focus > .layer-tree--cursor {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
        text-style: $block-cursor-text-style;
    }
    """

    BINDINGS = [
        Binding("up", "move(-1)", "Previous layer", show=False),
        Binding("down", "move(1)", "Next layer", show=False),
        Binding("pageup", "move_page(-1)", "Page up", show=False),
        Binding("pagedown", "move_page(1)", "Page down", show=False),
        Binding("home", "first", "First layer", show=False),
        Binding("end", "last", "Last layer", show=False),
        Binding("enter", "activate", "Edit layer", show=False),
        Binding("space", "toggle_fold", "Fold or unfold", show=False),
        Binding("right", "unfold", "Unfold", show=False),
        Binding("left", "fold", "Fold", show=False),
    ]

    class Selected(Message):
        """The user moved the cursor to a layer."""

        def __init__(self, path: Path_) -> None:
            self.path = path
            super().__init__()

    class Activated(Message):
        """Enter (or a second click) on a layer: the screen opens its arguments."""

        def __init__(self, path: Path_) -> None:
            self.path = path
            super().__init__()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[LayerRow] = []
        self.selection: Path_ | None = None
        self.collapsed: set[Path_] = set()
        self.empty_text = ""  # what the first line says while there are no rows
        self._lines: list[LayerRow] = []  # the rows not inside a folded container
        self._line_of: dict[Path_, int] = {}  # path -> its line
        self._last: set[Path_] = set()  # paths of the last layer of their container
        self._columns = (0, 0)  # widths of the shape and parameters columns
        self._strips: dict[int, Strip] = {}  # line -> what it draws; built on use
        self._strips_width = 0  # the width the lines in _strips were drawn to
        self._styles: dict[str, Style] = {}  # component class -> its style; looked up on use

    def show(self, rows: list[LayerRow], selection: Path_ | None) -> None:
        """Draw `rows` (depth-first order) and put the cursor on `selection`, unfolding to it."""
        if rows == self.rows and selection == self.selection:
            return
        holders = {selection[:n] for n in range(1, len(selection))} if selection else set()
        if rows != self.rows or holders & self.collapsed:
            self.rows, self.selection = rows, selection
            self.collapsed -= holders
            self._arrange()
        else:
            self._place(selection)
        self._scroll_to_cursor()

    @property
    def _cursor(self) -> int | None:
        return self._line_of.get(self.selection) if self.selection is not None else None

    def _arrange(self) -> None:
        """Work out the visible lines and the columns after a change of rows or folds."""
        self._lines = [
            r
            for r in self.rows
            if not any(r.path[:n] in self.collapsed for n in range(1, len(r.path)))
        ]
        self._line_of = {row.path: line for line, row in enumerate(self._lines)}
        last_of = {row.path[:-1]: row.path for row in self.rows}  # container -> its last layer
        self._last = set(last_of.values())
        self._columns = (
            max((len(r.shape) for r in self.rows), default=0) + 2,
            max((len(r.params) for r in self.rows), default=0) + 2,
        )
        self._strips.clear()
        virtual = Size(0, len(self._lines))
        resize_content(self, virtual)
        self.refresh()

    def _place(self, path: Path_ | None) -> None:
        """Move the cursor to `path`, redrawing the two lines it leaves and lands on."""
        for line in (self._cursor, self._line_of.get(path)):
            if line is not None:
                self._strips.pop(line, None)
                self.refresh_line(line)
        self.selection = path

    def _scroll_to_cursor(self) -> None:
        if self._cursor is not None:
            self.scroll_to_region(Region(0, self._cursor, 1, 1), animate=False, immediate=True)

    def _go(self, line: int) -> None:
        """The user moves the cursor to `line` (clamped to the lines there are)."""
        if not self._lines:
            return
        path = self._lines[max(0, min(line, len(self._lines) - 1))].path
        if path != self.selection:
            self._place(path)
            self.post_message(self.Selected(path))
        self._scroll_to_cursor()

    def _fold(self, path: Path_, fold: bool) -> None:
        """Fold or unfold the container at `path`; a cursor inside it moves onto it."""
        if fold:
            self.collapsed.add(path)
        else:
            self.collapsed.discard(path)
        self._arrange()
        if self.selection is not None and self.selection[: len(path)] == path != self.selection:
            self._go(self._line_of[path])

    # ----- keys and mouse ---------------------------------------------------------------
    def action_move(self, lines: int) -> None:
        """Move the cursor `lines` visible rows down (up if negative); no cursor: the first."""
        self._go(0 if self._cursor is None else self._cursor + lines)

    def action_move_page(self, pages: int) -> None:
        """Move the cursor a screenful of rows down (up if negative)."""
        self.action_move(pages * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        """Move the cursor to the first row."""
        self._go(0)

    def action_last(self) -> None:
        """Move the cursor to the last visible row."""
        self._go(len(self._lines) - 1)

    def action_activate(self) -> None:
        """Post `Activated` for the row under the cursor."""
        if self._cursor is not None:
            self.post_message(self.Activated(self._lines[self._cursor].path))

    def action_toggle_fold(self) -> None:
        """Fold the container under the cursor, or unfold it if it is folded."""
        if self._cursor is not None and self._lines[self._cursor].container:
            path = self._lines[self._cursor].path
            self._fold(path, path not in self.collapsed)

    def action_unfold(self) -> None:
        """Unfold the container under the cursor, or go to its first layer if it is unfolded."""
        line = self._cursor
        if line is None or not self._lines[line].container:
            return
        path = self._lines[line].path
        if path in self.collapsed:
            self._fold(path, False)
        elif line + 1 < len(self._lines) and self._lines[line + 1].path[:-1] == path:
            self._go(line + 1)

    def action_fold(self) -> None:
        """Fold the container under the cursor, or go to the container of the layer there."""
        line = self._cursor
        if line is None:
            return
        row = self._lines[line]
        if row.container and row.path not in self.collapsed:
            self._fold(row.path, True)
        elif len(row.path) > 1:
            self._go(self._line_of[row.path[:-1]])

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y + self.scroll_offset.y >= len(self._lines):
            return
        line = offset.y + self.scroll_offset.y
        row = self._lines[line]
        indent = 2 * (len(row.path) - 1)
        if row.container and indent <= offset.x < indent + len(FOLDED):
            self._fold(row.path, row.path not in self.collapsed)
        elif line == self._cursor:
            self.post_message(self.Activated(row.path))
        else:
            self._go(line)

    # ----- drawing ----------------------------------------------------------------------
    def on_resize(self) -> None:
        # labels are laid out to the width: lines drawn at the old one are redrawn
        self._strips.clear()
        self.refresh()
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()  # also on focus and blur: the cursor is dimmer unfocused
        self._strips.clear()
        self._styles.clear()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        line = self.scroll_offset.y + y
        if line >= len(self._lines):
            if line == 0 and self.empty_text:
                text = Text(self.empty_text, style=self._style("layer-tree--guides"))
                strip = Strip(text.render(self.app.console))
                return strip.crop_extend(0, self.size.width, self._style(""))
            return Strip.blank(self.size.width, self._style(""))
        if self._strips_width != self.size.width:  # a line drawn before a resize was seen
            self._strips.clear()
            self._strips_width = self.size.width
        if line not in self._strips:
            self._strips[line] = self._draw(line)
        return self._strips[line]

    def _style(self, name: str) -> Style:
        """The style of the component class `name`, or the widget's own for ""."""
        if name not in self._styles:  # Textual computes these afresh on each call
            style = self.get_component_rich_style(name) if name else self.rich_style
            self._styles[name] = style
        return self._styles[name]

    def _draw(self, line: int) -> Strip:
        """Guides, fold marker and label of a line, as wide as the widget."""
        row = self._lines[line]
        path = row.path
        guides = "".join("  " if path[:n] in self._last else "│ " for n in range(2, len(path)))
        if len(path) > 1:
            guides += "└ " if path in self._last else "├ "
        marker = (FOLDED if path in self.collapsed else UNFOLDED) if row.container else ""
        indent = len(guides) + len(marker)
        width = self.scrollable_content_region.width - indent - 1
        label = layer_label(row, width, self._columns, indent)
        if line == self._cursor:
            label.stylize(self._style("layer-tree--cursor"))
        guide_style = self._style("layer-tree--guides")
        text = Text.assemble((guides, guide_style), marker, label, style=self._style(""))
        strip = Strip(text.render(self.app.console))
        return strip.crop_extend(0, self.size.width, self._style(""))


def layer_label(row: LayerRow, width: int, columns: tuple[int, int], indent: int = 0) -> Text:
    """Name, type and arguments, then output shape and parameters in right-aligned columns.

    Where the label has too little room, the arguments go first, then the end of the type;
    the name, the shape and the parameters are never cut. `indent` is the room the row's
    guides take on the left: the columns line up across rows of every depth.
    """
    shape_width, params_width = columns
    room = min(max(width - shape_width - params_width, 6), MAX_LABEL - indent)
    head = Text()
    if row.problem:
        head.append("✗ ", style="bold red")
    elif row.warning:
        head.append("⚠ ", style="bold yellow")
    if row.name:
        head.append(row.name + " ", style="bold")
    type_room = room - len(head)
    if len(row.type) <= type_room:
        head.append(row.type, style="cyan")
        if row.args and len(head) + 1 + len(row.args) <= room:
            head.append(f" {row.args}", style="dim")
    elif type_room >= 2:  # a type cut to its first letters, then the name alone
        head.append(row.type[: type_room - 1] + "…", style="cyan")
    head.pad_right(max(0, room - len(head)))
    shape_style = "bold red" if row.problem else "yellow" if row.warning else "green"
    if row.shape == "?" and not row.problem:  # unknown: an error upstream
        shape_style = "dim"
    head.append(row.shape.rjust(shape_width), style=shape_style)
    head.append(row.params.rjust(params_width), style="dim" if row.params == "?" else "")
    return head
