"""Parameters to one flat vector and back."""

from __future__ import annotations

from collections.abc import Iterable

from engine.ops.movement import cat
from engine.tensor import Tensor


def _same_device(param: Tensor, device):
    if device is not None and param.device != device:
        raise TypeError(
            "Found two parameters on different devices, this is currently not supported."
        )
    return param.device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector (part of the graph, as in PyTorch)."""
    device = None
    flat = []
    for param in parameters:
        device = _same_device(param, device)
        flat.append(param.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Set each parameter's data from the next `numel()` entries of `vec` (a view of it)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    for param in parameters:
        device = _same_device(param, device)
        n = param.numel()
        chunk = vec._data[pointer : pointer + n]
        if chunk.size != n:
            raise RuntimeError(
                f"shape '{list(param.shape)}' is invalid for input of size {chunk.size}: "
                f"vec has {vec.numel()} elements, fewer than the parameters hold"
            )
        param.data = chunk.reshape(tuple(param.shape))
        pointer += n
