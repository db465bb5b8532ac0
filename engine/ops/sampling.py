"""Random draws shaped by tensors: normal, bernoulli, multinomial (drawn on the host from the
engine's generator, so `manual_seed` repeats them on every device)."""

from __future__ import annotations

import numpy as np

from engine import backend
from engine import dtypes as _dt
from engine.autograd import Function
from engine.dtypes import scalar_name, to_dtype
from engine.ops.elementwise import _operands, _xp, tensor_arg
from engine.random import _rng
from engine.tensor import Tensor, _shape_arg


class Sampled(Function):
    """Values drawn from distributions whose parameters are the inputs: the gradient to each
    parameter is zero, as PyTorch defines it."""

    op = "sample"

    def forward(self, *arrays, value):
        self.shapes = [a.shape for a in arrays]
        return value

    def backward(self, g):
        xp = _xp(g)
        return tuple(
            xp.zeros(s, dtype=g.dtype) if self.needs(i) else None for i, s in enumerate(self.shapes)
        )


def _broadcast(a: tuple, b: tuple) -> tuple:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a {tuple(a)} must match the size of tensor b {tuple(b)} at "
            "every non-singleton dimension"
        ) from None


def _on(arr, like_device: str):
    return backend.to_device(arr, like_device) if like_device != "cpu" else arr


def _std_check(std) -> None:
    if isinstance(std, Tensor):
        if std._data.size and bool((std._data < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def normal(
    mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False
):
    """normal(mean_tensor, std_tensor), normal(mean_tensor, std=1.0), normal(mean, std_tensor)
    or normal(mean, std, size): independent normal draws."""
    rng = _rng(generator)
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal(): with a float mean and std, the 'size' argument is needed")
        _std_check(std)
        shape = _shape_arg((size,))
        dt = to_dtype(dtype or _dt.default_dtype).np
        arr = (mean + std * rng.standard_normal(shape)).astype(dt)
        out = Tensor._make(
            _on(arr, "cpu" if device is None else str(device).split(":")[0]), False, None
        )
        return out.requires_grad_(True) if requires_grad else out
    if isinstance(mean, Tensor) and isinstance(std, Tensor):
        m, s = _operands(mean, std)
    elif isinstance(mean, Tensor):
        m, s = mean, None
    else:
        m, s = None, std
    for t in (m, s):
        if t is not None and t._data.dtype.kind != "f":
            raise NotImplementedError(
                f"\"normal_kernel_cpu\" not implemented for '{scalar_name(t._data.dtype)}'"
            )
    _std_check(std)
    like = m if m is not None else s
    if m is not None and s is not None:
        shape = _broadcast(m.shape, s.shape)
    else:
        shape = like.shape
    z = rng.standard_normal(tuple(shape))
    mu = backend.to_numpy(m._data).astype(np.float64) if m is not None else float(mean)
    sigma = backend.to_numpy(s._data).astype(np.float64) if s is not None else float(std)
    arr = _on((mu + sigma * z).astype(like._data.dtype), like.device.type)
    params = [t for t in (m, s) if t is not None]
    return Sampled.apply(*params, value=arr)


def bernoulli(input, p=None, *, generator=None):
    """1 with probability `input` (or `p`), else 0, in input's dtype."""
    input = tensor_arg("bernoulli", input)
    if p is not None:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        probs = np.full(tuple(input.shape), float(p))
    else:
        if input._data.dtype.kind != "f":
            raise NotImplementedError(
                '"bernoulli_tensor_cpu_p_" not implemented for '
                f"'{scalar_name(input._data.dtype)}'"
            )
        probs = backend.to_numpy(input._data).astype(np.float64)
        if probs.size and not bool(((probs >= 0) & (probs <= 1)).all()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    draw = (_rng(generator).random(probs.shape) < probs).astype(input._data.dtype)
    arr = _on(draw, input.device.type)
    if input._data.dtype.kind != "f":
        return Tensor._make(arr, False, None)
    return Sampled.apply(input, value=arr)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categories of each row of `input` (weights, not normalised)."""
    input = tensor_arg("multinomial", input)
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "multinomial only supports floating-point dtypes for input, got: "
            f"{scalar_name(input._data.dtype)}"
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    probs = backend.to_numpy(input._data).astype(np.float64).reshape(-1, n)
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = probs.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _rng(generator)
    rows = []
    for row, total in zip(probs, totals, strict=True):
        if replacement:
            cdf = np.cumsum(row / total)
            picks = np.searchsorted(cdf, rng.random(num_samples) * cdf[-1], side="right")
            rows.append(np.minimum(picks, n - 1))
        else:  # the smallest of Exp(1)/p: a draw in order without replacement
            with np.errstate(divide="ignore"):
                keys = rng.standard_exponential(n) / row
            rows.append(np.argsort(keys, kind="stable")[:num_samples])
    out = np.stack(rows).astype(np.int64)
    if input.ndim == 1:
        out = out[0]
    return Tensor._make(_on(out, input.device.type), False, None)
