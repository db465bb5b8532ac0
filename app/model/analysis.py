"""Validating a design and inferring every layer's output shape with the engine itself."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import engine
from app.model.design import Design, LayerNode, assemble, build_layer, module_name
from app.model.registry import REQUIRED, Fix, check_arg, spec


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


def _run(nodes, prefix, x, infos, problems, bad_paths, built=None):
    """Push `x` (batch of one) through `nodes`; returns the output, or None after an error.

    `built` collects each layer's module, named as in the built model, for its container.
    """
    for i, node in enumerate(nodes):
        path = prefix + (i,)
        shape_in = tuple(x.shape[1:]) if x is not None else None
        info = LayerInfo(path, node, shape_in, None)
        infos.append(info)
        module = None
        if node.layers is not None:
            children: list = []
            y = _run(node.layers, path, x, infos, problems, bad_paths, children)
            info.params = sum(
                j.params for j in infos if j.path[: len(path)] == path and j.node.layers is None
            )
            if y is None or spec(node.type) is None:  # an unknown type is reported already
                x = None
            else:
                module = assemble(node, children)
                x = _run_container(module, node, path, x, y, info, problems)
        elif x is None or path in bad_paths:
            x = None
        else:
            module, x = _run_layer(node, path, x, info, problems)
        if built is not None:
            built.append((module_name(node, i), module))
        info.output_shape = tuple(x.shape[1:]) if x is not None else None
    return x


def _run_container(module, node, path, x, body_out, info, problems):
    """The engine's container `module` (around the layers just run) on `x`; None after an error."""
    module.eval()
    try:
        return module(x)
    except ValueError:
        mismatch = spec(node.type).body_mismatch
        if mismatch is None:
            raise
        message = mismatch(tuple(x.shape[1:]), tuple(body_out.shape[1:]))
        info.problem = Problem(path, describe(path, node), message)
        problems.append(info.problem)
        return None


def _run_layer(node, path, x, info, problems):
    """The layer's module and its output on `x`; (None, None) when it cannot be built."""
    where = describe(path, node)
    try:
        module = build_layer(node)
    except (ValueError, TypeError) as err:
        info.problem = Problem(path, where, str(err))
        problems.append(info.problem)
        return None, None
    info.params = sum(p.numel() for p in module.parameters())
    module.eval()  # batch statistics of one sample mean nothing; eval mode uses running ones
    try:
        return module, module(x)
    except Exception as err:  # the engine's own message, made specific to this layer
        info.problem = explain(node, path, tuple(x.shape[1:]), err)
        problems.append(info.problem)
        return module, None


def explain(node: LayerNode, path: tuple[int, ...], got: tuple, err: Exception) -> Problem:
    """A shape error as expected-against-actual, with the fixes that would make it fit."""
    where = describe(path, node)
    layer_spec = spec(node.type)
    diagnosis = layer_spec.diagnose(node.args, got, path) if layer_spec else None
    if diagnosis is None:
        return Problem(path, where, f"input {got}: {err}")
    return Problem(path, where, diagnosis.message, diagnosis.arg, diagnosis.fixes)


def suggested_args(type_name: str, incoming: tuple | None) -> dict:
    """Arguments for a new layer: the registry's defaults, with sizes that fit what arrives."""
    layer_spec = spec(type_name)
    if layer_spec is None:
        raise KeyError(f"unknown layer type {type_name!r}")
    return layer_spec.suggest(incoming)
