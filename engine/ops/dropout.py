"""Dropout: zero random elements and rescale the rest."""

from __future__ import annotations

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
