"""The design document: a network and how to train it, as versioned JSON."""

from __future__ import annotations

import ast
import copy
import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import engine.nn as nn
from app.model.registry import spec
from engine.files import write_atomic

FORMAT = "stepgrad.design"
VERSION = 1
EMBED_NAME = "DESIGN_JSON"  # the variable an exported .py file keeps its design in

DEFAULT_TRAINING = {
    "dataset": "digits",
    "loss": "CrossEntropyLoss",
    "optimizer": {"type": "Adam", "lr": 0.001},
    "batch_size": 64,
    "epochs": 5,
    "seed": 0,
}


class DesignError(ValueError):
    """A design file that cannot be read: the message names the file and what is wrong."""


@dataclass
class LayerNode:
    """One layer of a design; containers (Sequential, Residual) hold `layers`."""

    type: str
    args: dict = field(default_factory=dict)
    name: str = ""
    layers: list[LayerNode] | None = None

    @classmethod
    def from_dict(cls, data: dict, where: str) -> LayerNode:
        if not isinstance(data, dict) or "type" not in data:
            raise DesignError(f"{where}: a layer needs a 'type', got {data!r}")
        args = data.get("args", {})
        if not isinstance(args, dict):
            raise DesignError(f"{where}: 'args' must be an object, got {args!r}")
        layers = data.get("layers")
        if layers is not None:
            if not isinstance(layers, list):
                raise DesignError(f"{where}: 'layers' must be a list")
            layers = [cls.from_dict(d, f"{where}.layers[{i}]") for i, d in enumerate(layers)]
        elif (s := spec(data["type"])) is not None and s.container:
            layers = []
        return cls(str(data["type"]), dict(args), str(data.get("name", "")), layers)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"type": self.type, "args": dict(self.args)}
        if self.name:
            out["name"] = self.name
        if self.layers is not None:
            out["layers"] = [child.to_dict() for child in self.layers]
        return out


@dataclass
class Design:
    """A network (input shape and a tree of layers) plus its training settings."""

    name: str = "untitled"
    input_shape: tuple = (1, 8, 8)
    layers: list[LayerNode] = field(default_factory=list)
    training: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_TRAINING))

    # ----- reading and writing ---------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, where: str = "design") -> Design:
        if not isinstance(data, dict):
            raise DesignError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise DesignError(f"{where}: not a stepgrad design (format is {data.get('format')!r})")
        version = data.get("version")
        if not _whole(version) or version < 1:
            raise DesignError(f"{where}: version must be a whole number from 1, got {version!r}")
        if version > VERSION:
            raise DesignError(
                f"{where}: design version {version!r} is newer than this stepgrad reads "
                f"(up to {VERSION}); upgrade stepgrad to open it"
            )
        shape = data.get("input", {}).get("shape") if isinstance(data.get("input"), dict) else None
        if not isinstance(shape, list) or not shape or not all(_whole(n) and n > 0 for n in shape):
            raise DesignError(
                f"{where}: input.shape must be a list of positive integers, got {shape!r}"
            )
        layers = data.get("layers", [])
        if not isinstance(layers, list):
            raise DesignError(f"{where}: 'layers' must be a list")
        given = data.get("training") or {}
        if not isinstance(given, dict):
            raise DesignError(f"{where}: 'training' must be an object, got {type(given).__name__}")
        training = copy.deepcopy(DEFAULT_TRAINING)
        training.update(given)
        seed = training.get("seed")
        if not _whole(seed) or not 0 <= seed < 2**63:
            raise DesignError(
                f"{where}: training.seed must be a whole number from 0 to 2**63 - 1, got {seed!r}"
            )
        return cls(
            name=str(data.get("name", "untitled")),
            input_shape=tuple(shape),
            layers=[LayerNode.from_dict(d, f"{where}: layers[{i}]") for i, d in enumerate(layers)],
            training=training,
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "input": {"shape": list(self.input_shape)},
            "layers": [node.to_dict() for node in self.layers],
            "training": copy.deepcopy(self.training),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "design") -> Design:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DesignError(
                f"{where}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}"
            ) from None
        return cls.from_dict(data, where)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Design:
        """Read a design from a .json file, or from the data embedded in an exported .py file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DesignError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise DesignError(f"{path}: cannot be read ({err})") from None
        if path.suffix == ".py":
            text = embedded_json(text, str(path))
        return cls.from_json(text, str(path))

    def save(self, path: str | os.PathLike) -> None:
        """Write the design as JSON, atomically: a temporary file, then a rename."""
        write_atomic(Path(path), self.to_json())

    # ----- the tree -------------------------------------------------------
    def node(self, path: tuple[int, ...]) -> LayerNode:
        """The layer at `path` (indices from the top level down through containers)."""
        siblings, node = self.layers, None
        for i in path:
            node = siblings[i]
            siblings = node.layers or []
        if node is None:
            raise IndexError("empty path")
        return node

    def siblings(self, path: tuple[int, ...]) -> list[LayerNode]:
        """The list that holds the layer at `path`."""
        return self.layers if len(path) == 1 else self.node(path[:-1]).layers

    def walk(self):
        """(path, node) for every layer, depth first, in execution order."""

        def visit(nodes, prefix):
            for i, n in enumerate(nodes):
                yield prefix + (i,), n
                if n.layers is not None:
                    yield from visit(n.layers, prefix + (i,))

        yield from visit(self.layers, ())

    def apply(self, edits: list[dict]) -> None:
        """Apply edits (as a Fix carries them): set an argument, insert or remove a layer."""
        for edit in edits:
            path = tuple(edit["path"])
            if edit["op"] == "set":
                self.node(path).args[edit["arg"]] = edit["value"]
            elif edit["op"] == "insert":
                self.siblings(path).insert(path[-1], LayerNode.from_dict(edit["layer"], "edit"))
            elif edit["op"] == "remove":
                del self.siblings(path)[path[-1]]
            else:
                raise ValueError(f"unknown edit {edit['op']!r}")

    # ----- building -------------------------------------------------------
    def build(self) -> nn.Sequential:
        """The engine model: an nn.Sequential whose layers carry the design's names."""
        return nn.Sequential(OrderedDict(_named(self.layers)))


def module_name(node: LayerNode, index: int) -> str:
    """The name a layer has in the built model: its own, or its position."""
    return node.name or str(index)


def build_layer(node: LayerNode) -> nn.Module:
    """One layer (and, for containers, its children) as an engine module."""
    layer_spec = spec(node.type)
    if layer_spec is None:
        raise DesignError(f"unknown layer type {node.type!r}")
    if layer_spec.container:
        return assemble(node, _named(node.layers or []))
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in node.args.items()}
    return layer_spec.cls(**args)


def assemble(node: LayerNode, children: list[tuple[str, nn.Module]]) -> nn.Module:
    """A container layer as an engine module around its already built, named children."""
    body = nn.Sequential(OrderedDict(children))
    return spec(node.type).cls(body) if spec(node.type).wraps_body else body


def _named(nodes: list[LayerNode]):
    return [(module_name(n, i), build_layer(n)) for i, n in enumerate(nodes)]


def embedded_json(source: str, where: str) -> str:
    """The design JSON an exported file carries, read as data: the file is never run."""
    try:
        tree = ast.parse(source, filename=where)
    except SyntaxError as err:
        raise DesignError(f"{where}:{err.lineno}: not valid Python ({err.msg})") from None
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == EMBED_NAME for t in stmt.targets)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            return stmt.value.value
    raise DesignError(f"{where}: no {EMBED_NAME} string in it: not a file stepgrad exported")


def _whole(value: Any) -> bool:
    """An int that JSON wrote as a number (true and false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)
