"""The graph of one batch as a foldable list: one row a node, grouped by module scope."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

Group = tuple[str, ...]
Key = int | Group  # a row's node id, or a group's path

GLYPHS = {
    "ok": ("●", "green"),
    "zeros": ("◐", "yellow"),
    "nonfinite": ("✗", "bold red"),
    "vanishing": ("↓", "magenta"),
    "error": ("✗", "red reverse"),
    "": ("·", "dim"),
}
BREAKPOINT = ("●", "bold red")
CURRENT = "▶"
DETAIL_WIDTH = len("‖g‖ 1.2e-05")  # room kept for a gradient norm before it is known


def compact_shape(shape: str) -> str:
    """A shape written "(32, 6, 24, 24)" as "32×6×24×24" ("(64,)" as "64"; "()" stays)."""
    inner = shape.strip("()").rstrip(",")
    return inner.replace(", ", "×") if inner and shape.startswith("(") else shape


@dataclass(frozen=True)
class GraphRow:
    """One node of the graph; `groups` are its module scopes, outermost first, already labelled."""

    node: int
    op: str
    groups: Group
    shape: str
    glyph: str  # "ok", "zeros", "nonfinite", "vanishing", "error" or "" (not known yet)
    detail: str = ""
    name: str = ""  # a parameter's name, shown in place of its op


class GraphList(Tree[Key]):
    """Shows rows in execution order; moving the cursor posts `GraphList.Selected`."""

    DEFAULT_CSS = """
    GraphList { height: 1fr; }
    GraphList .tree--guides { color: $text-muted; }
    """

    class Selected(Message):
        """The cursor moved to a row (`node`) or to a group (`group`)."""

        def __init__(self, node: int | None, group: Group | None) -> None:
            self.node = node
            self.group = group
            super().__init__()

    def __init__(self, **kwargs) -> None:
        super().__init__("graph", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self.rows: list[GraphRow] = []
        self.current: int | None = None
        self.phase = "forward"
        self.breakpoints: set[int] = set()
        self.group_breakpoints: set[Group] = set()
        self.collapsed: set[Group] = set()
        self._row_nodes: dict[int, TreeNode[Key]] = {}
        self._group_nodes: list[TreeNode[Key]] = []
        self._rows_by_node: dict[int, GraphRow] = {}
        self._columns = (0, 0)
        self.compact = False  # shapes as 32×6×24×24 and one space between columns

    @property
    def selected_node(self) -> int | None:
        """The node id under the cursor; None when the cursor is on a group or nowhere (the
        tree's cursor may still name a row of the rows shown before)."""
        data = self.cursor_node.data if self.cursor_node is not None else None
        return data if isinstance(data, int) and data in self._rows_by_node else None

    @property
    def selected_group(self) -> Group | None:
        """The group path under the cursor; None when the cursor is on a row or nowhere."""
        data = self.cursor_node.data if self.cursor_node is not None else None
        return data if isinstance(data, tuple) else None

    def show(self, rows: list[GraphRow]) -> None:
        """Draw `rows` (execution order); relabels in place when only their contents changed."""
        same_structure = len(rows) == len(self.rows) and all(
            new.node == old.node and new.groups == old.groups
            for new, old in zip(rows, self.rows, strict=True)
        )
        old, self.rows = self.rows, rows
        self._rows_by_node = {row.node: row for row in rows}
        columns = self._measure()
        if same_structure and self._row_nodes:
            relabel_all = columns != self._columns
            self._columns = columns
            for row, before in zip(rows, old, strict=True):
                if relabel_all or row != before:
                    self._row_nodes[row.node].set_label(self._label(row))
        else:
            self._columns = columns
            self._draw()

    def set_current(self, node: int | None, phase: str = "forward") -> None:
        """Mark `node` as the stepper's current one and put the cursor on it."""
        self.phase = phase
        previous, self.current = self.current, node
        if previous != node:
            for changed in (previous, node):
                self._relabel(changed)
        self.select(node)

    def select(self, node: int | None) -> None:
        """Put the cursor on `node`'s row, unfolding the groups it sits in."""
        tree_node = self._row_nodes.get(node) if node is not None else None
        if tree_node is None:
            return
        parent = tree_node.parent
        while parent is not None and parent is not self.root:
            if not parent.is_expanded:
                self.collapsed.discard(parent.data)
                parent.expand()
            parent = parent.parent
        if self.cursor_node is not tree_node:
            self._move_cursor_to(tree_node)

    def set_breakpoints(self, nodes: set[int], groups: set[Group]) -> None:
        """Mark breakpoints on the rows in `nodes` and on the groups in `groups`."""
        changed_nodes = self.breakpoints ^ set(nodes)
        changed_groups = self.group_breakpoints ^ set(groups)
        self.breakpoints, self.group_breakpoints = set(nodes), set(groups)
        for node in changed_nodes:
            self._relabel(node)
        for group_node in self._group_nodes:
            if group_node.data in changed_groups:
                group_node.set_label(self._group_label(group_node.data))

    def content_width(self, compact: bool | None = None) -> int:
        """Columns the widest row needs, its gradient norm included (room is kept for one
        before it is known), plus the vertical scrollbar: a pane this wide cuts nothing.
        `compact` (the current form when None) measures that form."""
        if not self.rows:
            return 0
        compact = self.compact if compact is None else compact
        op_end, shape_width = self._measure(compact)
        detail = max(DETAIL_WIDTH, *(len(r.detail) for r in self.rows))
        gaps = 2 if compact else 4
        return 4 + op_end + gaps + shape_width + detail + self.styles.scrollbar_size_vertical

    def set_compact(self, compact: bool) -> None:
        """Draw rows in the compact form (for a pane too narrow for the usual one) or not."""
        if compact != self.compact:
            self.compact = compact
            self._columns = self._measure()
            for node, tree_node in self._row_nodes.items():
                tree_node.set_label(self._label(self._rows_by_node[node]))

    def _shape(self, row: GraphRow, compact: bool | None = None) -> str:
        compact = self.compact if compact is None else compact
        return compact_shape(row.shape) if compact else row.shape

    def _measure(self, compact: bool | None = None) -> tuple[int, int]:
        """Widths that align the shape and detail columns: indent plus op, and shape."""
        op_end = max(
            (self.guide_depth * len(r.groups) + len(r.name or r.op) for r in self.rows), default=0
        )
        return op_end, max((len(self._shape(r, compact)) for r in self.rows), default=0)

    def _draw(self) -> None:
        cursor = self.cursor_node.data if self.cursor_node is not None else None
        self.cursor_line = -1  # the old cursor node goes with the old tree
        self.clear()
        self._row_nodes, self._group_nodes = {}, []
        open_path: list[TreeNode[Key]] = []  # the group nodes of the group now open
        for row in self.rows:
            shared = 0
            while (
                shared < len(open_path)
                and shared < len(row.groups)
                and open_path[shared].data == row.groups[: shared + 1]
            ):
                shared += 1
            del open_path[shared:]
            for depth in range(shared, len(row.groups)):
                parent = open_path[-1] if open_path else self.root
                path = row.groups[: depth + 1]
                expand = path not in self.collapsed
                group = parent.add(self._group_label(path), data=path, expand=expand)
                open_path.append(group)
                self._group_nodes.append(group)
            parent = open_path[-1] if open_path else self.root
            self._row_nodes[row.node] = parent.add_leaf(self._label(row), data=row.node)
        target = self._row_nodes.get(cursor) if isinstance(cursor, int) else None
        if target is None and isinstance(cursor, tuple):
            target = next((g for g in self._group_nodes if g.data == cursor), None)
        if target is not None:
            self._move_cursor_to(target)

    def _move_cursor_to(self, node: TreeNode[Key]) -> None:
        """Put the cursor on `node` and scroll it into view."""
        last = self.last_line  # lays lines out anew after a fold or rebuild: `node` knows its line
        if 0 <= node.line <= last:
            self.move_cursor(node)

    def _relabel(self, node: int | None) -> None:
        if node in self._row_nodes and node in self._rows_by_node:
            self._row_nodes[node].set_label(self._label(self._rows_by_node[node]))

    def _label(self, row: GraphRow) -> Text:
        """Breakpoint, current marker, glyph, op (or parameter name), shape and detail."""
        op_end, shape_width = self._columns
        text = Text(no_wrap=True, end="")
        if row.node in self.breakpoints:
            text.append(*BREAKPOINT)
        else:
            text.append(" ")
        start = len(text)
        text.append(CURRENT if row.node == self.current else " ")
        glyph, style = GLYPHS.get(row.glyph, GLYPHS[""])
        text.append(glyph, style=style)
        op_width = op_end - self.guide_depth * len(row.groups)
        if row.name:
            text.append(" " + row.name.ljust(op_width), style="dim")
        else:
            text.append(" " + row.op.ljust(op_width), style="cyan")
        gap = " " if self.compact else "  "
        text.append(gap + self._shape(row).ljust(shape_width), style="green")
        if row.detail:
            text.append(gap + row.detail)
        if row.node == self.current:
            text.stylize("bold reverse", start)
        return text

    def _group_label(self, path: Group) -> Text:
        text = Text(no_wrap=True, end="")
        text.append(path[-1], style="bold")
        if path in self.group_breakpoints:
            text.append(" ")
            text.append(*BREAKPOINT)
        return text

    def on_resize(self) -> None:
        """Keep the cursor in view when the list gets shorter (an alert opening below it)."""
        if self.cursor_line >= 0:
            self.call_after_refresh(self.scroll_to_line, self.cursor_line, animate=False)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        data = event.node.data
        if isinstance(data, int):
            self.post_message(self.Selected(data, None))
        elif isinstance(data, tuple):
            self.post_message(self.Selected(None, data))

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed) -> None:
        event.stop()
        if isinstance(event.node.data, tuple):
            self.collapsed.add(event.node.data)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        event.stop()
        if isinstance(event.node.data, tuple):
            self.collapsed.discard(event.node.data)
