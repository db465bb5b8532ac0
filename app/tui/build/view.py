"""What the Build screen shows, as plain data: tree rows, form fields, totals. No Textual here."""

from __future__ import annotations

import re

from app.model.analysis import Analysis, LayerInfo
from app.model.data import IMAGE_SETS, TOY_SETS
from app.model.design import Design, LayerNode, shown
from app.model.registry import REQUIRED, ArgSpec, check_arg, spec
from app.sessions.setup import OPTIMIZERS
from widgets.layer_tree import LayerRow
from widgets.param_form import FieldSpec

LOSSES = ("CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "MSELoss", "L1Loss")
TRAINING_FIELDS = ("dataset", "loss", "optimizer", "lr", "batch_size", "epochs", "seed")


def shape_text(shape: tuple | None) -> str:
    if shape is None:
        return "?"
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"


def size_text(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def key_args(node: LayerNode) -> str:
    """The arguments a tree row shows, compactly: `64→128`, `1→16 k3 p1`, `p=0.2`."""
    layer_spec = spec(node.type)
    return layer_spec.label(node.args) if layer_spec else ""


def layer_rows(analysis: Analysis) -> list[LayerRow]:
    """One tree row a layer, in depth-first order."""
    return [_row(info) for info in analysis.layers]


def _row(info: LayerInfo) -> LayerRow:
    node = info.node
    shape = "error" if info.problem else shape_text(info.output_shape)
    return LayerRow(
        path=info.path,
        name=(node.name if node.name.isprintable() else shown(node.name)) or str(info.path[-1]),
        type=node.type,
        args=key_args(node),
        shape=shape,
        params=f"{info.params:,}" if info.counted else "?",
        container=node.layers is not None,
        problem=info.problem.message if info.problem else None,
        warning=info.warning,
    )


def totals_text(design: Design, analysis: Analysis) -> str:
    """The total line: parameters, activation memory per sample, output shape, problems."""
    total = f"{analysis.total_params:,}" if analysis.all_counted else "?"
    text = (
        f"{total} params · activations {size_text(analysis.activation_bytes)}"
        f"/sample · out {shape_text(analysis.output_shape)}"
    )
    if analysis.problems:
        n = len(analysis.problems)
        text += f" · {n} problem{'s' if n > 1 else ''}"
    if analysis.warnings:
        n = len(analysis.warnings)
        text += f" · {n} warning{'s' if n > 1 else ''}"
    return text


# ----- the arguments form -------------------------------------------------------
def layer_fields(node: LayerNode) -> list[FieldSpec]:
    """The form of one layer: its name, then every registry argument."""
    fields = [FieldSpec("name", value=node.name, help="the layer's name in the model")]
    layer_spec = spec(node.type)
    for arg in layer_spec.args if layer_spec else ():
        value = node.args.get(arg.name, None if arg.required else arg.default)
        if arg.kind == "bool":
            fields.append(FieldSpec(arg.name, "bool", bool(value), help=arg.help))
        elif arg.kind == "choice":
            fields.append(FieldSpec(arg.name, "choice", str(value), arg.choices, arg.help))
        else:
            hint = "required" if arg.required else f"default {format_value(arg.default)}"
            fields.append(FieldSpec(arg.name, value=format_value(value), placeholder=hint))
    return fields


def format_value(value) -> str:
    if value is None or value is REQUIRED:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def parse_arg(arg: ArgSpec, text) -> tuple[object, str | None]:
    """The value typed for `arg` (None: the default applies), or an error message."""
    if isinstance(text, bool) or arg.kind == "choice":
        return text, check_arg(arg, text)
    text = str(text).strip()
    if not text:
        if arg.required:
            return None, "is required"
        return None, None
    try:
        if arg.kind in ("size", "shape"):
            items = [int(t) for t in re.split(r"[,\s()\[\]x]+", text) if t]
            value = items[0] if len(items) == 1 and arg.kind == "size" else items
        elif arg.kind == "int":
            value = int(text)
        else:
            value = float(text)
    except ValueError:
        what = "an integer" if arg.kind != "float" else "a number"
        return None, f"must be {what}, got {text!r}"
    return value, check_arg(arg, value)


# ----- training settings ----------------------------------------------------------
def training_fields(training: dict) -> list[FieldSpec]:
    """The form of the design's training settings."""
    optimizer = training.get("optimizer") or {}
    datasets = tuple(IMAGE_SETS) + tuple(TOY_SETS)
    return [
        FieldSpec("dataset", "choice", str(training.get("dataset")), datasets),
        FieldSpec("loss", "choice", str(training.get("loss")), LOSSES),
        FieldSpec("optimizer", "choice", str(optimizer.get("type")), OPTIMIZERS),
        FieldSpec("lr", value=format_value(optimizer.get("lr", 0.001))),
        FieldSpec("batch_size", value=format_value(training.get("batch_size"))),
        FieldSpec("epochs", value=format_value(training.get("epochs"))),
        FieldSpec("seed", value=format_value(training.get("seed"))),
    ]


def parse_training(training: dict, name: str, text) -> tuple[str, object, str | None]:
    """(key of `training` to set, its new value, error) for a training field edit."""
    if name in ("dataset", "loss"):
        return name, text, None
    optimizer = dict(training.get("optimizer") or {})
    if name == "optimizer":
        return "optimizer", {**optimizer, "type": text}, None
    try:
        value = float(text) if name == "lr" else int(str(text).strip())
    except ValueError:
        return name, None, f"must be {'a number' if name == 'lr' else 'an integer'}, got {text!r}"
    low = 0 if name == "seed" else 1
    if name == "lr" and not value > 0:
        return name, None, f"must be above 0, got {text!r}"
    if name != "lr" and value < low:
        return name, None, f"must be at least {low}, got {text!r}"
    if name == "lr":
        return "optimizer", {**optimizer, "lr": value}, None
    return name, value, None
