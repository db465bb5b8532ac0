"""More of torch.nn.functional, composed from the engine's differentiable ops: shrinking and
thresholding activations, randomised ReLU and dropouts, Gumbel-softmax, pooling and shape
helpers, normalisations, bags of embeddings and margin/likelihood losses."""

from __future__ import annotations

import warnings

from engine import backend, ops
from engine.ops import unary
from engine.ops.elementwise import where
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
def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    def compute(x):
        return where(x > 0, x, (unary.exp(x / alpha) - 1) * alpha)

    return _inplace(input, inplace, compute)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return where(unary.abs(input) > lambd, input, 0.0)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {float(lambd)}.")
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-input) along `dim`."""
    if dtype is not None:
        input = input.to(dtype)
    return ops.softmax(-input, dim)


def threshold(input, threshold, value, inplace=False):
    """input where input > threshold, else value."""
    return _inplace(input, inplace, lambda x: where(x > threshold, x, value))


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element while
    training, and is (lower + upper) / 2 otherwise."""

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
