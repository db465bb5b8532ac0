"""Pilot tests of LayerTree: drawing, the cursor, keys, folding, clicks, scrolling and layout."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tests.app.tui.tui_helpers import settled
from widgets._textual_internals import layout_passes, layout_pending
from widgets.layer_tree import LayerRow, LayerTree

ROWS = [
    LayerRow((0,), "flatten", "Flatten", "", "(64,)", "0"),
    LayerRow((1,), "block", "Residual", "", "(64,)", "8,320", container=True),
    LayerRow((1, 0), "fc_a", "Linear", "64→64", "(64,)", "4,160"),
    LayerRow((1, 1), "inner", "Sequential", "", "(64,)", "0", container=True),
    LayerRow((1, 1, 0), "relu", "ReLU", "", "(64,)", "0"),
    LayerRow((1, 2), "fc_b", "Linear", "64→64", "(64,)", "4,160"),
    LayerRow((2,), "out", "Linear", "32→10", "?", "330", problem="in_features 32 ≠ 64"),
]


def long_rows(n: int) -> list[LayerRow]:
    return [LayerRow((i,), f"fc{i}", "Linear", "8→8", "(8,)", "72") for i in range(n)]


class TreeApp(App):
    """A LayerTree that reports back like the Build screen: each selection is shown again."""

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[tuple[int, ...]] = []
        self.activated: list[tuple[int, ...]] = []

    def compose(self) -> ComposeResult:
        yield LayerTree(id="tree")

    def on_layer_tree_selected(self, event: LayerTree.Selected) -> None:
        self.selected.append(event.path)
        tree = self.query_one(LayerTree)
        tree.show(tree.rows, event.path)

    def on_layer_tree_activated(self, event: LayerTree.Activated) -> None:
        self.activated.append(event.path)


def lines(tree: LayerTree) -> list[str]:
    """The text of each line the tree draws, without trailing blanks and blank lines below."""
    drawn = [tree.render_line(y).text.rstrip() for y in range(tree.size.height)]
    while drawn and not drawn[-1]:
        drawn.pop()
    return drawn


def cursor_lines(tree: LayerTree) -> list[int]:
    """The lines on screen drawn in the cursor's background."""
    cursor = tree.get_component_rich_style("layer-tree--cursor").bgcolor
    return [
        y
        for y in range(tree.size.height)
        if any(s.style and s.style.bgcolor == cursor for s in tree.render_line(y))
    ]


async def test_rows_are_drawn_in_order_with_guides_fold_markers_and_columns():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, None)
        await pilot.pause()
        assert lines(tree) == [
            "flatten Flatten                               (64,)      0",
            "▼ block Residual                              (64,)  8,320",
            "├ fc_a Linear 64→64                           (64,)  4,160",
            "├ ▼ inner Sequential                          (64,)      0",
            "│ └ relu ReLU                                 (64,)      0",
            "└ fc_b Linear 64→64                           (64,)  4,160",
            "✗ out Linear 32→10                                ?    330",
        ]
        colours = {s.text.strip(): s.style.color.name for s in tree.render_line(6) if s.style}
        assert colours["✗"] == "red" and colours["?"] == "red"  # a layer at fault
        assert {s.text.strip(): s.style.color.name for s in tree.render_line(0)}["(64,)"] == "green"


async def test_long_labels_drop_the_arguments_then_cut_the_type_never_the_name():
    norm = LayerRow((0,), "norm", "LayerNorm", "normalized_shape=64", "(64,)", "128")
    row = LayerRow((1,), "block1", "Residual", "", "(64,)", "8,320", container=True)
    inner = LayerRow((1, 0), "fc_a", "Linear", "64→64", "(64,)", "4,160")
    drawn = {}
    for width in (60, 36, 30, 26):
        app = TreeApp()
        async with app.run_test(size=(width, 5)) as pilot:
            app.query_one(LayerTree).show([norm, row, inner], None)
            await pilot.pause()
            drawn[width] = lines(app.query_one(LayerTree))
    assert drawn[60][0].startswith("norm LayerNorm normalized_shape=64 ")
    assert drawn[36] == [
        "norm LayerNorm        (64,)    128",  # the arguments go whole, not cut
        "▼ block1 Residual     (64,)  8,320",
        "└ fc_a Linear 64→64   (64,)  4,160",
    ]
    assert drawn[30] == [
        "norm LayerNorm  (64,)    128",
        "▼ block1 Resi…  (64,)  8,320",  # then the end of the type
        "└ fc_a Linear   (64,)  4,160",
    ]
    assert drawn[26] == [
        "norm Laye…  (64,)    128",
        "▼ block1    (64,)  8,320",  # then the name alone
        "└ fc_a Li…  (64,)  4,160",
    ]


async def test_columns_line_up_at_every_depth_when_the_label_room_is_capped():
    rows = [
        LayerRow((0,), "stem", "Linear", "64→64", "(64,)", "4,160"),
        LayerRow((1,), "block1", "Residual", "", "(64,)", "8,320", container=True),
        LayerRow((1, 0), "fc_a", "Linear", "64→64", "(64,)", "4,160"),
    ]
    app = TreeApp()
    async with app.run_test(size=(100, 5)) as pilot:
        app.query_one(LayerTree).show(rows, None)
        await pilot.pause()
        drawn = lines(app.query_one(LayerTree))
    assert len({line.index("(64,)") for line in drawn}) == 1, drawn


async def test_show_places_the_cursor_without_posting_selected():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (1, 2))
        await pilot.pause()
        assert tree.selection == (1, 2) and cursor_lines(tree) == [5]
        tree.show(ROWS, (0,))
        await pilot.pause()
        assert tree.selection == (0,) and cursor_lines(tree) == [0]
        assert app.selected == []


async def test_keys_move_the_cursor_over_visible_rows_and_post_selected():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (0,))
        tree.focus()
        await pilot.press("down", "down", "down")
        assert app.selected == [(1,), (1, 0), (1, 1)]  # once each, though shown back each time
        assert tree.selection == (1, 1) and cursor_lines(tree) == [3]
        await pilot.press("end")
        await pilot.press("home")
        await pilot.press("up")  # already on the first row: nothing to post
        assert app.selected[3:] == [(2,), (0,)]


async def test_enter_and_a_click_on_the_cursor_row_post_activated():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (1, 0))
        tree.focus()
        await pilot.press("enter")
        await pilot.click(LayerTree, offset=(20, 2))  # fc_a, under the cursor
        assert app.activated == [(1, 0), (1, 0)] and app.selected == []


async def test_clicking_a_row_selects_it_and_clicking_a_fold_marker_folds():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (0,))
        await pilot.click(LayerTree, offset=(20, 5))
        assert app.selected == [(1, 2)] and cursor_lines(tree) == [5]
        await pilot.click(LayerTree, offset=(0, 1))  # the ▼ of block
        assert tree.collapsed == {(1,)} and lines(tree)[1].startswith("▶ block")
        assert len(lines(tree)) == 3 and app.activated == []
        # the cursor was inside the folded container: it moves onto it
        assert tree.selection == (1,) and app.selected[-1] == (1,)


async def test_folding_hides_layers_and_keys_skip_them():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (1, 1))
        tree.focus()
        await pilot.press("space")  # fold inner
        assert tree.collapsed == {(1, 1)} and lines(tree)[3].startswith("├ ▶ inner")
        await pilot.press("down")
        assert tree.selection == (1, 2)  # relu, inside inner, is skipped
        await pilot.press("left")  # from fc_b to its container
        assert tree.selection == (1,)
        await pilot.press("left")  # fold block
        assert [line.split()[0] for line in lines(tree)] == ["flatten", "▶", "✗"]
        await pilot.press("down")
        assert tree.selection == (2,)
        await pilot.press("up", "right")  # unfold block
        assert tree.collapsed == {(1, 1)} and tree.selection == (1,)
        await pilot.press("right")  # already unfolded: on to its first layer
        assert tree.selection == (1, 0)
        assert app.selected == [(1, 2), (1,), (2,), (1,), (1, 0)]


async def test_show_unfolds_the_containers_of_the_selection():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (1,))
        tree.focus()
        await pilot.press("space")
        tree.show(ROWS, (1, 1, 0))
        await pilot.pause()
        assert tree.collapsed == set() and cursor_lines(tree) == [4]


async def test_show_with_more_or_fewer_rows_requests_no_layout(monkeypatch):
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (0,))
        await settled(pilot)
        layouts, refresh = [], tree.refresh

        def spy_refresh(*regions, **kwargs):
            layouts.append(kwargs.get("layout", False))
            return refresh(*regions, **kwargs)

        monkeypatch.setattr(tree, "refresh", spy_refresh)
        with layout_passes() as passes:
            for rows in (long_rows(30), ROWS[:2], []):
                tree.show(rows, rows[-1].path if rows else None)
                await settled(pilot)
                assert tree.virtual_size.height == len(rows)
        assert layouts and not any(layouts) and passes == []
        assert not layout_pending(app.screen)


async def test_a_long_list_scrolls_to_keep_the_cursor_in_view():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(long_rows(30), (25,))
        await pilot.pause()
        assert lines(tree)[cursor_lines(tree)[0]].startswith("fc25 ")
        tree.focus()
        await pilot.press("home")
        assert tree.scroll_offset.y == 0 and cursor_lines(tree) == [0]
        await pilot.press("pagedown")
        assert tree.selection == (9,) and cursor_lines(tree) == [9]
        await pilot.press("down")
        assert tree.scroll_offset.y == 1 and lines(tree)[-1].startswith("fc10 ")
        await pilot.press("end")
        assert tree.selection == (29,) and lines(tree)[-1].startswith("fc29 ")
        await pilot.press("pageup")
        assert tree.selection == (20,) and cursor_lines(tree) == [0]


async def test_the_cursor_is_dimmer_when_the_tree_has_no_focus():
    app = TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(LayerTree)
        tree.show(ROWS, (1, 0))
        tree.focus()
        await pilot.pause()
        focused = {s.style.bgcolor for s in tree.render_line(2)}
        app.set_focus(None)
        await pilot.pause()
        blurred = {s.style.bgcolor for s in tree.render_line(2)}
        assert cursor_lines(tree) == [2] and focused != blurred
        assert tree.get_component_rich_style("layer-tree--cursor").bgcolor in blurred
