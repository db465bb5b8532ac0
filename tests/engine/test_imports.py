"""The engine imports without pulling in the terminal UI libraries."""

from __future__ import annotations

import subprocess
import sys

UI_MODULES = ("textual", "rich", "plotext")


def test_engine_imports_no_ui_libraries():
    code = (
        "import sys, engine, engine.nn.functional; "
        f"print(','.join(m for m in {UI_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"engine imports UI modules: {result.stdout.strip()}"


def test_engine_import_does_not_need_cupy():
    code = "import sys, engine, engine.nn.functional; print('cupy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", "importing engine imports cupy eagerly"
