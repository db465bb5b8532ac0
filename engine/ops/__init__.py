"""Differentiable ops, one module per family, each primitive one Function (forward, backward)."""

# A Function named like an `nn` layer ends in `Op` (`LinearOp`, `Conv2dOp`, `SoftmaxOp`) so the
# two are never confused; its `op` string is the node name the debugger shows.

from engine.ops import (  # Tensor's methods call into them
    aggregate,
    counting,
    indexing,
    inplace,
    scan,
)
from engine.ops.activation import (
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
    tanhshrink,
)
from engine.ops.conv import conv2d
from engine.ops.dropout import dropout
from engine.ops.elementwise import (
    add,
    div,
    eq,
    ge,
    gt,
    le,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    pow,
    sub,
    where,
)
from engine.ops.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from engine.ops.matmul import linear, matmul, mm
from engine.ops.movement import (
    cat,
    expand,
    expand_as,
    flatten,
    getitem,
    index_for,
    permute,
    reshape,
    squeeze,
    stack,
    t,
    transpose,
    unsqueeze,
    view,
    view_as,
)
from engine.ops.normalization import batch_norm, layer_norm
from engine.ops.pointwise import (
    acos,
    arccos,
    arcsin,
    arctan,
    arctan2,
    asin,
    atan,
    atan2,
    ceil,
    clamp_max,
    clamp_min,
    cosh,
    expm1,
    floor,
    floor_divide,
    fmod,
    isfinite,
    isinf,
    isnan,
    lerp,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    nan_to_num,
    remainder,
    round,
    rsqrt,
    sign,
    sinh,
    square,
    tan,
    trunc,
)
from engine.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from engine.ops.reduce import argmax, argmin, max, mean, min, std, sum, var
from engine.ops.unary import abs, clamp, cos, exp, log, neg, reciprocal, sin, sqrt

# isort: split
from engine.ops import bitwise, compare, linalg_ops, sampling, shape_ops, special

# isort: split
from engine.ops import linalg_more, more_index, more_pointwise, more_shape, statistics

__all__ = [
    "abs", "acos", "adaptive_avg_pool2d", "add", "arccos", "arcsin", "arctan", "arctan2",
    "argmax", "argmin", "asin", "atan", "atan2",
    "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cat", "ceil", "clamp", "clamp_max", "clamp_min", "conv2d", "cos", "cosh", "cross_entropy",
    "div", "dropout", "eq", "exp", "expand", "expand_as", "expm1", "flatten", "floor",
    "floor_divide", "fmod", "ge", "gelu", "getitem", "gt", "index_for", "isfinite", "isinf",
    "isnan", "l1_loss", "layer_norm", "le", "leaky_relu", "lerp", "linear", "log", "log10",
    "log1p", "log2", "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor",
    "lt", "matmul", "max", "max_pool2d", "maximum", "mean", "min", "minimum", "mm", "mse_loss",
    "mul", "nan_to_num", "ne", "neg", "nll_loss", "permute", "pow", "reciprocal", "relu",
    "remainder", "reshape", "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "softmax",
    "sqrt", "square", "squeeze", "stack", "std", "sub", "sum", "t", "tan", "tanh", "transpose",
    "trunc", "unsqueeze", "var", "view", "view_as", "where",
]  # fmt: skip
