"""bincount: how often each non-negative integer occurs, optionally weighted."""

from __future__ import annotations

import numpy as np

from engine.dtypes import scalar_name
from engine.ops.elementwise import _xp, tensor_arg
from engine.tensor import Tensor

_BAD_INPUT = "bincount only supports 1-d non-negative integral inputs."


def bincount(input, weights=None, minlength=0) -> Tensor:
    """Counts of 0, 1, ..., max(input) (at least `minlength` of them), as int64; with
    `weights`, the sum of the weights at each value instead, in float32 for float32
    weights and float64 otherwise, as PyTorch's. No gradient flows back.
    """
    tensor_arg("bincount", input)
    a = input._data
    if a.dtype.kind not in "iu":
        name = scalar_name(a.dtype)
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{name}'")
    if a.ndim != 1:
        raise RuntimeError(_BAD_INPUT)
    minlength = int(minlength)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = _xp(a)
    if a.size and int(a.min()) < 0:
        raise RuntimeError(_BAD_INPUT)
    w = None
    if weights is not None:
        tensor_arg("bincount", weights, "weights", 2)
        w = weights._data
        if w.ndim != 1 or w.shape[0] != a.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = np.int64 if w is None else (np.float32 if w.dtype == np.float32 else np.float64)
    if a.size == 0:
        return Tensor._make(xp.zeros(minlength, dtype=out_dtype), False, None)
    counts = xp.bincount(
        a.astype(np.int64), weights=None if w is None else w.astype(np.float64), minlength=minlength
    )
    return Tensor._make(xp.ascontiguousarray(counts.astype(out_dtype)), False, None)
