"""More of torch.nn.functional, composed from the engine's differentiable ops: shrinking and
thresholding activations, randomised ReLU and dropouts, Gumbel-softmax, pooling and shape
helpers, normalisations, bags of embeddings and margin/likelihood losses."""

from __future__ import annotations

import math
import warnings

import numpy as np

from engine import backend, ops
from engine.ops import unary
from engine.ops.elementwise import where
from engine.ops.losses import _legacy_reduction, _reduce, _reduce_name_torch
from engine.random import _rng
from engine.tensor import Tensor


def _const(like: Tensor, array) -> Tensor:
    """A constant tensor on `like`'s device holding the host array `array`."""
    return Tensor._make(backend.to_device(array, backend.device_of(like._data)), False, None)


def _uniform_like(x: Tensor, low=0.0, high=1.0, shape=None) -> Tensor:
    shape = tuple(x.shape) if shape is None else shape
    data = _rng(None).uniform(low, high, size=shape).astype(x._data.dtype, copy=False)
    return _const(x, data)


def _inplace(input, inplace, compute):
    return input._modify(compute) if inplace else compute(input)


# ----- activations ----------------------------------------------------------------------------
def _float_only(kernel, input):
    if not input.is_floating_point():
        from engine.dtypes import scalar_name

        raise NotImplementedError(
            f'"{kernel}" not implemented for {scalar_name(input._data.dtype)!r}'
        )


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")

    def compute(x):
        return where(x > 0, x, ops.expm1(x / alpha) * alpha)

    return _inplace(input, inplace, compute)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    _float_only("hardshrink_cpu", input)
    return where(unary.abs(input) <= lambd, 0.0, input)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    _float_only("softshrink_check", input)
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {float(lambd)}.")
    return where(unary.abs(input) <= lambd, 0.0, input - ops.sign(input).detach() * lambd)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-input) along `dim`."""
    if dtype is not None:
        input = input.to(dtype)
    return ops.softmax(-input, dim)


def threshold(input, threshold, value, inplace=False):
    """input where input > threshold, else value."""
    return _inplace(input, inplace, lambda x: where(x <= threshold, value, x))


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element while
    training, and is (lower + upper) / 2 otherwise."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")

    def compute(x):
        if not training:
            return ops.leaky_relu(x, (lower + upper) / 2)
        slope = _uniform_like(x, lower, upper)
        return where(x >= 0, x, x * slope)

    return _inplace(input, inplace, compute)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def relu_(input):
    return input.relu_()


def elu_(input, alpha=1.0):
    from engine.nn import functional as F

    return F.elu(input, alpha, inplace=True)


def selu_(input):
    from engine.nn import functional as F

    return F.selu(input, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    from engine.nn import functional as F

    return F.leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    from engine.nn import functional as F

    return F.hardtanh(input, min_val, max_val, inplace=True)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated name of interpolate."""
    from engine.ops.resample import interpolate

    warnings.warn(
        "`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + Gumbel noise) / tau); with `hard`, the one-hot of its argmax whose
    gradient is the soft sample's (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    e = _rng(None).exponential(1.0, size=tuple(logits.shape)).astype(logits._data.dtype)
    gumbels = (logits - unary.log(_const(logits, e))) / tau
    soft = ops.softmax(gumbels, dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    from engine import creation

    hard_y = creation.zeros_like(logits).scatter(dim, index, 1.0)
    return hard_y - soft.detach() + soft


def _check_p(p):
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, L) or (C, L) input with probability p."""
    from engine.ops.dropout import FeatureDropoutOp

    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            "dropout1d: Expected 2D or 3D input, but received a "
            f"{input.ndim}D input. Note that dropout1d exists to provide channel-wise dropout "
            "on inputs with 1 spatial dimension, a channel dimension, and an optional batch "
            "dimension (i.e. 2D or 3D inputs)."
        )
    if not training or p == 0:
        return input

    def compute(x):
        if p == 1:
            return x * 0
        batched = x if x.ndim == 3 else x.unsqueeze(0)
        out = FeatureDropoutOp.apply(batched, p=p)
        return out if x.ndim == 3 else out.squeeze(0)

    return _inplace(input, inplace, compute)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _alpha_dropout(input, p, training, inplace, feature):
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        return _inplace(input, inplace, lambda x: x * 0)
    alpha_p = -_SELU_ALPHA * _SELU_SCALE
    a = ((1 - p) * (1 + p * alpha_p**2)) ** -0.5
    b = -a * alpha_p * p
    shape = tuple(input.shape)
    if feature:
        shape = shape[:2] + (1,) * (len(shape) - 2)
    keep = _const(input, (_rng(None).random(shape) >= p).astype(input._data.dtype))

    def compute(x):
        return (x * keep + (1 - keep) * alpha_p) * a + b

    return _inplace(input, inplace, compute)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalising mean and variance."""
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels."""
    return _alpha_dropout(input, p, training, inplace, feature=True)


# ----- pooling, unpooling and shuffling ---------------------------------------------------------
def _rows(op, input, ranks=(2, 3)):
    if input.ndim not in ranks:
        dims = " or ".join(f"{r}D" for r in ranks)
        raise RuntimeError(f"{op}: Expected {dims} tensor, but got a {input.ndim}D tensor")
    return input.unsqueeze(-2)


def adaptive_avg_pool1d(input, output_size):
    """Mean over adaptive windows of an (N, C, L) or (C, L) input."""
    from engine.ops.pool import adaptive_avg_pool2d

    size = output_size[0] if isinstance(output_size, list | tuple) else output_size
    return adaptive_avg_pool2d(_rows("adaptive_avg_pool1d", input), (1, size)).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows of an (N, C, L) or (C, L) input; with `return_indices`, also
    each max's index in L."""
    from engine.ops.pool import adaptive_max_pool2d

    size = output_size[0] if isinstance(output_size, list | tuple) else output_size
    rows = _rows("adaptive_max_pool1d", input)
    out = adaptive_max_pool2d(rows, (1, size), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _lp_finish(out, norm_type, window):
    return (ops.sign(out) * ops.relu(unary.abs(out))).mul(window).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x ** p) ** (1 / p) of an (N, C, L) or (C, L) input."""
    from engine.ops.pool import avg_pool1d

    k = kernel_size[0] if isinstance(kernel_size, list | tuple) else kernel_size
    powered = input.pow(norm_type)
    out = avg_pool1d(powered, k, stride if stride is not None else k, 0, ceil_mode)
    return _lp_finish(out, norm_type, k)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each kH x kW window of x ** p) ** (1 / p)."""
    from engine.ops.pool import avg_pool2d

    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    powered = input.pow(norm_type)
    out = avg_pool2d(powered, (kh, kw), stride if stride is not None else (kh, kw), 0, ceil_mode)
    return _lp_finish(out, norm_type, kh * kw)


def _ntuple(value, n):
    return tuple(value) if isinstance(value, list | tuple) else (value,) * n


def _unpool(op, input, indices, kernel_size, stride, padding, output_size, n):
    from engine import creation

    kernel = _ntuple(kernel_size, n)
    stride = kernel if stride is None else _ntuple(stride, n)
    padding = _ntuple(padding, n)
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(
            f"{op}: Expected {n + 1}D or {n + 2}D input, but got a {input.ndim}D tensor"
        )
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            f"{op}: Expected shape of indices to be same as that of the input tensor "
            f"({tuple(input.shape)}) but got indices tensor with shape: {tuple(indices.shape)}"
        )
    spatial = tuple(input.shape[-n:])
    default = tuple((spatial[i] - 1) * stride[i] - 2 * padding[i] + kernel[i] for i in range(n))
    if output_size is None:
        size = default
    else:
        size = tuple(int(s) for s in output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"output_size must have {n} or {n + 2} elements (got {output_size})")
        for i in range(n):
            if not default[i] - stride[i] < size[i] < default[i] + stride[i]:
                raise ValueError(
                    f"invalid output_size {output_size} (dim {i} must be between "
                    f"{default[i] - stride[i]} and {default[i] + stride[i]})"
                )
    lead = tuple(input.shape[:-n])
    flat = math.prod(size)
    idx = indices.reshape(*lead, -1)
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= flat):
        raise RuntimeError(
            f"{op}: Found an invalid max index {int(idx.max())} (output volumes "
            f"are of size {'x'.join(map(str, size))})"
        )
    out = creation.zeros(*lead, flat, dtype=input.dtype, device=input.device)
    out = out.scatter(-1, idx, input.reshape(*lead, -1))
    return out.reshape(*lead, *size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value of max_pool1d's output back at its index, zeros elsewhere."""
    return _unpool("max_unpool1d", input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value of max_pool2d's output back at its flat index in H*W, zeros elsewhere."""
    return _unpool("max_unpool2d", input, indices, kernel_size, stride, padding, output_size, 2)


def pixel_shuffle(input, upscale_factor):
    """(*, C r², H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    k = len(lead)
    out = input.reshape(*lead, c // (r * r), r, r, h, w)
    out = out.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return out.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r², H, W)."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(
            "pixel_unshuffle expects height and width to be divisible by downscale_factor, "
            f"but got {h} and {w} for downscale_factor={r}"
        )
    k = len(lead)
    out = input.reshape(*lead, c, h // r, r, w // r, r)
    out = out.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return out.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """Interleave the channels (dim 1) of `groups` groups."""
    if input.ndim < 3:
        raise RuntimeError(
            "channel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    out = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return out.reshape(n, c, *rest)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """Transposed 1-D convolution of an (N, C, L) or (C, L) input: conv_transpose2d on rows
    of height 1."""
    from engine.ops.conv import conv_transpose2d

    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input "
            f"of size: {list(input.shape)}"
        )

    def one(v):
        return int(v[0]) if isinstance(v, list | tuple) else int(v)

    out = conv_transpose2d(
        input.unsqueeze(-2),
        weight.unsqueeze(-2),
        bias,
        (1, one(stride)),
        (0, one(padding)),
        (0, one(output_padding)),
        groups,
        (1, one(dilation)),
    )
    return out.squeeze(-2)


# ----- normalisation, bags of embeddings, bilinear maps ----------------------------------------
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """input / (k + alpha * mean of input² over `size` neighbouring channels) ** beta."""
    from engine.ops.padding import pad

    if input.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)"
        )
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    sq = (input * input).transpose(1, -1)
    padded = pad(sq, (size // 2, (size - 1) // 2))
    total = padded[..., 0:channels]
    for j in range(1, size):
        total = total + padded[..., j : j + channels]
    div = (total.transpose(1, -1) * (alpha / size) + k).pow(beta)
    return input / div


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """input / sqrt(mean of input² over the trailing normalized_shape dims + eps) * weight;
    eps defaults to the machine epsilon of input's dtype."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    n = len(shape)
    if n == 0 or tuple(input.shape[input.ndim - n :]) != shape or input.ndim < n:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(shape)}"
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - n, input.ndim))
    out = input * unary.sqrt((input * input).mean(dims, keepdim=True) + eps).reciprocal()
    return out if weight is None else out * weight


def bilinear(input1, input2, weight, bias=None):
    """y_o = x1ᵀ W_o x2 + b_o over the last dims of input1 and input2."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {tuple(input1.shape[:-1])} "
            f"and {tuple(input2.shape[:-1])}"
        )
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
            f"expected {in1}"
        )
    if input2.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
            f"expected {in2}"
        )
    mixed = input1 @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    mixed = mixed.reshape(*input1.shape[:-1], out_f, in2)
    out = (mixed * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


# ----- margin and likelihood losses -------------------------------------------------------------
def _reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    _reduce_name_torch(reduction)
    return reduction


def _class_targets(op, input, target):
    if input.ndim not in (1, 2) or (input.ndim == 2 and input.shape[1] == 0):
        raise RuntimeError(
            f"{op}: Expected non-empty vector or matrix with optional 0-dim batch size, but "
            f"got: {list(input.shape)}"
        )
    rows = 1 if input.ndim == 1 else input.shape[0]
    return rows, input.shape[-1]


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Sum over the listed target classes j (ended by -1) and the other classes k of
    max(0, 1 - (x[j] - x[k])), over the number of classes."""
    reduction = _reduction(size_average, reduce, reduction)
    rows, classes = _class_targets("multilabel_margin_loss", input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    x = input.reshape(rows, classes)
    host = backend.to_numpy(target._data).reshape(rows, classes)
    if host.size and (host.min() < -1 or host.max() >= classes):
        raise RuntimeError("multilabel_margin_loss: target out of range")
    listed = np.zeros((rows, classes), dtype=x._data.dtype)
    is_target = np.zeros((rows, classes), dtype=bool)
    for n in range(rows):
        for c in host[n]:
            if c < 0:
                break
            listed[n, c] += 1
            is_target[n, c] = True
    others = (~is_target).astype(x._data.dtype)
    pairs = ops.relu(1 - x.unsqueeze(2) + x.unsqueeze(1))  # [n, j, k]
    mask = _const(x, listed[:, :, None] * others[:, None, :])
    loss = (pairs * mask).sum((1, 2)) / classes
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def _triplet(anchor, positive, negative, distance, margin, swap, reduction):
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = ops.minimum(d_neg, distance(positive, negative))
    return _reduce(ops.relu(margin + d_pos - d_neg), reduction)


def triplet_margin_with_distance_loss(
    anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False, reduction="mean"
):
    """Triplet margin loss with any distance function (pairwise_distance by default)."""
    from engine.ops.similarity import pairwise_distance

    _reduce_name_torch(reduction)
    if margin <= 0:
        raise ValueError(
            "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
            f"{margin} instead"
        )
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
            f"{dims[2]}D inputs"
        )
    distance = distance_function if distance_function is not None else pairwise_distance
    return _triplet(anchor, positive, negative, distance, margin, swap, reduction)


def adaptive_avg_pool3d(input, output_size):
    """Mean pooling of an (N, C, D, H, W) or (C, D, H, W) input to `output_size` (an int, or
    a triple whose None entries keep the input size): the windows of each axis are PyTorch's
    adaptive ones, so the mean over a box is the mean over H x W, then over D."""
    from engine.ops.pool import adaptive_avg_pool2d

    if input.ndim not in (4, 5):
        raise RuntimeError(
            f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}"
        )
    wanted = (output_size,) * 3 if isinstance(output_size, int) else tuple(output_size)
    if len(wanted) != 3:
        raise RuntimeError(f"adaptive_avg_pool3d: output_size must be 3, but got {len(wanted)}")
    *lead, d, h, w = input.shape
    od, oh, ow = (s if o is None else o for s, o in zip((d, h, w), wanted, strict=True))
    planes = adaptive_avg_pool2d(input.reshape(-1, d, h, w), (oh, ow))  # (L, D, oh, ow)
    cols = planes.reshape(-1, 1, d, oh * ow).transpose(-1, -2)  # (L, 1, oh*ow, D)
    out = adaptive_avg_pool2d(cols, (oh * ow, od))  # (L, 1, oh*ow, od)
    return out.transpose(-1, -2).reshape(*lead, od, oh, ow)


_NO_PATH = -1e30  # a log-probability below any reachable one, finite so gradients stay finite


def _lengths(v) -> list[int]:
    if isinstance(v, Tensor):
        return [int(a) for a in np.atleast_1d(backend.to_numpy(v._data)).tolist()]
    if not isinstance(v, list | tuple):
        raise TypeError(
            "ctc_loss(): input_lengths and target_lengths must be tensors or tuples of ints, "
            f"got {type(v).__name__}"
        )
    return [int(a) for a in v]


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank=0,
    reduction="mean",
    zero_infinity=False,
):
    """Connectionist temporal classification: -log of the total probability of the
    alignments of each target to its (T, N, C) log_probs, by the forward (alpha) recursion
    over the target with blanks between and around its labels. Its gradient with respect to
    log_probs is PyTorch's: the exact one plus exp(log_probs) times the loss's gradient over
    each input's length (the two agree once log_probs come from log_softmax)."""
    _reduce_name_torch(reduction)
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected 2-D or 3-D log_probs, got {lp.ndim}-D")
    steps, batch, _ = lp.shape
    in_len, tg_len = _lengths(input_lengths), _lengths(target_lengths)
    if len(in_len) != batch or len(tg_len) != batch:
        raise RuntimeError(
            f"ctc_loss: expected input_lengths and target_lengths of size {batch}, got "
            f"{len(in_len)} and {len(tg_len)}"
        )
    tg = backend.to_numpy(targets._data)
    if unbatched and tg.ndim == 1:
        tg = tg[None, :]
    dtype = lp._data.dtype
    losses, start = [], 0
    for n in range(batch):
        size, length = tg_len[n], in_len[n]
        if length > steps:
            raise RuntimeError(
                f"Expected input_lengths to have value at most {steps}, but got value {length} "
                f"(while checking arguments for ctc_loss_cpu)"
            )
        if tg.ndim == 2:
            labels = tg[n, :size]
        else:  # the targets of the batch one after another
            labels = tg[start : start + size]
            start += size
        ext = np.full(2 * size + 1, blank, dtype=np.int64)
        ext[1::2] = labels
        width = len(ext)
        skip = np.zeros(width, dtype=bool)
        skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
        emit = lp[:length, n][:, ext.tolist()]  # (length, width)
        first = np.zeros(width, dtype=bool)
        first[:2] = True
        alpha = where(_const(lp, first), emit[0], _NO_PATH)
        pad1 = _const(lp, np.full(1, _NO_PATH, dtype=dtype))
        pad2 = _const(lp, np.full(2, _NO_PATH, dtype=dtype))
        can_skip = _const(lp, skip)
        for t in range(1, length):
            parts = [alpha, ops.cat([pad1, alpha[:-1]])]
            if width > 2:
                parts.append(where(can_skip, ops.cat([pad2, alpha[:-2]]), _NO_PATH))
            alpha = ops.stack(parts).logsumexp(0) + emit[t]
        loss = -alpha[-2:].logsumexp(0) if width > 1 else -alpha[-1]
        probs = unary.exp(lp[:length, n])
        losses.append(loss + (probs - probs.detach()).sum())
    loss = ops.stack(losses)
    impossible = loss > -_NO_PATH / 10
    loss = where(impossible, 0.0 if zero_infinity else math.inf, loss)
    if reduction == "mean":
        lengths = _const(lp, np.maximum(np.array(tg_len), 1).astype(dtype))
        return (loss / lengths).mean()
    if reduction == "sum":
        return loss.sum()
    return loss[0] if unbatched else loss
