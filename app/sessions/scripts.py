"""Running a person's own PyTorch script on the engine (`stepgrad run SCRIPT.py`).

For the run only, `import torch` and its submodules (and `torchvision.datasets` and
`torchvision.transforms`) resolve to the engine's modules through an import hook in
this process; nothing is installed or changed on disk. The script runs as `python
SCRIPT.py ARGS` would run it: `__name__ == "__main__"`, its own `sys.argv`, its folder
first on `sys.path`. When it fails inside tensor code, the report names the script's
file and line, the line itself, the shape and dtype of each tensor it names, and the
script's own frames, never the engine's.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import inspect
import linecache
import math
import operator
import os
import runpy
import sys
import traceback
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import engine

# torch's modules the engine stands in for (any other torch.* import is refused)
_TORCH_MODULES = {
    "torch": "engine",
    "torch.nn": "engine.nn",
    "torch.nn.functional": "engine.nn.functional",
    "torch.nn.init": "engine.nn.init",
    "torch.nn.utils": "engine.nn.utils",
    "torch.nn.utils.rnn": "engine.nn.utils.rnn",
    "torch.nn.utils.parametrize": "engine.nn.utils.parametrize",
    "torch.nn.utils.parametrizations": "engine.nn.utils.parametrizations",
    "torch.nn.parameter": "engine.nn",
    "torch.nn.modules": "engine.nn",
    "torch.optim": "engine.optim",
    "torch.optim.lr_scheduler": "engine.optim.lr_scheduler",
    "torch.autograd": "engine.autograd",
    "torch.autograd.functional": "engine.autograd.functional",
    "torch.linalg": "engine.linalg",
    "torch.utils": "engine.utils",
    "torch.utils.data": "engine.utils.data",
    "torch.utils.data.dataloader": "engine.utils.data",
    "torch.utils.data.dataset": "engine.utils.data",
    "torch.utils.data.sampler": "engine.utils.data",
    "torch.cuda": "engine.cuda",
    "torch.backends": "engine.backends",
    "torch.backends.cudnn": "engine.backends.cudnn",
    "torch.backends.mps": "engine.backends.mps",
    "torch.backends.cuda": "engine.backends.cuda",
    "torch.backends.cpu": "engine.backends.cpu",
    "torch.accelerator": "engine.accelerator",
    "torchvision": "torchvision",  # a package holding the two below
    "torchvision.datasets": "engine.datasets",
    "torchvision.transforms": "engine.datasets.transforms",
}
SUPPORTED = "torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data, " \
    "torch.autograd, torch.linalg, torchvision.datasets and torchvision.transforms"  # fmt: skip


class UnsupportedImport(ImportError):
    """The script imports a part of PyTorch the engine does not provide."""


class _EngineModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds torch's module names and hands back the engine's modules in their place."""

    def find_spec(self, fullname, path=None, target=None):
        root = fullname.partition(".")[0]
        if root not in ("torch", "torchvision"):
            return None
        target_name = _TORCH_MODULES.get(fullname)
        if target_name is None:
            raise UnsupportedImport(
                f"{fullname} is not provided by stepgrad's engine (supported: {SUPPORTED})",
                name=fullname,
            )
        return importlib.machinery.ModuleSpec(fullname, self, origin=target_name)

    def create_module(self, spec):
        if spec.name == "torchvision":
            # its own package, so `from torchvision import datasets, transforms` finds both
            module = types.ModuleType("torchvision")
            module.__path__ = []
            module.datasets = importlib.import_module("engine.datasets")
            module.transforms = importlib.import_module("engine.datasets.transforms")
            return module
        return importlib.import_module(spec.origin)

    def exec_module(self, module):
        pass  # the engine's module is already loaded


@contextmanager
def engine_as_torch() -> Iterator[None]:
    """While inside, `import torch` (and its submodules) gives the engine's modules."""
    finder = _EngineModules()
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_torch(name)}
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if _is_torch(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def _is_torch(name: str) -> bool:
    return name.partition(".")[0] in ("torch", "torchvision")


@dataclass
class Report:
    """Where a script failed and what its failing line held."""

    where: str  # FILE:LINE
    message: str
    source: str = ""
    operands: list[tuple[str, str]] = field(default_factory=list)
    callers: list[str] = field(default_factory=list)
    fix: str = ""
    caret: str = ""  # ^^^ under the part of `source` that failed

    def text(self) -> str:
        lines = [f"{self.where}: {self.message}"]
        if self.source:
            lines.append(f"    {self.source}")
        if self.source and self.caret:
            lines.append(f"    {self.caret}")
        width = max((len(name) for name, _ in self.operands), default=0)
        lines += [f"    {name:<{width}}  {desc}" for name, desc in self.operands]
        if self.fix:
            lines.append(self.fix)
        lines += [f"called from {c}" for c in self.callers]
        return "\n".join(lines)


def run_script(path: str, args: list[str], explain_nan: bool = False) -> int:
    """Run the script at `path` with `args` on the engine; its exit status.

    `explain_nan`: also stop at the first op that makes a NaN or an Inf, with a report.
    """
    script = Path(path)
    if not script.is_file():
        print(f"stepgrad run: {path}: no such file", file=sys.stderr)
        return 2
    watch, found = nullcontext(), ()
    if explain_nan:  # imported only then: a plain run pays nothing for it
        from app.sessions.nan_watch import NanWatch, NonFiniteFound

        watch, found = NanWatch(), NonFiniteFound
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        with engine_as_torch(), watch:
            runpy.run_path(str(script), run_name="__main__")
    except found as nan:
        print(nan.explain(script).text(), file=sys.stderr)
        return 1
    except SystemExit as done:
        return _exit_status(done.code)
    except UnsupportedImport as err:
        print(f"{_user_place(err.__traceback__, script) or path}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BaseException as err:  # the script's own failure: reported, exit 1
        print(describe_failure(err, script).text(), file=sys.stderr)
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        sys.stdout.flush()
    return 0


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # as Python does for sys.exit("message")
    return 1


def _user_frames(tb, script: Path) -> list[traceback.FrameSummary]:
    """The traceback's frames in the script's folder, outside the engine and the app."""
    folder = script.resolve().parent
    skip = (Path(engine.__file__).resolve().parent, Path(__file__).resolve().parents[1])
    frames = []
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename.startswith("<"):  # runpy's frozen frames, exec'd text
            continue
        file = Path(frame.f_code.co_filename).resolve()
        if any(file.is_relative_to(s) for s in skip) or not file.is_relative_to(folder):
            continue
        frames.append((frame, lineno))
    return frames


def _user_place(tb, script: Path) -> str | None:
    frames = _user_frames(tb, script)
    if not frames:
        return None
    frame, lineno = frames[-1]
    return f"{_shown_path(frame.f_code.co_filename)}:{lineno}"


def _shown_path(filename: str) -> str:
    try:
        return os.path.relpath(filename)
    except ValueError:
        return filename


def describe_failure(err: BaseException, script: Path) -> Report:
    """The report of `err` raised while running `script`."""
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    if not isinstance(err, RuntimeError | ValueError | TypeError | IndexError):
        message = f"{type(err).__name__}: {message}"
    if isinstance(err, SyntaxError) and err.filename and err.lineno:  # the file never ran
        caret = ""
        if err.text and err.offset:
            text = err.text.rstrip("\n")
            indent = len(text) - len(text.lstrip())
            caret = " " * (err.offset - 1 - indent) + "^"
        return Report(
            f"{_shown_path(err.filename)}:{err.lineno}",
            f"SyntaxError: {err.msg}",
            (err.text or "").strip(),
            caret=caret,
        )
    tb = err.__traceback__
    frames = _user_frames(tb, script)
    if not frames:
        return Report(_shown_path(str(script)), message)
    frame, lineno = frames[-1]
    filename = frame.f_code.co_filename
    raw = linecache.getline(filename, lineno).rstrip()
    callers = []
    for outer, outer_line in reversed(frames[:-1]):
        code = outer.f_code
        text = linecache.getline(code.co_filename, outer_line).strip()
        callers.append(f"{_shown_path(code.co_filename)}:{outer_line} in {code.co_name}: {text}")
    try:
        rows, fix, caret = _details(err, frames, raw)
    except Exception:  # a report without its details rather than a crash of its own
        rows, fix, caret = [], "", ""
    return Report(
        f"{_shown_path(filename)}:{lineno}", message, raw.strip(), rows, callers, fix, caret
    )


def _details(err: BaseException, frames: list, raw: str) -> tuple[list, str, str]:
    """The operand rows, the fix and the caret of the report of `err`, which the
    innermost of the script's `frames` raised at its line `raw`."""
    tb = err.__traceback__
    frame, lineno = frames[-1]
    line = _Line(frame, lineno, _callee_frame(tb, frame))
    modules = _Modules(tb, frames)
    operands = [(text, value) for text, value in line.operands() if modules.shows(value)]
    failing = modules.failing
    if failing is not None and all(value is not failing for _, value in operands):
        if frame.f_locals.get("self") is failing:
            name = "self"
        else:
            name = modules.path(failing) or type(failing).__name__
        operands.append((name, failing))
    rows = [
        (text, desc + modules.where(value, text) + line.provenance(text, value))
        for text, value in operands
        if (desc := _describe(value)) is not None
    ]
    return rows, _fix(err, line, modules), _caret(raw, lineno, frame, tb)


def _callee_frame(tb, frame: types.FrameType) -> types.FrameType | None:
    """The frame that `frame` had called when the error went up through it, if any."""
    entries = [entry for entry, _ in traceback.walk_tb(tb)]
    for outer, inner in zip(entries, entries[1:], strict=False):
        if outer is frame:
            return inner
    return None


def _caret(raw: str, lineno: int, frame: types.FrameType, tb) -> str:
    """`^^^` under the part of `raw` (line `lineno`) that failed, as Python's own
    traceback marks it, or '' when Python kept no columns or the part is the whole line."""
    while tb is not None and tb.tb_frame is not frame:
        tb = tb.tb_next
    if tb is None:
        return ""
    positions = list(frame.f_code.co_positions())
    index = tb.tb_lasti // 2
    if not 0 <= index < len(positions):
        return ""
    start_line, end_line, start, end = positions[index]
    if start_line != lineno or start is None or end is None:
        return ""
    encoded = raw.encode()
    start = len(encoded[:start].decode(errors="replace"))  # columns count UTF-8 bytes
    end = len(encoded[:end].decode(errors="replace")) if end_line == lineno else len(raw)
    indent = len(raw) - len(raw.lstrip())
    if start <= indent and end >= len(raw) or end <= start:
        return ""
    return " " * (start - indent) + "^" * (end - start)


_OPERAND_NODES = ast.Name | ast.Attribute | ast.Subscript | ast.Call | ast.BinOp
_LOOKUPS = ast.Name | ast.Attribute | ast.Constant | ast.Tuple | ast.List
_UNKNOWN = object()  # a sub-expression that was not (or could not be) evaluated

# Tensor methods and engine functions that compute a new value from their operands and
# change nothing: the only calls a report re-runs to show a sub-expression's shape.
_PURE_METHODS = frozenset(
    "size dim numel view reshape flatten squeeze unsqueeze t transpose permute contiguous "
    "view_as reshape_as expand expand_as max min sum mean argmax argmin float double long "
    "int bool type_as narrow select chunk split unbind detach abs exp log sqrt sigmoid tanh "
    "relu softmax log_softmax matmul mm bmm norm item".split()
)
_PURE_FUNCTIONS = frozenset(
    "max min cat stack flatten reshape transpose squeeze unsqueeze sum mean argmax argmin "
    "matmul mm bmm softmax log_softmax relu sigmoid tanh exp log sqrt abs numel linear".split()
)
_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.MatMult: operator.matmul,
}


def _is_pure(fn) -> bool:
    if isinstance(fn, types.MethodType):
        return isinstance(fn.__self__, engine.Tensor) and fn.__name__ in _PURE_METHODS
    return (
        isinstance(fn, types.FunctionType)
        and fn.__name__ in _PURE_FUNCTIONS
        and (fn.__module__ or "").partition(".")[0] == "engine"
    )


class _Line:
    """The failing statement of a frame: its expressions and their values in the frame.

    Names and attributes are looked up; a call is re-run only when it is a pure engine
    function or tensor method (`_is_pure`) on operands already found, with gradients off;
    modules and the script's own functions are never called.
    """

    def __init__(self, frame: types.FrameType, lineno: int, callee: types.FrameType | None):
        self.frame, self.lineno, self.callee = frame, lineno, callee
        self.filename = frame.f_code.co_filename
        self.tree = _parse("".join(linecache.getlines(self.filename)))
        self.nodes = sorted(
            (n for root in self._headers() for n in ast.walk(root) if hasattr(n, "col_offset")),
            key=lambda n: (n.lineno, n.col_offset, -n.end_col_offset),
        )
        self._values: dict[int, object] = {}
        self._operands: list[tuple[str, object]] | None = None
        self._live = engine.autograd.state.instrument is None  # no op reaches a debugger
        with engine.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for node in self.nodes:
                self.value(node)

    def _headers(self) -> list[ast.AST]:
        """The expressions the failing line ran: a simple statement, or the header of a
        compound one (the test of an `if`, the iterable of a `for`)."""
        if self.tree is None:
            alone = _parse(linecache.getline(self.filename, self.lineno).strip())
            return [alone] if alone is not None else []
        statement = None
        for node in ast.walk(self.tree):
            if isinstance(node, ast.stmt) and node.lineno <= self.lineno <= node.end_lineno:
                statement = node  # ast.walk goes outside in: the last one is innermost
        match statement:
            case ast.If() | ast.While():
                return [statement.test]
            case ast.For() | ast.AsyncFor():
                return [statement.iter]
            case ast.With() | ast.AsyncWith():
                return [item.context_expr for item in statement.items]
            case ast.Match():
                return [statement.subject]
            case ast.stmt() if not hasattr(statement, "body"):
                return [statement]  # a simple statement: all of it
        return []  # a def, class or try: its line runs nothing to show

    def operands(self) -> list[tuple[str, object]]:
        """Each name, attribute and evaluated sub-expression with its value, in source order."""
        if self._operands is None:
            self._operands = self._find_operands()
        return self._operands

    def _find_operands(self) -> list[tuple[str, object]]:
        seen, found = set(), []
        for node in self.nodes:
            if not isinstance(node, _OPERAND_NODES):
                continue
            if isinstance(getattr(node, "ctx", None), ast.Store | ast.Del):
                continue  # an assignment's target still holds its old value
            text = ast.unparse(node)
            value = self.value(node)
            if value is _UNKNOWN or text in seen:
                continue
            if len(text) > 40 and not isinstance(node, ast.Name | ast.Attribute):
                continue
            seen.add(text)
            found.append((text, value))
        return found

    def calls(self) -> list[tuple[ast.AST, object, list, dict]]:
        """Each call and `@` in the line: (node, callee, arguments, keywords), each a value
        or _UNKNOWN; for `@` the callee is the string "@" and the arguments its sides."""
        found = []
        for node in self.nodes:
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                found.append((node, "@", [self.value(node.left), self.value(node.right)], {}))
            elif isinstance(node, ast.Call):
                args = [self.value(a) for a in node.args]
                keywords = {k.arg: self.value(k.value) for k in node.keywords if k.arg}
                found.append((node, self.value(node.func), args, keywords))
        return found

    def value(self, node: ast.AST):
        """`node`'s value in the frame, or _UNKNOWN."""
        key = id(node)
        if key not in self._values:
            try:
                self._values[key] = self._evaluate(node)
            except Exception:  # a lookup or a pure call that fails: nothing to show
                self._values[key] = _UNKNOWN
        return self._values[key]

    def _evaluate(self, node: ast.AST):
        if not self._live and not isinstance(node, _LOOKUPS):
            return _UNKNOWN  # an op would reach the debugger's instrument
        match node:
            case ast.Name(id=name):
                scope = self.frame.f_locals if name in self.frame.f_locals else self.frame.f_globals
                return scope.get(name, _UNKNOWN)
            case ast.Attribute(value=owner, attr=attr):
                owner = self.value(owner)
                return _UNKNOWN if owner is _UNKNOWN else getattr(owner, attr)
            case ast.Constant(value=constant):
                return constant
            case ast.Tuple(elts=items) | ast.List(elts=items):
                values = [self.value(item) for item in items]
                return _UNKNOWN if _unknown(values) else tuple(values)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                value = self.value(operand)
                return -value if _is_operand(value) else _UNKNOWN
            case ast.BinOp(left=left, op=op, right=right) if type(op) in _ARITHMETIC:
                left, right = self.value(left), self.value(right)
                if not (_is_operand(left) and _is_operand(right)):
                    return _UNKNOWN
                return _ARITHMETIC[type(op)](left, right)
            case ast.Subscript(value=container, slice=index):
                container, index = self.value(container), self.value(index)
                if index is _UNKNOWN or not isinstance(container, engine.Tensor | tuple | list):
                    return _UNKNOWN
                return container[index]
            case ast.Slice(lower=lower, upper=upper, step=step):
                parts = [None if p is None else self.value(p) for p in (lower, upper, step)]
                return _UNKNOWN if _unknown(parts) else slice(*parts)
            case ast.Call(func=func, args=args, keywords=keywords):
                return self._call(func, args, keywords)
        return _UNKNOWN

    def _call(self, func, args, keywords):
        fn = self.value(func)
        if not _is_pure(fn) or any(isinstance(a, ast.Starred) for a in args):
            return _UNKNOWN
        if any(k.arg is None or k.arg in ("out", "inplace") for k in keywords):
            return _UNKNOWN
        values = [self.value(a) for a in args]
        named = {k.arg: self.value(k.value) for k in keywords}
        if _unknown(values) or _unknown(named.values()):
            return _UNKNOWN
        if "inplace" in inspect.signature(fn).bind_partial(*values, **named).arguments:
            return _UNKNOWN
        return fn(*values, **named)

    def text_of(self, value, default: str) -> str:
        """The text of the line's first operand that is `value` itself, or `default`."""
        return next((text for text, v in self.operands() if v is value), default)

    def provenance(self, text: str, value) -> str:
        """' from EXPR at FILE:LINE' for a local tensor last assigned above the failing
        line in the same function, or ''."""
        code = self.frame.f_code
        if code.co_name == "<module>":
            names = self.frame.f_globals
        elif code.co_name.startswith("<"):
            return ""  # a comprehension or lambda: its own scope
        else:
            names = code.co_varnames
        if not isinstance(value, engine.Tensor) or text not in names:
            return ""
        if self.tree is None:
            return ""
        scope = self._scope()
        before = [(n, v) for n, v in _assignments(scope, text) if n.end_lineno < self.lineno]
        looped = [
            loop
            for loop in _walk_body(scope)
            if isinstance(loop, ast.For | ast.While)
            and loop.lineno <= self.lineno <= loop.end_lineno
        ]
        if not before or any(
            n.lineno >= self.lineno for loop in looped for n, _ in _assignments(loop, text)
        ):
            return ""  # in a loop the value may come from a later line's previous round
        node, source = max(before, key=lambda pair: pair[0].lineno)
        if source is None:
            return ""
        shown = ast.unparse(source)
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        return f"   from {shown} at {_shown_path(self.filename)}:{node.lineno}"

    def _scope(self) -> ast.AST:
        """The function (or module) whose code the frame runs."""
        code = self.frame.f_code
        scope = self.tree
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name == code.co_name
                and node.lineno <= self.lineno <= node.end_lineno
            ):
                scope = node
        return scope


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _unknown(values) -> bool:
    return any(value is _UNKNOWN for value in values)


def _is_operand(value) -> bool:
    return isinstance(value, engine.Tensor | int | float) and not isinstance(value, bool)


def _walk_body(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of `scope`'s own code, not of the functions and classes it defines."""
    for child in ast.iter_child_nodes(scope):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        yield child
        yield from _walk_body(child)


def _assignments(scope: ast.AST, name: str) -> list[tuple[ast.stmt, ast.AST | None]]:
    """The statements in `scope` that bind `name`, each with what to show as the value's
    origin: the assigned expression, the whole `x += ...`, or None (a loop variable, a
    `with ... as`)."""
    found = []
    for node in _walk_body(scope):
        match node:
            case ast.Assign(targets=targets, value=value):
                if any(_binds(t, name) for t in targets):
                    found.append((node, value))
            case ast.AnnAssign(target=target, value=value) if _binds(target, name):
                found.append((node, value))
            case ast.AugAssign(target=target) if _binds(target, name):
                found.append((node, node))
            case ast.For(target=target) | ast.AsyncFor(target=target) if _binds(target, name):
                found.append((node, None))
            case ast.With(items=items) if any(
                i.optional_vars is not None and _binds(i.optional_vars, name) for i in items
            ):
                found.append((node, None))
    return found


def _binds(target: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target))


class _Modules:
    """The modules whose `forward` was running when the script failed, outermost first,
    and the name the script called the outermost one by (`net` in `net(inputs)`)."""

    def __init__(self, tb, user_frames: list):
        self.chain: list[tuple[engine.nn.Module, types.FrameType]] = []
        user = {id(frame): lineno for frame, lineno in user_frames}
        caller = None
        for frame, _ in traceback.walk_tb(tb):
            module = frame.f_locals.get("self") if frame.f_code.co_name == "forward" else None
            if isinstance(module, engine.nn.Module):
                if not self.chain or self.chain[-1][0] is not module:
                    self.chain.append((module, frame))
            elif not self.chain and id(frame) in user:
                caller = (frame, user[id(frame)])
        self.failing = self.chain[-1][0] if self.chain else None
        self.root = self.chain[0][0] if self.chain else None
        self.root_name = type(self.root).__name__ if self.root is not None else ""
        if caller is not None and self.root is not None:
            line = _Line(caller[0], caller[1], None)
            for text, value in line.operands():
                if value is self.root:
                    self.root_name = text
                    break
        self._names: dict[int, str] = {}
        if self.root is not None:
            try:
                self._names = {id(m): name for name, m in self.root.named_modules()}
            except Exception:  # a model whose named_modules fails: no paths
                pass

    def path(self, module) -> str:
        """`net.fc1` for the module `fc1` of the model called as `net`, or ''."""
        name = self._names.get(id(module))
        if name is None:
            return ""
        return f"{self.root_name}.{name}" if name else self.root_name

    def shows(self, value) -> bool:
        """Whether an operand is worth a line: not a container module unless it failed."""
        if isinstance(value, engine.nn.Module):
            return value is self.failing or not list(value.children())
        return True

    def where(self, value, text: str) -> str:
        path = self.path(value) if isinstance(value, engine.nn.Module) else ""
        return f" in {path}" if path and path != text else ""

    def failing_input(self):
        """The first argument of the innermost failing module's `forward`, or None."""
        if not self.chain:
            return None
        frame = self.chain[-1][1]
        code = frame.f_code
        return frame.f_locals.get(code.co_varnames[1]) if code.co_argcount > 1 else None


def _fix(err: BaseException, line: _Line, modules: _Modules) -> str:
    """A remedy the operands of the failing line make plain, or ''."""
    for remedy in (_pair_fix, _linear_fix, _conv_fix, _view_fix, _target_fix, _matmul_fix):
        text = remedy(err, line, modules)
        if text:
            return text
    return ""


def _pair_fix(err, line: _Line, modules: _Modules) -> str:
    if not isinstance(err, TypeError):
        return ""
    for text, value in line.operands():
        if isinstance(value, tuple) and value and all(isinstance(v, engine.Tensor) for v in value):
            if getattr(value, "_fields", None) == ("values", "indices"):
                return f"{text} is a (values, indices) pair; take {text}.values (or [0])"
            return f"{text} is a tuple of tensors; pick one or join them with torch.cat"
    return ""


def _linear_fix(err, line: _Line, modules: _Modules) -> str:
    layer, x = modules.failing, modules.failing_input()
    if not isinstance(layer, engine.nn.Linear) or not isinstance(x, engine.Tensor) or x.ndim < 1:
        return ""
    n = x.shape[-1]
    if n == layer.in_features:
        return ""
    return (
        f"the input has {n} features per sample; set in_features={n} "
        f"(Linear({n}, {layer.out_features}))"
    )


def _conv_fix(err, line: _Line, modules: _Modules) -> str:
    layer, x = modules.failing, modules.failing_input()
    kernel = getattr(layer, "kernel_size", None)
    if not hasattr(layer, "in_channels") or not isinstance(x, engine.Tensor):
        return ""
    if not isinstance(kernel, tuple):
        return ""
    k, shape = len(kernel), tuple(x.shape)
    if x.ndim not in (k + 1, k + 2):
        return ""
    channels = shape[1] if x.ndim == k + 2 else shape[0]
    if channels == layer.in_channels:
        return ""
    if x.ndim == k + 1 and layer.in_channels == 1 and shape[0] != 1:
        return (
            f"the input {shape} has no channel dimension; add one with .unsqueeze(1) "
            f"to get {(shape[0], 1, *shape[1:])}"
        )
    size = kernel[0] if len(set(kernel)) == 1 else kernel
    return (
        f"the input has {channels} channel{'s' if channels != 1 else ''}; "
        f"set in_channels={channels} "
        f"({type(layer).__name__}({channels}, {layer.out_channels}, kernel_size={size}))"
    )


def _view_fix(err, line: _Line, modules: _Modules) -> str:
    if not isinstance(err, RuntimeError):
        return ""
    for node, _, args, _ in line.calls():
        method = getattr(node, "func", None)
        if not isinstance(method, ast.Attribute) or method.attr not in ("view", "reshape"):
            continue
        x = line.value(method.value)
        callee = line.callee
        if not isinstance(x, engine.Tensor) and callee is not None:
            if callee.f_code.co_name == method.attr:  # the tensor the engine's view held
                x = callee.f_locals.get("self")
        shape = args[0] if len(args) == 1 and isinstance(args[0], tuple | list) else args
        if not isinstance(x, engine.Tensor) or x.ndim < 1 or not _all_ints(shape):
            continue
        if _fits(x.numel(), shape):
            continue
        rest = tuple(x.shape[1:])
        per = x.numel() // x.shape[0] if x.shape[0] else 0
        counted = f"{'*'.join(map(str, rest))}={per}" if len(rest) > 1 else str(per)
        name = ast.unparse(method.value)
        if isinstance(method.value, ast.Name | ast.Attribute):
            return (
                f"{name} has {counted} values per sample; use "
                f"{name}.{method.attr}({name}.size(0), -1) or {name}.{method.attr}(-1, {per})"
            )
        return (
            f"the tensor has {counted} values per sample; use .{method.attr}(-1, {per}), "
            "or .flatten(1), which always fits"
        )
    return ""


def _all_ints(shape) -> bool:
    return all(isinstance(n, int) and not isinstance(n, bool) for n in shape)


def _fits(numel: int, shape) -> bool:
    known = math.prod(n for n in shape if n != -1)
    if -1 in shape:
        return list(shape).count(-1) == 1 and known != 0 and numel % known == 0
    return known == numel


_TARGET_LOSSES = ("cross_entropy", "nll_loss")


def _target_fix(err, line: _Line, modules: _Modules) -> str:
    if not isinstance(err, RuntimeError | ValueError | IndexError):
        return ""
    pairs = []
    if isinstance(modules.failing, engine.nn.CrossEntropyLoss | engine.nn.NLLLoss):
        frame = modules.chain[-1][1]
        pairs.append([frame.f_locals.get(name) for name in frame.f_code.co_varnames[1:3]])
    for _, fn, args, keywords in line.calls():
        if (
            isinstance(fn, types.FunctionType)
            and fn.__name__ in _TARGET_LOSSES
            and (fn.__module__ or "").startswith("engine")
        ):
            x = args[0] if args else keywords.get("input")
            pairs.append([x, args[1] if len(args) > 1 else keywords.get("target")])
    for x, target in pairs:
        if isinstance(x, engine.Tensor) and isinstance(target, engine.Tensor):
            fix = _target_remedy(
                x, target, line.text_of(x, "the input"), line.text_of(target, "the target")
            )
            if fix:
                return fix
    return ""


def _target_remedy(x, target, x_text: str, t_text: str) -> str:
    """What a cross-entropy's class-index target `target` needs to fit the scores `x`."""
    if x.ndim < 1:
        return ""
    integer = not engine.is_floating_point(target)
    if target.ndim >= 1 and x.ndim >= 2 and target.shape[0] != x.shape[0]:
        return (
            f"{x_text} has {x.shape[0]} rows of scores for {target.shape[0]} targets; "
            "check that forward keeps the batch dimension (flatten with "
            "x.view(x.size(0), -1), not x.view(-1, ...))"
        )
    if integer and target.shape == x.shape and x.ndim == 2:
        return (
            f"{t_text} looks one-hot {tuple(target.shape)}; pass class indices: {t_text}.argmax(1)"
        )
    if target.ndim == 2 and target.shape[1] == 1:
        shape = tuple(target.shape)
        return f"{t_text} has shape {shape}; pass one index per sample: {t_text}.squeeze(1)"
    dtype = str(target.dtype).removeprefix("engine.")
    if not integer or dtype not in ("int64", "uint8"):
        return f"{t_text} holds class indices as {dtype}; pass {t_text}.long()"
    if x.ndim >= 2 and target.numel():
        low, high, classes = int(target.min()), int(target.max()), x.shape[1]
        if high >= classes:
            return (
                f"the labels go up to {high} but {x_text} has {classes} classes; "
                f"the last layer needs {high + 1} outputs"
            )
        if low < 0:
            return f"the labels include {low}; class indices run from 0 to {classes - 1}"
    return ""


def _matmul_fix(err, line: _Line, modules: _Modules) -> str:
    if not isinstance(err, RuntimeError):
        return ""
    for node, fn, args, _ in line.calls():
        if fn == "@":
            a, b = args
            a_text, b_text = ast.unparse(node.left), ast.unparse(node.right)
        elif getattr(fn, "__name__", "") in ("matmul", "mm", "bmm") and _is_pure(fn):
            if isinstance(fn, types.MethodType):
                a, b = fn.__self__, args[0] if args else None
                a_text, b_text = ast.unparse(node.func.value), ast.unparse(node.args[0])
            elif len(args) >= 2:
                a, b = args[:2]
                a_text, b_text = ast.unparse(node.args[0]), ast.unparse(node.args[1])
            else:
                continue
        else:
            continue
        if not isinstance(a, engine.Tensor) or not isinstance(b, engine.Tensor):
            continue
        if a.ndim < 1 or b.ndim < 1:
            continue
        inner, rows = a.shape[-1], b.shape[-2] if b.ndim >= 2 else b.shape[0]
        if inner == rows:
            continue
        fix = (
            f"{a_text} {tuple(a.shape)} has {inner} columns but {b_text} {tuple(b.shape)} "
            f"has {rows} rows; they must be equal"
        )
        if b.ndim == 2 and b.shape[1] == inner:
            fix += f": {a_text} @ {b_text}.t() fits"
        elif a.ndim == 2 and a.shape[0] == rows:
            fix += f": {a_text}.t() @ {b_text} fits"
        return fix
    return ""


def _describe(value) -> str | None:
    if isinstance(value, engine.Tensor):
        grad = ", requires grad" if value.requires_grad else ""
        return f"{tuple(value.shape)} {str(value.dtype).removeprefix('engine.')}{grad}"
    if isinstance(value, engine.nn.Module):
        return repr(value).splitlines()[0] if not list(value.children()) else type(value).__name__
    if isinstance(value, tuple) and value and all(isinstance(v, engine.Tensor) for v in value):
        fields = getattr(value, "_fields", None) or [""] * len(value)
        parts = ", ".join(
            f"{name} {_describe(v)}".strip() for name, v in zip(fields, value, strict=True)
        )
        kind = "pair" if len(value) == 2 else f"tuple of {len(value)}"
        return f"a {'(' + ', '.join(fields) + ') ' if fields[0] else ''}{kind}: {parts}"
    return None
