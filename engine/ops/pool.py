"""2-D pooling on NCHW arrays: max, average and adaptive average."""

from __future__ import annotations

import numpy as np

from engine import _fast, backend
from engine._checks import pair, positive_int
from engine.autograd import Function
from engine.dtypes import scalar_name
from engine.ops.conv import _batched, _out_size
from engine.tensor import Tensor


class _Pool2d(Function):
    """Pooling over (N, C, H, W) windows: one strided slice per kernel offset.

    Each slice `x[:, :, i::sh, j::sw]` (cropped to the output size) holds offset (i, j)
    of every window, so forward and backward loop over the kH*kW offsets only.
    """

    def _setup(self, x, kernel_size, stride, padding, dilation, fill):
        xp = backend.array_module(x)
        self.unbatched = x.ndim == 3
        x = _batched(self.op, x)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
        N, C, H, W = x.shape
        OH, OW = _out_size(self.op, (H, W), (2 * ph, 2 * pw), kernel_size, dilation, stride)
        if ph or pw:
            padded = xp.full((N, C, H + 2 * ph, W + 2 * pw), fill, x.dtype)
            padded[:, :, ph : ph + H, pw : pw + W] = x
        else:
            padded = x
        self.x_shape, self.padded_shape, self.padding = x.shape, padded.shape, padding
        self.slices = [
            (
                slice(None),
                slice(None),
                slice(i * dh, i * dh + sh * (OH - 1) + 1, sh),
                slice(j * dw, j * dw + sw * (OW - 1) + 1, sw),
            )
            for i in range(kh)
            for j in range(kw)
        ]
        # windows that share no input let backward assign instead of add, and when they
        # also tile the whole padded input no element is left for zeros to fill
        span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        self.disjoint = sh >= span_h and sw >= span_w
        self.tiled = (sh, sw) == (span_h, span_w) and padded.shape[2:] == (OH * sh, OW * sw)
        return padded

    def _grad_buffer(self, g):
        """The padded input's gradient, zero wherever the offsets will not write."""
        g = g[None] if self.unbatched else g
        gx = _fast.scratch(backend.array_module(g), self.op, self.padded_shape, g.dtype)
        if not self.tiled:
            gx.fill(0)
        return g, gx

    def _crop(self, gx):
        H, W = self.x_shape[2:]
        ph, pw = self.padding
        gx = gx[:, :, ph : ph + H, pw : pw + W]
        return (gx[0] if self.unbatched else gx,)

    def _out(self, y):
        return y[0] if self.unbatched else y


def _lowest(x):
    """The padding value for max pooling: below every value of x's dtype."""
    xp = backend.array_module(x)
    return -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min


def _window_max(padded, slices):
    """Max over each window and the offset (row-major in the window) of its first max."""
    xp = backend.array_module(padded)
    out = padded[slices[0]].copy()
    idx = xp.zeros(out.shape, xp.uint8 if len(slices) <= 256 else xp.int32)
    for t, s in enumerate(slices[1:], 1):
        v = padded[s]
        # offsets only grow, so max(idx, t * better) is t where v beats the max so far;
        # branch-free, it is several times faster than copyto(where=) on random masks
        idx[...] = xp.maximum(idx, (v > out) * idx.dtype.type(t))
        xp.maximum(out, v, out=out)
    return out, idx


class MaxPool2dOp(_Pool2d):
    op = "max_pool2d"

    def forward(self, x, kernel_size, stride, padding=(0, 0), dilation=(1, 1)):
        padded = self._setup(x, kernel_size, stride, padding, dilation, _lowest(x))
        out, self.idx = _window_max(padded, self.slices)
        return self._out(out)

    def backward(self, g):
        xp = backend.array_module(g)
        g, gx = self._grad_buffer(g)
        for t, s in enumerate(self.slices):  # the gradient goes to each window's argmax
            if self.disjoint:
                xp.multiply(g, self.idx == t, out=gx[s])
            else:
                gx[s] += g * (self.idx == t)
        return self._crop(gx)


class AvgPool2dOp(_Pool2d):
    op = "avg_pool2d"

    def forward(self, x, kernel_size, stride, padding=(0, 0), count_include_pad=True):
        xp = backend.array_module(x)
        padded = self._setup(x, kernel_size, stride, padding, (1, 1), 0)
        out = padded[self.slices[0]].astype(x.dtype, copy=True)
        for s in self.slices[1:]:
            out += padded[s]
        (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
        if count_include_pad or (ph, pw) == (0, 0):
            self.divisor = kh * kw
        else:
            H, W = self.x_shape[2:]
            rows = [min(o * sh - ph + kh, H) - max(o * sh - ph, 0) for o in range(out.shape[2])]
            cols = [min(o * sw - pw + kw, W) - max(o * sw - pw, 0) for o in range(out.shape[3])]
            self.divisor = xp.asarray([[r * c for c in cols] for r in rows], dtype=x.dtype)
        out /= self.divisor
        return self._out(out)

    def backward(self, g):
        g, gx = self._grad_buffer(g)
        share = g / self.divisor
        for s in self.slices:
            if self.disjoint:
                gx[s] = share
            else:
                gx[s] += share
        return self._crop(gx)


def _pool_args(op, kernel_size, stride, padding, dilation, ceil_mode):
    if ceil_mode:
        raise ValueError(f"{op}: ceil_mode=True is not supported")
    kernel = pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else pair(op, "stride", stride)
    padding = pair(op, "padding", padding, allow_zero=True)
    dilation = pair(op, "dilation", dilation)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(
            f"{op}: pad should be at most half of effective kernel size, but got pad={padding} "
            f"and kernel_size={kernel}"
        )
    return kernel, stride, padding, dilation


def max_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over kH x kW windows; with `return_indices`, also each max's flat index in H*W."""
    kernel, stride, padding, dilation = _pool_args(
        "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode
    )
    out = MaxPool2dOp.apply(
        input, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation
    )
    if not return_indices:
        return out
    indices = _max_indices(input._data, kernel, stride, padding, dilation)
    return out, Tensor._make(indices, False, None)


def _max_indices(x, kernel, stride, padding, dilation):
    """PyTorch's `return_indices`: row * W + column of each window's max in the input."""
    xp = backend.array_module(x)
    node = MaxPool2dOp()
    padded = node._setup(x, kernel, stride, padding, dilation, _lowest(x))
    _, idx = _window_max(padded, node.slices)
    idx = idx.astype(xp.int64)
    OH, OW = idx.shape[2:]
    rows = xp.arange(OH)[:, None] * stride[0] - padding[0] + (idx // kernel[1]) * dilation[0]
    cols = xp.arange(OW) * stride[1] - padding[1] + (idx % kernel[1]) * dilation[1]
    flat = rows * x.shape[-1] + cols
    return flat[0] if x.ndim == 3 else flat


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
) -> Tensor:
    """Mean over kH x kW windows."""
    kernel, stride, padding, _ = _pool_args(
        "avg_pool2d", kernel_size, stride, padding, 1, ceil_mode
    )
    kind = input._data.dtype
    if kind.kind != "f":  # PyTorch averages int64 (dividing as C does), no other integers
        if kind != np.int64:
            raise RuntimeError(f'"avg_pool2d" not implemented for {scalar_name(kind)!r}')
        out = avg_pool2d(input.detach().double(), kernel, stride, padding, False, count_include_pad)
        return Tensor._make(np.trunc(out._data).astype(np.int64), False, None)
    return AvgPool2dOp.apply(
        input,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        count_include_pad=count_include_pad,
    )


class AdaptiveAvgPool2dOp(Function):
    """Mean over PyTorch's adaptive windows, as averaging matrices: rows @ x @ cols.T."""

    op = "adaptive_avg_pool2d"

    def forward(self, x, output_size):
        xp = backend.array_module(x)
        self.unbatched = x.ndim == 3
        x = _batched(self.op, x)
        self.rows, self.cols = (
            _averaging_matrix(xp, size, out, x.dtype)
            for size, out in zip(x.shape[2:], output_size, strict=True)
        )
        y = self.rows @ x @ self.cols.T
        return y[0] if self.unbatched else y

    def backward(self, g):
        gx = self.rows.T @ g @ self.cols
        return (gx,)


def _averaging_matrix(xp, size: int, out: int, dtype):
    """(out, size) matrix whose row i averages inputs floor(i*size/out) to ceil((i+1)*size/out)."""
    m = xp.zeros((out, size), dtype)
    for i in range(out):
        start, stop = i * size // out, -(-(i + 1) * size // out)
        m[i, start:stop] = 1 / (stop - start)
    return m


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Mean pooling to `output_size` (an int, or a pair whose None entries keep the input size)."""
    size = tuple(input.shape[-2:])
    wanted = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(wanted) != 2:
        raise ValueError(
            f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}"
        )
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {scalar_name(input._data.dtype)}"
        )
    wanted = tuple(s if o is None else o for s, o in zip(size, wanted, strict=True))
    for o in wanted:
        positive_int("adaptive_avg_pool2d", "output_size", o)
    return AdaptiveAvgPool2dOp.apply(input, output_size=wanted)
