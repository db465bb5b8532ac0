"""Differentiable ops, one module per family, each primitive one Function (forward, backward)."""

# A Function named like an `nn` layer ends in `Op` (`LinearOp`, `Conv2dOp`, `SoftmaxOp`) so the
# two are never confused; its `op` string is the node name the debugger shows.

from engine.ops import inplace  # Tensor's in-place methods call into it
from engine.ops.activation import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
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
from engine.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from engine.ops.reduce import argmax, argmin, max, mean, min, std, sum, var
from engine.ops.unary import abs, clamp, cos, exp, log, neg, reciprocal, sin, sqrt

__all__ = [
    "abs", "adaptive_avg_pool2d", "add", "argmax", "argmin", "avg_pool2d", "batch_norm",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cat", "clamp", "conv2d",
    "cos", "cross_entropy", "div", "dropout", "eq", "exp", "expand", "expand_as", "flatten",
    "ge", "gelu", "getitem", "gt", "index_for", "l1_loss", "layer_norm", "le", "leaky_relu",
    "linear", "log", "log_softmax", "lt", "matmul", "max", "max_pool2d", "maximum", "mean",
    "min", "minimum", "mm", "mse_loss", "mul", "ne", "neg", "nll_loss", "permute", "pow",
    "reciprocal", "relu", "reshape", "sigmoid", "sin", "softmax", "sqrt", "squeeze", "stack",
    "std", "sub", "sum", "t", "tanh", "transpose", "unsqueeze", "var", "view", "view_as",
    "where",
]  # fmt: skip
