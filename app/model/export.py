"""A design (and its trained weights) as Python source that runs on the engine or PyTorch."""

from __future__ import annotations

import math
import os
from pathlib import Path, PurePath

from app.model.analysis import analyse
from app.model.design import EMBED_NAME, Design, LayerNode, module_name
from app.model.registry import REQUIRED, spec
from app.model.weights import read_weights
from engine import serialization
from engine.files import write_atomic

TARGETS = ("engine", "torch")
# ruff's and black's default width: the file stays formatted in whatever folder it is saved
LINE_LENGTH = 88
INDENT = "    "


class ExportError(ValueError):
    """A design or weights file that cannot be exported: the message says which and why."""


def export_source(design: Design, target: str = "engine", weights_path: str | None = None) -> str:
    """The design as a runnable Python file for `target` ("engine" or "torch").

    `weights_path` names the weights file (.npz written by engine.save) relative to
    the exported file's folder; `build_model()` then loads it. The design itself is
    embedded as data (DESIGN_JSON), so that stepgrad reopens the file without running it.
    """
    if target not in TARGETS:
        raise ValueError(f"export target must be one of {', '.join(TARGETS)}, got {target!r}")
    check_exportable(design)
    torch = target == "torch"
    # classes PyTorch lacks, defined once each, in the order the design first uses them
    torch_classes = dict.fromkeys(spec(node.type).torch_source for _, node in design.walk())
    source = _header(design, target, weights_path is not None)
    if weights_path is not None:
        source += "\n" + _weights_constant(weights_path)
    blocks = [
        _TORCH_LOADER if torch and weights_path is not None else "",
        *(torch_classes if torch else ()),
        _build_model(design, target, weights_path is not None),
        _design_json(design),
        _main(design),
    ]
    return source + "".join("\n\n" + block for block in blocks if block)


def export_file(
    design: Design,
    path: str | os.PathLike,
    target: str = "engine",
    weights: str | os.PathLike | None = None,
) -> Path:
    """Write the exported source to `path` atomically; `weights` is an engine.save .npz.

    The weights file is referred to by its path relative to the exported file, so the
    two can move together.
    """
    path = Path(path)
    weights_path = None
    if weights is not None:
        weights = Path(weights)
        check_weights(design, weights)
        weights_path = _relative(weights, path.parent)
    write_atomic(path, export_source(design, target, weights_path))
    return path


def check_exportable(design: Design) -> None:
    """Raise ExportError unless the design passes validation (which builds and runs it)."""
    analysis = analyse(design)
    if not analysis.ok:
        listed = "; ".join(str(p) for p in analysis.problems[:3])
        more = len(analysis.problems) - 3
        raise ExportError(
            f"cannot export {design.name!r}: {listed}" + (f" (and {more} more)" if more > 0 else "")
        )
    try:
        design.build()
    except (ValueError, TypeError, KeyError) as err:
        why = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise ExportError(f"cannot export {design.name!r}: {why}") from None


def check_weights(design: Design, weights: Path) -> None:
    """Raise ExportError unless `weights` holds exactly the design's parameters and buffers.

    Each must be a tensor of the parameter's exact shape, floating for floating ones.
    """
    if not os.path.lexists(weights):
        raise ExportError(f"{weights}: no such weights file")
    try:
        read_weights(weights, design.build(), f"design {design.name!r}")
    except (ValueError, OSError) as err:
        raise ExportError(str(err)) from None


# ----- the parts of the file ---------------------------------------------------
def _header(design: Design, target: str, weights: bool) -> str:
    title = " ".join("".join(c for c in design.name if c.isprintable()).split()) or "untitled"
    title = title.replace("\\", "/").replace('"', "'")
    ending = (
        f", exported from stepgrad to run on {'PyTorch' if target == 'torch' else 'its engine'}."
    )
    room = LINE_LENGTH - len('"""') * 2 - len(ending)
    if len(title) > room:
        title = title[: room - 3].rstrip() + "..."
    stdlib = ["from collections import OrderedDict"]
    if weights:
        stdlib.append("from pathlib import Path")
    if target == "torch":
        stdlib = (["import json"] if weights else []) + stdlib
        libraries = ["import torch", "import torch.nn as nn"]
        if weights:
            libraries.insert(0, "import numpy as np")
    else:
        libraries = ["import engine as torch", "import engine.nn as nn"]
    return f'"""{title}{ending}"""\n\n' + "\n".join(stdlib) + "\n\n" + "\n".join(libraries) + "\n"


def _weights_constant(weights_path: str) -> str:
    path = PurePath(weights_path)
    if path.is_absolute():
        where = f"Path({_literal(str(path))})"
    elif len(path.parts) == 1:
        where = f"Path(__file__).with_name({_literal(path.name)})"
    else:
        where = f"Path(__file__).parent / {_literal(path.as_posix())}"
    comment = "# the trained weights, a .npz written by stepgrad (read without pickle)"
    return f"{comment}\nWEIGHTS = {where}\n"


_TORCH_LOADER = f'''
def load_weights(path):
    """A state dict from a stepgrad .npz, read with numpy (nothing is unpickled)."""
    with np.load(path, allow_pickle=False) as npz:
        manifest = json.loads(npz["{serialization.MANIFEST}"].tobytes())
        if manifest.get("format") != "{serialization.FORMAT}" or manifest.get("version") != 1:
            raise ValueError(f"{{path}}: not a stepgrad state dict (format version 1)")
        return OrderedDict(
            (key, torch.from_numpy(npz[entry["array"]]))
            for key, entry in manifest["root"]["items"]
        )
'''.lstrip("\n")
assert serialization.VERSION == 1, "the loader above reads version 1 of engine.save's format"


def _build_model(design: Design, target: str, weights: bool) -> str:
    lines = [
        "def build_model():",
        f'    """The network{", with the exported weights loaded" if weights else ""}."""',
        *_sequential(design.layers, 1, target, prefix="model = "),
    ]
    if weights:
        loaded = "torch.load(WEIGHTS)" if target == "engine" else "load_weights(WEIGHTS)"
        lines.append(f"    model.load_state_dict({loaded})")
    lines.append("    return model")
    return "\n".join(lines) + "\n"


def _design_json(design: Design) -> str:
    text = design.to_json().replace("\\", "\\\\").replace('"""', '""\\"')
    comment = "# the design this file was exported from: stepgrad reads it back as data\n"
    too_long = any(len(line) > LINE_LENGTH for line in text.splitlines())
    return (
        f'{comment}{EMBED_NAME} = """\\\n{text}"""' + ("  # noqa: E501" if too_long else "") + "\n"
    )


def _main(design: Design) -> str:
    shape = ", ".join(str(n) for n in (1, *design.input_shape))
    return (
        'if __name__ == "__main__":\n'
        "    model = build_model()\n"
        "    model.eval()\n"
        "    with torch.no_grad():\n"
        f"        output = model(torch.randn({shape}))\n"
        '    print("output shape:", tuple(output.shape))\n'
    )


# ----- the model as constructor calls ------------------------------------------
# Each function returns whole lines, laid out as `ruff format` lays them out: a call
# on one line when it fits, else one argument a line with a trailing comma.
def _sequential(nodes: list[LayerNode], depth: int, target: str, prefix="", suffix="") -> list[str]:
    pad = INDENT * depth
    if not nodes:
        return [f"{pad}{prefix}nn.Sequential(){suffix}"]
    names = [module_name(n, i) for i, n in enumerate(nodes)]
    if names == [str(i) for i in range(len(nodes))]:
        body = [line for n in nodes for line in _layer(n, depth + 1, target, suffix=",")]
        return [f"{pad}{prefix}nn.Sequential(", *body, f"{pad}){suffix}"]
    body = [
        line
        for name, n in zip(names, nodes, strict=True)
        for line in _entry(name, n, depth + 3, target)
    ]
    return [
        f"{pad}{prefix}nn.Sequential(",
        f"{pad}{INDENT}OrderedDict(",
        f"{pad}{INDENT * 2}[",
        *body,
        f"{pad}{INDENT * 2}]",
        f"{pad}{INDENT})",
        f"{pad}){suffix}",
    ]


def _entry(name: str, node: LayerNode, depth: int, target: str) -> list[str]:
    """One `(name, layer),` item of an OrderedDict list."""
    key = _literal(name)
    lines = _layer(node, depth, target, prefix=f"({key}, ", suffix="),")
    if len(lines) == 1 and len(lines[0]) <= LINE_LENGTH:
        return lines
    pad = INDENT * depth
    key_line = f"{pad}{INDENT}{key},"
    if len(key_line) > LINE_LENGTH:  # a name too long to fit, which no formatter can split
        key_line += "  # noqa: E501"
    return [
        f"{pad}(",
        key_line,
        *_layer(node, depth + 1, target, suffix=","),
        f"{pad}),",
    ]


def _layer(node: LayerNode, depth: int, target: str, prefix="", suffix="") -> list[str]:
    pad = INDENT * depth
    layer_spec = spec(node.type)
    if layer_spec.container and not layer_spec.wraps_body:
        return _sequential(node.layers or [], depth, target, prefix, suffix)
    if layer_spec.wraps_body:
        own = target == "torch" and layer_spec.torch_source
        wrapper = node.type if own else f"nn.{node.type}"
        body = _sequential(node.layers or [], depth + 1, target)
        if (
            len(body) == 1
            and len(f"{pad}{prefix}{wrapper}({body[0].strip()}){suffix}") <= LINE_LENGTH
        ):
            return [f"{pad}{prefix}{wrapper}({body[0].strip()}){suffix}"]
        return [f"{pad}{prefix}{wrapper}(", *body, f"{pad}){suffix}"]
    call = f"nn.{node.type}"
    args = _arguments(node)
    line = f"{pad}{prefix}{call}({', '.join(args)}){suffix}"
    if len(line) <= LINE_LENGTH or not args:
        return [line]
    return [f"{pad}{prefix}{call}(", *(f"{pad}{INDENT}{a}," for a in args), f"{pad}){suffix}"]


def _arguments(node: LayerNode) -> list[str]:
    """Required arguments by position (kernel_size by name, as PyTorch prints it), then
    every other argument that differs from its default, by name."""
    layer_spec = spec(node.type)
    args = []
    for arg in layer_spec.args:
        if arg.name not in node.args:
            continue
        value = node.args[arg.name]
        one_item = isinstance(value, list | tuple) and len(value) == 1
        if arg.kind == "shape" and not arg.keep_list and one_item:
            value = value[0]  # LayerNorm(16) means LayerNorm((16,))
        if arg.default is REQUIRED and arg.name != "kernel_size":
            args.append(_literal(value))
        elif arg.default is REQUIRED or not _same(value, arg.default):
            args.append(f"{arg.name}={_literal(value)}")
    return args


def _same(value, default) -> bool:
    return type(value) is type(default) and value == default


def _literal(value) -> str:
    """Python source for a JSON value as ruff would write it: double quotes, tuples for lists."""
    if isinstance(value, list | tuple):
        items = [_literal(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, str):
        text = repr(value)
        if text.startswith("'") and '"' not in value:
            text = f'"{text[1:-1]}"'
        return text
    return repr(value)


def _relative(target: Path, folder: Path) -> str:
    """`target` relative to `folder`, with forward slashes; absolute if there is no such path."""
    try:
        return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return target.resolve().as_posix()
