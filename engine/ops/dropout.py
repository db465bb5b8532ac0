"""Dropout: zero random elements and rescale the rest."""

from __future__ import annotations

import warnings

import numpy as np

from engine import backend
from engine.autograd import Function
from engine.dtypes import scalar_name
from engine.random import _rng


class DropoutOp(Function):
    op = "dropout"
    saves_others = True  # the mask

    def forward(self, x, p):
        keep = _rng(None).random(x.shape, dtype=np.float32) >= p
        self.scale = backend.to_device(keep, backend.device_of(x)) * x.dtype.type(1 / (1 - p))
        return x * self.scale

    def backward(self, g):
        return (g * self.scale,)


def dropout(input, p=0.5, training=True, inplace=False):
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type "
            f"{scalar_name(input._data.dtype)}"
        )
    if p == 1:
        return input * 0
    return DropoutOp.apply(input, p=p)


class FeatureDropoutOp(Function):
    """Zero whole channels (dim 1 of each sample) and rescale the rest."""

    op = "feature_dropout"
    saves_others = True  # the mask

    def forward(self, x, p):
        noise = x.shape[:2] + (1,) * (x.ndim - 2)
        keep = _rng(None).random(noise, dtype=np.float32) >= p
        self.scale = backend.to_device(keep, backend.device_of(x)) * x.dtype.type(1 / (1 - p))
        return x * self.scale

    def backward(self, g):
        return (g * self.scale,)

    def backward_graph(self, g):
        from engine.ops import graph_grads as gg

        return (g * gg._const(self.scale),)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero each channel of (N, C, H, W) input with probability p while training; a 3-D input
    is read as (N, C, L), as PyTorch does."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    if not training or p == 0:
        return input
    if input.ndim < 2:
        raise RuntimeError(
            f"Feature dropout requires at least 2 dimensions in the input, got {input.ndim}"
        )
    if p == 1:
        return input._modify(lambda x: x * 0, keeps_self=False) if inplace else input * 0
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type "
            f"{scalar_name(input._data.dtype)}"
        )
    if inplace:
        return input._modify(lambda x: FeatureDropoutOp.apply(x, p=p), keeps_self=False)
    return FeatureDropoutOp.apply(input, p=p)
