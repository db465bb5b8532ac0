"""Textual's private API is used in one module only: a Textual upgrade is checked there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
HOME = ROOT / "widgets" / "_textual_internals.py"
PRIVATE = re.compile(
    r"(from|import)\s+textual(\.\w+)*\._\w"  # a private textual module
    r"|(?<!\w)_(refresh_layout|scroll_update|layout_required|repaint_required|dirty_widgets)\b"
    r"|\b(app|App|self\.app)\._display\b"
)


def offenders() -> list[str]:
    found = []
    for folder in ("app", "widgets", "tests", "benchmarks", "docs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == HOME or path == Path(__file__):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PRIVATE.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_textual_private_names_appear_only_in_the_internals_module():
    assert offenders() == []


def test_the_check_sees_each_kind_of_private_use():
    for line in (
        "from textual.widgets._header import HeaderTitle",
        "import textual._compositor",
        "monkeypatch.setattr(Screen, '_refresh_layout', spy)",
        "view._scroll_update(size)",
        "screen._layout_required",
        "display = app._display",
    ):
        assert PRIVATE.search(line), line
    assert HOME.exists() and PRIVATE.search(HOME.read_text())
