"""Padding of the last dims: constant, reflect, replicate and circular, as PyTorch's F.pad."""

from __future__ import annotations

import operator

from engine.autograd import Function, OpError
from engine.ops.elementwise import _xp
from engine.tensor import Tensor

_NUMPY_MODES = {
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
}


class PadOp(Function):
    """numpy.pad in PyTorch's mode; backward adds each padded element's gradient back to
    the element it copies (cropping alone for constant padding)."""

    op = "pad"

    def forward(self, x, widths, mode, value):
        self.widths, self.mode, self.shape = widths, mode, x.shape
        if mode == "constant":
            return _xp(x).pad(x, widths, constant_values=value)
        return _xp(x).pad(x, widths, mode=_NUMPY_MODES[mode])

    def backward(self, g):
        for axis, (before, after) in enumerate(self.widths):
            if before or after:
                g = _fold(g, axis, before, after, self.shape[axis], self.mode)
        return (g,)


def _fold(g, axis: int, before: int, after: int, size: int, mode: str):
    """Undo one axis' padding: crop, then add each padded slice to its source."""
    xp = _xp(g)
    lead = (slice(None),) * axis
    out = g[(*lead, slice(before, before + size))].copy()
    if mode == "constant":
        return out
    source = xp.pad(xp.arange(size), (before, after), mode=_NUMPY_MODES[mode]).tolist()
    for j in [*range(before), *range(before + size, before + size + after)]:
        out[(*lead, source[j])] += g[(*lead, j)]
    return out


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last len(pad) // 2 dims: `pad` is (left, right) for the last dim, then
    (top, bottom) for the one before, as in PyTorch."""
    if mode not in _NUMPY_MODES:
        raise NotImplementedError(f"pad: mode must be one of {list(_NUMPY_MODES)}, got {mode!r}")
    pad = tuple(pad)
    if any(isinstance(p, bool) or not hasattr(p, "__index__") for p in pad):
        raise TypeError(f"pad(): argument 'pad' must be a tuple of ints, got {pad}")
    pad = tuple(operator.index(p) for p in pad)  # NumPy ints and one-element int tensors too
    if len(pad) % 2:
        raise OpError(f"pad: padding length must be divisible by 2, got {pad}")
    if len(pad) // 2 > input.ndim:
        raise OpError(
            f"pad: padding length should be at most two times the input dimension, got {pad} "
            f"for a {input.ndim}-D input"
        )
    if mode != "constant" and value not in (None, 0):
        raise OpError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    if mode == "constant" and min(pad, default=0) < 0:  # negative widths crop, as in PyTorch
        crop = [slice(None)] * input.ndim
        for i in range(len(pad) // 2):
            axis, before, after = input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
            crop[axis] = slice(-min(before, 0), input.shape[axis] + min(after, 0))
        input = input[tuple(crop)]
        pad = tuple(max(p, 0) for p in pad)
    if min(pad, default=0) < 0:
        raise ValueError(f"pad: {mode} padding must be non-negative, got {pad}")
    dims = len(pad) // 2
    if mode != "constant" and (dims > 3 or input.ndim not in (dims + 1, dims + 2)):
        raise NotImplementedError(
            f"pad: {mode} padding of {dims} dims needs a {dims + 1}-D or {dims + 2}-D input, "
            f"got {input.ndim}-D"
        )
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(dims)][::-1]
    widths = ((0, 0),) * (input.ndim - dims) + tuple(pairs)
    for (before, after), size in zip(pairs, input.shape[input.ndim - dims :], strict=True):
        too_big = max(before, after) >= size if mode == "reflect" else max(before, after) > size
        if mode in ("reflect", "circular") and too_big:
            raise OpError(
                f"pad: {mode} padding {pad} is too large for input of shape {tuple(input.shape)}"
            )
    if mode == "replicate" and 0 in input.shape[input.ndim - dims :]:
        raise OpError(f"pad: cannot replicate-pad an empty dim of shape {tuple(input.shape)}")
    return PadOp.apply(input, widths=widths, mode=mode, value=0 if value is None else value)
