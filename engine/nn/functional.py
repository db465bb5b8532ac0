"""Stateless layers and losses, with PyTorch's names, argument order and defaults."""

from __future__ import annotations

import warnings

import numpy as np

from engine import backend, ops
from engine.autograd import Function, OpError

# convolution and pooling live beside their im2col machinery
from engine.nn._conv import (  # noqa: F401  (re-exported)
    adaptive_avg_pool2d,
    avg_pool2d,
    conv2d,
    max_pool2d,
)
from engine.random import _rng
from engine.tensor import Tensor


def _xp(a):
    return backend.array_module(a)


# ----- layers ---------------------------------------------------------------


class Linear(Function):
    op = "linear"
    fresh_grads = True

    def forward(self, x, weight, bias=None):
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise OpError(
                f"linear: input of shape {x.shape} does not fit weight {weight.shape}: "
                f"expected input (*, {weight.shape[1]})"
            )
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        x, w = self.x, self.weight
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g @ w) if self.needs(0) else None
        gw = (g2.T @ x.reshape(-1, x.shape[-1])) if self.needs(1) else None
        if not self.has_bias:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if self.needs(2) else None)


def linear(input, weight, bias=None):  # noqa: A002 (PyTorch's names)
    """input @ weight.T + bias."""
    return Linear.apply(input, weight) if bias is None else Linear.apply(input, weight, bias)


def relu(input, inplace=False):  # noqa: A002, ARG001 (in-place is out-of-place here)
    return ops.Relu.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002, ARG001
    return ops.LeakyRelu.apply(input, negative_slope=negative_slope)


def gelu(input, approximate="none"):  # noqa: A002
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.Gelu.apply(input, approximate=approximate)


def sigmoid(input):  # noqa: A002
    return ops.sigmoid(input)


def tanh(input):  # noqa: A002
    return ops.tanh(input)


def _softmax_dim(ndim: int, dim) -> int:
    if dim is None:  # PyTorch's legacy choice when dim is left out
        dim = 0 if ndim in (0, 1, 3) else 1
    return ops._axes(dim, ndim, "softmax")[0] if ndim else 0


class Softmax(Function):
    op = "softmax"

    def forward(self, x, dim):
        xp = _xp(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        self.out, self.dim = e / e.sum(axis=dim, keepdims=True), dim
        return self.out

    def backward(self, g):
        out = self.out
        return (out * (g - (g * out).sum(axis=self.dim, keepdims=True)),)


class LogSoftmax(Function):
    op = "log_softmax"

    def forward(self, x, dim):
        xp = _xp(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.dim = dim
        return self.out

    def backward(self, g):
        return (g - _xp(g).exp(self.out) * g.sum(axis=self.dim, keepdims=True),)


def softmax(input, dim=None, dtype=None):  # noqa: A002
    x = input.to(dtype) if dtype is not None else ops._floating(input)
    return Softmax.apply(x, dim=_softmax_dim(x.ndim, dim))


def log_softmax(input, dim=None, dtype=None):  # noqa: A002
    x = input.to(dtype) if dtype is not None else ops._floating(input)
    return LogSoftmax.apply(x, dim=_softmax_dim(x.ndim, dim))


class Dropout(Function):
    op = "dropout"

    def forward(self, x, p):
        keep = _rng(None).random(x.shape, dtype=np.float32) >= p
        self.scale = backend.to_device(keep, backend.device_of(x)) * x.dtype.type(1 / (1 - p))
        return x * self.scale

    def backward(self, g):
        return (g * self.scale,)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002, ARG001
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    return Dropout.apply(input, p=p)


class BatchNorm(Function):
    op = "batch_norm"

    def forward(self, x, *affine, running_mean, running_var, training, momentum, eps):
        xp = _xp(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        count = x.size // x.shape[1]
        if training:
            if count <= 1:
                raise OpError(
                    "batch_norm: expected more than 1 value per channel when training, "
                    f"got input of shape {x.shape}"
                )
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += momentum * var * (count / (count - 1))
        else:
            mean, var = running_mean, running_var
        invstd = 1 / xp.sqrt(var + eps)
        self.xhat = (x - mean.reshape(shape)) * invstd.reshape(shape)
        self.invstd, self.axes, self.shape, self.training = invstd, axes, shape, training
        self.weight = affine[0] if affine else None
        out = self.xhat
        if affine:
            out = out * affine[0].reshape(shape) + affine[1].reshape(shape)
        return out

    def backward(self, g):
        xhat, axes, shape = self.xhat, self.axes, self.shape
        gxhat = g if self.weight is None else g * self.weight.reshape(shape)
        gx = None
        if self.needs(0):
            if self.training:
                n = g.size // g.shape[1]
                mean_g = gxhat.sum(axis=axes).reshape(shape) / n
                mean_gx = (gxhat * xhat).sum(axis=axes).reshape(shape) / n
                gx = (gxhat - mean_g - xhat * mean_gx) * self.invstd.reshape(shape)
            else:
                gx = gxhat * self.invstd.reshape(shape)
        if self.weight is None:
            return (gx,)
        gw = (g * xhat).sum(axis=axes) if self.needs(1) else None
        gb = g.sum(axis=axes) if self.needs(2) else None
        return gx, gw, gb


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,  # noqa: A002
    momentum=0.1,
    eps=1e-5,
):
    """Normalise each channel (dim 1) by batch statistics or the running ones."""
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: expected input with 2 or more dimensions, got {tuple(input.shape)}"
        )
    channels = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and tuple(t.shape) != (channels,):
            raise ValueError(
                f"batch_norm: {name} has shape {tuple(t.shape)} but the input has {channels} "
                f"channels (input {tuple(input.shape)})"
            )
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    affine = () if weight is None else (weight, bias if bias is not None else weight * 0)
    return BatchNorm.apply(
        input,
        *affine,
        running_mean=None if running_mean is None else running_mean._data,
        running_var=None if running_var is None else running_var._data,
        training=training,
        momentum=momentum,
        eps=eps,
    )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalise over the last len(normalized_shape) dims."""
    norm = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[-len(norm) :]) != norm:
        raise ValueError(
            f"layer_norm: normalized_shape {list(norm)} does not match the last dimensions "
            f"of the input {tuple(input.shape)}"
        )
    dims = tuple(range(-len(norm), 0))
    mean = input.mean(dim=dims, keepdim=True)
    centred = input - mean
    var = (centred * centred).mean(dim=dims, keepdim=True)
    out = centred / ops.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ----- losses ---------------------------------------------------------------


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction!r} is not a valid value for reduction (mean, sum or none)")


class NLLLoss(Function):
    op = "nll_loss"

    def forward(self, logp, target, weight, ignore_index, reduction):
        xp = _xp(logp)
        classes = logp.shape[1] if logp.ndim > 1 else logp.shape[0]
        flat = xp.moveaxis(logp, 1, -1).reshape(-1, classes) if logp.ndim > 1 else logp[None]
        t = target.reshape(-1)
        valid = t != ignore_index
        safe = xp.where(valid, t, 0)
        if safe.size and (int(safe.min()) < 0 or int(safe.max()) >= classes):
            bad = int(safe.max()) if int(safe.max()) >= classes else int(safe.min())
            raise OpError(f"nll_loss: target {bad} is out of bounds for {classes} classes")
        w = valid.astype(logp.dtype) if weight is None else weight[safe] * valid
        rows = xp.arange(t.size)
        losses = -flat[rows, safe] * w
        self.meta = (logp.shape, classes, rows, safe, w, reduction, target.shape)
        if reduction == "none":
            return losses.reshape(target.shape)
        if reduction == "sum":
            return losses.sum()
        self.total = w.sum()
        return losses.sum() / self.total

    def backward(self, g):
        shape, classes, rows, safe, w, reduction, tshape = self.meta
        xp = _xp(g)
        if reduction == "none":
            scale = g.reshape(-1)
        elif reduction == "sum":
            scale = g
        else:
            scale = g / self.total
        flat = xp.zeros((rows.size, classes), dtype=g.dtype)
        flat[rows, safe] = -w * scale
        if len(shape) == 1:
            return (flat[0],)
        moved = flat.reshape((shape[0],) + tuple(shape[2:]) + (classes,))
        return (xp.moveaxis(moved, -1, 1),)


def _check_targets(input, target, op):  # noqa: A002
    if target._data.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (int64), got {target.dtype}")
    expect = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim > 1 else ()
    if tuple(target.shape) != expect:
        raise ValueError(
            f"{op}: input of shape {tuple(input.shape)} needs target of shape {expect}, "
            f"got {tuple(target.shape)}"
        )


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    """Negative log-likelihood of class indices under log-probabilities."""
    _check_targets(input, target, "nll_loss")
    _reduce_name(reduction)
    return NLLLoss.apply(
        input,
        target=target._data,
        weight=None if weight is None else weight._data,
        ignore_index=ignore_index,
        reduction=reduction,
    )


def _reduce_name(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction!r} is not a valid value for reduction (mean, sum or none)")


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index=-100,
    reduction="mean",  # noqa: A002
    label_smoothing=0.0,
):
    """log_softmax over dim 1, then nll_loss (or soft targets of the input's shape)."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    _reduce_name(reduction)
    logp = log_softmax(input, dim=1 if input.ndim > 1 else 0)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    class_shape = (classes,) + (1,) * (input.ndim - 2) if input.ndim > 1 else (classes,)
    if target._data.dtype.kind == "f":  # class probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(
                f"cross_entropy: soft targets must have the input's shape {tuple(input.shape)}, "
                f"got {tuple(target.shape)}"
            )
        probs = target * (1 - label_smoothing) + label_smoothing / classes
        weighted = logp * probs if weight is None else logp * probs * weight.reshape(class_shape)
        return _reduce(-weighted.sum(dim=1 if input.ndim > 1 else 0), reduction)
    loss = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return loss
    w = 1.0 if weight is None else weight.reshape(class_shape)
    valid = target != ignore_index
    smooth = -(logp * w).sum(dim=1 if input.ndim > 1 else 0) * valid.to(logp.dtype)
    if reduction == "mean":
        safe = ops.where(valid, target, 0)
        denom = valid.sum() if weight is None else (weight[safe] * valid.to(weight.dtype)).sum()
        smooth = smooth.sum() / denom.to(logp.dtype)
    else:
        smooth = _reduce(smooth, reduction)
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _check_same_shape(input, target, op):  # noqa: A002
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"{op}: target size {tuple(target.shape)} differs from input size "
            f"{tuple(input.shape)}; broadcasting may give a wrong result",
            stacklevel=3,
        )


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    _check_same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    _check_same_shape(input, target, "l1_loss")
    return _reduce(ops.abs(input - target), reduction)


class BinaryCrossEntropy(Function):
    op = "binary_cross_entropy"

    def forward(self, x, target, weight):
        xp = _xp(x)
        if x.size and (float(x.min()) < 0 or float(x.max()) > 1):
            raise OpError("binary_cross_entropy: all elements of input should be between 0 and 1")
        self.x, self.target, self.weight = x, target, weight
        # log clamped at -100, as PyTorch does, so a confident mistake is large but finite
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log(1 - x), -100)
        loss = -(target * log_x + (1 - target) * log_1mx)
        return loss if weight is None else loss * weight

    def backward(self, g):
        x, t = self.x, self.target
        grad = g * (x - t) / _xp(x).maximum((1 - x) * x, x.dtype.type(1e-12))
        return (grad if self.weight is None else grad * self.weight,)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"binary_cross_entropy: target size {tuple(target.shape)} must match input size "
            f"{tuple(input.shape)}"
        )
    w = None if weight is None else _xp(input._data).broadcast_to(weight._data, input.shape)
    loss = BinaryCrossEntropy.apply(input, target=target._data.astype(input._data.dtype), weight=w)
    return _reduce(loss, reduction)


class BCEWithLogits(Function):
    op = "binary_cross_entropy_with_logits"

    def forward(self, x, target, pos_weight):
        xp = _xp(x)
        self.x, self.target = x, target
        self.lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
        # (1 - t) x + lw * softplus(-x), with softplus written so it cannot overflow
        softplus_neg = xp.log1p(xp.exp(-abs(x))) + xp.maximum(-x, 0)
        return (1 - target) * x + self.lw * softplus_neg

    def backward(self, g):
        x = self.x
        sig_neg = 0.5 * (1 + _xp(x).tanh(-0.5 * x))
        return (g * ((1 - self.target) - self.lw * sig_neg),)


def binary_cross_entropy_with_logits(
    input,
    target,
    weight=None,
    reduction="mean",  # noqa: A002
    pos_weight=None,
):
    """Sigmoid and binary cross-entropy in one numerically stable step."""
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"binary_cross_entropy_with_logits: target size {tuple(target.shape)} must match "
            f"input size {tuple(input.shape)}"
        )
    loss = BCEWithLogits.apply(
        input,
        target=target._data.astype(input._data.dtype),
        pos_weight=None if pos_weight is None else pos_weight._data,
    )
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def one_hot(tensor, num_classes=-1):
    """Class indices to a 0/1 int64 tensor with a trailing class dimension."""
    idx = tensor._data
    n = int(idx.max()) + 1 if num_classes < 0 else num_classes
    out = (idx[..., None] == _xp(idx).arange(n)).astype(np.int64)
    return Tensor._make(out, False, None)
