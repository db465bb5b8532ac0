"""Validating a design and inferring every layer's output shape with the engine itself."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import engine
from app.model import budget
from app.model.design import (
    Design,
    LayerNode,
    assemble,
    build_layer,
    module_name,
    name_problem,
    shown,
)
from app.model.registry import REQUIRED, Fix, check_arg, spec

PROBE_BATCH = 2  # two samples: a layer that mixes the batch into a sample shows itself
TRAINING = "training"  # how problems with the training settings are placed (path ())
BOUNDED_OUTPUTS = ("Sigmoid", "Softmax")  # layers whose outputs BCELoss can take


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
    counted: bool = True  # False when an error before it left its parameters unknown
    warning: str | None = None  # what builds and runs but will not learn (the output layer)


@dataclass
class Analysis:
    """Every layer's shapes and parameter count, the totals, and every problem found."""

    layers: list[LayerInfo]
    problems: list[Problem]
    output_shape: tuple | None
    total_params: int
    activation_bytes: int  # per sample: every layer's output, float32
    # what builds and runs but will not learn the task: no layers, an output that does
    # not match the dataset's classes
    warnings: list[str] = field(default_factory=list)
    output_fixes: list[Fix] = field(default_factory=list)  # repairs for the output warning

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def all_counted(self) -> bool:
        """Whether total_params counts every layer (no error left one unknown)."""
        return all(i.counted for i in self.layers)

    def info(self, path: tuple[int, ...]) -> LayerInfo | None:
        return next((i for i in self.layers if i.path == path), None)


def describe(path: tuple[int, ...], node: LayerNode) -> str:
    """How errors name a layer: its position (1-based, dotted inside containers), name and type."""
    position = ".".join(str(i + 1) for i in path)
    name = f" '{node.name}'" if node.name.isprintable() else f" {shown(node.name)}"
    name = name if node.name else ""
    return f"layer {position}{name} ({node.type})"


def analyse(design: Design, train_size: int | None = None) -> Analysis:
    """Check every argument and name, run a batch of PROBE_BATCH through the layers, then
    check the training settings against the network.

    This is the one validation: what it passes builds, trains and exports. Each layer's
    memory is estimated from its arguments before it is built (see `budget`), so a design
    asking for more than the memory budget is refused without the memory being taken.
    `train_size`, the number of training samples, is worked out from the settings when
    not given (and left unchecked for image sets read from a folder).
    """
    problems = check_args(design)
    bad_paths = {p.path for p in problems}
    problems += check_names(design)
    infos: list[LayerInfo] = []
    meter = _Meter(_batch_size(design.training) or 1)
    with engine.no_grad():
        x = None
        if meter.add(design.input_shape, 0, math.prod(design.input_shape)) is None:
            x = engine.zeros(PROBE_BATCH, *design.input_shape)
        else:
            problems.append(Problem((), "input", meter.refusal("the input", 0)))
        out = _run(design.layers, (), x, infos, problems, bad_paths, meter)
    leaves = [i for i in infos if i.node.layers is None]
    total = sum(i.params for i in leaves)
    act = sum(4 * math.prod(i.output_shape) for i in leaves if i.output_shape is not None)
    shape = tuple(out.shape[1:]) if out is not None else None
    problems += check_training(design, infos, train_size)
    problems.sort(key=lambda p: p.path)
    warnings = check_output(design, shape)
    fixes = []
    if warnings and design.layers:  # about the output: the last layer's row shows it
        last = [i for i in infos if len(i.path) == 1][-1]
        last.warning = warnings[0]
        fixes = output_fixes(design, last, shape)
    return Analysis(infos, problems, shape, total, act, warnings, fixes)


class _Meter:
    """The running estimate of what one training step needs, against the memory budget."""

    def __init__(self, batch_size: int):
        self.batch_size, self.params, self.activations = batch_size, 0, 0
        self.need = 0

    def add(self, shape_in, params: int, activations: int | None) -> int | None:
        """Count a layer in; its estimated total in bytes when that is over the budget."""
        params += self.params
        activations = self.activations + (activations or 0)
        need = budget.training_bytes(params, activations, self.batch_size)
        if need > budget.budget():
            self.need = need
            return need
        self.params, self.activations = params, activations
        return None

    def refusal(self, what: str, params: int) -> str:
        per_layer = f"{params:,} parameters here, " if params else ""
        return (
            f"training would need about {budget.size_text(self.need)} ({per_layer}"
            f"activations at batch size {self.batch_size}), over the memory budget of "
            f"{budget.size_text(budget.budget())}: make {what} smaller, or raise the budget "
            "(--memory-budget)"
        )


def check_args(design: Design) -> list[Problem]:
    """Every argument problem of every layer, in one pass."""
    problems = []
    for path, node in design.walk():
        where = describe(path, node)
        layer_spec = spec(node.type)
        if layer_spec is None:
            problems.append(Problem(path, where, f"unknown layer type {node.type!r}"))
            continue
        if node.layers and not layer_spec.container:
            problems.append(
                Problem(
                    path,
                    where,
                    f"a {node.type} holds no layers, but {_count(len(node.layers), 'layer')} "
                    "inside it: put them in a Sequential or Residual",
                )
            )
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


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def check_names(design: Design) -> list[Problem]:
    """Layer names the built and exported models can hold: valid, and one per container."""
    problems = []
    for prefix, nodes in _sibling_lists(design):
        seen: dict[str, int] = {}
        for i, node in enumerate(nodes):
            path = prefix + (i,)
            why = name_problem(node.name)
            if why is not None:
                problems.append(Problem(path, describe(path, node), why, "name"))
                continue
            name = module_name(node, i)
            if name in seen:
                other = ".".join(str(j + 1) for j in prefix + (seen[name],))
                problems.append(
                    Problem(
                        path,
                        describe(path, node),
                        f"layer {other} already goes by {name!r} in this container (a layer "
                        "without a name goes by its position); names there must differ",
                        "name",
                    )
                )
            else:
                seen[name] = i
    return problems


def _sibling_lists(design: Design):
    """(path of the container or (), its list of layers) for the top level and every container."""
    yield (), design.layers
    for path, node in design.walk():
        if node.layers:
            yield path, node.layers


def check_training(design: Design, infos: list[LayerInfo], train_size: int | None) -> list[Problem]:
    """The training settings against the network: what would fail only once training ran."""
    training, problems = design.training, []
    for key in ("batch_size", "epochs"):
        value = training.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(
                Problem((), TRAINING, f"{key} must be a whole number from 1, got {shown(value)}")
            )
    if training.get("loss") == "BCELoss":
        last = _last_leaf(design.layers)
        if last is None or last.type not in BOUNDED_OUTPUTS:
            ends = f"ends with {last.type}" if last is not None else "has no layers"
            problems.append(
                Problem(
                    (),
                    TRAINING,
                    "BCELoss takes probabilities in [0, 1]: use BCEWithLogitsLoss, or end "
                    f"with Sigmoid (the network {ends}, whose outputs are logits)",
                )
            )
    batch = _batch_size(training)
    single = [i for i in infos if _one_value_per_channel(i)]
    if single and batch is not None:
        problems.extend(_single_sample_batches(single[0], batch, training, train_size))
    return problems


# the classes of the datasets whose count the settings cannot change
FIXED_CLASSES = {"digits": 10, "mnist": 10, "fashion_mnist": 10, "moons": 2, "circles": 2, "xor": 2}
CLASS_LOSSES = ("CrossEntropyLoss", "NLLLoss")  # one output per class


def check_output(design: Design, shape: tuple | None) -> list[str]:
    """The network's output against what the dataset and loss expect of it."""
    if not design.layers:
        return ["the network has no layers: press a to add one"]
    training = design.training
    dataset, loss = training.get("dataset"), training.get("loss")
    classes = FIXED_CLASSES.get(dataset) if isinstance(dataset, str) else None
    if shape is None or classes is None or loss not in CLASS_LOSSES or shape == (classes,):
        return []
    # as TrainingSession: more outputs than classes train (the extra ones unused), fewer refuse
    if len(shape) == 1 and shape[0] > classes:
        outcome = f"training runs, {shape[0] - classes} outputs unused"
    else:
        outcome = "training refuses it"
    return [
        f"the output is {shape}, {loss} on {dataset} wants ({classes},): {outcome}"
        f"{OUTPUT_ADVICE}{classes} outputs"
    ]


OUTPUT_ADVICE = "; end with "  # how an output warning ends: the advice a fix can stand for


def without_advice(warning: str) -> str:
    """A warning of `check_output` without its closing advice, for where a fix is offered."""
    return warning.split(OUTPUT_ADVICE)[0]


def output_fixes(design: Design, last: LayerInfo, shape: tuple | None) -> list[Fix]:
    """Repairs for an output that misses the dataset's classes: a last Linear gets that
    many outputs; any other flat output gets a Linear to them added at the end."""
    dataset = design.training.get("dataset")
    classes = FIXED_CLASSES.get(dataset) if isinstance(dataset, str) else None
    if shape is None or classes is None:
        return []
    end = len(design.layers)
    if len(shape) != 1:
        flat = math.prod(shape)
        linear = {"type": "Linear", "args": {"in_features": flat, "out_features": classes}}
        edits = [
            {"op": "insert", "path": [end], "layer": {"type": "Flatten", "args": {}}},
            {"op": "insert", "path": [end + 1], "layer": linear},
        ]
        return [Fix(f"add Flatten and Linear({flat}, {classes}) at the end", edits)]
    if last.node.type == "Linear":
        path = list(last.path)
        edit = {"op": "set", "path": path, "arg": "out_features", "value": classes}
        return [Fix(f"set out_features={classes}", [edit])]
    layer = {"type": "Linear", "args": {"in_features": shape[0], "out_features": classes}}
    edit = {"op": "insert", "path": [end], "layer": layer}
    return [Fix(f"add Linear({shape[0]}, {classes}) at the end", [edit])]


def _single_sample_batches(info, batch: int, training: dict, train_size: int | None):
    """A batch norm over one value per channel fails on a batch of one sample."""
    where = describe(info.path, info.node)
    rule = f"{info.node.type} needs more than one value per channel while training"
    if batch == 1:
        return [Problem((), TRAINING, f"batch_size is 1, and {where}: {rule}")]
    if train_size is None:
        train_size = _known_train_size(training)
    if train_size is None or train_size % batch != 1:
        return []
    better = next(b for b in _near(batch) if train_size % b != 1)
    return [
        Problem(
            (),
            TRAINING,
            f"the last batch of each epoch holds 1 sample ({train_size:,} training samples, "
            f"batch_size {batch}), and {where}: {rule}; a batch_size such as {better} "
            "leaves no single sample",
        )
    ]


def _near(n: int):
    for step in range(1, n):
        yield from (b for b in (n - step, n + step) if b >= 2)
    yield n + n


def _one_value_per_channel(info: LayerInfo) -> bool:
    return (
        info.node.type.startswith("BatchNorm")
        and info.input_shape is not None
        and math.prod(info.input_shape[1:]) == 1
    )


def _known_train_size(training: dict) -> int | None:
    """How many training samples the settings give, where no folder must be read for it."""
    from app.model.data import DatasetError, make_datasets

    try:
        return len(make_datasets(training).train)
    except (DatasetError, ValueError, TypeError):
        return None  # an image set read from a folder, or settings the session refuses


def _last_leaf(nodes: list[LayerNode]) -> LayerNode | None:
    """The layer whose output is the network's: Residual blocks count as themselves."""
    if not nodes:
        return None
    last = nodes[-1]
    if last.layers is not None and spec(last.type) is not None and not spec(last.type).wraps_body:
        return _last_leaf(last.layers) or last
    return last


def _batch_size(training: dict) -> int | None:
    value = training.get("batch_size")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _run(nodes, prefix, x, infos, problems, bad_paths, meter, built=None):
    """Push `x` (a probe batch) through `nodes`; returns the output, or None after an error.

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
            fits = path not in bad_paths and spec(node.type) is not None
            y = _run(
                node.layers, path, x if fits else None, infos, problems, bad_paths, meter, children
            )
            inside = [j for j in infos if j.path[: len(path)] == path and j.node.layers is None]
            info.params = sum(j.params for j in inside)
            info.counted = all(j.counted for j in inside)
            try:
                module = assemble(node, children) if y is not None and fits else None
            except KeyError:  # a child's name a module cannot hold: check_names reports it
                module = None
            if module is None:  # what is wrong is reported already
                x = None
            else:
                x = _run_container(module, node, path, x, y, info, problems)
        elif x is None or path in bad_paths:
            x, info.counted = None, False
        else:
            module, x = _run_layer(node, path, x, info, problems, meter)
            info.counted = module is not None
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


def _run_layer(node, path, x, info, problems, meter):
    """The layer's module and its output on `x`; (None, None) when it cannot be built."""
    where = describe(path, node)
    layer_spec, got = spec(node.type), tuple(x.shape[1:])
    if layer_spec.sample_dims and len(got) not in layer_spec.sample_dims:
        info.problem = explain(node, path, got, ValueError(f"input of {len(got)} dimensions"))
        problems.append(info.problem)
        return None, None
    params, activations = budget.estimate(node, got)
    if meter.add(x.shape[1:], params, activations) is not None:
        info.problem = Problem(path, where, meter.refusal("this layer", params))
        problems.append(info.problem)
        return None, None
    try:
        module = build_layer(node)
    # Hardtanh asserts min_val < max_val, as PyTorch; a layer refuses a size it cannot
    # allocate (running statistics, which the estimate leaves out) with a RuntimeError
    except (ValueError, TypeError, AssertionError, RuntimeError) as err:
        info.problem = Problem(path, where, str(err))
        problems.append(info.problem)
        return None, None
    info.params = sum(p.numel() for p in module.parameters())
    module.eval()  # the probe's batch statistics mean nothing; eval mode uses running ones
    try:
        with warnings.catch_warnings():
            # a layer that warns about what it gets (InstanceNorm2d given other channels than
            # num_features) would warn on every batch: in a design that is a problem
            warnings.simplefilter("error", UserWarning)
            y = module(x)
    except Exception as err:  # the engine's own message, made specific to this layer
        info.problem = explain(node, path, tuple(x.shape[1:]), err)
        problems.append(info.problem)
        return module, None
    if y.ndim == 0 or y.shape[0] != PROBE_BATCH:
        got = tuple(y.shape)
        info.problem = Problem(
            path,
            where,
            f"it merges the samples of a batch: a batch of {PROBE_BATCH} gives {got}, whose "
            f"first dimension is not the batch (Flatten: keep start_dim at 1 or more)",
        )
        problems.append(info.problem)
        return module, None
    return module, y


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
