"""How the Debug screen writes values and source links."""

import io
import os

import numpy as np
from rich.console import Console

import engine.nn as nn
from app.sessions.debugging import _forward_line, source_path
from app.sessions.nodes import NodeView
from app.sessions.script_debugging import FrameView, LocalView
from app.tui.debug.view import missing_note, split_table
from app.tui.script.debug import frames_table
from engine.debug import NodeRecord, stats
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


def rendered(renderable) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_split_and_frame_tables_never_print_minus_zero():
    grad = stats(np.array([-0.0, -0.0, 0.0], dtype=np.float32))
    parent = NodeRecord(id=1, op="relu", scope="", parents=[], shape=(3,), dtype="float32")
    child = NodeRecord(id=2, op="sum", scope="", parents=[1], shape=(), dtype="float32")
    view = NodeView(record=child, reached=True, split=[(parent, grad, 1.0)])
    split, narrow_split = rendered(split_table(view)), rendered(split_table(view, 30))
    local = LocalView("h", "tensor", (3,), "float32", stats=grad)
    frame = FrameView("train.py:3", "main", "h = x", [local])
    frames, narrow = rendered(frames_table([frame])), rendered(frames_table([frame], 30))
    for text in (split, narrow_split, frames, narrow):
        assert "-0" not in text and " 0 " in text, text


def test_frames_at_a_narrow_width_give_each_tensor_two_whole_lines():
    values = stats(np.array([[-1.5, 2.25], [0.125, 3.0]], dtype=np.float32))
    local = LocalView("activations", "tensor", (2, 2), "float32", True, stats=values)
    module = LocalView("model", "module", text="LeNet(")
    frame = FrameView("train.py:9", "step", "loss.backward()", [module, local])
    console = Console(width=34, record=True, file=io.StringIO())
    console.print(frames_table([frame], 34))
    lines = console.export_text().splitlines()
    assert "…" not in "".join(lines)
    assert "activations (2, 2) float32 ∂" in lines
    body = " ".join(lines)
    for whole in ("min -1.5", "max 3", "mean 0.9688", "nan/inf 0/0"):
        assert whole in body, whole


def test_an_input_without_a_gradient_is_not_said_to_be_unreached():
    record = NodeRecord(id=0, op="input", scope="", parents=[], shape=(2, 3), dtype="float32")
    note = missing_note(NodeView(record=record, reached=True), "grad")
    assert "requires grad" in note and "not reached" not in note
