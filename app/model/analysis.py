"""Validating a design and inferring every layer's output shape with the engine itself."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import engine
from app.model.design import Design, LayerNode, build_layer
from app.model.registry import REQUIRED, check_arg, spec


@dataclass
class Fix:
    """A one-key repair: edits the UI applies to the design together."""

    label: str
    edits: list[dict]  # {"op": "set", "path", "arg", "value"} or {"op": "insert", "path", "layer"}


@dataclass
class Problem:
    """What is wrong with one layer, in words, with the repairs on offer."""

    path: tuple[int, ...]
    where: str  # "layer 3 'fc1' (Linear)"
    message: str
    arg: str | None = None
    fixes: list[Fix] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class LayerInfo:
    """One layer's place in the network: shapes per sample (no batch dim) and parameters."""

    path: tuple[int, ...]
    node: LayerNode
    input_shape: tuple | None
    output_shape: tuple | None
    params: int = 0
    problem: Problem | None = None


@dataclass
class Analysis:
    """Every layer's shapes and parameter count, the totals, and every problem found."""

    layers: list[LayerInfo]
    problems: list[Problem]
    output_shape: tuple | None
    total_params: int
    activation_bytes: int  # per sample: every layer's output, float32

    @property
    def ok(self) -> bool:
        return not self.problems

    def info(self, path: tuple[int, ...]) -> LayerInfo | None:
        return next((i for i in self.layers if i.path == path), None)


def describe(path: tuple[int, ...], node: LayerNode) -> str:
    """How errors name a layer: its position (1-based, dotted inside containers), name and type."""
    position = ".".join(str(i + 1) for i in path)
    name = f" '{node.name}'" if node.name else ""
    return f"layer {position}{name} ({node.type})"


def analyse(design: Design) -> Analysis:
    """Check every argument, then run a batch of one through the layers in turn."""
    problems = check_args(design)
    bad_paths = {p.path for p in problems}
    infos: list[LayerInfo] = []
    with engine.no_grad():
        x = engine.zeros(1, *design.input_shape)
        out = _run(design.layers, (), x, infos, problems, bad_paths)
    leaves = [i for i in infos if i.node.layers is None]
    total = sum(i.params for i in leaves)
    act = sum(4 * math.prod(i.output_shape) for i in leaves if i.output_shape is not None)
    shape = tuple(out.shape[1:]) if out is not None else None
    problems.sort(key=lambda p: p.path)
    return Analysis(infos, problems, shape, total, act)


def check_args(design: Design) -> list[Problem]:
    """Every argument problem of every layer, in one pass."""
    problems = []
    for path, node in design.walk():
        where = describe(path, node)
        layer_spec = spec(node.type)
        if layer_spec is None:
            problems.append(Problem(path, where, f"unknown layer type {node.type!r}"))
            continue
        for name in node.args:
            if layer_spec.arg(name) is None:
                known = ", ".join(a.name for a in layer_spec.args) or "none"
                problems.append(
                    Problem(path, where, f"unknown argument {name!r} (it takes: {known})", name)
                )
        for arg in layer_spec.args:
            if arg.name not in node.args:
                if arg.default is REQUIRED:
                    problems.append(
                        Problem(path, where, f"missing required argument {arg.name!r}", arg.name)
                    )
                continue
            why = check_arg(arg, node.args[arg.name])
            if why:
                problems.append(Problem(path, where, f"{arg.name} {why}", arg.name))
    return problems


def _run(nodes, prefix, x, infos, problems, bad_paths):
    """Push `x` (batch of one) through `nodes`; returns the output, or None after an error."""
    for i, node in enumerate(nodes):
        path = prefix + (i,)
        shape_in = tuple(x.shape[1:]) if x is not None else None
        info = LayerInfo(path, node, shape_in, None)
        infos.append(info)
        if node.layers is not None:
            y = _run(node.layers, path, x, infos, problems, bad_paths)
            info.params = sum(
                j.params for j in infos if j.path[: len(path)] == path and j.node.layers is None
            )
            if node.type == "Residual" and y is not None and x is not None and y.shape != x.shape:
                info.problem = Problem(
                    path,
                    describe(path, node),
                    f"its layers turn {shape_in} into {tuple(y.shape[1:])}; a residual block must "
                    "give back the shape it gets, to add its input",
                )
                problems.append(info.problem)
                y = None
            elif node.type == "Residual" and y is not None:
                y = x + y
            x = y
        elif x is None or path in bad_paths:
            x = None
        else:
            x = _run_layer(node, path, x, info, problems)
        info.output_shape = tuple(x.shape[1:]) if x is not None else None
    return x


def _run_layer(node, path, x, info, problems):
    where = describe(path, node)
    try:
        module = build_layer(node)
    except (ValueError, TypeError) as err:
        info.problem = Problem(path, where, str(err))
        problems.append(info.problem)
        return None
    info.params = sum(p.numel() for p in module.parameters())
    module.eval()  # batch statistics of one sample mean nothing; eval mode uses running ones
    try:
        return module(x)
    except Exception as err:  # the engine's own message, made specific to this layer
        info.problem = explain(node, path, tuple(x.shape[1:]), err)
        problems.append(info.problem)
        return None


def explain(node: LayerNode, path: tuple[int, ...], got: tuple, err: Exception) -> Problem:
    """A shape error as expected-against-actual, with the fixes that would make it fit."""
    where, args = describe(path, node), node.args
    flatten = {"type": "Flatten", "args": {}}

    def set_arg(arg, value):
        return {"op": "set", "path": list(path), "arg": arg, "value": value}

    insert_flatten = {"op": "insert", "path": list(path), "layer": flatten}
    if node.type == "Linear":
        want = args.get("in_features")
        text = f"expects input (*, {want}), gets {got}"
        fixes = []
        if len(got) > 1:
            flat = math.prod(got)
            # set before inserting: the insert shifts this layer's path by one
            edits = ([] if flat == want else [set_arg("in_features", flat)]) + [insert_flatten]
            label = "insert Flatten before it" + (
                "" if flat == want else f" and set in_features={flat}"
            )
            fixes.append(Fix(label, edits))
            text += ": insert Flatten before it" + (
                "" if flat == want else f", or set in_features={got[-1]}"
            )
        if got and got[-1] != want:
            fixes.append(Fix(f"set in_features={got[-1]}", [set_arg("in_features", got[-1])]))
            if len(got) == 1:
                text += f": set in_features={got[-1]}"
        return Problem(path, where, text, "in_features", fixes)
    if node.type in ("Conv2d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"):
        channel_arg = {"Conv2d": "in_channels", "BatchNorm2d": "num_features"}.get(node.type)
        want = args.get(channel_arg, "C") if channel_arg else "C"
        if len(got) != 3:
            return Problem(path, where, f"expects input ({want}, H, W), gets {got}", channel_arg)
        if channel_arg and got[0] != want:
            return Problem(
                path,
                where,
                f"expects input ({want}, H, W), gets {got}: set {channel_arg}={got[0]}",
                channel_arg,
                [Fix(f"set {channel_arg}={got[0]}", [set_arg(channel_arg, got[0])])],
            )
    if node.type == "BatchNorm1d":
        want = args.get("num_features")
        if len(got) not in (1, 2):
            return Problem(path, where, f"expects input ({want},) or ({want}, L), gets {got}")
        if got[0] != want:
            return Problem(
                path,
                where,
                f"expects input ({want},) or ({want}, L), gets {got}: set num_features={got[0]}",
                "num_features",
                [Fix(f"set num_features={got[0]}", [set_arg("num_features", got[0])])],
            )
    if node.type == "LayerNorm" and got:
        return Problem(
            path,
            where,
            f"normalized_shape {args.get('normalized_shape')} does not match the end of "
            f"its input {got}: set normalized_shape=[{got[-1]}]",
            "normalized_shape",
            [Fix(f"set normalized_shape=[{got[-1]}]", [set_arg("normalized_shape", [got[-1]])])],
        )
    return Problem(path, where, f"input {got}: {err}")


def suggested_args(type_name: str, incoming: tuple | None) -> dict:
    """Arguments for a new layer: the registry's defaults, with sizes that fit what arrives."""
    layer_spec = spec(type_name)
    if layer_spec is None:
        raise KeyError(f"unknown layer type {type_name!r}")
    args = {a.name: a.default for a in layer_spec.args if a.default is not REQUIRED}
    shape = tuple(incoming or ())
    fill = {
        "Linear": {
            "in_features": shape[-1] if len(shape) == 1 else math.prod(shape),
            "out_features": 64,
        },
        "Conv2d": {
            "in_channels": shape[0] if shape else 1,
            "out_channels": 16,
            "kernel_size": 3,
            "padding": 1,
        },
        "MaxPool2d": {"kernel_size": 2},
        "AvgPool2d": {"kernel_size": 2},
        "AdaptiveAvgPool2d": {"output_size": 1},
        "BatchNorm1d": {"num_features": shape[0] if shape else 1},
        "BatchNorm2d": {"num_features": shape[0] if shape else 1},
        "LayerNorm": {"normalized_shape": [shape[-1] if shape else 1]},
        "Softmax": {"dim": 1},
        "LogSoftmax": {"dim": 1},
    }.get(type_name, {})
    args.update(fill)
    return {k: v for k, v in args.items() if v is not REQUIRED}
