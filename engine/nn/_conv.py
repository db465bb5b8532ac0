"""2-D convolution and pooling on NCHW arrays: im2col on strided views and one matmul."""

from __future__ import annotations

import sys
import threading

import numpy as np

from engine import backend
from engine.autograd import Function, OpError
from engine.nn._checks import pair, positive_int
from engine.tensor import Tensor


def _as_strided(arr, shape, strides):
    return backend.array_module(arr).lib.stride_tricks.as_strided(arr, shape, strides)


class _ScratchArrays(threading.local):
    """Each thread's scratch arrays: a worker thread never writes into the UI thread's."""

    def __init__(self):
        self.arrays = {}


_scratch_arrays = _ScratchArrays()


def _refs(arrays: dict, key) -> int:
    return sys.getrefcount(arrays[key])


_FREE = _refs({0: np.empty(0)}, 0)  # the count of an array that only the cache holds


def _scratch(xp, name: str, shape: tuple, dtype):
    """An uninitialised array that is the same memory every call once nothing else holds it.

    NumPy hands multi-megabyte arrays back to the OS when they die, so a fresh one
    costs page faults on every call (about half a LeNet step). An array still held
    anywhere (saved for backward, a view returned to the caller) has more references
    than `_FREE` and is never reused: a new one takes its place in the cache.
    """
    if xp is not np:
        return xp.empty(shape, dtype)  # CuPy keeps its own memory pool
    arrays = _scratch_arrays.arrays
    key = (name, shape, np.dtype(dtype))
    if key not in arrays or _refs(arrays, key) > _FREE:
        if len(arrays) > 64:  # many shapes seen: start over rather than grow
            arrays.clear()
        arrays[key] = np.empty(shape, dtype)
    return arrays[key]


def _batched(op: str, x):
    """`x` as (N, C, H, W), adding the batch axis to an unbatched (C, H, W) input."""
    if x.ndim == 3:
        return x[None]
    if x.ndim == 4:
        return x
    raise OpError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {x.shape}")


def _out_size(op: str, size, pad, kernel, dilation, stride) -> tuple[int, int]:
    """Output height and width; an error when the kernel does not fit the padded input."""
    padded = tuple(s + p for s, p in zip(size, pad, strict=True))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    if span[0] > padded[0] or span[1] > padded[1]:
        raise OpError(
            f"{op}: kernel {kernel} (dilated {span}) is larger than the padded input {padded}"
        )
    return tuple((p - k) // s + 1 for p, k, s in zip(padded, span, stride, strict=True))


# ----- convolution ----------------------------------------------------------


class Conv2d(Function):
    """Cross-correlation of (N, C, H, W) with (O, C/groups, kH, kW) weights, plus bias.

    The input is copied channel-major into a flat zero-padded buffer (C, N, S), S =
    Hp*Wp plus a tail, so the im2col columns (groups, C/groups*kH*kW, N*OH*OW) are one
    copy of a strided view and each group is one matmul. With stride 1 ("wide") every
    output row is read as a whole padded row of Wp columns instead of OW: each column
    of the view is then one contiguous run, which copies several times faster. The
    extra output columns are cropped in the pass that adds the bias, so the output
    is compact for the ops after it; they are zero in backward, where the output
    gradient also takes S columns per image so that col2im adds whole (C, N*S) rows.
    """

    op = "conv2d"

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        xp = backend.array_module(x)
        self.unbatched = x.ndim == 3
        x = _batched("conv2d", x)
        _check_conv(x, w, b, groups)
        N, C, H, W = x.shape
        O, Cg, kh, kw = w.shape
        (sh, sw), (dh, dw), (pt, pb, pl, pr) = stride, dilation, padding
        OH, OW = _out_size("conv2d", (H, W), (pt + pb, pl + pr), (kh, kw), dilation, stride)
        Hp, Wp = H + pt + pb, W + pl + pr
        wide = (sh, sw) == (1, 1)
        OWc = Wp if wide else OW  # columns per output row in the column matrix
        S = Hp * Wp + (kw - 1) * dw  # the tail lets the last wide row run past the corner
        flat = _scratch(xp, "padded", (C, N, S), x.dtype)
        flat.fill(0)
        grid = flat[:, :, : Hp * Wp].reshape(C, N, Hp, Wp)
        grid[:, :, pt : pt + H, pl : pl + W] = x.transpose(1, 0, 2, 3)
        e, (sc, sn) = flat.itemsize, flat.strides[:2]
        view = _as_strided(
            flat, (C, kh, kw, N, OH, OWc), (sc, dh * Wp * e, dw * e, sn, sh * Wp * e, sw * e)
        )
        cols = _scratch(xp, "cols", view.shape, x.dtype)
        cols[...] = view
        cols = cols.reshape(groups, Cg * kh * kw, -1)
        wm = w.reshape(groups, O // groups, -1)
        out = _scratch(xp, "out", (groups, O // groups, cols.shape[2]), x.dtype)
        _matmul(xp, wm, cols, out)
        out = out.reshape(O, N, OH, OWc)
        bias = None if b is None else b[:, None, None, None]
        if OWc == OW:
            y = out if bias is None else xp.add(out, bias, out=out)
        else:  # one pass crops the wide rows and adds the bias: the output is compact
            y = _scratch(xp, "cropped", (O, N, OH, OW), x.dtype)
            if bias is None:
                y[...] = out[:, :, :, :OW]
            else:
                xp.add(out[:, :, :, :OW], bias, out=y)
        self.cols, self.wm, self.w_shape, self.has_bias = cols, wm, w.shape, b is not None
        self.geometry = x.shape, (OH, OW, OWc), (Hp, Wp, S), stride, dilation, padding
        y = y.transpose(1, 0, 2, 3)
        return y[0] if self.unbatched else y

    def backward(self, g):
        xp = backend.array_module(g)
        (N, C, H, W), (OH, OW, OWc), (Hp, Wp, S), stride, (dh, dw), padding = self.geometry
        cols, wm, (O, _, kh, kw) = self.cols, self.wm, self.w_shape
        groups, wide = wm.shape[0], stride == (1, 1)
        g = g[None] if self.unbatched else g
        per_image = S if wide and self.needs(0) else OH * OWc
        gt = _scratch(xp, "grad_out", (O, N, per_image), g.dtype)
        if per_image != OH * OW:
            gt.fill(0)
        gt[:, :, : OH * OWc].reshape(O, N, OH, OWc)[:, :, :, :OW] = g.transpose(1, 0, 2, 3)
        gw = gb = gx = None
        if self.needs(1):
            rows = xp.ascontiguousarray(gt[:, :, : OH * OWc]).reshape(groups, O // groups, -1)
            gw = _matmul_nt(xp, rows, cols).reshape(self.w_shape)
        if self.has_bias and self.needs(2):
            gb = gt.reshape(O, -1).sum(axis=1)
        if self.needs(0):
            dcols = _scratch(xp, "grad_cols", (groups, cols.shape[1], gt[0].size), g.dtype)
            xp.matmul(wm.transpose(0, 2, 1), gt.reshape(groups, O // groups, -1), out=dcols)
            reach = (kh - 1) * dh * Wp + (kw - 1) * dw  # the furthest kernel offset
            flat = _scratch(xp, "grad_padded", (C, N * S + reach), g.dtype)
            flat.fill(0)
            e, sc = flat.itemsize, flat.strides[0]
            if wide:  # output pixel p of every image reads input p + offset: one run per row
                shape, strides = (C, N * S), (sc, e)
            else:
                shape, strides = (C, N, OH, OW), (sc, S * e, stride[0] * Wp * e, stride[1] * e)
            dcols = dcols.reshape(C, kh, kw, *shape[1:])
            for i in range(kh):  # col2im: one strided add per kernel offset
                for j in range(kw):
                    start = i * dh * Wp + j * dw
                    _as_strided(flat[:, start:], shape, strides)[...] += dcols[:, i, j]
            grid = flat[:, : N * S].reshape(C, N, S)[:, :, : Hp * Wp].reshape(C, N, Hp, Wp)
            pt, _, pl, _ = padding
            gx = grid[:, :, pt : pt + H, pl : pl + W].transpose(1, 0, 2, 3)
            gx = gx[0] if self.unbatched else gx
        return (gx, gw, gb) if self.has_bias else (gx, gw)


_SMALL_PRODUCT = 1_000_000  # M*N*K that OpenBLAS multiplies with its small-matrix kernel
_SKINNY = 400  # the most m*n of a product whose long side is cut to fit that kernel


def _pieces(xp, m: int, n: int, long: int) -> int:
    """How many equal pieces to cut a product's long side into, where its other two
    sides are m and n (rows and shared axis in `_matmul`, rows and columns in
    `_matmul_nt`), so that each piece fits OpenBLAS's small-matrix kernel.

    A skinny product (a few output channels by a few kernel taps, over every
    pixel of the batch) runs at a third of that kernel's speed as one threaded
    call; cut into pieces it measured 2x (forward) and 5x (weight gradient)
    faster for LeNet's first convolution. 1 where no cut is needed or possible.
    """
    work = m * n * long
    if xp is not np or work <= _SMALL_PRODUCT or m * n > _SKINNY:
        return 1
    need = -(-work // _SMALL_PRODUCT)
    return next((p for p in range(need, 4 * need) if long % p == 0), 1)


def _matmul(xp, a, b, out) -> None:
    """out = a @ b for stacks of (m, k) and (k, L) matrices with L long."""
    (g, m, k), L = a.shape, b.shape[2]
    pieces = _pieces(xp, m, k, L)
    if pieces == 1:
        xp.matmul(a, b, out=out)
        return
    split = (g, -1, pieces, L // pieces)
    xp.matmul(
        a[:, None],
        b.reshape(split).transpose(0, 2, 1, 3),
        out=out.reshape(split).transpose(0, 2, 1, 3),
    )


def _matmul_nt(xp, a, b):
    """a @ b.T for stacks of (m, L) and (n, L) matrices with L long.

    Uncut, it is computed as (b @ a.T).T: OpenBLAS splits the larger n across its
    threads, which measured 2.3x faster for LeNet's second convolution.
    """
    (g, m, L), n = a.shape, b.shape[1]
    pieces = _pieces(xp, m, n, L)
    if pieces == 1:
        return xp.matmul(b, a.transpose(0, 2, 1)).transpose(0, 2, 1)
    split = (g, -1, pieces, L // pieces)
    cut_a = a.reshape(split).transpose(0, 2, 1, 3)
    cut_b = b.reshape(split).transpose(0, 2, 3, 1)
    return xp.matmul(cut_a, cut_b).sum(axis=1)


def _check_conv(x, w, b, groups: int) -> None:
    if w.ndim != 4:
        raise OpError(
            f"conv2d: expected weight of shape (out_channels, in_channels/groups, kH, kW), "
            f"got {w.shape}"
        )
    C, (O, Cg) = x.shape[1], w.shape[:2]
    if C % groups:
        raise OpError(
            f"conv2d: in_channels {C} of input {x.shape} is not divisible by groups={groups}"
        )
    if O % groups:
        raise OpError(
            f"conv2d: out_channels {O} of weight {w.shape} is not divisible by groups={groups}"
        )
    if C != Cg * groups:
        also = f", groups={groups}" if groups > 1 else ""
        raise OpError(
            f"conv2d: expected input of shape (N, C, H, W) with C={Cg * groups} "
            f"(weight {w.shape}{also}), got {x.shape}"
        )
    if b is not None and b.shape != (O,):
        raise OpError(f"conv2d: expected bias of shape ({O},) for weight {w.shape}, got {b.shape}")
    named = {"input": x, "weight": w, "bias": b}
    if len({a.dtype for a in named.values() if a is not None}) > 1:
        names = ", ".join(f"{n} {a.dtype}" for n, a in named.items() if a is not None)
        raise OpError(f"conv2d: input, weight and bias must have one dtype, got {names}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:  # noqa: A002
    """2-D convolution (cross-correlation) over an (N, C, H, W) or (C, H, W) input."""
    stride = pair("conv2d", "stride", stride)
    dilation = pair("conv2d", "dilation", dilation)
    groups = positive_int("conv2d", "groups", groups)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(
                f"conv2d: padding must be 'valid', 'same', an int or a pair, got {padding!r}"
            )
        if padding == "same" and stride != (1, 1):
            raise ValueError(
                "conv2d: padding='same' is not supported for strided convolutions "
                f"(stride {stride})"
            )
        pads = [0, 0, 0, 0]
        if padding == "same" and weight.ndim == 4:  # the odd pixel goes after, as in PyTorch
            for axis in (0, 1):
                total = dilation[axis] * (weight.shape[2 + axis] - 1)
                pads[2 * axis : 2 * axis + 2] = total // 2, total - total // 2
    else:
        ph, pw = pair("conv2d", "padding", padding, allow_zero=True)
        pads = [ph, ph, pw, pw]
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return Conv2d.apply(
        *inputs, stride=stride, padding=tuple(pads), dilation=dilation, groups=groups
    )


# ----- pooling --------------------------------------------------------------


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
        gx = _scratch(backend.array_module(g), self.op, self.padded_shape, g.dtype)
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


class MaxPool2d(_Pool2d):
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


class AvgPool2d(_Pool2d):
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
        raise ValueError(f"{op}: padding {padding} should be at most half of kernel_size {kernel}")
    return kernel, stride, padding, dilation


def max_pool2d(
    input,  # noqa: A002 (PyTorch's names)
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
    out = MaxPool2d.apply(
        input, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation
    )
    if not return_indices:
        return out
    indices = _max_indices(input._data, kernel, stride, padding, dilation)
    return out, Tensor._make(indices, False, None)


def _max_indices(x, kernel, stride, padding, dilation):
    """PyTorch's `return_indices`: row * W + column of each window's max in the input."""
    xp = backend.array_module(x)
    node = MaxPool2d()
    padded = node._setup(x, kernel, stride, padding, dilation, _lowest(x))
    _, idx = _window_max(padded, node.slices)
    idx = idx.astype(xp.int64)
    OH, OW = idx.shape[2:]
    rows = xp.arange(OH)[:, None] * stride[0] - padding[0] + (idx // kernel[1]) * dilation[0]
    cols = xp.arange(OW) * stride[1] - padding[1] + (idx % kernel[1]) * dilation[1]
    flat = rows * x.shape[-1] + cols
    return flat[0] if x.ndim == 3 else flat


def avg_pool2d(
    input,  # noqa: A002 (PyTorch's names)
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
    return AvgPool2d.apply(
        input,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        count_include_pad=count_include_pad,
    )


class AdaptiveAvgPool2d(Function):
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


def adaptive_avg_pool2d(input, output_size) -> Tensor:  # noqa: A002
    """Mean pooling to `output_size` (an int, or a pair whose None entries keep the input size)."""
    size = tuple(input.shape[-2:])
    wanted = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(wanted) != 2:
        raise ValueError(
            f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}"
        )
    wanted = tuple(s if o is None else o for s, o in zip(size, wanted, strict=True))
    for o in wanted:
        positive_int("adaptive_avg_pool2d", "output_size", o)
    return AdaptiveAvgPool2d.apply(input, output_size=wanted)
