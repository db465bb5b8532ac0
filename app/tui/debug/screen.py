"""The Debug screen: one batch stepped op by op, forward, backward and update, node by node."""

from __future__ import annotations

import threading
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static, Tab, Tabs
from textual.worker import get_current_worker

from app.model.design import Design
from app.sessions.debugging import DebugBatch, DebugError, DebugSession
from app.sessions.nodes import scope_of
from app.sessions.training import same_network
from app.tui.actions import bindings_for, key_of
from app.tui.debug.view import (
    anomaly_text,
    findings_text,
    gradcheck_text,
    graph_row,
    group_label,
    missing_note,
    node_title,
    split_table,
    status_text,
    update_note,
)
from app.tui.dialogs.choose import ChooseScreen
from app.tui.dialogs.prompt import PromptScreen
from widgets.footer import FittingFooter
from widgets.graph_list import GraphList
from widgets.header import AppHeader
from widgets.tensor_inspector import TensorInspector

PHASE_TAB = {"forward": "value", "backward": "grad", "update": "update"}
PAUSE_POLL_S = 0.05  # how often the wait for a run's pause looks whether it was cancelled


GRAPH_SHARE = 0.6  # the most of the screen's width the graph pane takes
INSPECTOR_MIN = 34  # columns the inspector keeps: its statistics and a script's five tabs
# "run to" stays out of the footer (help and the palette list it): the footer fits 80 columns
DEBUG_BINDINGS = [
    replace(b, show=False) if b.id == "debug.run_to" else b for b in bindings_for("debug")
]


class DebugScreen(Screen):
    """Draws what a DebugSession knows; every key moves the session, then the screen redraws."""

    SCOPE = "debug"
    CSS_PATH = "debug.tcss"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-roomy")]
    BINDINGS = DEBUG_BINDINGS

    TABS = {"value": "Value", "grad": "Gradient", "split": "Split", "update": "Update"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session: DebugSession | None = None
        self.source_key = None  # what the session was made from: rebuilt when it changes
        self.shown_node: int | None = None
        self._busy = threading.Lock()  # held while a move runs; keys meanwhile are ignored
        self._phase = "ready"
        self._scope_of: dict[tuple[str, ...], str] = {}  # group labels -> module scope
        self._findings_shown: Text | None = Text()
        self._input_walk: tuple[int, int] | None = None  # (child node, input index)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="debug"):
            with Vertical(id="graph-pane"):
                yield Static(id="graph-title")
                yield GraphList(id="graph")
            with Vertical(id="inspector-pane"):
                yield Static(id="node-title")
                yield Tabs(*(Tab(label, id=tab) for tab, label in self.TABS.items()), id="tabs")
                with ContentSwitcher(initial="tensor", id="switcher"):
                    yield TensorInspector(id="tensor")
                    yield Static(id="split-table")
                    yield from self.extra_panes()
        yield Static(id="alert")
        yield Static(id="findings")
        yield from self.extra_bottom()
        yield Static(id="status")
        yield FittingFooter()

    def extra_panes(self) -> ComposeResult:
        """More panes of the inspector's switcher, for tabs beyond the four (none here)."""
        yield from ()

    def extra_bottom(self) -> ComposeResult:
        """More lines above the status bar (none here)."""
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#tabs", Tabs).can_focus = False
        self.query_one("#alert").display = False
        self.query_one("#tensor", TensorInspector).set_view_key(key_of("debug.values"))
        self.query_one("#graph", GraphList).focus()

    def on_screen_resume(self) -> None:
        self.open_session()

    def on_resize(self) -> None:
        self._fit_graph_pane()

    def _fit_graph_pane(self) -> None:
        """Make the graph pane as wide as its rows, gradient norms included, up to
        GRAPH_SHARE of the screen, the inspector keeping INSPECTOR_MIN; never under 30 columns.
        Rows too wide for that take their compact form (32×6×24×24, single spaces)."""
        pane, graph = self.query_one("#graph-pane"), self.query_one("#graph", GraphList)
        share = int(self.size.width * GRAPH_SHARE)
        limit = max(30, min(share, self.size.width - INSPECTOR_MIN))
        graph.set_compact(graph.content_width(compact=False) + 1 > limit)  # + 1: the border
        width = max(30, min(graph.content_width() + 1, limit))
        if pane.styles.width is None or pane.styles.width.value != width:
            pane.styles.width = width

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()

    # ----- the session -----------------------------------------------------------------
    def _source(self):
        """The training session to take weights from (same network only) and the bad batch."""
        design = self.app.editor.design
        state = self.app.state
        training = state.training
        if training is not None and not same_network(design, training.design):
            training = None
        bad = state.bad_batch
        if bad is not None and (training is None or training.bad_batch is not bad):
            bad = None
        step = training.global_step if training is not None else None
        return (design.to_json(), id(training), step, id(bad)), training, bad

    def open_session(self, force: bool = False) -> None:
        """Make a session for the open design, unless the one there still fits it.

        A run that is computing a batch is asked to pause, and its weights are
        copied only once it has acknowledged: the wait happens in a worker.
        """
        key, training, bad = self._source()
        if not force and self.session is not None and key == self.source_key:
            return
        self.source_key = key
        if self.session is not None:
            self.session.close()
        self.session = None
        if training is not None and not training.wait_paused(0):
            if not training.paused:
                training.request_pause()
                self.notify("training paused: the debugger copies its weights", timeout=4)
            self.query_one("#status", Static).update("pausing the run…")
            self._await_pause(training)
            return
        batch = None
        if bad is not None:
            origin = f"the batch training stopped on (epoch {bad.epoch + 1}, batch {bad.batch + 1})"
            batch = DebugBatch(bad.inputs, bad.targets, bad.rng_state, origin)
        design = Design.from_json(key[0])  # a copy: later edits stay out of this session
        try:
            self.session = DebugSession(design, training, batch, self.app.state.data_dir)
        except DebugError as err:
            self.show_alert(Text.assemble(("✗ ", "bold red"), str(err)))
            self.query_one("#graph", GraphList).show([])
            self.query_one("#status", Static).update("")
            self.query_one("#findings", Static).update("")
            return
        self.shown_node = None
        self.show_alert(self._opening_alert())
        self.show_state(select_current=True)
        graph = self.query_one("#graph", GraphList)
        failed = self.session.failed_node
        first = graph.rows[0].node if graph.rows else None
        graph.select(failed.id if failed is not None else first)

    def _opening_alert(self) -> Text | None:
        error = next((f for f in self.session.findings if f.kind == "error"), None)
        if error is None:
            return None
        return Text.assemble(
            ("✗ the forward pass fails at " if error.node is not None else "✗ ", "bold red"),
            error.text,  # the layer, op and node, then the message
            "\n  the graph up to the failing op is on the left; fix the design on Build (1)",
        )

    # ----- drawing ---------------------------------------------------------------------
    def show_state(self, select_current: bool = True) -> None:
        """Redraw the graph, the status and (for the selected node) the inspector."""
        session = self.session
        if session is None:
            return
        graph = self.query_one("#graph", GraphList)
        rows = session.rows()
        graph.show([graph_row(r) for r in rows])
        self._fit_graph_pane()
        self._scope_of = {  # the graph list names a group by its labels
            tuple(group_label(g) for g in r.groups[:i]): scope_of(r.groups[:i])
            for r in rows
            for i in range(1, len(r.groups) + 1)
        }
        scopes = session.breakpoints.scopes
        graph.set_breakpoints(
            session.breakpoints.nodes, {g for g, s in self._scope_of.items() if s in scopes}
        )
        event = session.current
        node = event.node.id if event is not None and event.node is not None else None
        if event is not None and event.phase == "error" and node is None:
            failed = session.failed_node
            node = failed.id if failed is not None else None
        phase = session.phase
        if phase in PHASE_TAB and phase != self._phase:
            self.query_one("#tabs", Tabs).active = PHASE_TAB[phase]
        self._phase = phase
        if select_current and node is not None:
            graph.set_current(node, phase)
        title = Text.assemble(("graph ", "bold"), (f"· {phase}", "dim"))
        # fixed-height lines: repaint them without a layout pass
        self.query_one("#graph-title", Static).update(title, layout=False)
        self.query_one("#status", Static).update(self.status(), layout=False)
        findings = findings_text(session)
        box = self.query_one("#findings", Static)
        if findings != self._findings_shown:  # the same for the whole session
            self._findings_shown = findings
            box.display = findings is not None
            box.update(findings or "")
        if not rows:  # a part of a script's run with no op (an evaluation under no_grad)
            self.shown_node = None
            self.query_one("#node-title", Static).update(Text("no op recorded here", "dim"))
            self.query_one(TensorInspector).show("", None, None)
            return
        selected = graph.selected_node
        self.show_node(selected if selected is not None else node, force=True)

    def status(self) -> Text:
        """The status bar's two lines."""
        return status_text(self.session)

    def show_node(self, node: int | None, force: bool = False) -> None:
        """Fill the inspector for `node` as of the event under the history cursor."""
        if self.session is None or node is None or (node == self.shown_node and not force):
            return
        if node >= len(self.session.trace.nodes):  # a row of a page no longer shown
            return
        self.shown_node = node
        view = self.session.view(node)
        self.query_one("#node-title", Static).update(node_title(self.session, view), layout=False)
        tab = self.query_one("#tabs", Tabs).active or "value"
        switcher = self.query_one("#switcher", ContentSwitcher)
        if tab not in DebugScreen.TABS:
            self.show_tab(tab, view)
            return
        if tab == "split":
            switcher.current = "split-table"
            width = self.query_one("#switcher").size.width
            self.query_one("#split-table", Static).update(split_table(view, width))
            return
        switcher.current = "tensor"
        inspector = self.query_one("#tensor", TensorInspector)
        if tab == "value":
            note = missing_note(view, "value")
            if view.record.error:
                note = "this op failed before making a value: the error is in the alert below"
            inspector.show("[b]value[/b]", view.value_stats, view.value, note)
        elif tab == "grad":
            note = missing_note(view, "grad")
            where = "" if view.record.is_leaf else " at the output"
            inspector.show(f"[b]gradient[/b]{where}", view.grad_stats, view.grad, note)
        else:
            note = update_note(view)
            if not note and view.record.op != "parameter":
                note = "not a parameter: nothing to update"
            elif not note and view.lr is not None:  # updated, its values since dropped
                note = f"lr {view.lr:g} · values dropped: a past iteration keeps statistics only"
            elif not note:
                note = "the update phase has not reached this parameter yet"
            inspector.show(
                "[b]update[/b] (subtracted from the weight)", view.update_stats, view.update, note
            )

    def show_tab(self, tab: str, view) -> None:
        """Fill a tab beyond the four (a subclass's)."""

    def show_alert(self, text: Text | None) -> None:
        alert = self.query_one("#alert", Static)
        if alert.display != (text is not None):  # setting display, even unchanged, lays out
            alert.display = text is not None
        if text is not None:
            alert.update(text)

    @on(GraphList.Selected)
    def _selected(self, event: GraphList.Selected) -> None:
        if event.node is not None:
            self.show_node(event.node)

    @on(Tabs.TabActivated)
    def _tab(self, event: Tabs.TabActivated) -> None:
        if self.shown_node is not None:
            self.show_node(self.shown_node, force=True)

    # ----- moving ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A move is running in a worker."""
        return self._busy.locked()

    def _move(self, method: str, *args) -> None:
        """A move of one event (next, back, forward): instant, so done here."""
        if self.session is None or not self._busy.acquire(blocking=False):
            return
        try:
            getattr(self.session, method)(*args)
        finally:
            self._busy.release()
        self._after_move(self.session, method, None)

    def _long_move(self, method: str, *args) -> None:
        """A move that may run through many ops: in a worker, one at a time."""
        if self.session is None or not self._busy.acquire(blocking=False):
            return
        self._in_worker(self.session, method, args)

    def action_step(self) -> None:
        self._move("step")

    def action_step_over(self) -> None:
        self._long_move("step_over")

    def action_step_out(self) -> None:
        self._long_move("step_out")

    def action_back(self) -> None:
        self._move("back")

    def action_forward(self) -> None:
        self._move("forward")

    def action_run_to(self) -> None:
        node = self.query_one("#graph", GraphList).selected_node
        if node is None or self.session is None:
            return
        if self.session.trace.nodes[node].op == "parameter":
            self.notify("a parameter has no forward op: running to its update", timeout=3)
        self._long_move("run_to_node", node)

    def action_restart(self) -> None:
        self._long_move("restart")

    def action_resume(self) -> None:
        self._long_move("resume")

    def action_anomaly(self) -> None:
        self._long_move("find_anomaly")

    def action_gradcheck(self) -> None:
        node = self.query_one("#graph", GraphList).selected_node
        if self.session is None or node is None:
            return
        rec = self.session.trace.nodes[node]
        try:
            result = self.session.gradcheck(node)
        except ValueError as err:
            self.show_alert(Text(f"gradient check: {err}", style="yellow"))
            return
        self.show_alert(gradcheck_text(rec, result))

    def action_next_tab(self) -> None:
        tabs = self.query_one("#tabs", Tabs)
        tabs.action_next_tab()

    def action_input(self) -> None:
        """Select an input of the selected node; pressed again, the next input."""
        graph = self.query_one("#graph", GraphList)
        if self.session is None:
            return
        child, k = self._input_walk or (None, 0)
        node = graph.selected_node
        if node is not None and node != child and (child is None or not self._is_input(node)):
            child, k = node, 0
        if child is None:
            return
        parents = self.session.trace.nodes[child].parents
        if not parents:
            self.notify("a leaf: it has no inputs", timeout=2)
            return
        self._input_walk = (child, (k + 1) % len(parents))
        graph.select(parents[k % len(parents)])

    def _is_input(self, node: int) -> bool:
        child = self._input_walk[0] if self._input_walk else None
        return child is not None and node in self.session.trace.nodes[child].parents

    def action_values_view(self) -> None:
        """Switch the inspector between its histogram, its heatmap and its raw values (on the
        Value tab when a tab without them is open)."""
        self.query_one("#tensor", TensorInspector).next_view()
        if self.query_one("#switcher", ContentSwitcher).current != "tensor":
            self.query_one("#tabs", Tabs).active = "value"

    def action_slice(self, axis: int, delta: int) -> None:
        self.query_one("#tensor", TensorInspector).shift_slice(axis, delta)

    @work(thread=True, exclusive=True, group="pause")
    def _await_pause(self, training) -> None:
        """Wait, off the UI thread, until the run holds between batches; then open."""
        worker = get_current_worker()
        while not training.wait_paused(PAUSE_POLL_S):
            if worker.is_cancelled:
                return
        if not worker.is_cancelled:
            self.app.call_from_thread(self.open_session, True)

    @work(thread=True, group="debug")
    def _in_worker(self, session: DebugSession, method: str, args: tuple) -> None:
        """Run the move (the busy lock is already held) and hand the result to the UI."""
        try:
            result = getattr(session, method)(*args)
        except RuntimeError:  # the session was closed under the move: nothing to show
            return
        finally:
            self._busy.release()
        if session is self.session and self.is_attached:
            self.app.call_from_thread(self._after_move, session, method, result)

    def _after_move(self, session: DebugSession, method: str, result) -> None:
        if session is not self.session:  # replaced while the move ran
            return
        if method == "find_anomaly":
            self.show_alert(anomaly_text(session, result))
        else:
            self.show_alert(self._opening_alert())  # a gradient check's result is its node's
        self.show_state()
        if method == "restart":
            self.notify("restarted: the same batch, the same weights", timeout=2)

    # ----- breakpoints -----------------------------------------------------------------
    def action_breakpoint(self) -> None:
        graph = self.query_one("#graph", GraphList)
        if self.session is None:
            return
        node, group = graph.selected_node, graph.selected_group
        if node is not None:
            on_ = self.session.breakpoints.toggle(node=node)
            what = f"#{node}"
        elif group:
            what = self._scope_of[tuple(group)]
            on_ = self.session.breakpoints.toggle(scope=what)
        else:
            return
        self.notify(f"breakpoint {'set on' if on_ else 'cleared from'} {what}", timeout=2)
        self.show_state(select_current=False)

    @work
    async def action_condition(self) -> None:
        if self.session is None:
            return
        kind = await self.app.push_screen_wait(
            ChooseScreen(
                "Break when",
                [
                    ("nonfinite", "a value, gradient or update holds NaN or Inf"),
                    ("norm", "a norm goes above a limit…"),
                ],
            )
        )
        if kind is None:
            return
        limit = None
        if kind == "norm":
            typed = await self.app.push_screen_wait(
                PromptScreen("Break when a norm exceeds", "1e3")
            )
            try:
                limit = float(typed) if typed is not None else None
            except ValueError:
                self.notify(f"not a number: {typed!r}", severity="error")
                return
            if limit is None:
                return
        try:
            label = self.session.breakpoints.add_condition(kind, limit)
        except ValueError as err:
            self.notify(str(err), severity="error")
            return
        self.notify(f"breakpoint: {label} ({key_of('debug.resume')} runs to it)", timeout=3)
        self.show_state(select_current=False)
