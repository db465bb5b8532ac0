"""The design document: a network and how to train it, as versioned JSON."""

from __future__ import annotations

import ast
import copy
import io
import json
import os
import re
import tokenize
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import engine.nn as nn
from app.model.registry import spec
from engine.files import open_regular, write_atomic

FORMAT = "stepgrad.design"
VERSION = 1
EMBED_NAME = "DESIGN_JSON"  # the variable an exported .py file keeps its design in
MAX_FILE_BYTES = 16 * 1024 * 1024  # a design of 50,000 layers is about 5 MB
MAX_DEPTH = 32  # containers inside containers; JSON nesting is bounded by this too
MAX_INPUT_DIMS = 8

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
    def from_dict(cls, data: Any, where: str, depth: int = 1) -> LayerNode:
        if not isinstance(data, dict) or "type" not in data:
            raise DesignError(f"{where}: a layer needs a 'type', got {shown(data)}")
        kind = data["type"]
        if not isinstance(kind, str):
            raise DesignError(f"{where}: 'type' must be a layer type's name, got {shown(kind)}")
        args = data.get("args", {})
        if not isinstance(args, dict):
            raise DesignError(f"{where}: 'args' must be an object, got {shown(args)}")
        name = data.get("name", "")
        if not isinstance(name, str):
            raise DesignError(f"{where}: 'name' must be a string, got {shown(name)}")
        layers = data.get("layers")
        if layers == [] and (s := spec(kind)) is not None and not s.container:
            layers = None  # an empty list on a layer that holds none says nothing
        if layers is not None:
            if not isinstance(layers, list):
                raise DesignError(f"{where}: 'layers' must be a list, got {shown(layers)}")
            if layers and depth >= MAX_DEPTH:
                raise DesignError(
                    f"{where}: containers are nested more than {MAX_DEPTH} deep; "
                    "stepgrad reads designs up to that depth"
                )
            layers = [
                cls.from_dict(d, f"{where}.layers[{i}]", depth + 1) for i, d in enumerate(layers)
            ]
        elif (s := spec(kind)) is not None and s.container:
            layers = []
        return cls(kind, dict(args), name, layers)

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
        _check_plain(data, where)
        if data.get("format") != FORMAT:
            raise DesignError(
                f"{where}: not a stepgrad design (format is {shown(data.get('format'))})"
            )
        version = data.get("version")
        if not _whole(version) or version < 1:
            raise DesignError(
                f"{where}: version must be a whole number from 1, got {shown(version)}"
            )
        if version > VERSION:
            raise DesignError(
                f"{where}: design version {shown(version)} is newer than this stepgrad reads "
                f"(up to {VERSION}); upgrade stepgrad to open it"
            )
        shape = data.get("input", {}).get("shape") if isinstance(data.get("input"), dict) else None
        if (
            not isinstance(shape, list)
            or not 1 <= len(shape) <= MAX_INPUT_DIMS
            or not all(_whole(n) and n > 0 for n in shape)
        ):
            raise DesignError(
                f"{where}: input.shape must be a list of 1 to {MAX_INPUT_DIMS} positive "
                f"integers, got {shown(shape)}"
            )
        layers = data.get("layers", [])
        if not isinstance(layers, list):
            raise DesignError(f"{where}: 'layers' must be a list, got {shown(layers)}")
        name = data.get("name", "untitled")
        if not isinstance(name, str):
            raise DesignError(f"{where}: 'name' must be a string, got {shown(name)}")
        given = data.get("training") or {}
        if not isinstance(given, dict):
            raise DesignError(f"{where}: 'training' must be an object, got {type(given).__name__}")
        training = copy.deepcopy(DEFAULT_TRAINING)
        training.update(given)
        seed = training.get("seed")
        if not _whole(seed) or not 0 <= seed < 2**63:
            raise DesignError(
                f"{where}: training.seed must be a whole number from 0 to 2**63 - 1, "
                f"got {shown(seed)}"
            )
        return cls(
            name=name,
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
        depth = _bracket_depth(text)
        if depth > 2 * MAX_DEPTH + 8:  # a list and an object per container level, and margin
            raise DesignError(
                f"{where}: JSON nested {depth} deep; a design nests at most {MAX_DEPTH} containers"
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DesignError(
                f"{where}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}"
            ) from None
        except (ValueError, RecursionError) as err:  # e.g. an integer of over 4,300 digits
            raise DesignError(f"{where}: malformed JSON: {_first_line(err)}") from None
        return cls.from_dict(data, where)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Design:
        """Read a design from a .json file, or from the data embedded in an exported .py file.

        Only regular files of up to MAX_FILE_BYTES are read: a folder, a device such as
        /dev/zero or a FIFO is refused before anything is read from it.
        """
        path = Path(path)
        try:
            with open_regular(path, MAX_FILE_BYTES) as f:
                raw = f.read(MAX_FILE_BYTES + 1)
            text = raw.decode("utf-8")
        except FileNotFoundError:
            raise DesignError(f"{path}: no such file") from None
        except UnicodeDecodeError as err:
            raise DesignError(
                f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
            ) from None
        except OSError as err:
            raise DesignError(f"{path}: cannot be read ({err.strerror or err})") from None
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


# what nn.Module and nn.Sequential already hold, in PyTorch and in the engine: a layer of
# that name could not be added to a model (PyTorch raises KeyError), so no layer has it
RESERVED_NAMES = frozenset(
    """T_destination add_module append apply bfloat16 buffers call_super_init children compile
    cpu cuda double dump_patches eval extend extra_repr float forward get_buffer
    get_extra_state get_parameter get_submodule half insert ipu load_state_dict modules mtia
    named_buffers named_children named_modules named_parameters parameters pop
    register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
    register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook
    requires_grad_ set_extra_state set_submodule share_memory state_dict to to_empty train
    training type xpu zero_grad""".split()
)
MAX_NAME_LENGTH = 200


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a layer in a built or exported model, or None if it can."""
    if not name:
        return None  # unnamed: the layer goes by its position
    if len(name) > MAX_NAME_LENGTH:
        return f"a layer name has at most {MAX_NAME_LENGTH} characters, got {len(name)}"
    if not name.isprintable():
        return f"a layer name is printable text (no line breaks or tabs), got {shown(name)}"
    if "." in name:
        return f"a layer name cannot contain '.', got {shown(name)}"
    if name.startswith("_") or name in RESERVED_NAMES:
        return (
            f"{name!r} is taken by PyTorch's nn.Module (names starting with '_' are too); "
            "choose another name"
        )
    return None


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
    for name, value in args.items():  # a one-item shape is its int, as the export writes it
        arg = layer_spec.arg(name)
        one_item = isinstance(value, tuple) and len(value) == 1
        if arg and arg.kind == "shape" and not arg.keep_list and one_item:
            args[name] = value[0]
    return layer_spec.cls(**args)


def assemble(node: LayerNode, children: list[tuple[str, nn.Module]]) -> nn.Module:
    """A container layer as an engine module around its already built, named children."""
    body = nn.Sequential(OrderedDict(children))
    return spec(node.type).cls(body) if spec(node.type).wraps_body else body


def _named(nodes: list[LayerNode]):
    return [(module_name(n, i), build_layer(n)) for i, n in enumerate(nodes)]


def embedded_json(source: str, where: str) -> str:
    """The design JSON an exported file carries, read as data: the file is never run.

    Each line that starts `DESIGN_JSON =` is read token by token, just that assignment:
    the first whose value is one plain string literal is the design. Nothing else of the
    file is parsed, so neither a large file nor deeply nested code costs more than a scan.
    """
    for match in _EMBED_LINE.finditer(source):
        tokens = tokenize.generate_tokens(io.StringIO(source[match.start() :]).readline)
        try:
            name, equals, value, end = (next(tokens) for _ in range(4))
        except (tokenize.TokenError, SyntaxError, StopIteration):
            continue
        if (
            name.string == EMBED_NAME
            and equals.string == "="
            and value.type == tokenize.STRING
            and end.type in (tokenize.NEWLINE, tokenize.COMMENT, tokenize.ENDMARKER)
        ):
            text = _string_literal(value.string)
            if text is not None:
                return text
    raise DesignError(f"{where}: no {EMBED_NAME} string in it: not a file stepgrad exported")


_EMBED_LINE = re.compile(rf"^{EMBED_NAME}[ \t]*=", re.MULTILINE)


def _string_literal(token: str) -> str | None:
    """The value of a plain string literal token; None for an f-string or bytes."""
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def shown(value: Any, limit: int = 60) -> str:
    """`value` as an error message shows it: its repr, cut short, printable on any terminal."""
    text = _safe_repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def _safe_repr(value: Any) -> str:
    if _whole(value) and abs(value) >= 10**40:  # repr of a huge int is slow and unreadable
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value) if not isinstance(value, list | dict) else json.dumps(value)[:200]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_plain(data: Any, where: str) -> None:
    """Every string in the document is text that can be written back (no lone surrogates)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise DesignError(
                    f"{where}: the string {shown(item)} holds a lone surrogate "
                    "(\\ud800-\\udfff), which is not text"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _bracket_depth(text: str) -> int:
    """How deep [ and { nest in JSON text (brackets inside strings are not counted)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _first_line(err: BaseException) -> str:
    return (str(err) or type(err).__name__).splitlines()[0]


def _whole(value: Any) -> bool:
    """An int that JSON wrote as a number (true and false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)
