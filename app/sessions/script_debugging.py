"""Debugging a person's own script (`stepgrad debug SCRIPT.py`): the whole run, stepped.

The script runs in the stepper's thread on the engine, as under `stepgrad run`. Every op
it runs with gradients on is recorded, but for data loading, `no_grad` code and ops on
constants outside every module (building a dataset, counting correct answers): they
are not part of the graph. The run pauses where the person wants to look: by default at
its first call of `backward()`. Each iteration (forward, backward, update) is one page.
Every op's value and gradient statistics are recorded; arrays are copied where the run
stops (the forward values of the iteration it stops in, the event it stops on), up to
the value cap. Older pages keep their graph and statistics only, and the oldest pages go
once the kept nodes pass `MAX_KEPT_NODES`, so memory stays bounded however long the
script runs.
"""

from __future__ import annotations

import io
import itertools
import linecache
import os
import runpy
import sys
import sysconfig
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import engine
from app.sessions.breakpoints import Breakpoint, Breakpoints
from app.sessions.debugging import source_path
from app.sessions.history import History, Stepping
from app.sessions.nodes import NodeView, Row, node_view, rows
from app.sessions.scripts import Report, _exit_status, describe_failure, engine_as_torch
from engine import backend, debug
from engine.autograd import state, version_counter
from engine.debug import Event, NodeRecord, Stats, Trace
from engine.debug.stepper import Stepper, _Closed, _host, _StepTracer
from engine.debug.trace import DEFAULT_VALUE_CAP, in_scope

MAX_KEPT_NODES = 60_000  # nodes kept over all the earlier pages (each with its statistics)
MAX_PAGE_NODES = 20_000  # a page that never reaches backward() is cut here
OUTPUT_LINES = 2_000  # the script's printed lines kept for the output panel
PARTIAL_CHARS = 10_000  # of one printed line
RESTART_WAIT_S = 5.0  # for the old run to end on a restart
_ENGINE_DIR = str(Path(engine.__file__).resolve().parent)
_APP_DIR = str(Path(__file__).resolve().parents[1])
# installed libraries (numpy's wrappers sit on the stack of an op) and the standard library
_LIBRARY_DIRS = tuple({sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")})
_DATA_DIRS = tuple(os.path.join(_ENGINE_DIR, d) for d in ("utils", "datasets"))


@dataclass
class Page:
    """One iteration of the script: its graph and the events stepped through it."""

    number: int  # the iteration, from 1
    trace: Trace
    history: list[Event]
    backward_calls: int = 0

    @property
    def stepper(self):  # a History reads its events and graph through `.stepper`
        return self


@dataclass
class LocalView:
    """A tensor (or module) a frame of the script holds, as plain data."""

    name: str
    kind: str  # "tensor", "module" or "tuple"
    shape: tuple = ()
    dtype: str = ""
    requires_grad: bool = False
    stats: Stats | None = None
    text: str = ""  # a module's first repr line, a tuple's shapes


@dataclass
class FrameView:
    """One of the script's own frames where the run stopped."""

    where: str  # FILE:LINE
    function: str
    source: str
    locals: list[LocalView] = field(default_factory=list)


class OutputPanel:
    """The script's printed lines, from stdout and stderr alike, the newest OUTPUT_LINES."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=OUTPUT_LINES)
        self.partial = ""  # the line being written
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            parts = (self.partial + text).split("\n")
            # a carriage return redraws its line (progress bars): what follows it stays
            self.partial = parts.pop().rpartition("\r")[2][-PARTIAL_CHARS:]
            self.lines.extend(line.rpartition("\r")[2][:PARTIAL_CHARS] for line in parts)

    def clear(self) -> None:
        with self._lock:
            self.lines.clear()
            self.partial = ""

    def shown(self) -> list[str]:
        """Every line kept, the unfinished one last."""
        with self._lock:
            return list(self.lines) + ([self.partial] if self.partial else [])


class OutputCapture(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: the script's threads write to the panel, every
    other thread to the stream that was there before."""

    def __init__(self, previous, panel: OutputPanel, threads: set) -> None:
        self.previous, self.panel, self.threads = previous, panel, threads

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if threading.get_ident() not in self.threads:
            return self.previous.write(text)
        self.panel.write(text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in self.threads:
            self.previous.flush()


class NoInput(io.TextIOBase):
    """Stands in for sys.stdin: the terminal belongs to the app, so the script's threads
    read an empty stream (input() raises EOFError); other threads read the real one."""

    def __init__(self, previous, threads: set) -> None:
        self.previous, self.threads = previous, threads

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        return "" if threading.get_ident() in self.threads else self.previous.read(size)

    def readline(self, size: int = -1) -> str:
        return "" if threading.get_ident() in self.threads else self.previous.readline(size)

    def fileno(self) -> int:
        return self.previous.fileno()


class _ScriptTracer(_StepTracer):
    """The stepper's tracer, over a whole script: pages, module names from the script's
    variables, and nothing recorded for data loading or code without gradients."""

    def __init__(self, stepper: ScriptStepper, level: str, value_cap: int):
        super().__init__(stepper, level, value_cap)
        self.roots: dict[str, engine.nn.Module] = {}  # name the script calls it by -> module
        self.module_shapes: dict[str, str] = {}  # module scope -> its output's shape, last call
        self._walking = False  # inside a backward walk

    def apply(self, cls, inputs, kwargs):
        # ops a backward walk runs (hooks, a custom backward) are not the forward graph
        if not state.grad_enabled or self._walking or _loading_data():
            return cls.run(inputs, kwargs)
        top = not self._scopes
        if top and not any(getattr(t, "requires_grad", False) for t in inputs):
            try:  # outside every module, on constants: not part of the graph
                return cls.run(inputs, kwargs)
            except Exception:  # but the op a script fails in is shown
                pass
        # an iteration begins with a module's call or an op on a parameter; other ops after
        # backward() (counting correct answers) end the iteration before
        self.stepper._before_forward(top and any(_is_parameter(t) for t in inputs))
        out = super().apply(cls, inputs, kwargs)
        if out._ctx is not None:
            out._ctx.trace_page = self.stepper.iteration
        return out

    def custom(self, cls, args, outputs, ctx):
        if self._walking or _loading_data():
            return None
        self.stepper._before_forward(not self._scopes)
        rec = super().custom(cls, args, outputs, ctx)
        for node in [ctx] + [o._ctx for o in outputs if isinstance(o, engine.Tensor)]:
            if node is not None:
                node.trace_page = self.stepper.iteration
        return rec

    def on_forward(self, rec, inputs, out, cls, kwargs):
        # the inputs' values are the events of the ops that made them: only the output is
        # kept, and copied when the run stops (unless a change in place came first)
        self.stepper._emit_forward(Event(0, "forward", rec), out)

    def on_backward(self, rec, step):
        if rec is None:
            return

        def fill(event: Event) -> None:
            event.grad_output = _host(step.grad_output)
            event.grad_inputs = [None if g is None else _host(g) for g in step.grad_inputs]

        self.stepper._emit(Event(0, "backward", rec), fill)

    def source(self) -> str:
        return _script_source(sys._getframe(1))

    def call_module(self, module, args, kwargs):
        if not self._scopes:
            self.stepper._before_forward(True)
            if id(module) not in self._module_names:
                self._adopt(module, _bound_name(module, sys._getframe(1)))
        out = super().call_module(module, args, kwargs)
        name = self._module_names.get(id(module))
        if name is not None:
            self.module_shapes[name] = _shape_text(out)
        return out

    def _adopt(self, module, name: str) -> None:
        while name in self.roots:  # two models bound to one name: keep both apart
            name += "_"
        self.roots[name] = module
        for sub, m in module.named_modules():
            self._module_names.setdefault(id(m), f"{name}.{sub}" if sub else name)
        for sub, p in module.named_parameters():
            self._param_names.setdefault(id(p), f"{name}.{sub}")

    def backward(self, steps) -> None:
        if self._walking:  # a backward inside a backward (a hook's): walked, not shown
            for _ in steps:
                pass
            return
        self.stepper._before_backward()
        page, trace = self.stepper.iteration, self.trace
        self._walking = True
        try:
            for step in steps:
                node = step.node
                rec = None
                if node.trace_id is not None and getattr(node, "trace_page", None) == page:
                    rec = trace.nodes[node.trace_id]
                    rec.backward_index = len(trace.backward_order)
                    trace.backward_order.append(rec.id)
                    self._observe_grad(rec, step.grad_output)
                self.on_backward(rec, step)
        finally:
            self._walking = False
        for rid, ref in self._leaf_tensors.items():
            t = ref()
            if t is not None and t.grad is not None:
                self._observe_grad(trace.nodes[rid], t.grad._data)

    def update(self, optimizer, p, update, group) -> None:
        self.stepper._before_update()
        super().update(optimizer, p, update, group)

    def new_page(self, trace: Trace) -> None:
        self.trace = trace
        self._ids = itertools.count()
        self._by_tensor.clear()
        self._leaf_tensors.clear()


def _is_parameter(t) -> bool:
    """A leaf that requires grad: what an optimizer updates."""
    return isinstance(t, engine.Tensor) and t.requires_grad and t._ctx is None


def _loading_data() -> bool:
    """Whether the op runs for a DataLoader or a dataset (not part of the model's graph)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_DATA_DIRS):
            return True
        frame = frame.f_back
    return False


def _script_source(frame) -> str:
    """FILE:LINE of the innermost frame outside the engine and the app: the script's line."""
    while frame is not None and frame.f_code.co_filename.startswith((_ENGINE_DIR, _APP_DIR)):
        frame = frame.f_back
    return "" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _bound_name(module, frame) -> str:
    """The name the calling code holds `module` by (`net`, `model`), else its class's."""
    while frame is not None and frame.f_code.co_filename.startswith((_ENGINE_DIR, _APP_DIR)):
        frame = frame.f_back
    if frame is not None:
        for names in (frame.f_locals, frame.f_globals):
            for name, value in list(names.items()):
                if value is module and name != "self" and not name.startswith("_"):
                    return name
    return type(module).__name__.lower()


def _shape_text(out) -> str:
    if isinstance(out, engine.Tensor):
        return str(tuple(out.shape))
    if isinstance(out, tuple | list):
        return "(" + ", ".join(_shape_text(o) for o in out) + ")"
    return type(out).__name__


class ScriptStepper(Stepper):
    """A Stepper over a whole script, one page per iteration (see the module's docstring)."""

    def __init__(self, script: Path, args: list[str], value_cap: int = DEFAULT_VALUE_CAP):
        super().__init__(self._main, "stats", value_cap)
        self.script, self.args = script, args
        self.tracer = _ScriptTracer(self, "stats", value_cap)
        self.pages: deque[Page] = deque()
        self.pages_dropped = 0
        self.iteration = 1
        self.backward_calls = 0  # in the whole run
        self.update_runs = 0  # optimizer steps (runs of updates) in the whole run
        self._ended: str | None = None  # "backward" or "update" once this page reached it
        self._page_backward = 0
        self.exit_status: int | None = None
        self.report: Report | None = None
        self._stack: list = []  # (frame, line) of the script's frames where the run stopped
        self._frames: list[FrameView] | None = []
        self.threads: set[int] = set()  # the script's thread, for the output panel
        self._pending: list = []  # (event, output array, its version counter, version then)
        self.kept_nodes = 0

    # ----- the script -------------------------------------------------------------------
    def _main(self) -> int:
        self.threads.add(threading.get_ident())
        saved_argv, saved_path = sys.argv[:], sys.path[:]
        sys.argv = [str(self.script), *self.args]
        sys.path.insert(0, str(self.script.resolve().parent))
        try:
            with engine_as_torch():
                runpy.run_path(str(self.script), run_name="__main__")
        except SystemExit as done:
            return _exit_status(done.code)
        finally:
            sys.argv, sys.path[:] = saved_argv, saved_path
        return 0

    def _run(self) -> None:
        try:
            with backend.quiet_float_errors(), self.tracer:
                self.result = self.exit_status = self.fn()
        except _Closed:
            self._to_main.put(None)
            return
        except BaseException as exc:  # the script failed: the report, its frames, the graph
            self.tracer.trace.error = exc
            self.exit_status = 130 if isinstance(exc, KeyboardInterrupt) else 1
            self.report = describe_failure(exc, self.script)
            self._keep_pending()
            self._stopped_in(_script_frames(exc.__traceback__))
            self._finish(Event(0, "error", self._failed_node(), error=exc, trace=self.trace))
            return
        self._keep_pending()
        self._stopped_in([])
        self._finish(Event(0, "done", None, trace=self.trace))

    # ----- events: arrays copied where the run stops, not on the way there ---------------
    def _emit(self, event: Event, fill=None) -> None:
        """Record `event` and pause there when the run should stop.

        `fill` copies the event's arrays: at once when a condition reads them, else
        only if the run stops here (a run going on to a later stop records the
        statistics of what it passes, and the values of the forward ops of the
        iteration it stops in)."""
        if self._closing:
            raise _Closed
        eager = fill is not None and self._reads_arrays()
        if eager:
            fill(event)
        self._record(event)
        breakpoints = self.breakpoints
        if self._predicate(event) or (
            breakpoints and any(bp.matches(event) for bp in breakpoints.values())
        ):
            if fill is not None and not eager:
                fill(event)
                self._account(event)
            self._keep_pending()
            self._stopped_in([(f, f.f_lineno) for f in _stack_frames(sys._getframe(1))])
            self._to_main.put(event)
            self._go.acquire()
            if self._closing:
                raise _Closed

    def _emit_forward(self, event: Event, out) -> None:
        """A forward op's event: its output is held (with its version) until a stop."""
        if self._reads_arrays():
            event.output = _host(out._data)
        else:
            counter = version_counter(out)
            self._pending.append((event, out._data, counter, counter.value))
        self._emit(event)

    def _keep_pending(self) -> None:
        """Copy the outputs held since the last stop, those not changed in place since."""
        for event, array, counter, version in self._pending:
            if counter.value == version:
                event.output = _host(array)
                self._account(event)
            else:  # an in-place op changed it after the event: its statistics stay
                event.dropped = True
        self._pending.clear()

    def _reads_arrays(self) -> bool:
        """Whether the move's target or a breakpoint reads the events' arrays."""
        breakpoints = self.breakpoints
        return getattr(self._predicate, "reads_arrays", False) or bool(
            breakpoints and any(bp.when is not None for bp in breakpoints.values())
        )

    def _record(self, event: Event) -> None:
        event.index = len(self.history)
        self.history.append(event)
        self._account(event)

    def _account(self, event: Event) -> None:
        """Count the event's arrays in the history's bytes; drop the oldest past the cap."""
        self._history_bytes += sum(a.nbytes for a in event.arrays() if a is not None)
        for old in self.history:
            if self._history_bytes <= self.value_cap:
                break
            if old.dropped or old is event:
                continue
            self._history_bytes -= sum(a.nbytes for a in old.arrays() if a is not None)
            old.inputs, old.grad_inputs = [], []
            old.output = old.grad_output = old.update = None
            old.dropped = self.history_dropped = True

    def _stopped_in(self, stack: list) -> None:
        self._stack, self._frames = stack, None

    @property
    def frames(self) -> list[FrameView]:
        """The script's frames where the run stopped, innermost first, with their tensors.

        Read while the run is stopped (the frames are described on first reading)."""
        if self._frames is None:
            self._frames = [_frame_view(f, line) for f, line in self._stack]
        return self._frames

    def interrupt(self) -> None:
        """Stop at the next event (from any thread): a pause for a run going on its own."""
        self._predicate = lambda e: True

    # ----- pages ------------------------------------------------------------------------
    def _before_forward(self, begins: bool = False) -> None:
        """Before a forward op (or a top-level module call): a new page when it `begins` an
        iteration after this one's backward(), or when this one has grown too long."""
        if (begins and self._ended is not None) or len(self.tracer.trace.nodes) >= MAX_PAGE_NODES:
            self._new_page()

    def _before_backward(self) -> None:
        if self._ended == "update":
            self._new_page()
        self._ended = "backward"
        self.backward_calls += 1
        self._page_backward += 1

    def _before_update(self) -> None:
        if self._ended != "update":
            self.update_runs += 1
        self._ended = "update"

    def _new_page(self) -> None:
        """Keep the page that ends (statistics only) and start the next iteration's."""
        for event in self.history:
            event.inputs, event.grad_inputs = [], []
            event.output = event.grad_output = event.update = None
            event.dropped = True
        old = self.tracer.trace
        page = Page(self.iteration, old, self.history, self._page_backward)
        self.pages.append(page)
        self.kept_nodes += len(old.nodes)
        while len(self.pages) > 1 and self.kept_nodes > MAX_KEPT_NODES:
            self.kept_nodes -= len(self.pages.popleft().trace.nodes)
            self.pages_dropped += 1
        self.history = []
        self._history_bytes = 0
        self._pending.clear()
        self.tracer.new_page(Trace(old.level))
        self.iteration += 1
        self._ended = None
        self._page_backward = 0


def _stack_frames(frame) -> list:
    """The script's frames on the stack from `frame` outward, innermost first."""
    found = []
    while frame is not None:
        if _is_script_code(frame.f_code.co_filename):
            found.append(frame)
        frame = frame.f_back
    return found


def _script_frames(tb) -> list:
    """The script's frames of a traceback, innermost first, with their failing lines."""
    found = []
    while tb is not None:
        if _is_script_code(tb.tb_frame.f_code.co_filename):
            found.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return found[::-1]


def _is_script_code(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    return not path.startswith((_ENGINE_DIR, _APP_DIR, *_LIBRARY_DIRS))


def _frame_view(frame, lineno: int) -> FrameView:
    code = frame.f_code
    where = f"{source_path(code.co_filename)}:{lineno}"
    view = FrameView(where, code.co_name, linecache.getline(code.co_filename, lineno).strip())
    for name, value in list(frame.f_locals.items()):
        local = _local_view(name, value)
        if local is not None:
            view.locals.append(local)
    return view


def module_text(module) -> str:
    """A module as a frame's local describes it: its class and parameter count,
    "LeNet (module, 61,706 params)" (its repr's lines are the Build screen's business)."""
    params = sum(p.numel() for p in module.parameters())
    if not params:
        return f"{type(module).__name__} (module)"
    return f"{type(module).__name__} (module, {params:,} param{'s' if params != 1 else ''})"


def _local_view(name: str, value) -> LocalView | None:
    if isinstance(value, engine.Tensor):
        st = debug.stats(value._data) if value.numel() else None
        dtype = str(value.dtype).removeprefix("engine.")
        return LocalView(name, "tensor", tuple(value.shape), dtype, value.requires_grad, st)
    if isinstance(value, engine.nn.Module):
        return LocalView(name, "module", text=module_text(value))
    if isinstance(value, tuple) and value and all(isinstance(v, engine.Tensor) for v in value):
        return LocalView(name, "tuple", text=", ".join(str(tuple(v.shape)) for v in value))
    return None


@dataclass
class ModuleRow:
    """One module of the script's model as the read-only Build view lists it."""

    name: str  # dotted, from the name the script holds the model by
    depth: int
    kind: str  # the class
    args: str  # extra_repr
    params: int  # its own and its children's
    shape: str  # its output's shape at its last call ("" before one)


class ScriptDebugSession(Stepping):
    """A person's script, run on the engine and stepped: the Debug screen's session.

    Offers what a design's DebugSession offers the screen (moves, breakpoints, rows,
    views), plus iterations (pages), the script's output, its frames and its report.
    """

    def __init__(
        self, script: str | Path, args: list[str] | None = None, value_cap: int = DEFAULT_VALUE_CAP
    ):
        self.script = Path(script)
        if not self.script.is_file():
            raise FileNotFoundError(f"{script}: no such file")
        self.args = list(args or [])
        self.value_cap = value_cap
        self.breakpoints = Breakpoints()
        self.findings: list = []
        self.batch = None
        self.page: int | None = None  # the iteration looked at; None: the live one
        self.stepper: ScriptStepper
        self.history: History
        self._capture: tuple | None = None
        self._panel = OutputPanel()
        self._threads: set[int] = set()  # every script thread this session started
        self._start()

    def _start(self) -> None:
        self.stepper = ScriptStepper(self.script, self.args, self.value_cap)
        self.stepper.threads = self._threads
        self._capture_output(self._threads)
        self.breakpoints.attach(self.stepper)
        self.history = History(self.stepper)
        self._live_iteration = self.stepper.iteration
        self.page = None

    def _capture_output(self, threads: set) -> None:
        if self._capture is None:
            out = OutputCapture(sys.stdout, self._panel, threads)
            err = OutputCapture(sys.stderr, self._panel, threads)
            stdin = NoInput(sys.stdin, threads)
            self._capture = (sys.stdout, sys.stderr, sys.stdin, out, err, stdin)
            sys.stdout, sys.stderr, sys.stdin = out, err, stdin
        else:
            for capture in self._capture[3:]:
                capture.threads = threads

    # ----- moving -----------------------------------------------------------------------
    def _moved(self, event: Event) -> Event:
        self.page = None
        if self.stepper.iteration != self._live_iteration:
            self.history = History(self.stepper)
            self._live_iteration = self.stepper.iteration
        return self.history.moved(event)

    def start(self) -> Event:
        """Run to the first call of backward() (or to the end, or to a failure)."""
        return self.run_to_backward()

    def run_to_backward(self) -> Event:
        """To the next call of backward(): the next iteration's, once this one's has run."""
        calls = self.stepper.backward_calls
        return self._moved(
            self.stepper.run_to(
                lambda e: e.phase == "backward" and self.stepper.backward_calls > calls
            )
        )

    def run_to_update(self) -> Event:
        """To the next optimizer.step()."""
        runs = self.stepper.update_runs
        return self._moved(
            self.stepper.run_to(lambda e: e.phase == "update" and self.stepper.update_runs > runs)
        )

    def run_to_module(self, scope: str) -> Event:
        """To the next call of the module `scope` (its first op)."""
        current = self.stepper.last
        outside = [current is None or not in_scope(current.scope, scope)]

        def entered(e: Event) -> bool:
            inside = e.phase == "forward" and in_scope(e.scope, scope)
            if not inside:
                outside[0] = True
            return inside and outside[0]

        return self._moved(self.stepper.run_to(entered))

    def run_to_nonfinite(self) -> Event:
        """To the first op whose value, gradient or update holds NaN or Inf: its producer."""

        def nonfinite(event: Event) -> bool:
            return debug.has_nonfinite(event)

        nonfinite.reads_arrays = True
        return self._moved(self.stepper.run_to(nonfinite))

    def find_anomaly(self) -> Event:
        """The Debug screen's `!`: on a script, run to the first NaN/Inf."""
        return self.run_to_nonfinite()

    def run_to_error(self) -> Event:
        """To the script's failure or its end, past every breakpoint."""
        saved = dict(self.stepper.breakpoints)
        self.stepper.breakpoints.clear()
        try:
            return self._moved(self.stepper.run_to(lambda e: False))
        finally:
            self.stepper.breakpoints.update(saved)

    def forward(self) -> Event | None:
        if self.page is not None:
            return self.history.forward(lambda: self.history.current)
        return self.history.forward(self.step)

    def restart(self) -> Event:
        """Run the script again from its start, to its first backward(); breakpoints stay."""
        try:  # the old run ends first: it gives back sys.argv and the torch modules
            self.stepper.close(timeout=RESTART_WAIT_S)
        except RuntimeError:  # still inside code of its own: it ends at its next op
            pass
        self._panel.clear()
        self._start()
        return self.start()

    def interrupt(self) -> None:
        self.stepper.interrupt()

    def add_line_breakpoint(self, text: str) -> str:
        """Break at every op run from FILE:LINE, or LINE of the script itself."""
        text = text.strip()
        if text.isdigit():
            text = f"{self.script.name}:{text}"
        file, _, line = text.rpartition(":")
        if not file or not line.isdigit():
            raise ValueError(f"a line breakpoint is FILE:LINE, such as train.py:42; got {text!r}")
        target = os.path.abspath(file) if os.sep in file else file
        number = int(line)

        def at_line(e: Event) -> bool:
            if e.phase != "forward" or not e.node.source:
                return False
            source_file, _, source_line = e.node.source.rpartition(":")
            if int(source_line) != number:
                return False
            return source_file == target or os.path.basename(source_file) == target

        label = f"{file}:{number}"
        self.breakpoints.add(Breakpoint(when=at_line, label=label))
        return label

    # ----- iterations (pages) -----------------------------------------------------------
    @property
    def iteration(self) -> int:
        """The iteration looked at."""
        return self.page if self.page is not None else self.stepper.iteration

    @property
    def iterations(self) -> list[int]:
        """The iterations that can be looked at (earlier ones dropped to bound memory)."""
        return [p.number for p in self.stepper.pages] + [self.stepper.iteration]

    def show_iteration(self, delta: int) -> int:
        """Look at the iteration `delta` pages before or after; returns the one shown."""
        numbers = self.iterations
        here = numbers.index(self.iteration)
        target = numbers[max(0, min(len(numbers) - 1, here + delta))]
        if target == self.stepper.iteration:
            self.page = None
            self.history = History(self.stepper)
            self.history.moved(self.stepper.last) if self.stepper.history else None
        else:
            page = next(p for p in self.stepper.pages if p.number == target)
            self.page = target
            self.history = History(page)
            if page.history:
                self.history.moved(page.history[-1])
        return target

    # ----- what the screen shows --------------------------------------------------------
    @property
    def live(self) -> bool:
        return self.page is None and self.history.live

    @property
    def trace(self) -> Trace:
        """The graph of the iteration looked at (partial while it runs or when it failed)."""
        if self.page is not None:
            return next(p.trace for p in self.stepper.pages if p.number == self.page)
        return self.stepper.trace

    @property
    def failed_node(self) -> NodeRecord | None:
        nodes = self.stepper.trace.nodes
        return nodes[-1] if self.page is None and nodes and nodes[-1].error else None

    @property
    def history_bytes(self) -> int:
        return self.stepper._history_bytes

    @property
    def finished(self) -> bool:
        return self.stepper.finished

    @property
    def output(self) -> list[str]:
        """The script's printed lines (the newest OUTPUT_LINES), the unfinished one last."""
        return self._panel.shown()

    @property
    def frames(self) -> list[FrameView]:
        return self.stepper.frames

    @property
    def report(self) -> Report | None:
        return self.stepper.report

    def rows(self) -> list[Row]:
        return rows(self.trace, self.history, self._module_types(), 0.0)

    def view(self, node: int, arrays: bool = True) -> NodeView:
        return node_view(self.trace, self.history, node, arrays)

    def _module_types(self) -> dict[str, str]:
        return {name: type(m).__name__ for name, m in self.modules().items()}

    def modules(self) -> dict[str, engine.nn.Module]:
        """Every module the script has called, by its dotted name."""
        found = {}
        for root, module in list(self.stepper.tracer.roots.items()):
            for sub, m in module.named_modules():
                found[f"{root}.{sub}" if sub else root] = m
        return found

    def module_rows(self) -> list[ModuleRow]:
        """The script's models as trees: class, arguments, parameters and output shape."""
        shapes = self.stepper.tracer.module_shapes
        found = []
        for name, m in self.modules().items():
            params = sum(p.numel() for p in m.parameters())
            found.append(
                ModuleRow(
                    name,
                    name.count("."),
                    type(m).__name__,
                    m.extra_repr(),
                    params,
                    shapes.get(name, ""),
                )
            )
        return found

    def layer_of(self, rec: NodeRecord) -> str:
        """The module a node belongs to and the script's line that ran it."""
        scope = rec.name.rpartition(".")[0] if rec.is_leaf else rec.scope
        module = self.modules().get(scope) if scope else None
        parts = []
        if module is not None:
            kind, args = type(module).__name__, module.extra_repr()
            container = not args and any(True for _ in module.children())
            parts.append(f"module {scope}: {kind}" + ("" if container else f"({args})"))
        if rec.source:
            file, _, line = rec.source.rpartition(":")
            text = linecache.getline(file, int(line)).strip() if line.isdigit() else ""
            parts.append(f"at {source_path(file)}:{line}" + (f": {text}" if text else ""))
        return "\n".join(parts)

    def gradcheck(self, node: int):
        raise ValueError("a script's run is not repeated, so its nodes cannot be re-checked")

    def close(self) -> None:
        """Stop the script (at its next op) and give the streams back."""
        self.stepper.close(wait=False)
        if self._capture is not None:
            stdout, stderr, stdin, out, err, no_input = self._capture
            if sys.stdout is out:
                sys.stdout = stdout
            if sys.stderr is err:
                sys.stderr = stderr
            if sys.stdin is no_input:
                sys.stdin = stdin
            self._capture = None
