"""`stepgrad debug` on the LeNet example at 80×24 and 120×35: every number and key whole."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList

from app.tui.dialogs.help import HelpScreen
from app.tui.script.app import ScriptApp
from tests.app.tui.test_tui_debug_fit import screen_text
from tests.app.tui.test_tui_script import opened, press, text_of
from tests.app.tui.tui_helpers import ROOT
from widgets.graph_list import GraphList, compact_shape

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 35)], ids=["80x24", "120x35"])


@pytest.fixture
def lenet(monkeypatch) -> ScriptApp:
    monkeypatch.chdir(ROOT)
    return ScriptApp(Path("examples/lenet_mnist.py"))


def test_compact_shapes():
    assert compact_shape("(32, 6, 24, 24)") == "32×6×24×24"
    assert compact_shape("(64,)") == "64" and compact_shape("()") == "()"


@SIZES
async def test_gradient_norms_tabs_and_footer_show_whole(lenet, size):
    async with lenet.run_test(size=size) as pilot:
        await opened(pilot)
        await press(pilot, *"nnnn")
        graph = lenet.screen.query_one("#graph", GraphList)
        assert graph.compact == (size[0] == 80)  # LeNet's rows fit 120 columns as they are
        norms = [row.detail for row in graph.rows if row.detail]
        assert len(norms) >= 4
        shown = screen_text(lenet)
        for norm in norms:
            assert re.search(f" {re.escape(norm)} *[▕▇▆▅▄▃▂▁█]", shown), norm  # whole
        assert "fc1.weight" in shown and "model.fc1.weight" not in shown  # under its module
        assert "Value Gradient Split Update Frames" in shown
        for key in ("n Next", "c Continue", "x Next iter", "? Help", "q Quit"):
            assert key in shown, key


async def test_help_lists_the_script_keys_first_and_the_keys_that_work_everywhere(lenet):
    async with lenet.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await press(pilot, "question_mark")
        assert isinstance(lenet.screen, HelpScreen)
        keys = text_of(lenet, "HelpScreen Static:last-of-type")
        order = [keys.index(title) for title in ("Script debugger", "Debug screen", "Everywhere")]
        assert order == sorted(order), keys
        assert "screen: build" in keys and "app: quit" in keys
        assert "design: save" not in keys  # the script's app has no design to save


EVALUATES_AT_THE_END = """
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
net = nn.Linear(4, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
x, y = torch.randn(5, 4), torch.randint(0, 2, (5,))
for it in range(2):
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
with torch.no_grad():
    print("accuracy", (net(x).argmax(1) == y).float().mean().item())
"""


@pytest.mark.parametrize("key", ["e", "exclamation_mark"])
async def test_running_to_the_end_past_a_last_part_without_ops_draws_the_end(tmp_path, key):
    """After the loop, a no_grad evaluation leaves a page with no op: the graph empties, the
    inspector says so, and no error comes from the rows shown before."""
    script = tmp_path / "train.py"
    script.write_text(EVALUATES_AT_THE_END)
    app = ScriptApp(script)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await press(pilot, key)
        assert screen.session.phase == "done"
        assert "ended with exit status 0" in text_of(app, "#alert")
        assert "accuracy" in text_of(app, "#output")
        assert screen.query_one("#graph", GraphList).selected_node is None
        assert text_of(app, "#node-title").strip() == "no op recorded here"  # not a stale node


async def test_the_status_shows_a_line_breakpoint_whole_at_80_columns(lenet):
    async with lenet.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        label = screen.session.add_line_breakpoint("62")
        await press(pilot, "c")
        assert screen.session.current.phase == "forward"
        lines = screen_text(lenet).splitlines()
        status = next(line for line in lines if line.startswith(" history"))
        assert status.rstrip().endswith(f"break: {label}"), status


async def palette_prompts(pilot, query: str) -> list[str]:
    """The command palette's entries for `query`, once its search has answered."""
    await press(pilot, "ctrl+p")
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*query)
    options = pilot.app.screen.query_one(OptionList)
    for _ in range(100):  # the palette searches in a worker of its own
        await pilot.pause(0.02)
        if options.option_count:
            break
    await pilot.pause(0.1)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_the_palette_offers_the_debuggers_commands_not_a_designs(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(EVALUATES_AT_THE_END)
    app = ScriptApp(script)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        before = screen.session.current
        await press(pilot, "1")  # the model screen: the palette steps the Debug screen
        prompts = await palette_prompts(pilot, "next op")
        assert "debug: next op" in prompts[0], prompts
        await press(pilot, "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert pilot.app.screen is screen and screen.session.current is not before
        prompts = await palette_prompts(pilot, "save")
        assert not any("design:" in p or "layer:" in p for p in prompts), prompts


def test_installed_libraries_are_not_the_scripts_own_frames(tmp_path):
    import numpy

    from app.sessions.script_debugging import _is_script_code

    assert not _is_script_code(numpy.__file__)  # numpy's wrappers sit on the stack of an op
    assert not _is_script_code(threading.__file__)
    assert _is_script_code(str(tmp_path / "train.py"))


async def test_the_frames_at_an_optimizer_step_are_the_scripts_own(lenet):
    async with lenet.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await press(pilot, "s")
        assert screen.session.current.phase == "update"
        wheres = [frame.where for frame in screen.session.frames]
        assert wheres and all(w.startswith("examples/lenet_mnist.py:") for w in wheres), wheres


async def test_the_failing_node_stays_in_view_when_the_alert_opens_at_80x24(monkeypatch):
    monkeypatch.chdir(ROOT)
    app = ScriptApp(Path("examples/bug_in_features.py"))  # fc1 fails, low in a long graph
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        assert screen.session.current.phase == "error"
        await pilot.pause(0.1)
        graph = screen.query_one("#graph", GraphList)
        assert graph.selected_node == screen.session.failed_node.id
        top = graph.scroll_offset.y
        assert top <= graph.cursor_line < top + graph.scrollable_content_region.height
