"""ScriptDebugSession: a person's script stepped through its whole run, a page per iteration."""

from __future__ import annotations

import sys
import textwrap
import threading
import time

import pytest

from app.sessions import script_debugging
from app.sessions.script_debugging import ScriptDebugSession

NET = """
    import sys
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(FEATURES, 3)

        def forward(self, x):
            x = F.relu(self.conv(x))
            if x.shape[0] > 4:  # a graph that changes with the batch
                x = x * 2
            x = x.view(x.size(0), -1)
            return self.fc(x)


    torch.manual_seed(0)
    data = TensorDataset(torch.randn(10, 1, 6, 6), torch.randint(0, 3, (10,)))
    net = Net()
    criterion = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for inputs, labels in DataLoader(data, batch_size=6):
        opt.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        opt.step()
        print("loss", round(loss.item(), 4))
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


def script(tmp_path, text: str = NET, features: int = 64, name: str = "net.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).replace("FEATURES", str(features)))
    return path


def line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def session_on():
    made = []

    def make(path, args=()):
        session = ScriptDebugSession(path, list(args))
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def test_it_stops_at_the_first_backward_with_the_forward_graph_recorded(tmp_path, session_on):
    path = script(tmp_path)
    session = session_on(path)
    event = session.start()
    assert event.phase == "backward" and event.node.op == "nll_loss"
    assert session.iteration == 1 and session.stepper.backward_calls == 1
    ops = [r for r in session.trace.nodes if not r.is_leaf]
    # the DataLoader's stacking and the dataset's indexing are not part of the graph
    assert ops[0].op == "conv2d" and ops[0].scope == "net.conv"
    assert ops[0].source == f"{path}:{line_of(path, 'F.relu(self.conv(x))')}"
    mul = next(r for r in ops if r.op == "mul")
    assert mul.scope == "net" and mul.source.endswith(f":{line_of(path, 'x = x * 2')}")
    names = {r.name for r in session.trace.nodes if r.op == "parameter"}
    assert names == {"net.conv.weight", "net.conv.bias", "net.fc.weight", "net.fc.bias"}
    assert [r.name for r in session.module_rows()] == ["net", "net.conv", "net.fc", "criterion"]
    fc = next(r for r in session.module_rows() if r.name == "net.fc")
    assert (fc.shape, fc.params) == ("(6, 3)", 64 * 3 + 3)
    frame = session.frames[0]
    assert frame.where.endswith(f"net.py:{line_of(path, 'loss.backward()')}")
    tensors = {v.name: v for v in frame.locals if v.kind == "tensor"}
    assert tensors["inputs"].shape == (6, 1, 6, 6) and tensors["outputs"].shape == (6, 3)
    assert tensors["loss"].stats.count == 1


def test_steps_through_backward_update_and_later_iterations(tmp_path, session_on):
    session = session_on(script(tmp_path))
    session.start()
    seen = [session.step() for _ in range(3)]
    assert all(e.phase == "backward" for e in seen)
    assert session.view(seen[-1].node.id).grad_stats is not None
    update = session.run_to_update()
    assert update.phase == "update" and update.node.name.startswith("net.")
    second = session.run_to_backward()
    assert second.phase == "backward" and session.iteration == 2
    assert session.iterations == [1, 2]
    # the second batch has 4 samples: no `x * 2` in its graph, which the first page keeps
    assert "mul" not in {r.op for r in session.trace.nodes}
    assert session.show_iteration(-1) == 1
    assert "mul" in {r.op for r in session.trace.nodes}
    assert session.view(0).value_stats is not None  # an earlier page keeps its statistics
    assert session.show_iteration(1) == 2 and session.page is None
    done = session.resume()
    assert done.phase == "done" and session.stepper.exit_status == 0
    assert session.output == ["loss 1.1335", "loss 1.1209"] or len(session.output) == 2


def test_exit_status_and_argv_are_the_scripts(tmp_path, session_on):
    session = session_on(script(tmp_path), ["3"])
    assert session.run_to_error().phase == "done"
    assert session.stepper.exit_status == 3
    assert sys.argv[0] != str(tmp_path / "net.py")  # the app's own argv is given back


def test_a_failure_stops_with_the_report_the_partial_graph_and_the_frames(tmp_path, session_on):
    path = script(tmp_path, features=10)
    session = session_on(path)
    event = session.start()
    assert event.phase == "error" and session.stepper.exit_status == 1
    assert session.failed_node.op == "linear" and session.failed_node.scope == "net.fc"
    report = session.report.text()
    where, op = report.split(": ")[:2]
    assert where.endswith(f"{path.name}:{line_of(path, 'return self.fc(x)')}") and op == "linear"
    assert "(6, 64)" in report
    frames = session.frames
    assert [f.function for f in frames] == ["forward", "<module>"]
    assert {v.name for v in frames[0].locals} >= {"self", "x"}


def test_it_runs_to_the_op_that_made_the_first_nan(tmp_path, session_on):
    text = """
        import torch
        w = torch.ones(3, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        for step in range(4):
            opt.zero_grad()
            p = torch.sigmoid(w) * (0 if step == 2 else 1)
            loss = -torch.log(p).sum()
            loss.backward()
            opt.step()
            print(step, loss.item())
    """
    path = script(tmp_path, text, name="nan.py")
    session = session_on(path)
    event = session.run_to_nonfinite()
    assert event.phase == "forward" and event.node.op == "log"
    assert session.iteration == 3 and event.node.source.endswith(
        f":{line_of(path, 'torch.log(p)')}"
    )
    assert (
        session.output[:2] == ["0 2.9610517024993896", "1 2.8289663791656494"]
        or len(session.output) == 2
    )


def test_line_and_module_breakpoints(tmp_path, session_on):
    path = script(tmp_path)
    session = session_on(path)
    line = line_of(path, "x = x.view(x.size(0), -1)")
    assert session.add_line_breakpoint(f"net.py:{line}") == f"net.py:{line}"
    event = session.resume()
    assert event.phase == "forward" and event.node.op in ("reshape", "view")
    assert event.node.source.endswith(f":{line}")
    session.breakpoints.specs.clear()
    session.breakpoints.apply()
    event = session.run_to_module("criterion")
    assert event.node.scope == "criterion" and event.node.op == "log_softmax"
    event = session.run_to_module("net.fc")  # the next call: the second iteration's
    assert event.node.scope == "net.fc" and session.iteration == 2
    with pytest.raises(ValueError, match="FILE:LINE"):
        session.add_line_breakpoint("net.py")


def test_memory_stays_bounded_over_many_iterations(tmp_path, session_on, monkeypatch):
    text = """
        import torch
        w = torch.ones(50, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.01)
        for step in range(400):
            opt.zero_grad()
            loss = (w * w).sum() + (w + 1).mean()
            loss.backward()
            opt.step()
    """
    monkeypatch.setattr(script_debugging, "MAX_KEPT_NODES", 100)
    session = session_on(script(tmp_path, text, name="long.py"))
    assert session.resume().phase == "done"
    stepper = session.stepper
    assert stepper.iteration == 400 and stepper.backward_calls == 400
    assert sum(len(p.trace.nodes) for p in stepper.pages) <= 100 + 10
    assert stepper.pages_dropped > 350
    assert all(e.output is None for p in stepper.pages for e in p.history)


def test_closing_stops_the_script_and_gives_stdout_back(tmp_path, session_on):
    text = """
        import torch
        w = torch.ones(3, requires_grad=True)
        while True:
            (w * 2).sum().backward()
    """
    before = sys.stdout
    session = session_on(script(tmp_path, text, name="forever.py"))
    session.start()
    assert sys.stdout is not before
    thread = session.stepper._thread
    session.close()
    deadline = time.monotonic() + 10
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not thread.is_alive() and sys.stdout is before
    assert threading.active_count() >= 1


def test_a_custom_function_is_one_node_and_backward_hooks_stay_out_of_the_graph(
    tmp_path, session_on
):
    text = """
        import torch
        import torch.nn as nn


        class Clip(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.clamp(min=0)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * (x > 0).float()


        lin = nn.Linear(3, 2)
        for step in range(2):
            h = lin(torch.randn(4, 3))
            h.register_hook(lambda g: g * 2)
            Clip.apply(h).sum().backward()
    """
    path = script(tmp_path, text, name="custom.py")
    session = session_on(path)
    session.start()
    ops = [r.op for r in session.trace.nodes if not r.is_leaf]
    assert ops == ["linear", "Clip", "sum"]
    clip = next(r for r in session.trace.nodes if r.op == "Clip")
    assert clip.source.endswith(f":{line_of(path, 'Clip.apply(h)')}")
    events = []
    while (event := session.step()).phase == "backward":
        events.append(event.node.op)
    assert events == ["Clip", "linear"]  # the hook's and the custom backward's ops are not nodes
    assert clip.grad_stats is not None and clip.grad_stats.count == 8
    assert session.resume().phase == "done" and session.stepper.backward_calls == 2


def test_an_op_given_a_tuple_fails_as_it_would_unrecorded(tmp_path, session_on):
    text = """
        import torch
        import torch.nn.functional as F
        x = torch.randn(3, 4, requires_grad=True)
        y = F.relu(torch.max(x, 1))
    """
    path = script(tmp_path, text, name="pair.py")
    session = session_on(path)
    event = session.start()
    assert event.phase == "error" and isinstance(event.error, TypeError)
    assert session.failed_node.op == "relu"
    assert "take .values" in session.report.text()


def test_restart_runs_the_script_again_from_its_start(tmp_path, session_on):
    session = session_on(script(tmp_path))
    session.start()
    old = session.stepper
    session.run_to_backward()
    assert session.iteration == 2 and len(session.output) == 1
    event = session.restart()
    assert session.stepper is not old and event.phase == "backward"
    assert session.iteration == 1 and session.output == []
    old._thread.join(10)
    assert not old._thread.is_alive()
    assert session.resume().phase == "done" and len(session.output) == 2


def test_the_output_panel_keeps_what_a_progress_bar_last_drew(tmp_path, session_on):
    text = """
        import sys
        for i in range(3):
            sys.stderr.write(f"\\rstep {i}/3")
        print()
        print("a", "b", end="")
        print("c")
    """
    session = session_on(script(tmp_path, text, name="bar.py"))
    assert session.resume().phase == "done"
    assert session.output == ["step 2/3", "a bc"]


def test_values_are_kept_for_the_iteration_it_stops_in_and_never_shown_wrong(tmp_path, session_on):
    text = """
        import torch
        w = torch.ones(4, requires_grad=True)
        for step in range(3):
            h = w * (step + 1.0)
            g = h - 10
            g.relu_()  # changes g in place after the op that made it
            (h.sum() + g.sum()).backward()
    """
    session = session_on(script(tmp_path, text, name="inplace.py"))
    session.run_to_backward()
    session.run_to_backward()  # the second iteration: its forward ran without a stop
    assert session.iteration == 2
    events = {e.node.op: e for e in session.stepper.history if e.phase == "forward"}
    assert (events["mul"].output == 2.0).all()  # kept: nothing changed it
    sub = events["sub"]
    assert sub.output is None and sub.dropped  # relu_ changed it: not shown as -8
    assert sub.node.value_stats.max == -8.0  # its statistics are those of the op's result
    first = session.stepper.pages[0]
    assert all(e.output is None for e in first.history)  # an earlier page: statistics only


def test_input_in_the_script_reads_an_empty_stream_not_the_apps_terminal(tmp_path, session_on):
    path = script(tmp_path, "answer = input('continue? ')\n", name="ask.py")
    before = sys.stdin
    session = session_on(path)
    event = session.start()
    assert event.phase == "error" and isinstance(event.error, EOFError)
    assert session.output == ["continue? "]
    session.close()
    assert sys.stdin is before


def test_an_iteration_is_a_page_from_its_forward_to_what_follows_its_step(tmp_path, session_on):
    text = """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        table = [torch.arange(5).sum() % 2 for _ in range(50)]  # building data: no graph
        model = nn.Linear(3, 2)
        w = torch.zeros(2, requires_grad=True)  # a parameter used outside any module
        opt = torch.optim.SGD([*model.parameters(), w], lr=0.1)
        x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
        for step in range(3):
            opt.zero_grad()
            out = model(x) + w
            F.cross_entropy(out, y).backward()
            opt.step()
            confidence = out.softmax(1).max()  # after the step: still this iteration
        scale = w * 2  # an op on a parameter after the last step: a page of its own
    """
    session = session_on(script(tmp_path, text, name="pages.py"))
    assert session.resume().phase == "done"
    pages = [*session.stepper.pages, session.stepper]
    ops = [[r.op for r in p.trace.nodes if not r.is_leaf] for p in pages]
    assert ops[0][:4] == ["linear", "add", "log_softmax", "nll_loss"]
    assert ops[0][4:] == ["softmax", "max"]
    assert ops[1] == ops[0] and ops[2] == ops[0]
    assert ops[3] == ["mul"] and session.stepper.iteration == 4
