"""Pilot tests of GraphList: groups, folding, the current node, breakpoints and selection."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult

from widgets.graph_list import GraphList, GraphRow

FEATURES, CONV, RELU = ("features",), ("features", "0 Conv2d"), ("features", "1 ReLU")
ROWS = [
    GraphRow(0, "input", (), "(8, 1, 28, 28)", "ok"),
    GraphRow(1, "parameter", CONV, "(6, 1, 5, 5)", "ok", name="features.0.weight"),
    GraphRow(2, "conv2d", CONV, "(8, 6, 24, 24)", "ok"),
    GraphRow(3, "relu", RELU, "(8, 6, 24, 24)", "zeros"),
    GraphRow(4, "add", FEATURES, "(8, 6, 24, 24)", ""),
    GraphRow(5, "relu", RELU, "(8, 6, 24, 24)", "ok"),  # ReLU again, after the add
    GraphRow(6, "flatten", (), "(8, 3456)", "ok"),
    GraphRow(7, "linear", ("fc",), "(8, 10)", "nonfinite", detail="‖g‖ 3.1e-02"),
]


class GraphApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[tuple[int | None, tuple | None]] = []

    def compose(self) -> ComposeResult:
        yield GraphList()

    def on_mount(self) -> None:
        self.query_one(GraphList).show(ROWS)

    def on_graph_list_selected(self, event: GraphList.Selected) -> None:
        self.selected.append((event.node, event.group))


def label(graph: GraphList, node: int) -> str:
    return row_node(graph, node).label.plain


def row_node(graph: GraphList, node: int):
    return next(n for n in walk(graph.root) if n.data == node)


def walk(tree_node):
    for child in tree_node.children:
        yield child
        yield from walk(child)


def path_of(tree_node) -> list[str]:
    """The group labels above a tree node, outermost first."""
    labels = []
    while tree_node.parent is not None and tree_node.parent.parent is not None:
        tree_node = tree_node.parent
        labels.insert(0, tree_node.label.plain.strip())
    return labels


async def test_rows_sit_under_their_groups_and_a_reentered_group_gets_a_new_node():
    app = GraphApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        graph = app.query_one(GraphList)
        assert path_of(row_node(graph, 0)) == []
        assert path_of(row_node(graph, 2)) == ["features", "0 Conv2d"]
        assert path_of(row_node(graph, 4)) == ["features"]
        assert path_of(row_node(graph, 7)) == ["fc"]
        # the parameter shares the conv's group node; features is one node for all its rows
        assert row_node(graph, 1).parent is row_node(graph, 2).parent
        assert row_node(graph, 4).parent is row_node(graph, 2).parent.parent
        # relu after the add: same features node, a second "1 ReLU" node
        assert row_node(graph, 5).parent is not row_node(graph, 3).parent
        assert row_node(graph, 5).parent.parent is row_node(graph, 3).parent.parent
        assert "features.0.weight" in label(graph, 1) and "parameter" not in label(graph, 1)
        assert "‖g‖ 3.1e-02" in label(graph, 7)
        # the shape column lines up across depths
        columns = {label(graph, n).index("(") + 2 * len(ROWS[n].groups) for n in range(8)}
        assert len(columns) == 1


async def test_a_collapsed_group_stays_collapsed_across_show():
    app = GraphApp()
    async with app.run_test(size=(100, 40)) as pilot:
        graph = app.query_one(GraphList)
        graph.focus()
        await pilot.pause()
        await pilot.press("down", "down")  # from no cursor to line 0, then to the features group
        assert graph.selected_group == FEATURES and graph.selected_node is None
        await pilot.press("space")
        await pilot.pause()
        assert FEATURES in graph.collapsed
        graph.show([replace(row, detail="new") for row in ROWS])  # same structure
        graph.show([*ROWS, GraphRow(8, "mean", (), "()", "ok")])  # rebuilds
        await pilot.pause()
        features = row_node(graph, 4).parent
        assert features.label.plain.strip() == "features" and not features.is_expanded
        assert row_node(graph, 6).line == 2  # input, features (folded), flatten


async def test_set_current_moves_the_marker_and_the_cursor_and_unfolds():
    app = GraphApp()
    async with app.run_test(size=(100, 40)) as pilot:
        graph = app.query_one(GraphList)
        await pilot.pause()
        graph.set_current(2)
        assert "▶" in label(graph, 2) and graph.selected_node == 2
        row_node(graph, 5).parent.collapse()
        await pilot.pause()
        graph.set_current(5, "backward")
        await pilot.pause()
        assert "▶" not in label(graph, 2) and "▶" in label(graph, 5)
        assert graph.cursor_node is row_node(graph, 5) and graph.phase == "backward"
        assert row_node(graph, 5).parent.is_expanded and RELU not in graph.collapsed
        graph.set_current(None)
        assert "▶" not in label(graph, 5)


async def test_show_with_the_same_structure_relabels_in_place():
    app = GraphApp()
    async with app.run_test(size=(100, 40)) as pilot:
        graph = app.query_one(GraphList)
        await pilot.pause()
        before = list(walk(graph.root))
        changed = [*ROWS]
        changed[3] = replace(ROWS[3], glyph="vanishing", detail="‖g‖ 1e-09")
        graph.show(changed)
        assert list(walk(graph.root)) == before
        assert all(a is b for a, b in zip(walk(graph.root), before, strict=True))
        assert "↓" in label(graph, 3) and "‖g‖ 1e-09" in label(graph, 3)


async def test_breakpoints_appear_on_rows_and_groups():
    app = GraphApp()
    async with app.run_test(size=(100, 40)) as pilot:
        graph = app.query_one(GraphList)
        await pilot.pause()
        graph.set_breakpoints({4}, {("fc",)})
        assert label(graph, 4).startswith("●") and not label(graph, 2).startswith("●")
        fc = row_node(graph, 7).parent
        assert "●" in fc.label.plain
        graph.set_breakpoints(set(), set())
        assert not label(graph, 4).startswith("●") and "●" not in fc.label.plain


async def test_moving_the_cursor_posts_selected():
    app = GraphApp()
    async with app.run_test(size=(100, 40)) as pilot:
        graph = app.query_one(GraphList)
        graph.focus()
        await pilot.pause()
        app.selected.clear()
        await pilot.press(*["down"] * 5)  # input, features, 0 Conv2d, its parameter, the conv
        await pilot.pause()
        assert app.selected == [(0, None), (None, FEATURES), (None, CONV), (1, None), (2, None)]
        assert graph.selected_node == 2
