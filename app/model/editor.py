"""Editing a design: every edit undoable, the analysis always current. No Textual here."""

from __future__ import annotations

import copy
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.model.analysis import Analysis, Fix, analyse, suggested_args
from app.model.design import Design, LayerNode, module_name, name_problem, shown
from app.model.recovery import Autosave
from app.model.registry import spec

Path_ = tuple[int, ...]
UNDO_LIMIT = 200
MAX_DESIGN_NAME = 100


@dataclass
class Snapshot:
    design: dict
    selection: Path_ | None


NAME_PREFIXES = {
    "Conv2d": "conv",
    "Linear": "fc",
    "BatchNorm1d": "bn",
    "BatchNorm2d": "bn",
    "MaxPool2d": "pool",
    "AvgPool2d": "pool",
    "Dropout": "drop",
    "Residual": "res",
}


class DesignEditor:
    """The open design, its selection, undo/redo history and file.

    Every edit goes through `_edit`, which snapshots the design for undo,
    re-runs the analysis and tells listeners; the UI only draws what is here.
    """

    def __init__(self, design: Design, path: str | os.PathLike | None = None):
        self.design = design
        self.path = Path(path) if path else None
        self.selection: Path_ | None = (0,) if design.layers else None
        self.modified = False
        self._undo: list[Snapshot] = []
        self._redo: list[Snapshot] = []
        self.listeners: list[Callable[[DesignEditor], None]] = []
        self._last_key: object = None  # edits with the same key merge into one undo step
        self.analysis: Analysis = analyse(design)
        self.recovery: Autosave | None = None  # set by the app: headless editing writes none

    # ----- opening and saving ---------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike) -> DesignEditor:
        return cls(Design.load(path), path)

    def save(self, path: str | os.PathLike | None = None, replace: bool = False) -> Path:
        """Save to `path` (or the file it came from); .py files are re-saved as .json beside.

        A file other than the one the design came from is never replaced unless `replace`:
        FileExistsError says it is there. Saved as another file, the design takes that
        file's name (a copy saved as `big.json` is the design `big`).
        """
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file to save to: give a path")
        elsewhere = self.path is None or not _same_file(target, self.path)
        if target.suffix == ".py":
            target = target.with_suffix(".json")
        ours = self.path is not None and self.path.suffix != ".py" and _same_file(target, self.path)
        if target.exists() and not ours and not replace:
            raise FileExistsError(errno.EEXIST, "another file is there", str(target))
        if elsewhere and target.stem != self.design.name:
            name = self.design.name
            self._set_name(target.stem)
            try:
                self.design.save(target)
            except OSError:
                self._set_name(name)
                raise
        else:
            self.design.save(target)
        self.path, self.modified = target, False
        self.discard_recovery()
        self._notify()
        return target

    # ----- recovery -------------------------------------------------------
    def autosave(self) -> None:
        """Keep unsaved changes where a crash cannot lose them (when an autosave is attached)."""
        if self.modified and self.recovery is not None:
            self.recovery.write(self.design.to_json(), self.path)

    def discard_recovery(self) -> None:
        """The changes are saved or given up: drop the autosave."""
        if self.recovery is not None:
            self.recovery.discard()

    # ----- what is selected -------------------------------------------------
    @property
    def selected(self) -> LayerNode | None:
        return self.design.node(self.selection) if self.selection else None

    def select(self, path: Path_ | None) -> None:
        self.selection = path
        self._last_key = None
        self._notify()

    def incoming_shape(self, path: Path_ | None) -> tuple | None:
        """The per-sample shape that reaches a layer inserted after `path`."""
        if path is None:
            return self.design.input_shape
        info = self.analysis.info(path)
        return info.output_shape if info else None

    # ----- edits ------------------------------------------------------------
    def add_layer(self, type_name: str, args: dict | None = None) -> Path_:
        """Add a layer after the selection (inside it, when a container is selected)."""
        layer_spec = spec(type_name)
        if layer_spec is None:
            raise KeyError(f"unknown layer type {type_name!r}")
        sel = self.selection
        if sel is not None and self.design.node(sel).layers is not None:
            parent = self.design.node(sel)
            path = sel + (len(parent.layers),)
            incoming = self._shape_at_end_of(sel)
        elif sel is None:
            path, incoming = (len(self.design.layers),), self._last_shape()
        else:
            path, incoming = sel[:-1] + (sel[-1] + 1,), self.incoming_shape(sel)
        if args is None:
            args = {} if layer_spec.container else suggested_args(type_name, incoming)
        node = LayerNode(
            type_name,
            dict(args),
            name=self._fresh_name(type_name),
            layers=[] if layer_spec.container else None,
        )

        def edit():
            self.design.siblings(path).insert(path[-1], node)
            return path

        return self._edit(edit)

    def _fresh_name(self, type_name: str) -> str:
        """A name by type that no layer has (conv1, conv2, fc1): a layer keeps it when
        others are inserted, so the parameter names in a checkpoint stay the same."""
        prefix = NAME_PREFIXES.get(type_name) or type_name.lower().removesuffix("2d")
        taken, stack = set(), list(self.design.layers)
        while stack:
            node = stack.pop()
            taken.add(node.name)
            stack.extend(node.layers or [])
        return next(f"{prefix}{n}" for n in range(1, len(taken) + 2) if f"{prefix}{n}" not in taken)

    def delete(self) -> None:
        sel = self.selection
        if sel is None:
            return

        def edit():
            siblings = self.design.siblings(sel)
            del siblings[sel[-1]]
            if siblings:
                return sel[:-1] + (min(sel[-1], len(siblings) - 1),)
            return sel[:-1] or None

        self._edit(edit)

    def duplicate(self) -> None:
        sel = self.selection
        if sel is None:
            return

        def edit():
            siblings = self.design.siblings(sel)
            twin = copy.deepcopy(siblings[sel[-1]])
            twin.name = _fresh_name(twin.name, siblings) if twin.name else ""
            siblings.insert(sel[-1] + 1, twin)
            return sel[:-1] + (sel[-1] + 1,)

        self._edit(edit)

    def move(self, offset: int) -> None:
        """Move the selection up (-1) or down (+1) among its siblings."""
        sel = self.selection
        if sel is None:
            return
        siblings = self.design.siblings(sel)
        target = sel[-1] + offset
        if not 0 <= target < len(siblings):
            return

        def edit():
            siblings.insert(target, siblings.pop(sel[-1]))
            return sel[:-1] + (target,)

        self._edit(edit)

    def wrap_in_residual(self) -> None:
        sel = self.selection
        if sel is None:
            return

        def edit():
            siblings = self.design.siblings(sel)
            siblings[sel[-1]] = LayerNode("Residual", {}, layers=[siblings[sel[-1]]])
            return sel

        self._edit(edit)

    def rename(self, name: str) -> None:
        sel = self.selection
        if sel is None:
            return
        name = name.strip()
        if (why := name_problem(name)) is not None:
            raise ValueError(why)
        siblings = self.design.siblings(sel)
        taken = [module_name(n, i) for i, n in enumerate(siblings) if i != sel[-1]]
        if name and name in taken:
            raise ValueError(f"another layer here is already called {name!r}")
        self._edit(lambda: (setattr(self.design.node(sel), "name", name), sel)[1], ("name", sel))

    def set_arg(self, name: str, value) -> None:
        """Set one argument of the selected layer (None removes it: the default applies).

        Consecutive changes of the same argument (typing a number) undo as one step.
        """
        sel = self.selection
        if sel is None:
            return

        def edit():
            args = self.design.node(sel).args
            if value is None:
                args.pop(name, None)
            else:
                args[name] = value
            return sel

        self._edit(edit, key=("arg", sel, name))

    def apply_fix(self, fix: Fix) -> None:
        def edit():
            for change in fix.edits:  # one by one: a layer inserted takes a name no layer has
                layer = change.get("layer")
                if change["op"] == "insert" and not layer.get("name"):
                    named = {**layer, "name": self._fresh_name(layer["type"])}
                    change = {**change, "layer": named}
                self.design.apply([change])
            inserted = [e for e in fix.edits if e["op"] == "insert"]
            return tuple(inserted[0]["path"]) if inserted else self.selection

        self._edit(edit)

    def set_training(self, key: str, value) -> None:
        def edit():
            self.design.training[key] = value
            return self.selection

        self._edit(edit, key=("training", key))

    def rename_design(self, name: str) -> None:
        """Give the design another name; a saved design's file is renamed to match.

        The file keeps what it holds but the name (unsaved changes stay unsaved), and
        a file of that name already there is never replaced: ValueError says so.
        """
        name = name.strip()
        if (why := design_name_problem(name)) is not None:
            raise ValueError(why)
        if name == self.design.name:
            return
        if self.path is None or self.path.suffix == ".py":  # no file of its own yet
            self._set_name(name)
            self.modified = True
            self.autosave()
            self._notify()
            return
        target = self.path.with_name(name + ".json")
        if target.exists() and not _same_file(target, self.path):
            raise ValueError(f"{target} is already there: choose another name")
        on_disk = Design.load(self.path)  # DesignError (a ValueError) names the file
        on_disk.name = name
        on_disk.save(target)
        if not _same_file(target, self.path):
            self.path.unlink()
        self.path = target
        self._set_name(name)
        self.autosave()  # the recovery copy, if any, now belongs to the new file
        self._notify()

    def _set_name(self, name: str) -> None:
        """The design's name, in the undo history too: undoing an edit keeps the file's name."""
        self.design.name = name
        for snap in self._undo + self._redo:
            snap.design["name"] = name

    # ----- undo -------------------------------------------------------------
    def undo(self) -> bool:
        return self._swap(self._undo, self._redo)

    def redo(self) -> bool:
        return self._swap(self._redo, self._undo)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def _snapshot(self) -> Snapshot:
        return Snapshot(self.design.to_dict(), self.selection)

    def _swap(self, source: list[Snapshot], target: list[Snapshot]) -> bool:
        if not source:
            return False
        target.append(self._snapshot())
        snap = source.pop()
        self.design = Design.from_dict(snap.design)
        self.selection = snap.selection
        self._last_key = None
        self._changed()
        return True

    def _edit(self, change: Callable[[], Path_ | None], key: object = None) -> Path_ | None:
        before = self._snapshot()
        selection = change()
        if key is None or key != self._last_key or not self._undo:
            self._undo.append(before)
            del self._undo[:-UNDO_LIMIT]
        self._last_key = key
        self._redo.clear()
        self.selection = selection
        self._changed()
        return selection

    def _changed(self) -> None:
        self.modified = True
        self.analysis = analyse(self.design)
        self.autosave()
        self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener(self)

    # ----- shapes for insertion -----------------------------------------------
    def _last_shape(self) -> tuple | None:
        top = [i for i in self.analysis.layers if len(i.path) == 1]
        return top[-1].output_shape if top else self.design.input_shape

    def _shape_at_end_of(self, container: Path_) -> tuple | None:
        node = self.design.node(container)
        if node.layers:
            return self.incoming_shape(container + (len(node.layers) - 1,))
        info = self.analysis.info(container)
        return info.input_shape if info else None


def _fresh_name(name: str, siblings: list[LayerNode]) -> str:
    taken = {n.name for n in siblings}
    i = 2
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def design_name_problem(name: str) -> str | None:
    """Why `name` cannot name a design (it names its file too), or None if it can."""
    if not name or name in (".", ".."):
        return "a design needs a name"
    if len(name) > MAX_DESIGN_NAME:
        return f"a design name has at most {MAX_DESIGN_NAME} characters, got {len(name)}"
    if not name.isprintable() or any(c in name for c in "/\\"):
        return f"a design name is printable text without / or \\, got {shown(name)}"
    if name.startswith("."):
        return f"a design name cannot start with '.' (a hidden file), got {shown(name)}"
    return None
