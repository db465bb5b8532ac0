"""The network's picture: boxes, shapes on the edges, residual skips that rejoin."""

from __future__ import annotations

from app.model.analysis import analyse
from app.model.design import Design, LayerNode
from app.tui.build.view import layer_rows, shape_text
from tests.app.tui.tui_helpers import SAMPLES
from widgets.network_picture import draw_network


def picture(design: Design, width: int = 80):
    return draw_network(layer_rows(analyse(design)), shape_text(design.input_shape), width)


def linear(name: str, n: int = 8) -> LayerNode:
    return LayerNode("Linear", {"in_features": n, "out_features": n}, name)


def index(lines, text: str) -> int:
    return next(i for i, line in enumerate(lines) if text in line.text)


def test_a_plain_network_is_one_line_boxes_joined_by_edges_that_carry_the_shapes():
    design = Design.load(SAMPLES / "cnn_digits.json")
    lines = picture(design)
    texts = [line.text for line in lines]
    assert texts[0].strip() == "input" and texts[-1].strip() == "output"
    assert texts[1].split() == ["(1,", "8,", "8)", "│"]
    conv = index(lines, "conv1 Conv2d 1→16 k3 p1")
    assert texts[conv].strip().startswith("[ conv1") and texts[conv].rstrip().endswith("160 ]")
    assert texts[conv + 1].split() == ["(16,", "8,", "8)", "│"]  # its output, on the edge
    assert len(lines) == 2 * len(design.layers) + 4  # two lines a layer
    centre = texts[1].index("│")
    edges = texts[1:-2:2]
    assert all(t[centre] == "│" for t in edges)  # one main line, top to bottom
    assert all(t.strip()[0] + t.strip()[-1] == "[]" for t in texts[2:-2:2])
    assert {line.path for line in lines[conv : conv + 2]} == {(0,)}
    assert max(len(t) for t in texts) <= 80 and "⊕" not in "".join(texts)


def test_a_residual_block_branches_beside_its_layers_and_rejoins_at_the_add():
    design = Design(
        input_shape=(8,),
        layers=[
            linear("stem"),
            LayerNode("Residual", {}, "block", [linear("fc_a"), LayerNode("ReLU", {}, "act")]),
            linear("head"),
        ],
    )
    lines = picture(design)
    texts = [line.text for line in lines]
    branch, merge = index(lines, "├"), index(lines, "⊕")
    assert "block Residual" in texts[branch] and texts[branch].rstrip().endswith("┐")
    skip = texts[branch].rstrip().index("┐")
    assert texts[merge].rstrip().endswith("┘") and texts[merge].rstrip().index("┘") == skip
    inside = range(branch + 1, merge)
    assert all(texts[i][skip] == "│" for i in inside)  # the skip runs beside the block
    assert texts[branch + 1][skip - 3 : skip] == "]  "  # beside the boxes, not through them
    assert index(lines, "fc_a") in inside and index(lines, "act ReLU") in inside
    assert index(lines, "stem") < branch and index(lines, "head") > merge
    assert texts[merge + 1].split() == ["(8,)", "│"]  # the sum's shape
    assert lines[branch].path == lines[merge].path == (1,)


def test_nested_residual_blocks_skip_inside_the_block_around_them():
    inner = LayerNode("Residual", {}, "inner", [linear("fc_i")])
    outer = LayerNode("Residual", {}, "outer", [linear("fc_o"), inner])
    lines = picture(Design(input_shape=(8,), layers=[outer]), width=60)
    texts = [line.text for line in lines]
    outer_branch, inner_branch = index(lines, "outer Residual"), index(lines, "inner Residual")
    merges = [i for i, t in enumerate(texts) if "⊕" in t]
    assert outer_branch < inner_branch < merges[0] < merges[1]
    outer_skip = texts[outer_branch].rstrip().index("┐")
    inner_skip = texts[inner_branch].rstrip().index("┐")
    assert inner_skip < outer_skip
    assert texts[inner_branch][outer_skip] == "│"  # the outer skip passes the inner branch
    assert texts[merges[0]].rstrip().index("┘") == inner_skip
    assert texts[merges[0]][outer_skip] == "│" and texts[merges[1]].rstrip().endswith("┘")
    assert max(len(t) for t in texts) <= 60


def test_layers_with_problems_are_marked_and_the_picture_fits_narrow_room():
    lines = picture(Design.load(SAMPLES / "shape_mismatch.json"), width=40)
    bad = [line for line in lines if line.mark == "problem"]
    assert bad and {line.path for line in bad} == {(3,)}
    assert any("✗ fc1" in line.text for line in bad)
    assert any(line.text.split() == ["error", "│"] for line in bad)
    assert max(len(line.text) for line in lines) <= 40
