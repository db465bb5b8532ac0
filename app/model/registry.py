"""The layer registry: what the engine's layer classes take, plus what they cannot say."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import engine.nn as nn

CATEGORIES = (
    "Linear",
    "Convolution",
    "Pooling",
    "Activation",
    "Normalization",
    "Regularization",
    "Shape",
    "Container",
)
REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class ArgSpec:
    """One constructor argument: its kind, default and the values it accepts."""

    name: str
    kind: str  # "int", "float", "bool", "choice", "size" (an int or a pair), "shape" (ints)
    default: Any = REQUIRED
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    optional: bool = False  # None is allowed (e.g. MaxPool2d's stride)
    keep_list: bool = False  # a one-item "shape" stays a list (Unflatten takes no bare int)
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass
class Fix:
    """A one-key repair: edits the UI applies to the design together."""

    label: str
    edits: list[dict]  # {"op": "set", "path", "arg", "value"} or {"op": "insert", "path", "layer"}


@dataclass(frozen=True)
class Diagnosis:
    """Why a layer rejects the input it gets, in words, and the repairs on offer."""

    message: str
    arg: str | None = None
    fixes: list[Fix] = field(default_factory=list)


# suggest(incoming shape) -> arguments that fit it; label(args) -> the tree row's text;
# diagnose(args, incoming shape, path) -> a Diagnosis, or None to show the engine's error
Suggest = Callable[[tuple], dict]
Label = Callable[[dict], str]
Diagnose = Callable[[dict, tuple, tuple], "Diagnosis | None"]


def _short(value) -> str:
    if isinstance(value, list | tuple):
        return "x".join(map(str, value))
    return str(value)


@dataclass(frozen=True)
class LayerSpec:
    """A layer type as the palette, the forms, validation, build, analysis and export see it."""

    type: str
    cls: type
    category: str
    help: str
    args: tuple[ArgSpec, ...]
    key_args: tuple[str, ...] = ()  # shown in the tree row
    suggest_rule: Suggest | None = None
    label_rule: Label | None = None
    diagnose_rule: Diagnose | None = None
    torch_source: str = ""  # the class a PyTorch export defines, for a layer PyTorch lacks
    # a container's words when its engine class rejects what its layers give back:
    # (shape in, shape its layers give) -> message
    body_mismatch: Callable[[tuple, tuple], str] | None = None
    # the number of dimensions a sample may have, where the layer also takes unbatched
    # input: a sample of another rank would be read as a batch, so it is refused up front
    sample_dims: tuple[int, ...] = ()

    @property
    def container(self) -> bool:
        return self.category == "Container"

    @property
    def wraps_body(self) -> bool:
        """A container built as `cls(nn.Sequential(layers))`; False for Sequential itself."""
        return self.container and self.cls is not nn.Sequential

    def arg(self, name: str) -> ArgSpec | None:
        return next((a for a in self.args if a.name == name), None)

    def defaults(self) -> dict:
        return {a.name: a.default for a in self.args if not a.required}

    def suggest(self, incoming: tuple | None) -> dict:
        """Arguments for a new layer: the defaults, with sizes that fit what arrives."""
        args = self.defaults()
        if self.suggest_rule is not None:
            args.update(self.suggest_rule(tuple(incoming or ())))
        return {k: v for k, v in args.items() if v is not REQUIRED}

    def label(self, args: dict) -> str:
        """The arguments a tree row shows, compactly: `64→128`, `1→16 k3 p1`, `p=0.2`."""
        if self.label_rule is not None:
            return self.label_rule(args)
        return " ".join(
            f"{k}={_short(args[k])}" for k in self.key_args if k in args and args[k] is not None
        )

    def diagnose(self, args: dict, got: tuple, path: tuple[int, ...]) -> Diagnosis | None:
        """Why input of shape `got` does not fit, with fixes; None when there is no rule."""
        return self.diagnose_rule(args, got, path) if self.diagnose_rule else None


# ----- per-layer rules: defaults that fit, tree labels, fixes for shape errors -----
def _set(path: tuple, arg: str, value) -> dict:
    return {"op": "set", "path": list(path), "arg": arg, "value": value}


def _suggest_linear(shape: tuple) -> dict:
    flat = shape[-1] if len(shape) == 1 else math.prod(shape)
    return {"in_features": flat, "out_features": 64}


def _suggest_conv(shape: tuple) -> dict:
    return {
        "in_channels": shape[0] if shape else 1,
        "out_channels": 16,
        "kernel_size": 3,
        "padding": 1,
    }


def _suggest_features(shape: tuple) -> dict:
    return {"num_features": shape[0] if shape else 1}


def _label_linear(a: dict) -> str:
    return f"{a.get('in_features', '?')}→{a.get('out_features', '?')}"


def _label_conv(a: dict) -> str:
    kernel = _short(a.get("kernel_size", "?"))
    text = f"{a.get('in_channels', '?')}→{a.get('out_channels', '?')} k{kernel}"
    for arg, letter, default in (("stride", "s", 1), ("padding", "p", 0)):
        if a.get(arg, default) != default:
            text += f" {letter}{_short(a[arg])}"
    return text


def _diagnose_linear(args: dict, got: tuple, path: tuple) -> Diagnosis:
    want = args.get("in_features")
    text = f"expects input (*, {want}), gets {got}"
    fixes = []
    if len(got) > 1:
        flat = math.prod(got)
        insert_flatten = {
            "op": "insert",
            "path": list(path),
            "layer": {"type": "Flatten", "args": {}},
        }
        # set before inserting: the insert shifts this layer's path by one
        edits = ([] if flat == want else [_set(path, "in_features", flat)]) + [insert_flatten]
        label = "insert Flatten before it" + (
            "" if flat == want else f" and set in_features={flat}"
        )
        fixes.append(Fix(label, edits))
        text += ": insert Flatten before it" + (
            "" if flat == want else f", or set in_features={got[-1]}"
        )
    if got and got[-1] != want:
        fixes.append(Fix(f"set in_features={got[-1]}", [_set(path, "in_features", got[-1])]))
        if len(got) == 1:
            text += f": set in_features={got[-1]}"
    return Diagnosis(text, "in_features", fixes)


def _diagnose_image(channel_arg: str | None) -> Diagnose:
    """Layers over (C, H, W) input; `channel_arg` names the argument that must equal C."""

    def diagnose(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
        want = args.get(channel_arg, "C") if channel_arg else "C"
        if len(got) != 3:
            return Diagnosis(f"expects input ({want}, H, W), gets {got}", channel_arg)
        if channel_arg and got[0] != want:
            return Diagnosis(
                f"expects input ({want}, H, W), gets {got}: set {channel_arg}={got[0]}",
                channel_arg,
                [Fix(f"set {channel_arg}={got[0]}", [_set(path, channel_arg, got[0])])],
            )
        return None

    return diagnose


def _diagnose_batch_norm_1d(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
    want = args.get("num_features")
    if len(got) not in (1, 2):
        return Diagnosis(f"expects input ({want},) or ({want}, L), gets {got}")
    if got[0] != want:
        return Diagnosis(
            f"expects input ({want},) or ({want}, L), gets {got}: set num_features={got[0]}",
            "num_features",
            [Fix(f"set num_features={got[0]}", [_set(path, "num_features", got[0])])],
        )
    return None


def _diagnose_layer_norm(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
    if not got:
        return None
    return Diagnosis(
        f"normalized_shape {args.get('normalized_shape')} does not match the end of "
        f"its input {got}: set normalized_shape=[{got[-1]}]",
        "normalized_shape",
        [Fix(f"set normalized_shape=[{got[-1]}]", [_set(path, "normalized_shape", [got[-1]])])],
    )


def _groups_for(channels: int) -> int:
    """A group count that divides `channels`: the largest of 8, 4, 2 and 1 that does."""
    return next(g for g in (8, 4, 2, 1) if channels % g == 0)


def _suggest_group_norm(shape: tuple) -> dict:
    channels = shape[0] if shape else 1
    return {"num_groups": _groups_for(channels), "num_channels": channels}


def _diagnose_group_norm(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
    want = args.get("num_channels")
    if not got:
        return Diagnosis(f"expects input ({want}, *), gets a single number per sample")
    if got[0] != want:
        edits = [_set(path, "num_channels", got[0])]
        groups = args.get("num_groups")
        extra = ""
        if not isinstance(groups, int) or groups < 1 or got[0] % groups:
            edits.append(_set(path, "num_groups", _groups_for(got[0])))
            extra = f" and num_groups={_groups_for(got[0])}"
        return Diagnosis(
            f"expects input ({want}, *), gets {got}: set num_channels={got[0]}{extra}",
            "num_channels",
            [Fix(f"set num_channels={got[0]}{extra}", edits)],
        )
    return None


def _diagnose_channel_dropout(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
    if len(got) != 3:
        return Diagnosis(
            f"expects input (C, H, W), gets {got}: it zeroes whole channels of images; "
            "use Dropout for other input"
        )
    return None


def _suggest_unflatten(shape: tuple) -> dict:
    size = shape[0] if shape else 1
    side = math.isqrt(size)
    sizes = [1, side, side] if side > 1 and side * side == size else [1, -1]
    return {"dim": 1, "unflattened_size": sizes}


def _diagnose_unflatten(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
    dim, sizes = args.get("dim"), args.get("unflattened_size")
    if not isinstance(dim, int) or not isinstance(sizes, list | tuple) or not sizes:
        return None
    if not -len(got) - 1 <= dim <= len(got):
        return Diagnosis(f"dim {dim} is out of range for its input (N, *{got})", "dim")
    if dim in (0, -len(got) - 1):
        return Diagnosis("dim 0 is the batch: set dim=1 to split the first dimension of a sample")
    size = got[dim - 1] if dim > 0 else got[dim]
    fixed = [n for n in sizes[:-1] if n != -1]
    if math.prod(fixed) and size % math.prod(fixed) == 0 and -1 not in sizes[:-1]:
        proposal = [*sizes[:-1], -1]
        return Diagnosis(
            f"unflattened_size {list(sizes)} does not multiply up to {size}, the size of dim "
            f"{dim}: set unflattened_size={proposal} to infer the last size",
            "unflattened_size",
            [Fix(f"set unflattened_size={proposal}", [_set(path, "unflattened_size", proposal)])],
        )
    return Diagnosis(
        f"unflattened_size {list(sizes)} does not multiply up to {size}, the size of dim {dim}",
        "unflattened_size",
        [Fix(f"set unflattened_size=[{size}]", [_set(path, "unflattened_size", [size])])],
    )


def _diagnose_prelu(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
    want = args.get("num_parameters")
    if want == 1 or (got and got[0] == want):
        return None
    fixes = [Fix("set num_parameters=1 (one slope shared)", [_set(path, "num_parameters", 1)])]
    if got:
        fixes.insert(0, Fix(f"set num_parameters={got[0]}", [_set(path, "num_parameters", got[0])]))
    channels = got[0] if got else "no"
    return Diagnosis(
        f"has {want} slopes, one per channel, but its input {got} has {channels} channels: "
        f"set num_parameters={got[0] if got else 1}",
        "num_parameters",
        fixes,
    )


def _diagnose_glu(args: dict, got: tuple, path: tuple) -> Diagnosis | None:
    dim = args.get("dim", -1)
    if not isinstance(dim, int) or not -len(got) - 1 <= dim <= len(got):
        return Diagnosis(f"dim {dim} is out of range for its input (N, *{got})", "dim")
    if dim in (0, -len(got) - 1):
        return Diagnosis("dim 0 is the batch: GLU must halve a dimension of each sample", "dim")
    size = got[dim - 1] if dim > 0 else got[dim]
    if size % 2:
        return Diagnosis(
            f"halves dim {dim}, whose size {size} in its input {got} is odd: give it an even "
            "size (e.g. the layer before's out_features)",
            "dim",
        )
    return None


# What the engine's signatures cannot say: category, help, and the range or choices of
# each argument. Everything else (names, order, defaults) is read from the classes.
_BATCH_NORM_ARGS = dict(
    num_features=dict(kind="int", minimum=1),
    eps=dict(kind="float", minimum=0),
    momentum=dict(kind="float", minimum=0, maximum=1, optional=True),
)
_TORCH_RESIDUAL = '''
class Residual(nn.Module):
    """output = input + body(input): stepgrad's skip connection, which PyTorch lacks."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)
'''.lstrip("\n")
_EXTRA: dict[str, dict] = {
    "Linear": dict(
        suggest=_suggest_linear,
        label=_label_linear,
        diagnose=_diagnose_linear,
        category="Linear",
        help="y = x W^T + b over the last dimension",
        keys=("in_features", "out_features"),
        args=dict(
            in_features=dict(kind="int", minimum=1), out_features=dict(kind="int", minimum=1)
        ),
    ),
    "Conv2d": dict(
        dims=(3,),
        suggest=_suggest_conv,
        label=_label_conv,
        diagnose=_diagnose_image("in_channels"),
        category="Convolution",
        help="2-D convolution over (C, H, W) input",
        keys=("in_channels", "out_channels", "kernel_size", "stride", "padding"),
        args=dict(
            in_channels=dict(kind="int", minimum=1),
            out_channels=dict(kind="int", minimum=1),
            kernel_size=dict(kind="size", minimum=1),
            stride=dict(kind="size", minimum=1),
            padding=dict(kind="size", minimum=0),
            dilation=dict(kind="size", minimum=1),
            groups=dict(kind="int", minimum=1),
            padding_mode=dict(kind="choice", choices=("zeros",)),
        ),
    ),
    "MaxPool2d": dict(
        dims=(3,),
        suggest=lambda shape: {"kernel_size": 2},
        diagnose=_diagnose_image(None),
        category="Pooling",
        help="maximum over each window",
        keys=("kernel_size", "stride"),
        args=dict(
            kernel_size=dict(kind="size", minimum=1),
            stride=dict(kind="size", minimum=1, optional=True),
            padding=dict(kind="size", minimum=0),
            dilation=dict(kind="size", minimum=1),
        ),
    ),
    "AvgPool2d": dict(
        dims=(3,),
        suggest=lambda shape: {"kernel_size": 2},
        diagnose=_diagnose_image(None),
        category="Pooling",
        help="mean over each window",
        keys=("kernel_size", "stride"),
        args=dict(
            kernel_size=dict(kind="size", minimum=1),
            stride=dict(kind="size", minimum=1, optional=True),
            padding=dict(kind="size", minimum=0),
        ),
    ),
    "AdaptiveAvgPool2d": dict(
        dims=(3,),
        suggest=lambda shape: {"output_size": 1},
        diagnose=_diagnose_image(None),
        category="Pooling",
        help="mean pooling to a fixed output size",
        keys=("output_size",),
        args=dict(output_size=dict(kind="size", minimum=1)),
    ),
    "ConvTranspose2d": dict(
        dims=(3,),
        suggest=lambda shape: {
            "in_channels": shape[0] if shape else 1,
            "out_channels": 16,
            "kernel_size": 2,
            "stride": 2,
        },
        label=_label_conv,
        diagnose=_diagnose_image("in_channels"),
        category="Convolution",
        help="transposed 2-D convolution: stride 2 doubles H and W",
        keys=("in_channels", "out_channels", "kernel_size", "stride", "padding"),
        args=dict(
            in_channels=dict(kind="int", minimum=1),
            out_channels=dict(kind="int", minimum=1),
            kernel_size=dict(kind="size", minimum=1),
            stride=dict(kind="size", minimum=1),
            padding=dict(kind="size", minimum=0),
            output_padding=dict(kind="size", minimum=0),
            groups=dict(kind="int", minimum=1),
            dilation=dict(kind="size", minimum=1),
            padding_mode=dict(kind="choice", choices=("zeros",)),
        ),
    ),
    "AdaptiveMaxPool2d": dict(
        dims=(3,),
        suggest=lambda shape: {"output_size": 1},
        diagnose=_diagnose_image(None),
        category="Pooling",
        help="max pooling to a fixed output size",
        keys=("output_size",),
        args=dict(output_size=dict(kind="size", minimum=1)),
    ),
    "Upsample": dict(
        dims=(3,),
        suggest=lambda shape: {"scale_factor": 2.0},
        diagnose=_diagnose_image(None),
        category="Shape",
        help="resize (C, H, W) input to size, or by scale_factor",
        keys=("size", "scale_factor", "mode"),
        args=dict(
            size=dict(kind="size", minimum=1, optional=True),
            scale_factor=dict(kind="float", minimum=0, optional=True),
            mode=dict(kind="choice", choices=("nearest", "bilinear")),
        ),
    ),
    "ZeroPad2d": dict(
        dims=(3,),
        suggest=lambda shape: {"padding": [1]},
        diagnose=_diagnose_image(None),
        category="Shape",
        help="zero padding of H and W: p, or left, right, top, bottom",
        keys=("padding",),
        args=dict(padding=dict(kind="shape", minimum=0)),
    ),
    "ReLU": dict(category="Activation", help="max(x, 0)"),
    "LeakyReLU": dict(
        category="Activation",
        help="x if x > 0 else slope * x",
        keys=("negative_slope",),
        args=dict(negative_slope=dict(kind="float", minimum=0)),
    ),
    "GELU": dict(
        category="Activation",
        help="x * Phi(x), smooth ReLU",
        keys=("approximate",),
        args=dict(approximate=dict(kind="choice", choices=("none", "tanh"))),
    ),
    "Sigmoid": dict(category="Activation", help="1 / (1 + exp(-x)), squashes to (0, 1)"),
    "Tanh": dict(category="Activation", help="tanh(x), squashes to (-1, 1)"),
    "Softmax": dict(
        suggest=lambda shape: {"dim": 1},
        category="Activation",
        help="exp(x) normalised over a dimension",
        keys=("dim",),
        args=dict(dim=dict(kind="int", optional=True)),
    ),
    "LogSoftmax": dict(
        suggest=lambda shape: {"dim": 1},
        category="Activation",
        help="log of softmax, computed stably",
        keys=("dim",),
        args=dict(dim=dict(kind="int", optional=True)),
    ),
    "PReLU": dict(
        diagnose=_diagnose_prelu,
        category="Activation",
        help="x if x > 0 else a * x, with the slope a learned (shared or per channel)",
        keys=("num_parameters",),
        args=dict(num_parameters=dict(kind="int", minimum=1), init=dict(kind="float")),
    ),
    "SiLU": dict(category="Activation", help="x * sigmoid(x), also called swish"),
    "ELU": dict(
        category="Activation",
        help="x if x > 0 else alpha * (exp(x) - 1)",
        keys=("alpha",),
        args=dict(alpha=dict(kind="float", minimum=0)),
    ),
    "SELU": dict(category="Activation", help="scaled ELU that keeps activations normalised"),
    "Softplus": dict(
        category="Activation",
        help="log(1 + exp(beta * x)) / beta, a smooth ReLU",
        keys=("beta",),
        args=dict(beta=dict(kind="float", minimum=0.01), threshold=dict(kind="float", minimum=0)),
    ),
    "Mish": dict(category="Activation", help="x * tanh(softplus(x))"),
    "Hardtanh": dict(
        category="Activation",
        help="x clamped to [min_val, max_val]",
        keys=("min_val", "max_val"),
        args=dict(min_val=dict(kind="float"), max_val=dict(kind="float")),
    ),
    "ReLU6": dict(category="Activation", help="x clamped to [0, 6]"),
    "LogSigmoid": dict(category="Activation", help="log(sigmoid(x)), computed stably"),
    "Hardswish": dict(category="Activation", help="x * relu6(x + 3) / 6, a cheap swish"),
    "Hardsigmoid": dict(category="Activation", help="relu6(x + 3) / 6, a cheap sigmoid"),
    "Softsign": dict(category="Activation", help="x / (1 + |x|), squashes to (-1, 1)"),
    "Tanhshrink": dict(category="Activation", help="x - tanh(x)"),
    "GLU": dict(
        diagnose=_diagnose_glu,
        category="Activation",
        help="first half of dim times the sigmoid of the second half: halves that dim",
        keys=("dim",),
        args=dict(dim=dict(kind="int")),
    ),
    "BatchNorm1d": dict(
        dims=(1, 2),
        suggest=_suggest_features,
        diagnose=_diagnose_batch_norm_1d,
        category="Normalization",
        help="normalise each feature over the batch",
        keys=("num_features",),
        args=_BATCH_NORM_ARGS,
    ),
    "BatchNorm2d": dict(
        dims=(3,),
        suggest=_suggest_features,
        diagnose=_diagnose_image("num_features"),
        category="Normalization",
        help="normalise each channel over the batch",
        keys=("num_features",),
        args=_BATCH_NORM_ARGS,
    ),
    "LayerNorm": dict(
        suggest=lambda shape: {"normalized_shape": [shape[-1] if shape else 1]},
        diagnose=_diagnose_layer_norm,
        category="Normalization",
        help="normalise each sample over its last dimensions",
        keys=("normalized_shape",),
        args=dict(
            normalized_shape=dict(kind="shape", minimum=1), eps=dict(kind="float", minimum=0)
        ),
    ),
    "GroupNorm": dict(
        suggest=_suggest_group_norm,
        diagnose=_diagnose_group_norm,
        category="Normalization",
        help="normalise each sample over groups of channels",
        keys=("num_groups", "num_channels"),
        args=dict(
            num_groups=dict(kind="int", minimum=1),
            num_channels=dict(kind="int", minimum=1),
            eps=dict(kind="float", minimum=0),
        ),
    ),
    "InstanceNorm2d": dict(
        dims=(3,),
        suggest=_suggest_features,
        diagnose=_diagnose_image("num_features"),
        category="Normalization",
        help="normalise each channel of each image by its own statistics",
        keys=("num_features",),
        args=_BATCH_NORM_ARGS,
    ),
    "Dropout": dict(
        category="Regularization",
        help="zero elements with probability p while training",
        keys=("p",),
        args=dict(p=dict(kind="float", minimum=0, maximum=1)),
    ),
    "Dropout2d": dict(
        dims=(3,),
        diagnose=_diagnose_channel_dropout,
        category="Regularization",
        help="zero whole channels with probability p while training",
        keys=("p",),
        args=dict(p=dict(kind="float", minimum=0, maximum=1)),
    ),
    "Flatten": dict(
        category="Shape",
        help="flatten dims start_dim..end_dim into one",
        args=dict(start_dim=dict(kind="int"), end_dim=dict(kind="int")),
    ),
    "Unflatten": dict(
        suggest=_suggest_unflatten,
        diagnose=_diagnose_unflatten,
        category="Shape",
        help="split dim into the sizes unflattened_size (one may be -1)",
        keys=("dim", "unflattened_size"),
        args=dict(
            dim=dict(kind="int"),
            unflattened_size=dict(kind="shape", minimum=-1, keep_list=True),
        ),
    ),
    "Identity": dict(category="Shape", help="passes its input through"),
    "Sequential": dict(category="Container", help="runs its layers in order"),
    "Residual": dict(
        category="Container",
        help="output = input + layers(input): a skip connection",
        torch_source=_TORCH_RESIDUAL,
        body_mismatch=lambda got, body: (
            f"its layers turn {got} into {body}; a residual block must give back the shape "
            "it gets, to add its input"
        ),
    ),
}

# arguments a design does not set: placement, in-place forms, pooling options the forms leave out
_SKIPPED_ARGS = {
    "self", "device", "dtype", "inplace", "return_indices", "ceil_mode", "divisor_override",
    "align_corners", "recompute_scale_factor",
}  # fmt: skip


def _kind_of(default) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "choice"
    return "size"


def _spec(type_name: str, extra: dict) -> LayerSpec:
    cls = getattr(nn, type_name)
    overrides = extra.get("args", {})
    args = []
    if type_name not in ("Sequential", "Residual"):
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name in _SKIPPED_ARGS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            info = dict(overrides.get(p.name, {}))
            kind = info.pop("kind", None) or _kind_of(p.default)
            args.append(ArgSpec(p.name, kind, p.default, **info))
    return LayerSpec(
        type_name,
        cls,
        extra["category"],
        extra["help"],
        tuple(args),
        extra.get("keys", ()),
        extra.get("suggest"),
        extra.get("label"),
        extra.get("diagnose"),
        extra.get("torch_source", ""),
        extra.get("body_mismatch"),
        extra.get("dims", ()),
    )


REGISTRY: dict[str, LayerSpec] = {name: _spec(name, extra) for name, extra in _EXTRA.items()}


def spec(type_name: str) -> LayerSpec | None:
    """The registry entry for a layer type, or None if there is none."""
    return REGISTRY.get(type_name)


def by_category() -> dict[str, list[LayerSpec]]:
    """Layer types grouped for the palette, categories in a fixed order."""
    groups: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORIES}
    for s in REGISTRY.values():
        groups[s.category].append(s)
    return {c: specs for c, specs in groups.items() if specs}


def check_arg(arg: ArgSpec, value) -> str | None:
    """Why `value` is not acceptable for `arg`, or None when it is."""
    if value is None:
        return None if arg.optional else "is required"
    if arg.kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if arg.kind == "choice":
        return (
            None
            if value in arg.choices
            else f"must be one of {', '.join(map(repr, arg.choices))}, got {value!r}"
        )
    if arg.kind in ("size", "shape"):
        items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        limit = 2 if arg.kind == "size" else 8
        if not isinstance(items, list | tuple) or not 1 <= len(items) <= limit:
            return f"must be an integer or a list of {limit} integers, got {value!r}"
        for v in items:
            problem = _check_number(arg, v, integer=True)
            if problem:
                return problem
        return None
    return _check_number(arg, value, integer=arg.kind == "int")


def _check_number(arg: ArgSpec, value, integer: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        return f"must be {'an integer' if integer else 'a number'}, got {value!r}"
    if arg.minimum is not None and value < arg.minimum:
        return f"must be at least {arg.minimum:g}, got {value!r}"
    if arg.maximum is not None and value > arg.maximum:
        return f"must be at most {arg.maximum:g}, got {value!r}"
    return None
