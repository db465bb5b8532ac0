"""The rooms' import rules: documents and sessions need no UI library; widgets never import app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
UI_MODULES = ("textual", "rich", "plotext")


def modules_of(package: str) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in folder.rglob("*.py")
    )


def ui_modules_after_importing(modules: list[str]) -> list[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(','.join(m for m in {UI_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


def imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_model_and_sessions_import_no_ui_library():
    modules = modules_of("app.model") + modules_of("app.sessions")
    assert "app.model.analysis" in modules and "app.sessions" in modules
    assert ui_modules_after_importing(modules) == []


def test_the_ui_check_sees_a_ui_import():
    assert ui_modules_after_importing(["app.model", "textual.widget"]) == ["textual", "rich"]


def test_widgets_never_import_app():
    files = sorted((ROOT / "widgets").rglob("*.py"))
    assert len(files) > 10
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in imported_names(path)
        if name == "app" or name.startswith("app.")
    ]
    assert bad == []


def test_the_import_walk_sees_app_imports(tmp_path):
    sample = tmp_path / "w.py"
    sample.write_text("import os\nfrom app.model import design\nimport app.tui as t\n")
    assert imported_names(sample) == ["os", "app.model", "app.tui"]
