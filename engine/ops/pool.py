"""2-D pooling on NCHW arrays: max, average and adaptive average."""

from __future__ import annotations

import numpy as np

from engine import _fast, backend
from engine._checks import pair, positive_int
from engine.autograd import Function, OpError
from engine.dtypes import scalar_name
from engine.ops.conv import _batched, _single
from engine.tensor import Tensor


class _Pool2d(Function):
    """Pooling over (N, C, H, W) windows: one strided slice per kernel offset.

    Each slice `x[:, :, i::sh, j::sw]` (cropped to the output size) holds offset (i, j)
    of every window, so forward and backward loop over the kH*kW offsets only.
    """

    def _setup(self, x, kernel_size, stride, padding, dilation, ceil_mode, fill):
        xp = backend.array_module(x)
        self.unbatched = x.ndim == 3
        x = _batched(self.op, x)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
        N, C, H, W = x.shape
        OH, OW = _pool_out_size(self.op, (H, W), padding, kernel_size, dilation, stride, ceil_mode)
        # ceil_mode's last windows may run past the bottom and right padding: pad them too
        span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        Hp = max(H + 2 * ph, (OH - 1) * sh + span_h)
        Wp = max(W + 2 * pw, (OW - 1) * sw + span_w)
        if (Hp, Wp) != (H, W):
            padded = xp.full((N, C, Hp, Wp), fill, x.dtype)
            padded[:, :, ph : ph + H, pw : pw + W] = x
        else:
            padded = x
        self.x_shape, self.padded_shape, self.padding = x.shape, padded.shape, padding
        self.inside = (slice(ph, ph + H), slice(pw, pw + W)) if padded is not x else None
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
        # windows that share no input let backward assign instead of add; when they also
        # cover every element of the padded input (dense windows side by side, no rows or
        # columns skipped by dilation or left past the last window) none is left to zero
        self.disjoint = sh >= span_h and sw >= span_w
        dense = (kh == 1 or dh == 1) and (kw == 1 or dw == 1)
        self.tiled = dense and (sh, sw) == (span_h, span_w) and (Hp, Wp) == (OH * sh, OW * sw)
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


def _pool_out_size(op, size, padding, kernel, dilation, stride, ceil_mode) -> tuple[int, int]:
    """PyTorch's output size: with `ceil_mode` a last, partial window is kept where it
    starts inside the input or its left padding."""
    out = []
    for n, p, k, d, s in zip(size, padding, kernel, dilation, stride, strict=True):
        span = d * (k - 1) + 1
        o = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        if o < 1:
            padded = tuple(m + 2 * q for m, q in zip(size, padding, strict=True))
            spans = tuple(e * (j - 1) + 1 for j, e in zip(kernel, dilation, strict=True))
            raise OpError(
                f"{op}: kernel {kernel} (dilated {spans}) is larger than the padded input {padded}"
            )
        out.append(o)
    return tuple(out)


def _lowest(x):
    """The padding value for max pooling: below every value of x's dtype."""
    xp = backend.array_module(x)
    return -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min


def _window_max(padded, slices, inside=None):
    """Max over each window and the offset (row-major in the window) of its max: the
    first largest value, or the last NaN where the window holds one (as PyTorch).

    A window whose inputs are all -inf (the padding's value) has its first input as
    argmax, as PyTorch starts from there; `inside` is the (H, W) slice of the padded
    array that holds the input, None where there is no padding.
    """
    xp = backend.array_module(padded)
    out = padded[slices[0]].copy()
    idx = xp.zeros(out.shape, xp.uint8 if len(slices) <= 256 else xp.int32)
    for t, s in enumerate(slices[1:], 1):
        v = padded[s]
        # offsets only grow, so max(idx, t * better) is t where v beats the max so far;
        # branch-free, it is several times faster than copyto(where=) on random masks
        idx[...] = xp.maximum(idx, (v > out) * idx.dtype.type(t))
        xp.maximum(out, v, out=out)  # NaN propagates
    lowest = out == _lowest(padded)
    if inside is not None and lowest.any():
        idx[...] = xp.where(lowest, _first_inside(padded, slices, inside), idx)
    if padded.dtype.kind == "f" and xp.isnan(out).any():  # one pass over the output
        for t, s in enumerate(slices):
            idx[xp.isnan(padded[s])] = t
    return out, idx


def _first_inside(padded, slices, inside):
    """For each window, the offset of its first element that is not padding."""
    xp = backend.array_module(padded)
    mask = xp.zeros(padded.shape[2:], bool)
    mask[inside] = True
    first = xp.full(padded[slices[0]].shape[2:], len(slices), xp.int32)
    for t in reversed(range(len(slices))):
        first[mask[slices[t][2:]]] = t
    return first


class MaxPool2dOp(_Pool2d):
    op = "max_pool2d"
    saves = ((0, None),)
    saves_others = True  # the argmax indices

    def forward(self, x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
        padded = self._setup(x, kernel_size, stride, padding, dilation, ceil_mode, _lowest(x))
        out, self.idx = _window_max(padded, self.slices, self.inside)
        return self._out(out)

    def backward(self, g):
        xp = backend.array_module(g)
        g, gx = self._grad_buffer(g)
        for t, s in enumerate(self.slices):  # the gradient goes to each window's argmax
            if self.disjoint:
                _fast.select(xp, self.idx == t, g, out=gx[s])
            else:
                gx[s] += _fast.select(xp, self.idx == t, g)
        return self._crop(gx)


class AvgPool2dOp(_Pool2d):
    op = "avg_pool2d"
    saves = ((0, None),)

    def forward(
        self,
        x,
        kernel_size,
        stride,
        padding=(0, 0),
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        xp = backend.array_module(x)
        padded = self._setup(x, kernel_size, stride, padding, (1, 1), ceil_mode, 0)
        out = padded[self.slices[0]].astype(x.dtype, copy=True)
        out += 0  # PyTorch's sum starts at +0, so windows of -0.0 average to +0.0
        for s in self.slices[1:]:
            out += padded[s]
        if divisor_override is not None:
            self.divisor = divisor_override
        else:
            counts = [
                _window_counts(n, o, k, s, p, count_include_pad)
                for n, o, k, s, p in zip(
                    self.x_shape[2:], out.shape[2:], kernel_size, stride, padding, strict=True
                )
            ]
            rows, cols = counts
            if len(set(rows)) == 1 and len(set(cols)) == 1:
                self.divisor = rows[0] * cols[0]
            else:
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


def _window_counts(size, out, kernel, stride, pad, count_include_pad) -> list[int]:
    """PyTorch's divisor along one axis for each window: its length inside the padded
    input (the part past the padding that ceil_mode adds never counts), or inside the
    input alone without `count_include_pad`."""
    counts = []
    for o in range(out):
        start = o * stride - pad
        end = min(start + kernel, size + pad)
        if not count_include_pad:
            start, end = max(start, 0), min(end, size)
        counts.append(end - start)
    return counts


def _pool_args(op, kernel_size, stride, padding, dilation):
    kernel = pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else pair(op, "stride", stride)
    padding = pair(op, "padding", padding, allow_zero=True)
    dilation = pair(op, "dilation", dilation)
    for p, k in zip(padding, kernel, strict=True):
        if p > k // 2:  # PyTorch compares with the kernel's size, dilated or not
            raise OpError(f"{op}: padding {padding} should be at most half of kernel_size {kernel}")
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
        "max_pool2d", kernel_size, stride, padding, dilation
    )
    geometry = dict(
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=bool(ceil_mode),
    )
    out = MaxPool2dOp.apply(input, **geometry)
    if not return_indices:
        return out
    indices = _max_indices(input._data, **geometry)
    return out, Tensor._make(indices, False, None)


def _max_indices(x, kernel_size, stride, padding, dilation, ceil_mode):
    """PyTorch's `return_indices`: row * W + column of each window's max in the input."""
    xp = backend.array_module(x)
    node = MaxPool2dOp()
    padded = node._setup(x, kernel_size, stride, padding, dilation, ceil_mode, _lowest(x))
    _, idx = _window_max(padded, node.slices, node.inside)
    idx = idx.astype(xp.int64)
    OH, OW = idx.shape[2:]
    kw = kernel_size[1]
    rows = xp.arange(OH)[:, None] * stride[0] - padding[0] + (idx // kw) * dilation[0]
    cols = xp.arange(OW) * stride[1] - padding[1] + (idx % kw) * dilation[1]
    flat = rows * x.shape[-1] + cols
    return flat[0] if x.ndim == 3 else flat


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> Tensor:
    """Mean over kH x kW windows (the sum over `divisor_override` where it is given)."""
    kernel, stride, padding, _ = _pool_args("avg_pool2d", kernel_size, stride, padding, 1)
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or isinstance(divisor_override, bool):
            raise TypeError(
                f"avg_pool2d: divisor_override must be an int, got {divisor_override!r}"
            )
        if divisor_override == 0:
            raise OpError("avg_pool2d: divisor_override must not be zero")
    kind = input._data.dtype
    if kind.kind != "f":  # PyTorch averages int64 (dividing as C does), no other integers
        if kind != np.int64:
            raise RuntimeError(f'"avg_pool2d" not implemented for {scalar_name(kind)!r}')
        out = avg_pool2d(
            input.detach().double(),
            kernel,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
            divisor_override,
        )
        return Tensor._make(np.trunc(out._data).astype(np.int64), False, None)
    return AvgPool2dOp.apply(
        input,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad),
        divisor_override=divisor_override,
    )


class AdaptiveAvgPool2dOp(Function):
    """Mean over PyTorch's adaptive windows: sums one axis at a time, each window a slice,
    then divided by the window's height and width, as PyTorch divides its window sum.

    Only the windows that hold an inf become inf; a product with an averaging matrix
    would multiply that inf by the matrix's zeros and make every output NaN. The sums
    stay in the input's dtype, so a float32 window whose sum overflows is inf there too.
    """

    op = "adaptive_avg_pool2d"
    saves = ((0, None),)

    def forward(self, x, output_size):
        self.unbatched = x.ndim == 3
        x = _batched(self.op, x)
        self.size = x.shape[2:]
        pairs = zip(self.size, output_size, strict=True)
        self.windows = [_adaptive_windows(n, o) for n, o in pairs]
        xp = backend.array_module(x)
        y = _window_sums(_window_sums(x, self.windows[0], 2), self.windows[1], 3)
        heights, widths = ([b - a for a, b in w] for w in self.windows)
        y = y / xp.asarray(heights, y.dtype)[:, None] / xp.asarray(widths, y.dtype)
        return y[0] if self.unbatched else y

    def backward(self, g):
        g = g[None] if self.unbatched else g
        gx = _spread(g, self.windows[1], 3, self.size[1])
        gx = _spread(gx, self.windows[0], 2, self.size[0])
        return (gx[0] if self.unbatched else gx,)


def _adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """Window i covers floor(i*size/out) to ceil((i+1)*size/out)."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _window_sums(x, windows, axis: int):
    """The sum of each window of `x` along `axis`, in x's dtype."""
    xp = backend.array_module(x)
    n, lengths = x.shape[axis], {b - a for a, b in windows}
    if len(lengths) == 1 and len(windows) * lengths.pop() == n:  # side by side: one reshape
        return x.reshape(x.shape[:axis] + (len(windows), -1) + x.shape[axis + 1 :]).sum(axis + 1)
    lead = (slice(None),) * axis
    return xp.concatenate(
        [x[(*lead, slice(a, b))].sum(axis, keepdims=True) for a, b in windows], axis=axis
    )


def _spread(g, windows, axis: int, size: int):
    """Backward of the window means: each window's gradient shared over its elements."""
    xp = backend.array_module(g)
    out = xp.zeros(g.shape[:axis] + (size,) + g.shape[axis + 1 :], g.dtype)
    lead = (slice(None),) * axis
    for i, (a, b) in enumerate(windows):
        out[(*lead, slice(a, b))] += g[(*lead, slice(i, i + 1))] / (b - a)
    return out


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


def _pool1d_input(op: str, input) -> None:
    if input.ndim not in (2, 3):
        raise OpError(
            f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got {tuple(input.shape)}"
        )


def max_pool1d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over windows of length kernel_size of an (N, C, L) or (C, L) input: max_pool2d
    on rows of height 1; with `return_indices`, also each max's index in L."""
    op = "max_pool1d"
    _pool1d_input(op, input)
    if input._data.dtype.kind != "f" and not return_indices:
        raise NotImplementedError(
            f'"max_pool1d_impl" not implemented for {scalar_name(input._data.dtype)!r}'
        )
    kernel = _single(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else _single(op, "stride", stride)
    padding = _single(op, "padding", padding, allow_zero=True)
    dilation = _single(op, "dilation", dilation)
    out = max_pool2d(
        input.unsqueeze(-2),
        (1, kernel),
        (1, stride),
        (0, padding),
        (1, dilation),
        ceil_mode=ceil_mode,
        return_indices=return_indices,
    )
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """Mean over windows of length kernel_size of an (N, C, L) or (C, L) input: avg_pool2d
    on rows of height 1."""
    op = "avg_pool1d"
    _pool1d_input(op, input)
    kernel = _single(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else _single(op, "stride", stride)
    padding = _single(op, "padding", padding, allow_zero=True)
    out = avg_pool2d(
        input.unsqueeze(-2), (1, kernel), (1, stride), (0, padding), ceil_mode, count_include_pad
    )
    return out.squeeze(-2)


class AdaptiveMaxPool2dOp(Function):
    """Max over PyTorch's adaptive windows, one axis at a time (a max over a rectangle is
    the max over its rows' maxima); the gradient goes to each window's argmax.

    The argmax is PyTorch's: the first largest value in row-major order, or the last NaN:
    the first (last) row whose maximum is the window's, then that row's first maximum
    (last NaN).
    """

    op = "adaptive_max_pool2d"
    saves = ((0, None),)
    saves_others = True  # the argmax indices

    def name(self) -> str:
        return "AdaptiveMaxPool2DBackward0"

    def forward(self, x, output_size):
        xp = backend.array_module(x)
        self.unbatched = x.ndim == 3
        x = _batched(self.op, x)
        N, C, H, W = self.x_shape = x.shape
        if 0 in output_size:
            self.flat = xp.zeros((N, C, *output_size), xp.int64)
            out = xp.empty((N, C, *output_size), x.dtype)
            return out[0] if self.unbatched else out
        rows, cols = (_adaptive_windows(n, o) for n, o in zip((H, W), output_size, strict=True))
        by_row, col = _axis_window_max(x, cols, 3)  # (N, C, H, OW)
        out, row = _axis_window_max(by_row, rows, 2)  # (N, C, OH, OW)
        col = xp.take_along_axis(col, row, axis=2)
        self.flat = row * W + col
        return out[0] if self.unbatched else out

    def backward(self, g):
        xp = backend.array_module(g)
        g = g[None] if self.unbatched else g
        N, C, H, W = self.x_shape
        gx = xp.zeros(N * C * H * W, g.dtype)
        base = xp.arange(N * C, dtype=xp.int64).reshape(N, C, 1, 1) * (H * W)
        backend.index_add(gx, (base + self.flat).reshape(-1), g.reshape(-1))
        gx = gx.reshape(self.x_shape)
        return (gx[0] if self.unbatched else gx,)


def _axis_window_max(x, windows, axis: int):
    """The max of each window of `x` along `axis`, and its position along that axis: the
    first maximum, or the last NaN where the window holds one."""
    xp = backend.array_module(x)
    lead = (slice(None),) * axis
    values, where = [], []
    for a, b in windows:
        part = x[(*lead, slice(a, b))]
        top = part.max(axis=axis, keepdims=True)
        first = xp.argmax(part == top, axis=axis, keepdims=True)
        if x.dtype.kind == "f":
            nan = xp.isnan(part)
            last_nan = (b - a - 1) - xp.argmax(xp.flip(nan, axis=axis), axis=axis, keepdims=True)
            first = xp.where(xp.isnan(top), last_nan, first)
        values.append(top)
        where.append(first.astype(xp.int64) + a)
    return xp.concatenate(values, axis=axis), xp.concatenate(where, axis=axis)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to `output_size` (an int, or a pair whose None entries keep the input
    size); with `return_indices`, also each max's flat index in H*W."""
    op = "adaptive_max_pool2d"
    wanted = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(wanted) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    if input.ndim not in (3, 4):
        raise OpError(f"{op}: expected a 3-D or 4-D input, got {tuple(input.shape)}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for {scalar_name(input._data.dtype)!r}')
    size = tuple(input.shape[-2:])
    wanted = tuple(s if o is None else o for s, o in zip(size, wanted, strict=True))
    for o in wanted:
        positive_int(op, "output_size", o, allow_zero=True)
    out = AdaptiveMaxPool2dOp.apply(input, output_size=wanted)
    if not return_indices:
        return out
    node = out._ctx
    if node is None:  # no graph: run the op's forward again for the indices
        node = AdaptiveMaxPool2dOp()
        node.forward(input._data, wanted)
    flat = node.flat[0].copy() if input.ndim == 3 else node.flat.copy()
    return out, Tensor._make(flat, False, None)
