"""Gradient clipping: by the total norm of all gradients, or each value to a range."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from engine import backend
from engine.autograd import version_counter
from engine.creation import tensor
from engine.tensor import Tensor


def _tensors(tensors: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [p.grad for p in _tensors(parameters) if p.grad is not None]


def _vector_norm(arr, p: float, xp):
    """The p-norm of a whole array, in its own dtype (p = inf, -inf and 0 included)."""
    flat = xp.abs(arr.reshape(-1))
    if p == math.inf:
        return flat.max() if flat.size else xp.zeros((), arr.dtype)
    if p == -math.inf:
        return flat.min() if flat.size else xp.asarray(math.inf, arr.dtype)
    if p == 0:
        return xp.asarray(xp.count_nonzero(flat), arr.dtype)
    if p == 1:
        return flat.sum()
    if p == 2:
        return xp.sqrt((flat * flat).sum())
    return (flat**p).sum() ** (1.0 / p)


@backend.quiet_float_errors()
def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The `norm_type`-norm of all the tensors together, as if concatenated into one vector.

    Raises RuntimeError when it is NaN or infinite and `error_if_nonfinite` is set.
    """
    arrays = [t._data for t in _tensors(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return tensor(0.0)
    xp = backend.array_module(arrays[0])
    dtype = np.result_type(*[a.dtype for a in arrays])
    norms = xp.stack([_vector_norm(a, norm_type, xp).astype(dtype) for a in arrays])
    total = _vector_norm(norms, norm_type, xp).astype(dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(xp.asarray(total), False, None)


@backend.quiet_float_errors()
def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale the gradients in place by `max_norm / (total_norm + 1e-6)` when that is below 1."""
    grads = _grads(parameters)
    if not grads:
        return
    norm = total_norm._data
    xp = backend.array_module(norm)
    coef = xp.minimum(float(max_norm) / (norm + norm.dtype.type(1e-6)), norm.dtype.type(1.0))
    for g in grads:
        g._data *= coef.astype(np.result_type(g._data.dtype, coef.dtype), copy=False)
        version_counter(g).value += 1


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients together, in place, so that their total norm is at most `max_norm`.

    Returns the total norm before clipping, a 0-d tensor. The gradients are always
    multiplied by min(1, max_norm / (total + 1e-6)), as in PyTorch.
    """
    parameters = _tensors(parameters)
    grads = _grads(parameters)
    if not grads:
        return tensor(0.0)
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient, in place, to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = backend.array_module(g._data)
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        version_counter(g).value += 1
