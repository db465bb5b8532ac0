"""How the Debug screen writes values and source links."""

import os

import numpy as np

import engine.nn as nn
from app.sessions.debugging import _forward_line, source_path
from widgets.raw_table import RawTable


def test_engine_source_links_start_at_the_engine_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _forward_line(nn.Linear)
    assert line.startswith("engine/nn/linear.py:"), line
    assert ".." not in line


def test_other_files_stay_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert source_path(str(tmp_path / "train.py")) == "train.py"
    assert source_path(os.path.join("sub", "a.py")) == os.path.join("sub", "a.py")


def test_raw_values_never_print_minus_zero():
    table = RawTable(4, 4)
    table.show(np.array([[-0.0, 0.0], [-1.5, 2.0]]))
    texts = [text for line in table._texts[1:] for text in line]
    assert texts == ["0", "0", "-1.5", "2"]
