"""The network drawn top to bottom: a one-line box a layer, the shapes on the edges between
them, residual skips beside."""

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
from widgets.layer_tree import LayerRow

Path_ = tuple[int, ...]
SKIP_GAP = 3  # columns between the boxes' right edge and a skip line, and between skip lines
MIN_BOX, MAX_BOX = 20, 44  # the width of a layer's box
BOX_ENDS, SELECTED_ENDS = "[]", "┃┃"  # a layer's box; the selected one's, seen without colour
# a selected residual block's branch and add lines drawn heavy; its skip stays light
HEAVY_SKIP = str.maketrans("┐┘─├", "┑┙━┝")


@dataclass(frozen=True)
class PictureLine:
    """One line of the picture; `path` is the layer drawn on it, in columns `span`."""

    text: str
    path: Path_ | None = None
    span: tuple[int, int] = (0, 0)
    mark: str = ""  # "problem" or "warning": the layer drawn here has one


def draw_network(rows: list[LayerRow], input_shape: str, width: int) -> list[PictureLine]:
    """The picture of the layers in `rows` (depth-first, as the tree shows them).

    Each layer is a one-line box, `[ name type args  params ]`; the edge below it carries
    its output shape: two lines a layer. A Residual block
    branches (├──┐) before its layers, its skip runs down beside them, and rejoins where
    its input is added (⊕──┘); nested blocks skip nearer the boxes than the block around
    them, so no lines cross. Other containers draw their layers in line, after their name.
    """
    row_of = {row.path: row for row in rows}
    depth = max((_residual_depth(row.path, row_of) for row in rows), default=0)
    skip_room = SKIP_GAP * depth
    box = max(MIN_BOX, min(MAX_BOX, width - skip_room - 1))
    canvas = _Canvas(box, box + skip_room)
    canvas.centred("input")
    canvas.edge(input_shape, set())
    children: dict[Path_, list[LayerRow]] = {}
    for row in rows:
        children.setdefault(row.path[:-1], []).append(row)
    canvas.layers(children.get((), []), children, set(), depth)
    canvas.centred("▼")
    canvas.centred("output")
    margin = max(0, (width - canvas.width) // 2)  # the picture in the middle of the room
    return [
        PictureLine(
            " " * margin + line.text,
            line.path,
            (line.span[0] + margin, line.span[1] + margin),
            line.mark,
        )
        for line in canvas.lines
    ]


def _residual_depth(path: Path_, row_of: dict[Path_, LayerRow]) -> int:
    """How many Residual blocks hold the layer at `path` (itself included)."""
    return sum(1 for n in range(1, len(path) + 1) if row_of[path[:n]].type == "Residual")


def _mark(row: LayerRow) -> str:
    return "problem" if row.problem else "warning" if row.warning else ""


class _Canvas:
    """Lines drawn one below the other, with the skip lines passing down on the right."""

    def __init__(self, box: int, width: int) -> None:
        self.box, self.width = box, width
        self.centre = box // 2
        self.lines: list[PictureLine] = []

    def add(self, text: str, skips: set[int], path=None, span=(0, 0), mark="") -> None:
        chars = list(text.ljust(self.width))
        for column in skips:
            if chars[column] == " ":
                chars[column] = "│"
        self.lines.append(PictureLine("".join(chars).rstrip(), path, span, mark))

    def centred(self, text: str) -> None:
        self.add(" " * max(0, self.centre - len(text) // 2) + text, set())

    def edge(self, label: str, skips: set[int], path=None, mark="") -> None:
        """The main line going down, `label` (a shape) on its left."""
        room = self.centre - 1
        label = label if len(label) <= room else label[: room - 1] + "…"
        start = self.centre - 1 - len(label)
        text = " " * start + label + " │"
        self.add(text, skips, path, (start, self.centre - 1), mark)

    def layers(self, rows, children, skips: set[int], depth: int) -> None:
        for row in rows:
            if row.type == "Residual":
                self.residual(row, children, skips, depth)
            elif row.container:
                self.edge(f"{row.name} {row.type}", skips, row.path, _mark(row))
                self.layers(children.get(row.path, []), children, skips, depth)
            else:
                self.layer(row, skips)

    def layer(self, row: LayerRow, skips: set[int]) -> None:
        inner = self.box - 4
        params = "" if row.params == "0" else row.params
        head = ("✗ " if row.problem else "⚠ " if row.warning else "") + row.name
        head = " ".join(part for part in (head, row.type, row.args) if part)
        room = inner - len(params) - (1 if params else 0)
        if len(head) > room:
            head = head[: max(0, room - 1)] + "…"
        label = head.ljust(room) + (" " + params if params else "")
        mark = _mark(row)
        self.add(
            BOX_ENDS[0] + " " + label + " " + BOX_ENDS[1], skips, row.path, (0, self.box), mark
        )
        self.edge(row.shape, skips, row.path, mark)

    def residual(self, row: LayerRow, children, skips: set[int], depth: int) -> None:
        """Branch, the block's layers with the skip beside them, the add point."""
        level = len(skips)  # the blocks around this one
        column = self.box - 1 + SKIP_GAP * (depth - level)
        centre, mark = self.centre, _mark(row)
        name = f"{row.name} {row.type}"
        name = name if len(name) < centre - 2 else name[: centre - 4] + "…"
        left = " " * (centre - 1 - len(name)) + name + " "
        span = (centre - 1 - len(name), column + 1)
        self.add(left + "├" + "─" * (column - centre - 1) + "┐", skips, row.path, span, mark)
        inside = skips | {column}
        body = children.get(row.path, [])
        if body:
            self.layers(body, children, inside, depth)
        else:
            self.edge("", inside)
        sign = "✗ " if row.problem else ""
        left = " " * (centre - 1 - len(sign)) + sign + " "
        self.add(
            left[:centre] + "⊕" + "─" * (column - centre - 1) + "┘", skips, row.path, span, mark
        )
        self.edge(row.shape, skips, row.path, mark)


class NetworkPicture(ScrollView, can_focus=True):
    """Shows `draw_network` of the rows given through `show`, the selected layer marked.

    Up and down, or a click, select a layer (posting `NetworkPicture.Selected`).
    """

    COMPONENT_CLASSES = {"network-picture--cursor"}

    DEFAULT_CSS = """
    NetworkPicture {
        height: 1fr;
        overflow-y: scroll;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
        color: $foreground;
    }
    NetworkPicture > .network-picture--cursor {
        background: $block-cursor-blurred-background;
    }
    NetworkPicture:focus > .network-picture--cursor {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
    }
    """

    BINDINGS = [
        Binding("up", "move(-1)", "Previous layer", show=False),
        Binding("down", "move(1)", "Next layer", show=False),
        Binding("pageup", "scroll_page(-1)", "Page up", show=False),
        Binding("pagedown", "scroll_page(1)", "Page down", show=False),
        Binding("home", "move_to(0)", "First layer", show=False),
        Binding("end", "move_to(-1)", "Last layer", show=False),
    ]

    class Selected(Message):
        """The user moved the selection to a layer."""

        def __init__(self, path: Path_) -> None:
            self.path = path
            super().__init__()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[LayerRow] = []
        self.input_shape = ""
        self.selection: Path_ | None = None
        self.lines: list[PictureLine] = []
        self._drawn_width = 0
        self._lines_of: dict[Path_ | None, tuple[int, int]] = {}  # a layer's first and last line

    def show(self, rows: list[LayerRow], input_shape: str, selection: Path_ | None) -> None:
        """Draw `rows` after an input of `input_shape`, marking `selection`."""
        if (rows, input_shape) != (self.rows, self.input_shape):
            self.rows, self.input_shape = rows, input_shape
            self._drawn_width = 0  # drawn again on the next paint
        if selection != self.selection:
            self.selection = selection
            self.refresh()
        self._draw()
        self._scroll_to_selection()

    def _draw(self) -> None:
        width = self.scrollable_content_region.width
        if width and width != self._drawn_width:
            self._drawn_width = width
            self.lines = draw_network(self.rows, self.input_shape, width)
            self._lines_of = {}
            for i, line in enumerate(self.lines):
                first, _ = self._lines_of.get(line.path, (i, i))
                self._lines_of[line.path] = (first, i)
            resize_content(self, Size(0, len(self.lines)))
            self.refresh()

    def on_resize(self) -> None:
        self._draw()
        self._scroll_to_selection()

    def _scroll_to_selection(self) -> None:
        lines = self._lines_of.get(self.selection)
        if lines is not None:
            region = Region(0, lines[0], 1, lines[1] - lines[0] + 1)
            self.scroll_to_region(region, animate=False, immediate=True)

    # ----- keys ----------------------------------------------------------------------
    def action_move(self, offset: int) -> None:
        paths = [row.path for row in self.rows]
        if not paths:
            return
        at = paths.index(self.selection) if self.selection in paths else -offset
        self.action_move_to(max(0, min(len(paths) - 1, at + offset)))

    def action_move_to(self, index: int) -> None:
        if self.rows:
            path = self.rows[index].path
            if path != self.selection:
                self.selection = path
                self.refresh()
                self.post_message(self.Selected(path))
            self._scroll_to_selection()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y + self.scroll_offset.y >= len(self.lines):
            return
        path = self.lines[offset.y + self.scroll_offset.y].path
        if path is not None:
            self.action_move_to([row.path for row in self.rows].index(path))

    def action_scroll_page(self, pages: int) -> None:
        self.scroll_to(y=self.scroll_offset.y + pages * self.size.height, animate=False)

    # ----- drawing ---------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        line = self.scroll_offset.y + y
        width = self.size.width
        if line >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        drawn = self.lines[line]
        start, end = drawn.span
        selected = drawn.path is not None and drawn.path == self.selection and end > start
        plain = drawn.text
        if selected:  # heavy lines: the selection shows without colour too
            part = plain[start:end]
            if part[:1] == BOX_ENDS[0] and part[-1:] == BOX_ENDS[1]:
                part = SELECTED_ENDS[0] + part[1:-1] + SELECTED_ENDS[1]
            elif "├" in part or "⊕" in part:
                part = part.translate(HEAVY_SKIP)
            plain = plain[:start] + part + plain[end:]
        text = Text(plain, style=self.rich_style)
        if drawn.mark == "problem":
            text.stylize("bold red", start, end)
        elif drawn.mark == "warning":
            text.stylize("yellow", start, end)
        if selected:
            style: Style = self.get_component_rich_style("network-picture--cursor")
            text.stylize(style, start, end)
        return Strip(text.render(self.app.console)).crop_extend(0, width, self.rich_style)
