"""Stateless layers and losses, with PyTorch's names, argument order and defaults."""

from __future__ import annotations

import numpy as np

from engine import backend, ops
from engine.ops.conv import conv2d
from engine.ops.dropout import dropout
from engine.ops.embedding import embedding
from engine.ops.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from engine.ops.matmul import linear
from engine.ops.normalization import batch_norm, layer_norm
from engine.ops.padding import pad
from engine.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from engine.tensor import Tensor

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "elu", "embedding",
    "gelu", "glu", "hardsigmoid", "hardswish", "hardtanh", "l1_loss", "layer_norm", "leaky_relu",
    "linear", "log_softmax", "logsigmoid", "max_pool2d", "mish", "mse_loss", "nll_loss", "one_hot",
    "pad", "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign", "tanh",
    "tanhshrink",
]  # fmt: skip

# convolution, pooling and resampling beyond 2-d conv/pool
from engine.ops.conv import conv1d, conv_transpose2d
from engine.ops.fold import fold, unfold
from engine.ops.pool import adaptive_max_pool2d, avg_pool1d, max_pool1d
from engine.ops.resample import interpolate

__all__ += [
    "adaptive_max_pool2d", "avg_pool1d", "conv1d", "conv_transpose2d", "fold", "interpolate",
    "max_pool1d", "unfold",
]  # fmt: skip


def relu(input, inplace=False):
    """max(input, 0); with `inplace`, written into `input` and returned, as in PyTorch."""
    return input.relu_() if inplace else ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where positive, else input * negative_slope; `inplace` writes it into `input`."""
    if inplace:
        return input._modify(lambda x: ops.leaky_relu(x, negative_slope))
    return ops.leaky_relu(input, negative_slope)


def gelu(input, approximate="none"):
    """Gaussian error linear unit, exact or with the tanh approximation."""
    return ops.gelu(input, approximate)


def sigmoid(input):
    """1 / (1 + exp(-input))."""
    return ops.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent."""
    return ops.tanh(input)


def softmax(input, dim=None, dtype=None):
    """exp(input) normalised to sum to 1 along `dim`."""
    return ops.softmax(input, dim, dtype)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(input)), computed stably."""
    return ops.log_softmax(input, dim, dtype)


def _maybe_inplace(input, inplace, compute):
    """compute(input), or with `inplace` the same written into `input` and returned."""
    return input._modify(compute) if inplace else compute(input)


def silu(input, inplace=False):
    """input * sigmoid(input)."""
    return _maybe_inplace(input, inplace, ops.silu)


def elu(input, alpha=1.0, inplace=False):
    """input where positive, else alpha * (exp(input) - 1)."""
    if inplace:
        return input._modify(lambda x: ops.elu(x, alpha, _inplace=True), keeps_self=False)
    return ops.elu(input, alpha)


def selu(input, inplace=False):
    """scale * elu(input, alpha) with the self-normalising constants."""
    if inplace:
        return input._modify(lambda x: ops.selu(x, _inplace=True), keeps_self=False)
    return ops.selu(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * input)) / beta; the input itself where beta * input > threshold."""
    return ops.softplus(input, beta, threshold)


def mish(input, inplace=False):
    """input * tanh(softplus(input))."""
    return _maybe_inplace(input, inplace, ops.mish)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """input clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, inplace, lambda x: ops.hardtanh(x, min_val, max_val))


def relu6(input, inplace=False):
    """input clamped to [0, 6]."""
    return _maybe_inplace(input, inplace, ops.relu6)


def logsigmoid(input):
    """log(sigmoid(input)), stable for large negative inputs."""
    return ops.logsigmoid(input)


def hardswish(input, inplace=False):
    """input * relu6(input + 3) / 6."""
    return _maybe_inplace(input, inplace, ops.hardswish)


def hardsigmoid(input, inplace=False):
    """relu6(input + 3) / 6."""
    return _maybe_inplace(input, inplace, ops.hardsigmoid)


def glu(input, dim=-1):
    """The first half of `input` along `dim` times the sigmoid of the second half."""
    return ops.glu(input, dim)


def softsign(input):
    """input / (1 + |input|)."""
    return ops.softsign(input)


def tanhshrink(input):
    """input - tanh(input)."""
    return ops.tanhshrink(input)


def one_hot(tensor, num_classes=-1):
    """Class indices to a 0/1 int64 tensor with a trailing class dimension."""
    idx = tensor._data
    n = int(idx.max()) + 1 if num_classes < 0 else num_classes
    out = (idx[..., None] == backend.array_module(idx).arange(n)).astype(np.int64)
    return Tensor._make(out, False, None)


# ----- normalisation, similarity, more losses, channel dropout, attention ----------------
from engine.ops.activation import prelu  # noqa: E402
from engine.ops.attention import scaled_dot_product_attention  # noqa: E402
from engine.ops.dropout import dropout2d  # noqa: E402
from engine.ops.losses import huber_loss, kl_div, smooth_l1_loss  # noqa: E402
from engine.ops.normalization import group_norm, instance_norm  # noqa: E402
from engine.ops.similarity import cosine_similarity, normalize, pairwise_distance  # noqa: E402

__all__ += [
    "cosine_similarity", "dropout2d", "group_norm", "huber_loss", "instance_norm", "kl_div",
    "normalize", "pairwise_distance", "prelu", "scaled_dot_product_attention", "smooth_l1_loss",
]  # fmt: skip

# pairwise distances within one set of rows
from engine.ops.linalg_more import pdist  # noqa: E402

__all__ += ["pdist"]

# ----- more activations, dropouts, pooling, shape, norms, embedding bags, losses -----------
from engine.ops.more_nn import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    alpha_dropout,
    bilinear,
    celu,
    celu_,
    channel_shuffle,
    conv_transpose1d,
    ctc_loss,
    dropout1d,
    elu_,
    feature_alpha_dropout,
    gumbel_softmax,
    hardshrink,
    hardtanh_,
    leaky_relu_,
    local_response_norm,
    lp_pool1d,
    lp_pool2d,
    max_unpool1d,
    max_unpool2d,
    multilabel_margin_loss,
    pixel_shuffle,
    pixel_unshuffle,
    relu_,
    rms_norm,
    rrelu,
    rrelu_,
    selu_,
    softmin,
    softshrink,
    threshold,
    threshold_,
    triplet_margin_with_distance_loss,
    upsample,
)

__all__ += [
    "alpha_dropout", "celu", "celu_", "dropout1d", "elu_", "feature_alpha_dropout",
    "gumbel_softmax", "hardshrink", "hardtanh_", "leaky_relu_", "relu_", "rrelu", "rrelu_",
    "selu_", "softmin", "softshrink", "threshold", "threshold_", "upsample",
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "channel_shuffle", "conv_transpose1d",
    "lp_pool1d", "lp_pool2d", "max_unpool1d", "max_unpool2d", "pixel_shuffle", "pixel_unshuffle",
    "bilinear", "local_response_norm", "rms_norm",

    "multilabel_margin_loss",
    "triplet_margin_with_distance_loss",
    "adaptive_avg_pool3d", "ctc_loss",
]  # fmt: skip

# ----- bags of embeddings ----------------------------------------------------------------
from engine.ops.embedding import embedding_bag  # noqa: E402

__all__ += ["embedding_bag"]

# ----- margin, ranking, embedding and likelihood losses -----------------------------------
from engine.ops.margin_losses import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)

__all__ += [
    "cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multi_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss", "soft_margin_loss",
    "triplet_margin_loss",
]  # fmt: skip
