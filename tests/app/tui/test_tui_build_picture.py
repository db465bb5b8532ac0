"""Pilot tests of the Build screen's views: the tree on resize, the network's picture, the
design's name (save as, rename) and how warnings and unknown counts are shown."""

from __future__ import annotations

import html
import re
from collections import defaultdict

from tests.app.tui.tui_helpers import app_on, settled


def screen_rows(app) -> list[str]:
    """The screen's text row by row, from its screenshot (runs of a row joined as drawn)."""
    svg = html.unescape(app.export_screenshot())
    rows: dict[float, str] = defaultdict(str)
    for y, text in re.findall(r'<text[^>]*\by="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        rows[float(y)] += text.replace("\xa0", " ")
    return [rows[y] for y in sorted(rows)]


def row_of(app, name: str) -> str:
    return next(row for row in screen_rows(app) if f"{name} " in row)


async def test_tree_keeps_shape_and_params_columns_through_a_resize():
    app = app_on("cnn_digits")
    async with app.run_test(size=(120, 35)) as pilot:
        await settled(pilot)
        for size in ((80, 24), (120, 35), (80, 24)):
            await pilot.resize_terminal(*size)
            await settled(pilot)
            conv = row_of(app, "conv2")
            assert "(32, 4, 4)" in conv and "4,640" in conv, (size, conv)
