"""The Debug screen over a person's script: its run stepped op by op, one iteration a page."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static, Tabs

from app.sessions.script_debugging import FrameView, ScriptDebugSession
from app.tui.actions import bindings_for, key_of
from app.tui.debug.screen import DEBUG_BINDINGS, DebugScreen
from app.tui.debug.view import describe_event, history_text, nonfinite_text
from app.tui.dialogs.prompt import PromptScreen
from widgets.graph_list import GraphList

TICK_S = 0.25  # how often a running script's iteration and output are redrawn
OUTPUT_SHORT, OUTPUT_TALL = 3, 13  # the output panel's lines, folded and unfolded


class ScriptDebugScreen(DebugScreen):
    """DebugScreen's graph and inspector over a ScriptDebugSession, with the script's
    iterations, frames, output and failure report."""

    SCOPE = "script"
    CSS_PATH = ["../debug/debug.tcss", "script.tcss"]
    BINDINGS = DEBUG_BINDINGS + bindings_for("script")
    TABS = {**DebugScreen.TABS, "frames": "Frames"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session: ScriptDebugSession | None = None
        self._output_shown: tuple | None = None

    def extra_panes(self) -> ComposeResult:
        with VerticalScroll(id="frames-pane"):
            yield Static(id="frames")

    def extra_bottom(self) -> ComposeResult:
        yield Static(id="output")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#findings").display = False
        self.set_interval(TICK_S, self._tick)

    # ----- the session -----------------------------------------------------------------
    def open_session(self, force: bool = False) -> None:
        """The app's session over the script; the first time, run it to its first backward()."""
        if self.session is not None and not force:
            return
        try:
            self.session = self.app.script_session()
        except (OSError, ValueError) as err:
            self.show_alert(Text.assemble(("✗ ", "bold red"), str(err)))
            return
        self.query_one("#status", Static).update(
            Text(f" running {self.app.script} to its first backward()…", style="bold")
        )
        self._long_move("start")

    def _after_move(self, session, method: str, result) -> None:
        if session is not self.session:
            return
        phase = session.current.phase if session.current is not None else None
        if method == "find_anomaly" and phase in ("forward", "backward", "update"):
            self.show_alert(nonfinite_text(session, session.current))
        elif method == "find_anomaly" and phase == "done":
            status = session.stepper.exit_status
            self.show_alert(
                Text(f"✓ no NaN or Inf: the script ended with exit status {status}", "green")
            )
        else:
            self.show_alert(self._report_alert())
        self.show_state()
        if session.current is not None and session.current.phase == "error":
            failed = session.failed_node
            if failed is not None:
                self.query_one("#graph", GraphList).select(failed.id)
        if method == "restart":
            self.notify("restarted: the script runs again from its start", timeout=2)

    def _report_alert(self) -> Text | None:
        session = self.session
        event = session.current if session is not None else None
        if event is None:
            return None
        if event.phase == "error" and session.report is not None:
            text = Text("✗ ", style="bold red")
            first, *rest = session.report.text().split("\n")
            text.append(first, style="bold")
            for line in rest:
                text.append("\n" + line)
            text.append(f"\n  the script's frames and their tensors: {key_of('script.frames')}")
            return text
        if event.phase == "done":
            status = session.stepper.exit_status
            return Text(f"✓ the script ended with exit status {status}", style="green")
        return None

    # ----- drawing ---------------------------------------------------------------------
    def status(self) -> Text:
        session = self.session
        text = Text()
        phase = session.phase
        text.append(f" {phase} ", style="bold reverse" if phase != "error" else "bold white on red")
        event = session.current
        if event is not None and event.phase == "error":
            text.append(f" the script failed: {event.error}")
        elif event is not None and event.phase == "done":
            text.append(f" the script ended (exit status {session.stepper.exit_status})")
        else:
            text.append(f" {describe_event(event)}")
        pages = session.iterations
        text.append(f" · iteration {session.iteration}", style="bold")
        if session.page is not None:
            text.append(" (looking back)", style="yellow")
        text.append(f" of {pages[-1]}", style="dim")
        if session.stepper.pages_dropped:
            text.append(f", 1–{pages[0] - 1} dropped", style="dim")
        text.append("\n")
        text.append(
            f"{history_text(session.history_bytes, session.value_cap)}"
            f" · {session.stepper.backward_calls} backward() · "
            f"{session.stepper.update_runs} step()",
            style="dim",
        )
        marks = [f"#{n}" for n in sorted(session.breakpoints.nodes)]
        marks += sorted(session.breakpoints.scopes) + session.breakpoints.conditions
        if marks:
            text.append(" · break: ", style="dim")
            text.append(", ".join(marks), style="red")
        return text

    def show_state(self, select_current: bool = True) -> None:
        super().show_state(select_current)
        self._show_output()
        if self.query_one("#tabs", Tabs).active == "frames":
            self.show_tab("frames", None)

    def show_tab(self, tab: str, view) -> None:
        if tab != "frames" or self.session is None:
            return
        self.query_one("#switcher").current = "frames-pane"
        width = self.query_one("#switcher").size.width
        self.query_one("#frames", Static).update(frames_table(self.session.frames, width))

    def _show_output(self) -> None:
        if self.session is None:
            return
        box = self.query_one("#output", Static)
        lines = self.session.output
        height = OUTPUT_TALL if box.has_class("-tall") else OUTPUT_SHORT
        shown = tuple(lines[-height:])
        if shown == self._output_shown:
            return
        self._output_shown = shown
        if not lines:
            box.update(Text("output: nothing printed yet", "dim"))
            return
        title = Text(f"output ({len(lines)} lines; {key_of('script.output')}: more)\n", "dim")
        box.update(title + Text("\n".join(shown)))

    def _tick(self) -> None:
        """While a move runs the script on its own: its iteration and output, redrawn."""
        if self.session is None or not self.busy:
            return
        stepper = self.session.stepper
        self.query_one("#status", Static).update(
            Text.assemble(
                (" running ", "bold reverse"),
                f" iteration {stepper.iteration} · {stepper.backward_calls} backward() · "
                f"{stepper.update_runs} optimizer steps",
                (f"   {key_of('debug.resume')}: pause", "dim"),
            ),
            layout=False,
        )
        self._show_output()

    # ----- moving ----------------------------------------------------------------------
    def action_run_script(self, method: str) -> None:
        self._long_move(method)

    def action_to_module(self) -> None:
        graph = self.query_one("#graph", GraphList)
        if self.session is None:
            return
        scope = ""
        if graph.selected_group:
            scope = self._scope_of.get(tuple(graph.selected_group), "")
        elif graph.selected_node is not None:
            rec = self.session.trace.nodes[graph.selected_node]
            scope = rec.name.rpartition(".")[0] if rec.is_leaf else rec.scope
        if not scope:
            self.notify("select a module (or an op inside one) first", timeout=3)
            return
        self.notify(f"running to the next call of {scope}", timeout=2)
        self._long_move("run_to_module", scope)

    def action_page(self, delta: int) -> None:
        if self.session is None or self.busy:
            return
        before = self.session.iteration
        shown = self.session.show_iteration(delta)
        if shown == before:
            where = "first kept" if delta < 0 else "latest"
            self.notify(f"iteration {shown} is the {where} one", timeout=2)
        self.show_state()

    def action_resume(self) -> None:
        """Continue to a breakpoint; pressed while the script runs on its own, pause it."""
        if self.session is not None and self.busy:
            self.session.interrupt()
            return
        super().action_resume()

    def action_frames(self) -> None:
        self.query_one("#tabs", Tabs).active = "frames"

    def action_output(self) -> None:
        self.query_one("#output", Static).toggle_class("-tall")
        self._output_shown = None
        self._show_output()

    def action_gradcheck(self) -> None:
        self.show_alert(
            Text("gradient check: a script's run is not repeated; use it on a design", "yellow")
        )

    @work
    async def action_line(self) -> None:
        if self.session is None:
            return
        typed = await self.app.push_screen_wait(
            PromptScreen(f"Break at a line of {self.app.script.name} (or at FILE:LINE)")
        )
        if not typed:
            return
        try:
            label = self.session.add_line_breakpoint(typed)
        except ValueError as err:
            self.notify(str(err), severity="error")
            return
        self.notify(f"breakpoint at {label} ({key_of('debug.resume')} runs to it)", timeout=3)
        self.show_state(select_current=False)


NARROW_FRAMES = 72  # columns under which each tensor takes two lines instead of a table row


def frames_table(frames: list[FrameView], width: int = 200) -> Group | Text:
    """The script's frames where it stopped, innermost first, each with its tensors: a table
    where `width` allows one, else each tensor in two lines (what it is, then its values)."""
    if not frames:
        return Text("no frame of the script: it has not stopped inside its own code", "dim")
    parts = []
    for frame in frames:
        parts.append(
            Text.assemble(
                (f"{frame.where}", "bold"), f" in {frame.function}: ", (frame.source, "cyan")
            )
        )
        rows = [_local_cells(local) for local in frame.locals]
        wide = width >= NARROW_FRAMES
        parts += [_locals_table(rows) if wide else _locals_lines(rows, width - 4), Text("")]
    return Group(*parts)


COLUMNS = ("name", "shape", "dtype", "min", "max", "mean", "std", "nan/inf")


def _local_cells(local) -> list[str | Text]:
    """A frame's local as the cells of COLUMNS; a module or tuple describes itself as its shape."""
    if local.kind == "module":  # its text says it is one
        return [local.name, Text(local.text, "dim"), "", *[""] * 5]
    if local.kind != "tensor":
        return [local.name, Text(local.text, "dim"), local.kind, *[""] * 5]
    st = local.stats
    dtype = local.dtype + (" ∂" if local.requires_grad else "")
    if st is None:
        return [local.name, str(local.shape), dtype, *[""] * 5]
    bad = st.nan_count + st.inf_count
    values = [f"{v + 0.0:.4g}" for v in (st.min, st.max, st.mean, st.std)]  # never "-0"
    counts = Text(f"{st.nan_count}/{st.inf_count}", style="bold red" if bad else "dim")
    return [local.name, str(local.shape), dtype, *values, counts]


def _locals_table(rows: list[list[str | Text]]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
    for column in COLUMNS:
        table.add_column(
            column,
            justify="left" if column in ("name", "shape", "dtype") else "right",
            no_wrap=True,
            overflow="ellipsis",
            max_width=36 if column == "shape" else None,
        )
    for row in rows:
        table.add_row(*row)
    return table


def _locals_lines(rows: list[list[str | Text]], width: int) -> Text:
    """Each local in a few lines no wider than `width`: its name and shape (a module's or
    tuple's description on a line of its own), then its statistics, a whole pair to a line
    where two do not fit."""
    text = Text()
    for i, (name, shape, dtype, *values) in enumerate(rows):
        text.append(("\n" if i else "") + name, style="bold")
        if isinstance(shape, Text):  # a module or a tuple
            text.append("\n ")
            text.append(shape)
            continue
        text.append(f" {shape}")
        if dtype:
            text.append(f" {dtype}", style="dim")
        if not values[0]:
            continue
        used = width
        for label, value in zip(COLUMNS[3:], values, strict=True):
            pair = len(label) + 1 + len(str(value))
            if used + 1 + pair > width:
                text.append("\n ")
                used = 1
            text.append(f" {label} ", style="dim")
            text.append(value)
            used += 1 + pair
    return text
