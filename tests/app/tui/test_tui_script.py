"""Pilot tests of `stepgrad debug SCRIPT.py`: a person's script stepped in the Debug screen."""

from __future__ import annotations

import io
import textwrap

import pytest
from rich.console import Console
from textual.widgets import Static, Tabs

from app.tui.script.app import ScriptApp
from app.tui.script.debug import ScriptDebugScreen
from app.tui.script.model import ScriptModelScreen
from widgets.graph_list import GraphList

SIZE = (120, 36)
WORKER_KEYS = {"c", "x", "s", "e", "m", "exclamation_mark", "o", "u", "t", "r"}

SCRIPT = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, FEATURES)
            self.fc2 = nn.Linear(8, 2)

        def forward(self, x):
            h = F.relu(self.fc1(x))
            return self.fc2(h)


    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(5, 4), torch.randint(0, 2, (5,))
    for it in range(3):
        opt.zero_grad()
        out = net(x)
        scale = 0.0 if it == BAD else 1.0
        loss = F.cross_entropy(out, y) + torch.log(out.abs().sum() * scale) * 0.001
        loss.backward()
        opt.step()
        print("iteration", it, "loss", loss.item())
"""


def write(tmp_path, features: int = 8, bad: int = 99):
    path = tmp_path / "train.py"
    text = textwrap.dedent(SCRIPT).replace("FEATURES", str(features)).replace("BAD", str(bad))
    path.write_text(text)
    return path


def line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        if key in WORKER_KEYS:
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def opened(pilot) -> ScriptDebugScreen:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ScriptDebugScreen) and screen.session is not None
    return screen


def text_of(app, selector: str) -> str:
    """What a Static shows, as plain text (tables and groups rendered as on a wide screen)."""
    content = app.screen.query_one(selector, Static).content
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


async def test_it_opens_at_the_first_backward_and_steps_back_through_the_module(tmp_path):
    path = write(tmp_path)
    app = ScriptApp(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        session = screen.session
        assert session.current.phase == "backward" and session.current.node.op == "add"
        graph = app.screen.query_one("#graph", GraphList)
        ops = {r.op for r in graph.rows}
        assert {"linear", "relu", "log_softmax", "nll_loss"} <= ops
        assert "iteration 1" in text_of(app, "#status")
        # backward through the user's module: each n reaches one more node, down to fc1
        reached = []
        while ("backward", "net.fc1") not in reached and len(reached) < 12:
            await press(pilot, "n")
            event = session.current
            reached.append((event.phase, event.node.scope))
        assert ("backward", "net.fc2") in reached and ("backward", "net.fc1") in reached
        assert {phase for phase, _ in reached} == {"backward"}
        assert app.screen.query_one("#tabs", Tabs).active == "grad"
        fc1 = next(r for r in session.trace.nodes if r.op == "linear" and r.scope == "net.fc1")
        assert session.view(fc1.id).grad_stats is not None
        title = text_of(app, "#node-title")
        assert "train.py" in title


async def test_iterations_are_pages_and_one_key_moves_between_them(tmp_path):
    app = ScriptApp(write(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await press(pilot, "x")
        assert screen.session.iteration == 2 and screen.session.current.phase == "backward"
        assert "iteration 2" in text_of(app, "#status")
        assert "iteration 0 loss" in text_of(app, "#output")  # the script's print, in the panel
        await press(pilot, "less_than_sign")
        assert screen.session.iteration == 1 and "looking back" in text_of(app, "#status")
        await press(pilot, "greater_than_sign")
        assert screen.session.iteration == 2 and screen.session.page is None
        await press(pilot, "s")
        assert screen.session.current.phase == "update"
        await press(pilot, "1")
        assert isinstance(app.screen, ScriptModelScreen)
        table = text_of(app, "#model-table")
        assert "fc1" in table and "Linear(in_features=4, out_features=8" in table
        assert "(5, 8)" in table and "58" in table  # fc1's output and its 4*8+8+... parameters


async def test_an_exception_stops_there_with_the_report_and_the_frames(tmp_path):
    path = write(tmp_path, features=6)
    app = ScriptApp(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        assert screen.session.current.phase == "error"
        alert = text_of(app, "#alert")
        assert f"train.py:{line_of(path, 'return self.fc2(h)')}: linear" in alert
        assert "(5, 6)" in alert
        graph = app.screen.query_one("#graph", GraphList)
        assert graph.selected_node == screen.session.failed_node.id
        await press(pilot, "f")
        frames = text_of(app, "#frames")
        assert "in forward" in frames and "(5, 6)" in frames and "<module>" in frames
        await press(pilot, "q")
    assert app.return_value == 1  # the script's exit status


async def test_it_runs_to_the_first_nan_and_quitting_stops_the_script(tmp_path):
    path = write(tmp_path, bad=1)
    app = ScriptApp(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await press(pilot, "exclamation_mark")
        event = screen.session.current
        assert event.phase == "forward" and event.node.op == "log"
        assert screen.session.iteration == 2
        assert event.node.source.endswith(f":{line_of(path, 'torch.log(')}")
        thread = screen.session.stepper._thread
        await press(pilot, "q")
    thread.join(10)
    assert not thread.is_alive()


async def test_a_line_breakpoint_from_the_prompt(tmp_path):
    path = write(tmp_path)
    app = ScriptApp(path)
    line = line_of(path, "h = F.relu(self.fc1(x))")
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await press(pilot, "l")
        await pilot.press(*str(line), "enter")
        await pilot.pause()
        assert "train.py:" + str(line) in text_of(app, "#status")
        await press(pilot, "c")
        event = screen.session.current
        assert event.phase == "forward" and event.node.source.endswith(f":{line}")
        assert screen.session.iteration == 2


@pytest.mark.parametrize("args", [[], ["--nope"]])
def test_the_command_line_refuses_what_it_cannot_open(args, tmp_path):
    from app.cli import main

    assert main(["debug", *args]) == 2
    assert main(["debug", str(tmp_path / "missing.py")]) == 2


async def test_c_pauses_a_script_that_runs_on_its_own(tmp_path):
    path = tmp_path / "forever.py"
    path.write_text(
        "import torch\nw = torch.ones(3, requires_grad=True)\n"
        "while True:\n    (w * 2).sum().backward()\n"
    )
    app = ScriptApp(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("c")  # no breakpoint: it would run forever
        while screen.session.stepper.backward_calls < 20:
            await pilot.pause(0.01)
        assert screen.busy and "running" in text_of(app, "#status")
        await press(pilot, "c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.busy and screen.session.current.phase in ("forward", "backward")
        calls = screen.session.stepper.backward_calls
        await pilot.pause(0.2)
        assert screen.session.stepper.backward_calls == calls  # it holds
        await press(pilot, "q")


async def test_help_lists_the_script_keys_and_2_says_why_there_is_no_train_screen(tmp_path):
    from app.tui.dialogs.help import HelpScreen

    app = ScriptApp(write(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await press(pilot, "2")
        assert isinstance(app.screen, ScriptDebugScreen)
        assert any("Train screen is for designs" in str(n.message) for n in app._notifications)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = text_of(app, "HelpScreen Static:last-of-type")
        assert "run to the next backward()" in keys and "break at FILE:LINE" in keys
        await press(pilot, "escape", "q")
