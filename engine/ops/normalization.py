"""Batch, layer, group and instance normalisation."""

from __future__ import annotations

import math

from engine.autograd import Function, OpError
from engine.dtypes import scalar_name
from engine.ops.elementwise import _xp
from engine.ops.unary import sqrt


class BatchNormOp(Function):
    """Per-channel normalisation of (N, C, ...) arrays.

    Each pass over the batch is one elementwise array op or one einsum reduction over
    an (N, C, L) view: per-channel factors are folded together first, so forward
    reads the input twice and backward reads the gradient three times.
    """

    op = "batch_norm"
    saves = ((0, None), (1, None))
    saves_others = True  # the batch statistics

    def forward(self, x, *affine, running_mean, running_var, training, momentum, eps):
        xp = _xp(x)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        count = x.size // x.shape[1]
        if training:
            if count <= 1:
                raise OpError(
                    "batch_norm: expected more than 1 value per channel when training, "
                    f"got input of shape {x.shape}"
                )
            x3 = x.reshape(x.shape[0], x.shape[1], -1)
            mean = xp.einsum("ncl->c", x3) / count
            xhat = x - mean.reshape(shape)
            centred = xhat.reshape(x3.shape)
            var = xp.einsum("ncl,ncl->c", centred, centred) / count
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += momentum * var * (count / (count - 1))
        else:
            mean, var = running_mean, running_var
            xhat = x - mean.reshape(shape)
        invstd = 1 / xp.sqrt(var + eps)
        xhat *= invstd.reshape(shape).astype(xhat.dtype, copy=False)
        self.xhat, self.invstd, self.shape, self.training = xhat, invstd, shape, training
        self.weight = affine[0] if affine else None
        if not affine:
            return xhat.copy()  # not saved: a change in place must not reach xhat
        out = xhat * affine[0].reshape(shape)
        out += affine[1].reshape(shape)
        return out

    def backward(self, g):
        xp = _xp(g)
        xhat, shape = self.xhat, self.shape
        g3 = g.reshape(g.shape[0], g.shape[1], -1)
        # the weight's and bias's gradients are the two sums the input's gradient needs
        gb = xp.einsum("ncl->c", g3)
        gw = xp.einsum("ncl,ncl->c", g3, xhat.reshape(g3.shape))
        gx = None
        if self.needs(0):
            scale = self.invstd if self.weight is None else self.weight * self.invstd
            gx = g * scale.reshape(shape)
            if self.training:
                n = g.size // g.shape[1]
                gx -= xhat * (scale * gw / n).reshape(shape)
                gx -= (scale * gb / n).reshape(shape)
        if self.weight is None:
            return (gx,)
        return gx, gw if self.needs(1) else None, gb if self.needs(2) else None


def _same_dtype(op: str, input, *others) -> None:
    """PyTorch normalises floats only, with every parameter and statistic in their dtype."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for {scalar_name(input._data.dtype)!r}')
    allowed = (
        (input._data.dtype, "float32") if input._data.dtype == "float16" else (input._data.dtype,)
    )
    if any(t is not None and t._data.dtype not in allowed for t in others):
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
):
    """Normalise each channel (dim 1) by batch statistics or the running ones."""
    # PyTorch's checks, types and words
    channels = input.shape[1] if input.ndim >= 2 else 0
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
    if input.ndim < 2:
        raise RuntimeError(
            f"batch_norm: expected input with 2 or more dimensions, got {tuple(input.shape)}"
        )
    if training and input.shape[0] * math.prod(input.shape[2:]) == 1:
        raise ValueError(
            "Expected more than 1 value per channel when training, got input size "
            f"{list(input.shape)}"
        )
    _same_dtype("batch_norm", input, running_mean, running_var, weight, bias)
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    affine = () if weight is None else (weight, bias if bias is not None else weight * 0)
    return BatchNormOp.apply(
        input,
        *affine,
        running_mean=None if running_mean is None else running_mean._data,
        running_var=None if running_var is None else running_var._data,
        training=training,
        momentum=momentum,
        eps=eps,
    )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims."""
    norm = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[-len(norm) :]) != norm:
        raise RuntimeError(
            f"layer_norm: normalized_shape {list(norm)} does not match the last dimensions "
            f"of the input {tuple(input.shape)}"
        )
    _same_dtype("LayerNormKernelImpl", input, weight, bias)
    dims = tuple(range(-len(norm), 0))
    mean = input.mean(dim=dims, keepdim=True)
    centred = input - mean
    var = (centred * centred).mean(dim=dims, keepdim=True)
    out = centred / sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


class GroupNormOp(Function):
    """Normalise each sample's channel groups by their own mean and variance, then scale and
    shift each channel."""

    op = "group_norm"
    saves = ((0, None), (1, None))  # the input and the weight (not the bias), as PyTorch
    saves_others = True  # the group statistics

    def forward(self, x, *affine, groups, has_weight, has_bias, eps):
        xp = _xp(x)
        if not has_weight:
            self.saves = ((0, None),)
        n, c = x.shape[0], x.shape[1]
        grouped = x.reshape(n, groups, -1)
        mean = grouped.mean(axis=2, keepdims=True)
        var = grouped.var(axis=2, keepdims=True)
        self.invstd = 1 / xp.sqrt(var + x.dtype.type(eps))
        self.xhat = ((grouped - mean) * self.invstd).reshape(x.shape)
        self.shape = shape = (1, c) + (1,) * (x.ndim - 2)
        self.groups, self.has_weight, self.has_bias = groups, has_weight, has_bias
        self.x, self.eps = x, eps
        self.weight = affine[0] if has_weight else None
        out = self.xhat.copy() if self.weight is None else self.xhat * self.weight.reshape(shape)
        if has_bias:
            out = out + affine[-1].reshape(shape)
        return out

    def backward(self, g):
        xhat, shape = self.xhat, self.shape
        axes = (0,) + tuple(range(2, g.ndim))
        grads = []
        if self.needs(0):
            gxhat = g if self.weight is None else g * self.weight.reshape(shape)
            n = g.shape[0]
            gg = gxhat.reshape(n, self.groups, -1)
            xg = xhat.reshape(n, self.groups, -1)
            gx = gg - gg.mean(axis=2, keepdims=True) - xg * (gg * xg).mean(axis=2, keepdims=True)
            grads.append((gx * self.invstd).reshape(g.shape))
        else:
            grads.append(None)
        if self.has_weight:
            grads.append((g * xhat).sum(axis=axes) if self.needs(len(grads)) else None)
        if self.has_bias:
            grads.append(g.sum(axis=axes) if self.needs(len(grads)) else None)
        return tuple(grads)

    def backward_graph(self, g):
        """The same gradient as engine ops on the statistics recomputed in the graph."""
        from engine import ops
        from engine.ops import graph_grads as gg

        x = gg._input(self, 0, self.x)
        n, axes = x.shape[0], (0,) + tuple(range(2, x.ndim))
        grouped = x.reshape(n, self.groups, -1)
        centred = grouped - ops.mean(grouped, 2, True)
        invstd = 1 / sqrt(ops.mean(centred * centred, 2, True) + self.eps)
        xhat = centred * invstd
        if self.has_weight:
            w = gg._input(self, 1, self.weight)
            g_xhat = (g * w.reshape(self.shape)).reshape(n, self.groups, -1)
        else:
            g_xhat = g.reshape(n, self.groups, -1)
        mean_g = ops.mean(g_xhat, 2, True)
        mean_gx = ops.mean(g_xhat * xhat, 2, True)
        parts = [lambda: ((g_xhat - mean_g - xhat * mean_gx) * invstd).reshape(*x.shape)]
        if self.has_weight:
            parts.append(lambda: ops.sum(g * xhat.reshape(*x.shape), axes))
        if self.has_bias:
            parts.append(lambda: ops.sum(g, axes))
        return gg._each(self, *parts)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise (N, C, *) input over groups of C // num_groups channels, per sample."""
    if input.ndim < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.ndim}"
        )
    shape = tuple(input.shape)
    per_group = shape[0] * shape[1] // num_groups  # num_groups=0: ZeroDivisionError, as PyTorch
    if per_group * math.prod(shape[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size "
            f"{[per_group, num_groups] + list(shape[2:])}"
        )
    if num_groups < 0 or shape[1] % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.shape[0] != shape[1]):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape {list(shape)}"
            )
    _same_dtype("group_norm", input, weight, bias)
    params = tuple(t for t in (weight, bias) if t is not None)
    return GroupNormOp.apply(
        input,
        *params,
        groups=num_groups,
        has_weight=weight is not None,
        has_bias=bias is not None,
        eps=eps,
    )


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
):
    """Normalise each channel of each sample of (N, C, *) input by its own statistics (or the
    running ones), updating the running statistics by their mean over the batch."""
    shape = tuple(input.shape)
    if use_input_stats and math.prod(shape[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input size {list(shape)}"
        )
    if input.ndim < 2:
        raise RuntimeError(f"instance_norm: expected (N, C, *) input, got {list(shape)}")
    n, c = shape[0], shape[1]
    for name, t in (
        ("weight", weight),
        ("bias", bias),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        if t is not None and t.numel() != c:
            raise RuntimeError(
                f"instance_norm: {name} should contain {c} elements (the input's channels), "
                f"not {t.numel()}"
            )
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError(
            "Expected running_mean and running_var to be defined when use_input_stats is false"
        )
    _same_dtype("instance_norm", input, running_mean, running_var, weight, bias)
    # one batch of n * c channels: batch normalisation of it is instance normalisation
    flat = input.reshape(1, n * c, *shape[2:])
    affine = ()
    if weight is not None or bias is not None:
        w = weight if weight is not None else bias * 0 + 1
        b = bias if bias is not None else weight * 0
        affine = tuple(t.unsqueeze(0).expand(n, c).reshape(n * c) for t in (w, b))
    xp = _xp(input._data)
    stats = [None if t is None else xp.tile(t._data, n) for t in (running_mean, running_var)]
    out = BatchNormOp.apply(
        flat,
        *affine,
        running_mean=stats[0],
        running_var=stats[1],
        training=use_input_stats,
        momentum=momentum,
        eps=eps,
    )
    if use_input_stats:
        for t, s in zip((running_mean, running_var), stats, strict=True):
            if t is not None:
                t._data[...] = s.reshape(n, c).mean(axis=0).astype(t._data.dtype)
    return out.reshape(*shape)
