"""What a layer will cost in memory, worked out from its arguments before anything is allocated.

Validation runs every layer on a batch of one to learn its output shape; a layer
asking for gigabytes would take them before it could be refused. So each layer's
parameters and output elements are first estimated here from its arguments and the
shape it receives, and a design whose training would need more than the memory
budget is refused at that layer, naming it and the bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from app.model.design import LayerNode

DEFAULT_BUDGET = 4 * 1024**3  # bytes one training step may need, by the estimate below
BYTES = 4  # float32
# what one training step keeps: weights, their gradients and two optimizer moments
# (Adam); each activation and its gradient
PARAM_COPIES = 4
ACTIVATION_COPIES = 2

_budget = DEFAULT_BUDGET


def budget() -> int:
    """The memory budget in bytes that validation holds designs to."""
    return _budget


def set_budget(n_bytes: int) -> None:
    """Raise or lower the memory budget (the CLI's --memory-budget)."""
    global _budget
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int) or n_bytes <= 0:
        raise ValueError(f"the memory budget must be a positive number of bytes, got {n_bytes!r}")
    _budget = n_bytes


def parse_size(text: str) -> int:
    """Bytes from `512M`, `8G`, `8GB`, `1.5g` or a plain number of bytes (powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"expected a size such as 512M or 8G, got {text!r}")
    number, unit = float(match.group(1)), match.group(2).lower()
    n_bytes = int(number * 1024 ** " kmgt".index(unit or " "))
    if n_bytes <= 0:
        raise ValueError(f"expected a size above zero, got {text!r}")
    return n_bytes


def size_text(n_bytes: int) -> str:
    """Bytes for people, in powers of 1024: 812 B, 3.1 MiB, 6.7 GiB."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def training_bytes(params: int, activations: int, batch_size: int) -> int:
    """What one training step needs, estimated: parameters and per-sample activations."""
    return BYTES * (PARAM_COPIES * params + ACTIVATION_COPIES * batch_size * activations)


def estimate(node: LayerNode, shape_in: tuple) -> tuple[int, int | None]:
    """(parameters, output elements per sample) of a layer that is not a container.

    The output is None where the arguments do not fit the input (the engine says why).
    """
    rule = _RULES.get(node.type, _same)
    try:
        return rule(node.args, tuple(shape_in))
    except (TypeError, ValueError, IndexError, ZeroDivisionError, OverflowError):
        return 0, None


# ----- one rule a layer type that has parameters or changes the size ------------------
def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _window(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return max(0, (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1)


def _same(args: dict, shape: tuple) -> tuple[int, int]:
    return 0, math.prod(shape)


def _linear(args: dict, shape: tuple) -> tuple[int, int]:
    n_in, n_out = args["in_features"], args["out_features"]
    return n_in * n_out + (n_out if args.get("bias", True) else 0), math.prod(shape[:-1]) * n_out


def _conv2d(args: dict, shape: tuple) -> tuple[int, int | None]:
    n_in, n_out = args["in_channels"], args["out_channels"]
    kh, kw = _pair(args["kernel_size"])
    params = n_out * (n_in // args.get("groups", 1)) * kh * kw
    params += n_out if args.get("bias", True) else 0
    if len(shape) != 3:
        return params, None
    sh, sw = _pair(args.get("stride", 1))
    ph, pw = _pair(args.get("padding", 0))
    dh, dw = _pair(args.get("dilation", 1))
    height, width = _window(shape[1], kh, sh, ph, dh), _window(shape[2], kw, sw, pw, dw)
    return params, n_out * height * width


def _pool2d(args: dict, shape: tuple) -> tuple[int, int | None]:
    if len(shape) != 3:
        return 0, None
    kh, kw = _pair(args["kernel_size"])
    stride = args.get("stride")
    sh, sw = _pair(stride) if stride is not None else (kh, kw)
    ph, pw = _pair(args.get("padding", 0))
    dh, dw = _pair(args.get("dilation", 1))
    height, width = _window(shape[1], kh, sh, ph, dh), _window(shape[2], kw, sw, pw, dw)
    return 0, shape[0] * height * width


def _adaptive_pool2d(args: dict, shape: tuple) -> tuple[int, int | None]:
    if len(shape) != 3:
        return 0, None
    oh, ow = _pair(args["output_size"])
    return 0, shape[0] * oh * ow


def _conv_transpose2d(args: dict, shape: tuple) -> tuple[int, int | None]:
    n_in, n_out = args["in_channels"], args["out_channels"]
    kh, kw = _pair(args["kernel_size"])
    params = n_in * (n_out // args.get("groups", 1)) * kh * kw
    params += n_out if args.get("bias", True) else 0
    if len(shape) != 3:
        return params, None
    sizes = []
    for n, k, s, p, o, d in zip(
        shape[1:],
        (kh, kw),
        _pair(args.get("stride", 1)),
        _pair(args.get("padding", 0)),
        _pair(args.get("output_padding", 0)),
        _pair(args.get("dilation", 1)),
        strict=True,
    ):
        sizes.append(max(0, (n - 1) * s - 2 * p + d * (k - 1) + o + 1))
    return params, n_out * sizes[0] * sizes[1]


def _upsample(args: dict, shape: tuple) -> tuple[int, int | None]:
    if len(shape) != 3:
        return 0, None
    if args.get("size") is not None:
        height, width = _pair(args["size"])
    else:
        factor = args.get("scale_factor") or 0
        sh, sw = (factor, factor) if isinstance(factor, int | float) else tuple(factor)
        height, width = math.floor(shape[1] * sh), math.floor(shape[2] * sw)
    return 0, shape[0] * height * width


def _zero_pad2d(args: dict, shape: tuple) -> tuple[int, int | None]:
    padding = args["padding"]
    if isinstance(padding, list | tuple) and len(padding) == 1:
        padding = padding[0]
    left, right, top, bottom = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
    if len(shape) < 2:
        return 0, None
    height, width = shape[-2] + top + bottom, shape[-1] + left + right
    return 0, math.prod(shape[:-2]) * max(0, height) * max(0, width)


def _batch_norm(args: dict, shape: tuple) -> tuple[int, int]:
    return (2 * args["num_features"] if args.get("affine", True) else 0), math.prod(shape)


def _layer_norm(args: dict, shape: tuple) -> tuple[int, int]:
    normalized = args["normalized_shape"]
    n = math.prod(normalized) if isinstance(normalized, list | tuple) else normalized
    if not args.get("elementwise_affine", True):
        return 0, math.prod(shape)
    return (2 if args.get("bias", True) else 1) * n, math.prod(shape)


def _group_norm(args: dict, shape: tuple) -> tuple[int, int]:
    affine = args.get("affine", True)
    return (1 + bool(args.get("bias", True))) * args["num_channels"] * affine, math.prod(shape)


def _instance_norm(args: dict, shape: tuple) -> tuple[int, int]:
    """Its affine parameters, which it has only when asked (affine=True); running statistics,
    when tracked, weigh in as the parameters whose four copies take their memory."""
    n = args["num_features"]
    params = (1 + bool(args.get("bias", True))) * n * bool(args.get("affine", False))
    if args.get("track_running_stats", False):
        params += -(-2 * n // PARAM_COPIES)
    return params, math.prod(shape)


def _prelu(args: dict, shape: tuple) -> tuple[int, int]:
    return args.get("num_parameters", 1), math.prod(shape)


def _glu(args: dict, shape: tuple) -> tuple[int, int | None]:
    """Half of its input: GLU halves one dimension (dim counts the batch as 0)."""
    dim = args.get("dim", -1)
    axis = dim - 1 if dim > 0 else len(shape) + dim
    if not 0 <= axis < len(shape) or shape[axis] % 2:
        return 0, None
    return 0, math.prod(shape) // 2


Rule = Callable[[dict, tuple], tuple[int, int | None]]
_RULES: dict[str, Rule] = {
    "Linear": _linear,
    "Conv2d": _conv2d,
    "MaxPool2d": _pool2d,
    "AvgPool2d": _pool2d,
    "AdaptiveAvgPool2d": _adaptive_pool2d,
    "ConvTranspose2d": _conv_transpose2d,
    "AdaptiveMaxPool2d": _adaptive_pool2d,
    "Upsample": _upsample,
    "ZeroPad2d": _zero_pad2d,
    "BatchNorm1d": _batch_norm,
    "BatchNorm2d": _batch_norm,
    "LayerNorm": _layer_norm,
    "GroupNorm": _group_norm,
    "InstanceNorm2d": _instance_norm,
    "PReLU": _prelu,
    "GLU": _glu,
}
