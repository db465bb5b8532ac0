"""Resizing the spatial dims of (N, C, ...) arrays: F.interpolate's nearest, linear and
bicubic modes.

All are separable: each spatial axis is resampled in turn, gathering source rows (and,
for linear and bicubic modes, mixing two or four of them with PyTorch's weights). Backward
adds each output row's gradient back to the rows it read, so a non-finite gradient stays
where it was.
"""

from __future__ import annotations

import math

import numpy as np

from engine import backend
from engine.autograd import Function, OpError
from engine.dtypes import scalar_name
from engine.ops.pool import adaptive_avg_pool2d
from engine.tensor import Tensor

_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


def _scale(n_in: int, n_out: int, factor, align_corners: bool, dtype):
    """PyTorch's ratio of source to output coordinates along one axis, in `dtype`."""
    if align_corners:
        return dtype.type(n_in - 1) / dtype.type(n_out - 1) if n_out > 1 else dtype.type(0)
    if factor is not None and factor > 0:
        return dtype.type(1.0 / factor)
    return dtype.type(n_in) / dtype.type(n_out)


def nearest_indices(n_in: int, n_out: int, factor, exact: bool, shortcut: bool) -> np.ndarray:
    """Source index of each output position: floor(dst * scale) in float32 ('nearest')
    or floor((dst + 0.5) * scale) ('nearest-exact'), at most n_in - 1. With `shortcut`
    (PyTorch's 2-d 'nearest'), equal sizes copy and doubled sizes repeat each input."""
    dst = np.arange(n_out)
    scale = _scale(n_in, n_out, factor, False, np.dtype(np.float32))
    if exact:
        src = np.floor(((dst + 0.5) * np.float64(scale)).astype(np.float32))
    elif shortcut and n_out == n_in:
        return dst
    elif shortcut and n_out == 2 * n_in:
        return dst >> 1
    else:
        src = np.floor(dst.astype(np.float32) * scale)
    return np.minimum(src.astype(np.int64), n_in - 1)


def linear_weights(n_in: int, n_out: int, factor, align_corners: bool, dtype):
    """The two source indices of each output position and their weights, in `dtype`."""
    dtype = np.dtype(dtype)
    dst = np.arange(n_out)
    if n_in == n_out:  # as PyTorch: each position from itself, whatever the scale_factor
        return dst, dst, np.ones(n_out, dtype), np.zeros(n_out, dtype)
    scale = _scale(n_in, n_out, factor, align_corners, dtype)
    if align_corners:
        real = (scale * dst.astype(dtype)).astype(dtype)
    else:
        real = (np.float64(scale) * (dst + 0.5) - 0.5).astype(dtype)
        real = np.maximum(real, dtype.type(0))
    first = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    second = first + (first < n_in - 1)
    lam = np.clip(real - first.astype(dtype), 0, 1).astype(dtype)
    return first, second, (dtype.type(1) - lam).astype(dtype), lam


def cubic_weights(n_in: int, n_out: int, factor, align_corners: bool, dtype):
    """The four source indices (clamped to the axis) of each output position and their cubic
    convolution weights (A = -0.75, as PyTorch's bicubic), in `dtype`."""
    dtype = np.dtype(dtype)
    dst = np.arange(n_out)
    if n_in == n_out:  # as PyTorch: a copy
        zeros = np.zeros(n_out, dtype)
        return [(dst, zeros), (dst, np.ones(n_out, dtype)), (dst, zeros), (dst, zeros)]
    scale = _scale(n_in, n_out, factor, align_corners, dtype)
    if align_corners:
        real = (scale * dst.astype(dtype)).astype(dtype)
    else:
        real = (np.float64(scale) * (dst + 0.5) - 0.5).astype(dtype)
    base = np.floor(real).astype(np.int64)
    t = (real - base.astype(dtype)).astype(dtype)
    a = dtype.type(-0.75)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = dtype.type(1)
    weights = (far(t + one), near(t), near(one - t), far(dtype.type(2) - t))
    return [(np.clip(base + k - 1, 0, n_in - 1), w.astype(dtype)) for k, w in enumerate(weights)]


def _index_add_axis(out, axis: int, index, values) -> None:
    """out[..., index[k], ...] += values[..., k, ...] along `axis`, repeats adding up."""
    xp = backend.array_module(out)
    backend.index_add(xp.moveaxis(out, axis, 0), xp.asarray(index), xp.moveaxis(values, axis, 0))


class InterpolateOp(Function):
    """Nearest or linear resampling of the spatial axes, the last axis first."""

    op = "interpolate"

    def name(self) -> str:
        """PyTorch's node: UpsampleNearest2DBackward0, UpsampleBilinear2DBackward0, ..."""
        kind = {"nearest-exact": "NearestExact"}.get(self.mode, self.mode.capitalize())
        return f"Upsample{kind}{len(self.x_shape) - 2}DBackward0"

    def forward(self, x, output_size, scales, mode, align_corners):
        xp = backend.array_module(x)
        self.x_shape, self.mode, self.plans = x.shape, mode, []
        y = x
        for axis in reversed(range(2, x.ndim)):
            n_in, n_out, factor = x.shape[axis], output_size[axis - 2], scales[axis - 2]
            if mode in ("nearest", "nearest-exact"):
                exact = mode == "nearest-exact"
                src = nearest_indices(n_in, n_out, factor, exact, shortcut=x.ndim == 4)
                # PyTorch's backward takes the shortcuts for every rank, its forward for
                # 4-d input only: a 1-d or 3-d output of the same or twice the size whose
                # scale_factor is not 1 or 2 sends its gradient elsewhere than it read from
                back = nearest_indices(n_in, n_out, factor, exact, shortcut=True)
                self.plans.append((axis, n_in, xp.asarray(back)))
                y = xp.take(y, xp.asarray(src), axis=axis)
                continue
            if mode == "bicubic":
                taps = cubic_weights(n_in, n_out, factor, align_corners, x.dtype)
            else:
                first, second, w0, w1 = linear_weights(n_in, n_out, factor, align_corners, x.dtype)
                taps = [(first, w0), (second, w1)]
            shape = (n_out,) + (1,) * (x.ndim - 1 - axis)
            taps = [(xp.asarray(i), xp.asarray(w).reshape(shape)) for i, w in taps]
            self.plans.append((axis, n_in, taps))
            out = xp.take(y, taps[0][0], axis=axis) * taps[0][1]
            for index, weight in taps[1:]:
                out = out + xp.take(y, index, axis=axis) * weight
            y = out
        return xp.ascontiguousarray(y)

    def backward(self, g):
        xp = backend.array_module(g)
        for axis, n_in, *plan in reversed(self.plans):
            shape = g.shape[:axis] + (n_in,) + g.shape[axis + 1 :]
            out = xp.zeros(shape, g.dtype)
            if not isinstance(plan[0], list):
                _index_add_axis(out, axis, plan[0], g)
            else:
                for index, weight in plan[0]:
                    _index_add_axis(out, axis, index, g * weight)
            g = out
        return (g,)


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
) -> Tensor:
    """Resize the spatial dims of an (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to
    `size`, or by `scale_factor`, with 'nearest', 'nearest-exact' or the linear mode of
    its rank ('linear', 'bilinear', 'trilinear'), or 'bicubic' for 4-D input."""
    dims = input.ndim - 2
    spatial = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = tuple(size) if isinstance(size, list | tuple) else (size,) * max(dims, 0)
        if isinstance(size, list | tuple) and len(size) != dims:
            raise ValueError(
                "Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(spatial)} and output size of {size}. "
                "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size "
                "in (o1, o2, ...,oK) format."
            )
        factors = (None,) * max(dims, 0)
    elif scale_factor is not None:
        if isinstance(scale_factor, list | tuple):
            if len(scale_factor) != dims:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {list(spatial)} and scale_factor "
                    f"of shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, "
                    "...,dK) format and scale_factor in (s1, s2, ...,sK) format."
                )
            factors = tuple(float(f) for f in scale_factor)
        else:
            factors = (float(scale_factor),) * max(dims, 0)
        sizes = tuple(math.floor(n * f) for n, f in zip(spatial, factors, strict=True))
        if recompute_scale_factor:
            factors = (None,) * dims
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by this engine")
    if mode in _LINEAR.values() and _LINEAR.get(input.ndim) != mode:
        need = {v: k for k, v in _LINEAR.items()}[mode]
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {need}D input")
    if mode == "bicubic" and input.ndim != 4:
        raise NotImplementedError(f"Got {input.ndim}D input, but bicubic mode needs 4D input")
    modes = ("nearest", "nearest-exact", *_LINEAR.values())
    if not (
        input.ndim in _LINEAR and mode in modes or input.ndim in (3, 4) and mode == "area"
    ) and not (input.ndim == 4 and mode == "bicubic"):
        raise NotImplementedError(
            f"interpolate: input of {input.ndim} dims and mode {mode!r}: this engine supports "
            "3-D, 4-D and 5-D input with the modes nearest | nearest-exact | linear | "
            "bilinear | trilinear, 'bicubic' for 4-D input and 'area' for 3-D and 4-D input"
        )
    for n in sizes:
        if not isinstance(n, int | np.integer) or isinstance(n, bool):
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
    if min(sizes) <= 0 or min(spatial) <= 0:
        raise OpError(
            f"interpolate: input and output sizes should be greater than 0, but got input "
            f"{spatial} and output {sizes}"
        )
    if input._data.dtype.kind != "f":
        kind = "upsample_nearest" if mode.startswith("nearest") else "upsample_linear"
        raise NotImplementedError(
            f'"{kind}{dims}d" not implemented for {scalar_name(input._data.dtype)!r}'
        )
    if mode == "area":  # adaptive average pooling, as in PyTorch
        if input.ndim == 3:
            return adaptive_avg_pool2d(input.unsqueeze(-2), (1, int(sizes[0]))).squeeze(-2)
        return adaptive_avg_pool2d(input, tuple(int(n) for n in sizes))
    return InterpolateOp.apply(
        input,
        output_size=tuple(int(n) for n in sizes),
        scales=factors,
        mode=mode,
        align_corners=bool(align_corners),
    )
