"""`stepgrad summary` says what an error leaves unknown, and warns of an output that misses
the dataset's classes without failing."""

from __future__ import annotations

import json

from app.cli import main
from tests.app.tui.tui_helpers import SAMPLES


def rows(out: str) -> dict[str, list[str]]:
    return {line.split()[1]: line.split() for line in out.splitlines() if len(line.split()) > 3}


def test_layers_after_an_error_have_unknown_counts_and_so_has_the_total(capsys):
    assert main(["summary", str(SAMPLES / "shape_mismatch.json")]) == 1
    out = capsys.readouterr().out
    table = rows(out)
    assert table["fc1"][-2:] == ["error", "8,256"]
    assert table["relu2"][-2:] == ["?", "?"] and table["out"][-2:] == ["?", "?"]
    assert "Total parameters: ? (an error leaves some unknown)" in out


def test_an_output_that_misses_the_classes_is_a_warning_with_status_0(tmp_path, capsys):
    data = json.loads((SAMPLES / "mlp_digits.json").read_text())
    data["layers"][-1]["args"]["out_features"] = 64
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(data))
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: the output is (64,)" in out and "training runs" in out
