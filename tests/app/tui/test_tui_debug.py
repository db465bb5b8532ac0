"""Pilot tests of the Debug screen: stepping, breakpoints, history, anomalies and diagnoses."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
import threading
import time

import numpy as np
import pytest
from textual.widgets import Input, OptionList, Tabs

import engine
from app.sessions.debugging import DebugSession
from app.sessions.nodes import Group, NodeView
from app.sessions.setup import loss_target, make_loss
from app.tui.actions import ACTION_BY_ID
from app.tui.app import editor_from_sample
from app.tui.build.screen import BuildScreen
from app.tui.debug.screen import DebugScreen
from app.tui.debug.view import describe_event, group_label, missing_note
from app.tui.dialogs.choose import ChooseScreen
from app.tui.dialogs.help import HelpScreen
from app.tui.dialogs.prompt import PromptScreen
from engine import debug
from engine.debug import NodeRecord
from tests.app.tui.tui_helpers import app_on
from widgets.graph_list import BREAKPOINT, GraphList
from widgets.tensor_inspector import TensorInspector

SIZE = (120, 36)
MAX_STEPS = 100  # far more than any sample's pass has: a key that stops stepping fails, not hangs
WORKER_KEYS = {"c", "exclamation_mark", "space", "o", "u", "t", "r"}  # moves run in a worker


# ----- driving the app --------------------------------------------------------------------
async def press(pilot, *keys: str) -> None:
    """Press `keys` one by one; after one that starts a worker, wait for it and the redraw."""
    app = pilot.app
    for key in keys:
        await pilot.press(key)
        if key in WORKER_KEYS:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
        if key == "space":  # the Train screen: wait for the run to end and its last report
            deadline = time.monotonic() + 30
            while not app.screen.finished.is_set():
                assert time.monotonic() < deadline, "training did not end"
                await asyncio.sleep(0.01)
            await app.workers.wait_for_complete()
            await pilot.pause()
    await pilot.pause()


async def open_debug(pilot) -> DebugScreen:
    await press(pilot, "3")
    screen = pilot.app.screen
    assert isinstance(screen, DebugScreen) and screen.session is not None
    return screen


async def select(pilot, node: int) -> None:
    """Put the graph's cursor on `node`, as the arrow keys would, and let the inspector follow."""
    graph(pilot.app).select(node)
    await pilot.pause()
    assert graph(pilot.app).selected_node == node


async def step_until(pilot, phase: str) -> list[str]:
    """Press n until the session is in `phase`; the phases seen, one per press."""
    session = pilot.app.screen.session
    seen = []
    for _ in range(MAX_STEPS):
        await pilot.press("n")
        seen.append(session.phase)
        if session.phase == phase:
            await pilot.pause()
            return seen
    raise AssertionError(f"no {phase!r} after {MAX_STEPS} presses of n: {seen[-5:]}")


async def show_tab(pilot, tab: str) -> None:
    """Press v until the inspector's tab `tab` is active."""
    tabs = pilot.app.screen.query_one("#tabs", Tabs)
    for _ in range(len(tabs.query("Tab"))):
        if tabs.active == tab:
            return
        await press(pilot, "v")
    assert tabs.active == tab


# ----- reading the screen -----------------------------------------------------------------
def graph(app) -> GraphList:
    return app.screen.query_one("#graph", GraphList)


def inspector(app) -> TensorInspector:
    return app.screen.query_one("#tensor", TensorInspector)


def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def shown(app, selector: str) -> str:
    """What a box shows, or "" when it is hidden."""
    widget = app.screen.query_one(selector)
    return str(widget.render()) if widget.display else ""


def on_screen(app) -> str:
    """Every piece of text the screen draws now, from its screenshot, runs joined by spaces."""
    svg = html.unescape(app.export_screenshot())
    return " ".join(re.findall(r">([^<>]*)</text>", svg)).replace("\xa0", " ")


def status_phase(app) -> str:
    """The phase the status line starts with."""
    return text(app, "#status").split()[0]


def label_of(app, key) -> str:
    """The plain text of the graph row (node id) or group (path) `key`."""
    pending = list(graph(app).root.children)
    while pending:
        tree_node = pending.pop()
        if tree_node.data == key:
            return str(tree_node.label)
        pending.extend(tree_node.children)
    raise AssertionError(f"no row for {key!r}")


def glyph_of(app, node: int) -> str:
    return next(row.glyph for row in graph(app).rows if row.node == node)


def node_id(session, op: str, scope: str | None = None) -> int:
    """The id of the one node with this op (and exact scope, when given)."""
    found = [
        r.id for r in session.trace.nodes if r.op == op and (scope is None or r.scope == scope)
    ]
    assert len(found) == 1, found
    return found[0]


def reference_grads(session) -> dict[str, np.ndarray]:
    """Each parameter's gradient from a forward and backward pass done apart from the app."""
    settings = session.design.training
    engine.manual_seed(int(settings["seed"]))
    model = session.design.build()
    model.train()
    engine.set_rng_state(session.batch.rng_state)
    out = model(session.batch.inputs)
    name = settings["loss"]
    loss = make_loss(name)(out, loss_target(name, out, session.batch.targets))
    loss.backward()
    return {n: p.grad.numpy().copy() for n, p in model.named_parameters()}


async def answer_condition(pilot, kind: str, limit: str | None = None) -> None:
    """Press B, choose `kind` in the list that opens and, for a norm, type `limit`."""
    app = pilot.app
    await press(pilot, "B")
    assert isinstance(app.screen, ChooseScreen)
    options = app.screen.query_one(OptionList)
    options.highlighted = options.get_option_index(kind)
    await press(pilot, "enter")
    if limit is not None:
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = limit
        await press(pilot, "enter")
    assert isinstance(app.screen, DebugScreen)


async def debug_bad_batch(pilot) -> DebugScreen:
    """exploding_lr trained to its non-finite loss, then the Debug screen on that batch."""
    app = pilot.app
    await press(pilot, "2", "space")
    assert app.screen.session.status == "nonfinite"
    assert (
        app.state.bad_batch is not None and app.state.bad_batch.batch == 4
    )  # batch 5, counted from 1
    screen = await open_debug(pilot)
    assert "the batch training stopped on (epoch 1, batch 5)" in text(app, "#status")
    return screen


# ----- the tests --------------------------------------------------------------------------
class TestStepping:
    async def test_n_walks_forward_backward_update_to_done(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            session = screen.session
            assert status_phase(app) == "ready"
            order = ["forward", "backward", "update", "done"]
            seen = []
            for _ in range(MAX_STEPS):
                await pilot.press("n")
                phase = status_phase(app)
                assert phase == session.phase
                if phase == "backward":
                    assert screen.query_one("#tabs", Tabs).active == "grad"
                    assert graph(app).current == session.current.node.id
                seen.append(phase)
                if phase == "done":
                    break
            assert seen[-1] == "done" and seen.count("done") == 1
            ranks = [order.index(p) for p in seen]
            assert ranks == sorted(ranks) and set(seen) == set(order)
            assert "the pass is complete" in text(app, "#status")

            await show_tab(pilot, "grad")
            expected = reference_grads(session)
            params = [r for r in session.trace.nodes if r.op == "parameter"]
            assert {r.name for r in params} == set(expected)
            for rec in params:
                await select(pilot, rec.id)
                assert rec.name in text(app, "#node-title")
                shown_grad = inspector(app).array
                assert shown_grad is not None, rec.name
                np.testing.assert_allclose(shown_grad, expected[rec.name], rtol=1e-5)


class TestBreakpoints:
    async def test_b_on_a_node_marks_it_and_c_stops_there_until_cleared(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            target = node_id(screen.session, "linear", "out")
            await select(pilot, target)
            assert not label_of(app, target).startswith(BREAKPOINT[0])
            await press(pilot, "b")
            assert label_of(app, target).startswith(BREAKPOINT[0])
            assert f"break: #{target}" in text(app, "#status")
            await press(pilot, "c")
            assert graph(app).current == target
            assert status_phase(app) == "forward"
            assert f"#{target} linear in out" in text(app, "#status")
            await press(pilot, "b")  # the cursor followed the stepper onto the node
            assert not label_of(app, target).startswith(BREAKPOINT[0])
            assert "breakpoints" not in text(app, "#status")
            await press(pilot, "c")
            assert status_phase(app) == "done"

    async def test_b_on_a_module_group_stops_at_its_first_op(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            session = screen.session
            await select(pilot, node_id(session, "parameter", "out.weight"))
            await press(pilot, "up")  # from the module's first row onto the module itself
            group = ("out Linear",)
            assert graph(app).selected_group == group
            await press(pilot, "b")
            assert session.breakpoints.scopes == {"out"}
            assert BREAKPOINT[0] in label_of(app, group)
            assert "break: out" in text(app, "#status")
            await press(pilot, "c")
            assert graph(app).current == node_id(session, "linear", "out")
            assert "linear in out" in text(app, "#status")

    async def test_norm_condition_stops_at_the_first_norm_above_the_limit(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            await answer_condition(pilot, "norm", "30")
            assert "break: norm > 30" in text(app, "#status")
            await press(pilot, "c")
            event = screen.session.current
            assert event is not None and event.index > 0, "30 should let some events through"
            assert debug.event_stats(event).norm > 30
            earlier = screen.session.stepper.history[: event.index]
            assert all(debug.event_stats(e).norm <= 30 for e in earlier)
            assert graph(app).current == event.node.id
            assert status_phase(app) == event.phase

    @pytest.mark.filterwarnings("ignore::RuntimeWarning")
    async def test_nonfinite_condition_stops_at_the_first_nan_or_inf(self, tmp_path):
        app = app_on("exploding_lr", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await debug_bad_batch(pilot)
            await answer_condition(pilot, "nonfinite")
            assert "break: NaN/Inf" in text(app, "#status")
            await press(pilot, "c")
            session = screen.session
            failing = node_id(session, "linear", "out")
            assert graph(app).current == failing
            assert (session.phase, session.current.node.id) == ("forward", failing)
            assert glyph_of(app, failing) == "nonfinite"
            assert inspector(app).array is not None
            assert not np.isfinite(inspector(app).array).all()


class TestHistory:
    async def test_left_looks_back_and_right_comes_back_then_steps(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            session = screen.session
            await press(pilot, "n", "n", "n", "n")
            history = session.stepper.history
            assert len(history) == 4 and "event 4/4" in text(app, "#status")
            relu = node_id(session, "relu", "relu1")
            assert glyph_of(app, relu) == "ok"
            await press(pilot, "left", "left")
            assert "event 2/4 (history)" in text(app, "#status")
            assert graph(app).current == history[1].node.id == node_id(session, "linear", "fc1")
            assert glyph_of(app, relu) == ""  # the graph as it was: relu1 has not run yet
            assert len(session.stepper.history) == 4  # nothing was re-run
            await press(pilot, "right", "right")
            status = text(app, "#status")
            assert "event 4/4" in status and "(history)" not in status
            assert graph(app).current == history[3].node.id
            await press(pilot, "right")
            assert len(session.stepper.history) == 5 and "event 5/5" in text(app, "#status")


class TestRestart:
    async def test_r_goes_back_to_ready_and_keeps_the_breakpoints(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            session = screen.session
            relu = node_id(session, "relu", "relu1")
            await select(pilot, relu)
            await press(pilot, "b", "n", "n", "n")
            assert session.stepper.history
            await press(pilot, "r")
            assert status_phase(app) == "ready" and "event" not in text(app, "#status")
            assert session.stepper.history == [] and session.current is None
            assert session.breakpoints.nodes == {relu}
            assert label_of(app, relu).startswith(BREAKPOINT[0])
            assert f"break: #{relu}" in text(app, "#status")
            await press(pilot, "c")
            assert graph(app).current == relu and status_phase(app) == "forward"


class TestAnomaly:
    @pytest.mark.filterwarnings("ignore::RuntimeWarning")
    async def test_bang_jumps_to_the_op_that_first_made_inf(self, tmp_path):
        app = app_on("exploding_lr", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await debug_bad_batch(pilot)
            await press(pilot, "exclamation_mark")
            alert = shown(app, "#alert")
            for word in ("linear", "out", "Inf"):
                assert re.search(rf"\b{word}\b", alert), (word, alert)
            failing = node_id(screen.session, "linear", "out")
            assert graph(app).current == failing
            assert status_phase(app) == "forward"
            assert glyph_of(app, failing) == "nonfinite"


class TestPartialGraph:
    async def test_shape_mismatch_shows_the_graph_up_to_the_failing_op(self, tmp_path):
        app = app_on("shape_mismatch", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            alert = shown(app, "#alert")
            assert "(32, 8, 4, 4)" in alert and "(*, 128)" in alert
            failing = node_id(screen.session, "linear", "fc1")
            rows = graph(app).rows
            assert rows[-1].node == failing  # nothing after the op that failed
            assert [r.node for r in rows if r.glyph == "error"] == [failing]
            assert graph(app).selected_node == failing
            assert "(*, 128)" in text(app, "#node-title")

            phases = await step_until(pilot, "error")
            assert set(phases) == {"forward", "error"}
            assert status_phase(app) == "error"
            assert graph(app).current == failing
            await press(pilot, "n")  # past the end: stays on the error
            assert status_phase(app) == "error"

            await press(pilot, "1")
            assert isinstance(app.screen, BuildScreen)
            await press(pilot, "3")
            assert app.screen is screen and screen.session is not None
            assert status_phase(app) == "error" and shown(app, "#alert")
            await press(pilot, "r", "n")
            assert status_phase(app) == "forward"

    async def test_the_error_phase_keeps_the_memory_line_on_screen(self, tmp_path):
        app = app_on("shape_mismatch", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_debug(pilot)
            assert "history 0.0 of 256 MB" in on_screen(app)
            await step_until(pilot, "error")
            assert "of 256 MB" in on_screen(app)

    async def test_the_failing_node_is_not_called_unreached_after_it_failed(self, tmp_path):
        app = app_on("shape_mismatch", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            await step_until(pilot, "error")
            assert graph(app).selected_node == node_id(screen.session, "linear", "fc1")
            assert screen.query_one("#tabs", Tabs).active == "value"
            assert "not reached yet" not in on_screen(app)


class TestDiagnosis:
    """Each planted bug named on screen within three keys from opening the sample."""

    CASES = {
        "exploding_lr": (["3"], "#findings", ["out.weight", "lr 5000", "too large"]),
        "dead_relu": (["2", "space", "3"], "#findings", ["relu1", "dead"]),
        "vanishing_sigmoid": (["3"], "#findings", ["fc1.weight", "vanishing"]),
        "shape_mismatch": (["3"], "#alert", ["fc1", "(*, 128)"]),
    }

    @pytest.mark.parametrize("sample", list(CASES))
    async def test_three_keys_name_the_bug(self, sample, tmp_path):
        keys, box, words = self.CASES[sample]
        assert len(keys) <= 3
        app = app_on(sample, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, *keys)
            assert isinstance(app.screen, DebugScreen)
            found = shown(app, box)
            for word in words:
                assert word in found, (word, found)


class TestTools:
    async def test_g_checks_a_linear_nodes_gradient(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            fc1 = node_id(screen.session, "linear", "fc1")
            await select(pilot, fc1)
            await press(pilot, "g")
            alert = shown(app, "#alert")
            assert f"gradient check of #{fc1} linear: passed" in alert

    async def test_i_walks_the_inputs_of_the_selected_node(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            out = node_id(screen.session, "linear", "out")
            parents = screen.session.trace.nodes[out].parents
            assert len(parents) == 3  # x, weight, bias
            await select(pilot, out)
            for parent in [*parents, parents[0]]:
                await press(pilot, "i")
                assert graph(app).selected_node == parent
                assert text(app, "#node-title").startswith(f"#{parent} ")

    async def test_brackets_move_the_channel_of_a_4d_slice(self, tmp_path):
        app = app_on("cnn_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            conv = node_id(screen.session, "conv2d", "conv1")
            await select(pilot, conv)
            await press(pilot, "t")  # run to it: its value is there to look at
            assert graph(app).current == conv
            tensor = inspector(app)
            assert tensor.array is not None and tensor.array.ndim == 4
            assert tensor.slice_text == "[0, 0]"
            await press(pilot, "right_square_bracket")
            assert tensor.slice_text == "[0, 1]"
            await press(pilot, "left_square_bracket")
            assert tensor.slice_text == "[0, 0]"
            await press(pilot, "left_square_bracket")  # no channel -1: it stays
            assert tensor.slice_text == "[0, 0]"
            await press(pilot, "right_curly_bracket")
            assert tensor.slice_text == "[1, 0]"

    async def test_status_shows_the_history_memory_against_its_cap(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            assert "history 0.0 of 256 MB" in text(app, "#status")
            await press(pilot, "n", "n", "n")
            used = f"{screen.session.history_bytes / 2**20:.1f}"
            assert screen.session.history_bytes > 0
            assert f"history {used} of 256 MB" in text(app, "#status")


class TestDesignChange:
    async def test_another_design_rebuilds_the_session(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            before = screen.session
            rows = [(r.op, r.shape) for r in graph(app).rows]
            await press(pilot, "n", "n")
            await press(pilot, "1")
            app.use_editor(editor_from_sample("spiral_mlp"))
            await open_debug(pilot)
            assert screen.session is not before and screen.session.design.name == "spiral_mlp"
            after = graph(app).rows
            assert [(r.op, r.shape) for r in after] != rows
            assert after[0].op == "input" and re.fullmatch(r"\(\d+, 2\)", after[0].shape)
            assert status_phase(app) == "ready"


def hold_the_pass(session) -> tuple[threading.Event, threading.Event]:
    """Make the session's next passes wait, inside the stepper's thread, for the returned gate."""
    entered, gate = threading.Event(), threading.Event()
    inner = session.pass_fn

    def held_pass_fn():
        run = inner()

        def held() -> float:
            entered.set()
            gate.wait(10)
            return run()

        return held

    session.pass_fn = held_pass_fn
    return entered, gate


class TestResponsive:
    """Long moves run in a worker: the screen keeps answering, and closing never waits on it."""

    async def test_the_screen_answers_keys_while_a_step_over_runs(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            session = screen.session
            entered, gate = hold_the_pass(session)
            await press(pilot, "r")  # a new pass, made with the held pass function
            await pilot.press("o")
            assert entered.wait(10)  # the move is in flight, blocked in the stepper's thread
            assert screen.busy and session.cursor == -1
            await pilot.press("n")  # ignored while the move runs, not queued behind it
            assert session.cursor == -1
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)  # the UI thread answered meanwhile
            await pilot.press("escape")
            gate.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert not screen.busy and session.cursor >= 0
            assert status_phase(app) == session.phase != "ready"

    async def test_closing_while_a_move_runs_does_not_wait_for_it(self, tmp_path):
        app = app_on("mlp_digits", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_debug(pilot)
            session = screen.session
            entered, gate = hold_the_pass(session)
            await press(pilot, "r")
            await pilot.press("t")
            assert entered.wait(10)
            stepper = session.stepper
            await pilot.press("q")  # quits: the screen unmounts and closes its session
            await wait_for_app_to_stop(app)
            assert stepper._thread.is_alive() and screen.busy  # still blocked: not joined
            gate.set()
            stepper._thread.join(10)
            assert not stepper._thread.is_alive()  # it ended on its own, told to stop
        deadline = time.monotonic() + 10
        while screen.busy:  # the move's worker wakes and ends too
            assert time.monotonic() < deadline, "the move's worker never ended"
            time.sleep(0.01)


async def wait_for_app_to_stop(app) -> None:
    deadline = time.monotonic() + 10
    while app.is_running:
        assert time.monotonic() < deadline, "the app did not stop"
        await asyncio.sleep(0.01)


class TestView:
    """What the view builds from a session: where the stepper is, and hints from the actions."""

    def test_describe_event_names_where_the_stepper_is(self):
        assert describe_event(None) == "press n to run the first op"
        session = DebugSession(editor_from_sample("mlp_digits").design)
        try:
            assert describe_event(session.step()) == "#1 reshape in flatten"
            fc1 = node_id(session, "parameter", "fc1.weight")
            update = session.run_to_node(fc1, "update")
            assert describe_event(update) == "update of fc1.weight (lr 0.005)"
            assert "complete" in describe_event(session.resume())
        finally:
            session.close()
        failing = DebugSession(editor_from_sample("shape_mismatch").design)
        try:
            assert "(*, 128)" in describe_event(failing.resume())
        finally:
            failing.close()

    def test_a_group_is_titled_by_its_name_and_a_class_that_says_more(self):
        assert group_label(Group("block1", "Residual")) == "block1 Residual"
        assert group_label(Group("relu", "ReLU")) == "relu"
        assert group_label(Group("0")) == "0"

    def test_key_hints_come_from_the_action_table(self, monkeypatch):
        step = ACTION_BY_ID["debug.step"]
        monkeypatch.setitem(ACTION_BY_ID, "debug.step", dataclasses.replace(step, key="m"))
        assert describe_event(None) == "press m to run the first op"
        view = NodeView(NodeRecord(0, "relu", "", [], (2,), "float32"), reached=False)
        assert missing_note(view, "value") == "not reached yet: m steps, t runs to it"
