"""Writing a result into a caller's tensor, as PyTorch's `out=` arguments do."""

from __future__ import annotations

import warnings

from engine.autograd import is_grad_enabled, version_counter
from engine.dtypes import scalar_name
from engine.tensor import Tensor, _torch_can_cast


def write_out(op: str, result: Tensor, out, exact_dtype: bool = False) -> Tensor:
    """`result`, or with `out` given: `out` holding it (cast to out's dtype, resized when its
    shape differs), refused where autograd would need the result. `exact_dtype`: out must
    have the result's dtype (matrix products)."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if result.requires_grad or (out.requires_grad and is_grad_enabled()):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    got, want = result._data.dtype, out._data.dtype
    if exact_dtype and got != want:
        raise RuntimeError(
            f"Expected out tensor to have dtype {scalar_name(got)}, but got "
            f"{scalar_name(want)} instead"
        )
    if not _torch_can_cast(got, want):
        raise RuntimeError(
            f"result type {scalar_name(got)} can't be cast to the desired output type "
            f"{scalar_name(want)}"
        )
    if tuple(out.shape) == tuple(result.shape):
        out._data[...] = result._data.astype(want, copy=False)  # views of out see it too
        version_counter(out).value += 1
        return out
    if out._data.size:
        warnings.warn(
            f"An output with one or more elements was resized since it had shape "
            f"{list(out.shape)}, which does not match the required output shape "
            f"{list(result.shape)}.",
            UserWarning,
            stacklevel=3,
        )
    out._data = result._data.astype(want)
    version_counter(out).value += 1
    return out
