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
import linecache
import os
import runpy
import sys
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
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

    def text(self) -> str:
        lines = [f"{self.where}: {self.message}"]
        if self.source:
            lines.append(f"    {self.source}")
        width = max((len(name) for name, _ in self.operands), default=0)
        lines += [f"    {name:<{width}}  {desc}" for name, desc in self.operands]
        if self.fix:
            lines.append(self.fix)
        lines += [f"called from {c}" for c in self.callers]
        return "\n".join(lines)


def run_script(path: str, args: list[str]) -> int:
    """Run the script at `path` with `args` on the engine; its exit status."""
    script = Path(path)
    if not script.is_file():
        print(f"stepgrad run: {path}: no such file", file=sys.stderr)
        return 2
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        with engine_as_torch():
            runpy.run_path(str(script), run_name="__main__")
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
    frames = _user_frames(err.__traceback__, script)
    if not frames:
        return Report(_shown_path(str(script)), message)
    frame, lineno = frames[-1]
    filename = frame.f_code.co_filename
    source = linecache.getline(filename, lineno).strip()
    callers = []
    for outer, outer_line in reversed(frames[:-1]):
        code = outer.f_code
        text = linecache.getline(code.co_filename, outer_line).strip()
        callers.append(f"{_shown_path(code.co_filename)}:{outer_line} in {code.co_name}: {text}")
    values = _values(source, frame)
    return Report(
        f"{_shown_path(filename)}:{lineno}",
        message,
        source,
        [(text, desc) for text, value in values if (desc := _describe(value)) is not None],
        callers,
        _fix([value for _, value in values]),
    )


def _fix(values: list) -> str:
    """A remedy the operands of the failing line make plain, or ''."""
    layers = [v for v in values if isinstance(v, engine.nn.Linear)]
    tensors = [v for v in values if isinstance(v, engine.Tensor) and v.ndim >= 1]
    for layer in layers:
        for t in tensors:
            n = t.shape[-1]
            if n != layer.in_features:
                return (
                    f"the input has {n} features per sample; set in_features={n} "
                    f"(Linear({n}, {layer.out_features}))"
                )
    if any(isinstance(v, tuple) and v and isinstance(v[0], engine.Tensor) for v in values):
        return "a (values, indices) pair reached an op that takes one tensor: take .values"
    return ""


def _values(source: str, frame: types.FrameType) -> list[tuple[str, object]]:
    """Each name or attribute in `source`, with its value in `frame`."""
    try:
        tree = ast.parse(source.rstrip(":"), mode="exec")
    except SyntaxError:
        return []
    seen, found = set(), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute):
            continue
        text = ast.unparse(node)
        if text in seen:
            continue
        seen.add(text)
        found.append((text, _lookup(node, frame)))
    return found


def _lookup(node, frame: types.FrameType):
    """The value of a name or attribute chain in `frame`, without calling anything but
    attribute lookups."""
    if isinstance(node, ast.Name):
        if node.id in frame.f_locals:
            return frame.f_locals[node.id]
        return frame.f_globals.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _lookup(node.value, frame)
        if owner is None or isinstance(owner, types.ModuleType):
            return None
        try:
            return getattr(owner, node.attr, None)
        except Exception:  # a property that fails: nothing to show
            return None
    return None


def _describe(value) -> str | None:
    if isinstance(value, engine.Tensor):
        grad = ", requires grad" if value.requires_grad else ""
        return f"{tuple(value.shape)} {str(value.dtype).removeprefix('engine.')}{grad}"
    if isinstance(value, engine.nn.Module):
        return repr(value).splitlines()[0] if not list(value.children()) else type(value).__name__
    if isinstance(value, tuple) and value and all(isinstance(v, engine.Tensor) for v in value):
        shapes = ", ".join(str(tuple(v.shape)) for v in value)
        return f"a tuple of {len(value)} tensors ({shapes})"
    return None
