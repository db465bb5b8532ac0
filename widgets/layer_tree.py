"""The network as a tree: one row a layer with its type, arguments, output shape and parameters."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree

Path_ = tuple[int, ...]


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


class LayerTree(Tree[Path_]):
    """Shows rows; moving the cursor posts `LayerTree.Selected` with the layer's path."""

    DEFAULT_CSS = """
    LayerTree { height: 1fr; }
    LayerTree .tree--guides { color: $text-muted; }
    """

    class Selected(Message):
        """The cursor moved to a layer."""

        def __init__(self, path: Path_) -> None:
            self.path = path
            super().__init__()

    def __init__(self, **kwargs) -> None:
        super().__init__("network", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self.rows: list[LayerRow] = []
        self.selection: Path_ | None = None
        self.collapsed: set[Path_] = set()
        self._drawn_width = 0
        self._drawn_columns = (0, 0)
        self._tree_nodes: dict = {}

    def show(self, rows: list[LayerRow], selection: Path_ | None) -> None:
        """Draw `rows` (depth-first order) and put the cursor on `selection`."""
        same_structure = [(r.path, r.container) for r in rows] == [
            (r.path, r.container) for r in self.rows
        ]
        old, self.rows, self.selection = self.rows, rows, selection
        if same_structure and self._tree_nodes and self._drawn_width:
            self._relabel(old)  # an argument changed: no need to rebuild the tree
        else:
            self._draw()

    def _columns(self) -> tuple[int, int]:
        return (
            max((len(r.shape) for r in self.rows), default=0) + 2,
            max((len(r.params) for r in self.rows), default=0) + 2,
        )

    def _relabel(self, old: list[LayerRow]) -> None:
        columns = self._columns()
        for row, before in zip(self.rows, old, strict=True):
            if row != before or columns != self._drawn_columns:
                indent = self.guide_depth * (len(row.path) - 1) + (2 if row.container else 0)
                label = self._label(row, self._drawn_width - indent - 1, columns)
                self._tree_nodes[row.path].set_label(label)
        self._drawn_columns = columns
        line = self._line_of(self.selection)
        if line is not None and line != self.cursor_line:
            self.move_cursor_to_line(line)

    def _draw(self) -> None:
        self.clear()
        nodes = {(): self.root}
        self._drawn_width = self.scrollable_content_region.width
        width = self._drawn_width or 60
        columns = self._drawn_columns = self._columns()
        for row in self.rows:
            parent = nodes.get(row.path[:-1], self.root)
            indent = self.guide_depth * (len(row.path) - 1) + (2 if row.container else 0)
            label = self._label(row, width - indent - 1, columns)
            if row.container:
                node = parent.add(label, data=row.path, expand=row.path not in self.collapsed)
            else:
                node = parent.add_leaf(label, data=row.path)
            nodes[row.path] = node
        self._tree_nodes = nodes
        line = self._line_of(self.selection)
        if line is not None:
            self.move_cursor_to_line(line)

    def _line_of(self, path: Path_ | None) -> int | None:
        """The visible line of `path`, counting rows whose containers are all unfolded."""
        if path is None:
            return None
        line = 0
        for row in self.rows:
            hidden = any(row.path[:n] in self.collapsed for n in range(1, len(row.path)))
            if hidden:
                continue
            if row.path == path:
                return line
            line += 1
        return None

    def _label(self, row: LayerRow, width: int, columns: tuple[int, int]) -> Text:
        """Name, type and arguments, then output shape and parameters in right-aligned columns."""
        shape_width, params_width = columns
        head = Text()
        if row.problem:
            head.append("✗ ", style="bold red")
        if row.name:
            head.append(row.name + " ", style="bold")
        head.append(row.type, style="cyan")
        if row.args:
            head.append(f" {row.args}", style="dim")
        room = min(max(width - shape_width - params_width, 6), 44)
        head.truncate(room, overflow="ellipsis", pad=True)
        shape_style = "bold red" if row.problem else "green"
        head.append(row.shape.rjust(shape_width), style=shape_style)
        head.append(row.params.rjust(params_width), style="")
        return head

    def on_resize(self) -> None:
        # labels are laid out to the width: redraw only when that changed
        width = self.scrollable_content_region.width
        if self.rows and width != self._drawn_width:
            self._draw()

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        path = event.node.data
        if path is not None and path != self.selection:
            self.selection = path
            self.post_message(self.Selected(path))

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed) -> None:
        event.stop()
        if event.node.data is not None:
            self.collapsed.add(event.node.data)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        event.stop()
        if event.node.data is not None:
            self.collapsed.discard(event.node.data)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.Activated(event.node.data))

    class Activated(Message):
        """Enter (or a second click) on a layer: the screen opens its arguments."""

        def __init__(self, path: Path_) -> None:
            self.path = path
            super().__init__()
