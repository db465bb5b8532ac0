"""The Debug screen at 80×24 and 120×35: the inspector's numbers, labels and titles whole."""

from __future__ import annotations

import html
import re

import pytest

from tests.app.tui.test_tui_debug import graph, open_debug, press
from tests.app.tui.tui_helpers import app_on, settled
from widgets.histogram import Histogram

CELL_PX = 12.2  # the width of a cell in Textual's screenshots
SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 35)], ids=["80x24", "120x35"])


def screen_text(app) -> str:
    """What the terminal shows, as plain text, line by line."""
    rows: dict[float, list[tuple[float, str]]] = {}
    svg = app.export_screenshot()
    for x, y, text in re.findall(r'<text[^>]* x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        rows.setdefault(float(y), []).append((float(x), html.unescape(text).replace("\xa0", " ")))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            column = round(x / CELL_PX)
            line = line.ljust(column)[:column] + text
        lines.append(line)
    return "\n".join(lines)


async def conv_gradient(pilot):
    """cnn_digits stepped back through its first convolution, that node selected: 32,768
    gradient values."""
    screen = await open_debug(pilot)
    conv = next(r for r in screen.session.trace.nodes if r.op == "conv2d")
    while screen.session.view(conv.id).grad_stats is None:
        await press(pilot, "n")
    graph(pilot.app).select(conv.id)
    await settled(pilot)
    return screen, conv


@SIZES
async def test_a_histogram_of_thousands_shows_with_whole_labels(size, tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=size) as pilot:
        screen, conv = await conv_gradient(pilot)
        histogram = screen.query_one(Histogram)
        assert histogram.display and histogram.size.width >= 20, histogram.size
        lines = [histogram.render_line(y).text for y in range(histogram.size.height)]
        label = lines[0].split("┤")[0].strip()
        assert re.fullmatch(r"\d{1,3}|\d\.\dk|\d{2,3}k", label), lines[0]
        axis = lines[-1].split()
        assert len(axis) >= 2 and all(re.fullmatch(r"-?[\d.]+(e[-+]\d+)?", a) for a in axis)
        shown = screen_text(app)
        assert lines[0].strip() in shown  # on screen, not under another widget


@SIZES
async def test_every_statistic_and_the_node_title_show_whole(size, tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=size) as pilot:
        await conv_gradient(pilot)
        shown = screen_text(app)
        for whole in ("count 32,768", "zeros 0.0%", "NaN 0  Inf 0", "norm  0.21"):
            assert whole in shown, whole
        title = ("#3 conv2d in conv1", "layer conv1: Conv2d(", "engine/nn/conv.py:", "inputs:")
        for start in title:
            assert start in shown, start  # each on its own line, none wrapped off the title


async def test_every_footer_key_shows_whole_at_80_columns(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_debug(pilot)
        footer = screen_text(app).splitlines()[-1]
        for key in ("n Next", "c Continue", "b Break", "! Find NaN", "? Help", "q Quit"):
            assert key in footer, footer  # the screen's keys; app keys may give way to them


async def test_the_split_tab_at_80_columns_keeps_each_number_whole(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, conv = await conv_gradient(pilot)
        relu = next(r for r in screen.session.trace.nodes if r.op == "relu")
        graph(app).select(relu.id)
        await press(pilot, "v")  # from Gradient
        assert screen.query_one("#tabs").active == "split"
        inspector = [line.split("▕", 1)[1] for line in screen_text(app).splitlines() if "▕" in line]
        tabs = next(i for i, line in enumerate(inspector) if line.startswith("Value Gradient"))
        below_tabs = "\n".join(inspector[tabs + 1 :])
        assert "‖grad‖ " in below_tabs and "share 100%" in below_tabs, below_tabs
        assert "…" not in below_tabs, below_tabs
