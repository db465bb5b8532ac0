"""2-D convolution on NCHW arrays: im2col on strided views and one matmul."""

from __future__ import annotations

from engine import _fast, backend
from engine._checks import pair, positive_int
from engine.autograd import Function, OpError
from engine.ops.fold import col2im, im2col
from engine.tensor import Tensor


def _as_strided(arr, shape, strides):
    return backend.array_module(arr).lib.stride_tricks.as_strided(arr, shape, strides)


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


class Conv2dOp(Function):
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
    saves = ((0, None), (1, None))

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
        flat = _fast.scratch(xp, "padded", (C, N, S), x.dtype)
        flat.fill(0)
        grid = flat[:, :, : Hp * Wp].reshape(C, N, Hp, Wp)
        grid[:, :, pt : pt + H, pl : pl + W] = x.transpose(1, 0, 2, 3)
        e, (sc, sn) = flat.itemsize, flat.strides[:2]
        view = _as_strided(
            flat, (C, kh, kw, N, OH, OWc), (sc, dh * Wp * e, dw * e, sn, sh * Wp * e, sw * e)
        )
        cols = _fast.scratch(xp, "cols", view.shape, x.dtype)
        cols[...] = view
        cols = cols.reshape(groups, Cg * kh * kw, -1)
        wm = w.reshape(groups, O // groups, -1)
        out = _fast.scratch(xp, "out", (groups, O // groups, cols.shape[2]), x.dtype)
        _fast.matmul(xp, wm, cols, out)
        out = out.reshape(O, N, OH, OWc)[:, :, :, :OW]
        # one pass crops the wide rows, adds the bias and puts the images first: the output
        # is contiguous (N, O, OH, OW), as PyTorch's, so that .view() works on it as there
        y = xp.empty((N, O, OH, OW), dtype=x.dtype)
        if b is None:
            y.transpose(1, 0, 2, 3)[...] = out
        else:
            xp.add(out, b[:, None, None, None], out=y.transpose(1, 0, 2, 3))
        self.cols, self.wm, self.w_shape, self.has_bias = cols, wm, w.shape, b is not None
        self.geometry = x.shape, (OH, OW, OWc), (Hp, Wp, S), stride, dilation, padding
        return y[0] if self.unbatched else y

    def backward(self, g):
        xp = backend.array_module(g)
        (N, C, H, W), (OH, OW, OWc), (Hp, Wp, S), stride, (dh, dw), padding = self.geometry
        cols, wm, (O, _, kh, kw) = self.cols, self.wm, self.w_shape
        groups, wide = wm.shape[0], stride == (1, 1)
        g = g[None] if self.unbatched else g
        per_image = S if wide and self.needs(0) else OH * OWc
        gt = _fast.scratch(xp, "grad_out", (O, N, per_image), g.dtype)
        if per_image != OH * OW:
            gt.fill(0)
        gt[:, :, : OH * OWc].reshape(O, N, OH, OWc)[:, :, :, :OW] = g.transpose(1, 0, 2, 3)
        gw = gb = gx = None
        if wide and OWc != OW and self.needs(1):
            # the wide rows' extra columns read input from the next row: their zero gradient
            # times an inf there would be NaN in the weight's gradient, so they read 0 here
            cols.reshape(*cols.shape[:2], N, OH, OWc)[..., OW:] = 0
        if self.needs(1):
            rows = xp.ascontiguousarray(gt[:, :, : OH * OWc]).reshape(groups, O // groups, -1)
            gw = _fast.matmul_nt(xp, rows, cols).reshape(self.w_shape)
        if self.has_bias and self.needs(2):
            gb = gt.reshape(O, -1).sum(axis=1)
        if self.needs(0):
            dcols = _fast.scratch(xp, "grad_cols", (groups, cols.shape[1], gt[0].size), g.dtype)
            xp.matmul(wm.transpose(0, 2, 1), gt.reshape(groups, O // groups, -1), out=dcols)
            if wide:  # columns of no output pixel: an inf weight times their 0 is NaN
                per = dcols.reshape(*dcols.shape[:2], N, S)
                per[..., OH * Wp :] = 0
                per[..., : OH * Wp].reshape(*dcols.shape[:2], N, OH, Wp)[..., OW:] = 0
            reach = (kh - 1) * dh * Wp + (kw - 1) * dw  # the furthest kernel offset
            flat = _fast.scratch(xp, "grad_padded", (C, N * S + reach), g.dtype)
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


def _check_conv(x, w, b, groups: int, op: str = "conv2d") -> None:
    kernel = "kH, kW" if x.ndim == 4 else "kW"
    if w.ndim != x.ndim:
        raise OpError(
            f"{op}: expected weight of shape (out_channels, in_channels/groups, {kernel}), "
            f"got {w.shape}"
        )
    C, (O, Cg) = x.shape[1], w.shape[:2]
    if C % groups:
        raise OpError(
            f"{op}: in_channels {C} of input {x.shape} is not divisible by groups={groups}"
        )
    if O % groups:
        raise OpError(
            f"{op}: out_channels {O} of weight {w.shape} is not divisible by groups={groups}"
        )
    if C != Cg * groups:
        also = f", groups={groups}" if groups > 1 else ""
        raise OpError(
            f"{op}: expected input of shape (N, C, {'H, ' * (x.ndim == 4)}W) with C={Cg * groups} "
            f"(weight {w.shape}{also}), got {x.shape}"
        )
    if b is not None and b.shape != (O,):
        raise OpError(f"{op}: expected bias of shape ({O},) for weight {w.shape}, got {b.shape}")
    named = {"input": x, "weight": w, "bias": b}
    if len({a.dtype for a in named.values() if a is not None}) > 1:
        names = ", ".join(f"{n} {a.dtype}" for n, a in named.items() if a is not None)
        raise OpError(f"{op}: input, weight and bias must have one dtype, got {names}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) over an (N, C, H, W) or (C, H, W) input."""
    stride = pair("conv2d", "stride", stride)
    dilation = pair("conv2d", "dilation", dilation)
    groups = positive_int("conv2d", "groups", groups)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):  # RuntimeErrors, as PyTorch's
            raise OpError(
                f"conv2d: padding must be 'valid', 'same', an int or a pair, got {padding!r}"
            )
        if padding == "same" and stride != (1, 1):
            raise OpError(
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
    return Conv2dOp.apply(
        *inputs, stride=stride, padding=tuple(pads), dilation=dilation, groups=groups
    )


def _single(op: str, name: str, value, allow_zero: bool = False) -> int:
    """An int, or a sequence of one int, as PyTorch's 1-d layers take their sizes."""
    items = (value,) if isinstance(value, int) else tuple(value)
    if len(items) != 1:
        raise OpError(f"{op}: {name} must be an int or a tuple of one int, got {value!r}")
    return positive_int(op, name, items[0], allow_zero)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution (cross-correlation) over an (N, C, L) or (C, L) input: conv2d on
    rows of height 1."""
    stride = _single("conv1d", "stride", stride)
    dilation = _single("conv1d", "dilation", dilation)
    groups = positive_int("conv1d", "groups", groups)
    if not isinstance(padding, str):
        padding = (0, _single("conv1d", "padding", padding, allow_zero=True))
    elif padding not in ("valid", "same"):
        raise OpError(f"conv1d: padding must be 'valid', 'same' or an int, got {padding!r}")
    elif padding == "same" and stride != 1:
        raise OpError(
            f"conv1d: padding='same' is not supported for strided convolutions (stride {stride})"
        )
    if input.ndim not in (2, 3):
        raise OpError(
            f"conv1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got {tuple(input.shape)}"
        )
    x = input._data if input.ndim == 3 else input._data[None]
    _check_conv(x, weight._data, None if bias is None else bias._data, groups, "conv1d")
    if padding == "same":  # the odd element goes after, as in PyTorch
        total = dilation * (weight.shape[-1] - 1)
        pads = (0, 0, total // 2, total - total // 2)
    else:
        pads = (0, 0, 0, 0) if padding == "valid" else (0, 0, padding[1], padding[1])
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return Conv1dOp.apply(
        *inputs, stride=(1, stride), padding=pads, dilation=(1, dilation), groups=groups
    )


class Conv1dOp(Conv2dOp):
    """conv2d on rows of height 1: (N, C, L) input and (O, C/groups, k) weights."""

    op = "conv1d"

    def name(self) -> str:
        return "ConvolutionBackward0"  # PyTorch's node for every convolution

    def forward(self, x, w, b=None, **geometry):
        return super().forward(x[..., None, :], w[..., None, :], b, **geometry)[..., 0, :]

    def backward(self, g):
        grads = super().backward(g[..., None, :])
        gx, gw = (None if grad is None else grad[..., 0, :] for grad in grads[:2])
        return (gx, gw, *grads[2:])


class ConvTranspose2dOp(Function):
    """The adjoint of conv2d (its gradient with respect to the input), with weights
    (C_in, C_out/groups, kH, kW): each input pixel times the kernel is one (C_out, kH, kW)
    block, one matmul per group for all pixels of all images, and col2im adds the blocks
    into the output. Backward is conv2d's forward relation: im2col of the output
    gradient and one matmul per group for each gradient.
    """

    op = "conv_transpose2d"
    saves = ((0, 1), (1, 0))

    def name(self) -> str:
        return "ConvolutionBackward0"  # PyTorch's node for every convolution

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                dilation=(1, 1), groups=1, output_shape=(1, 1)):  # fmt: skip
        xp = backend.array_module(x)
        self.unbatched = x.ndim == 3
        x = _batched("conv_transpose2d", x)
        N, C, H, W = x.shape
        _, Og, kh, kw = w.shape
        # channel-major input (groups, C/groups, N*H*W): the pixels of all images side by side
        self.xm = xp.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(groups, C // groups, -1)
        self.wm = w.reshape(groups, C // groups, Og * kh * kw)
        cols = xp.matmul(self.wm.transpose(0, 2, 1), self.xm)  # (groups, Og*kH*kW, N*H*W)
        self.geometry = (kh, kw), dilation, padding, stride, (H, W)
        cols = cols.reshape(groups * Og * kh * kw, N * H * W)
        y = col2im(cols, output_shape, *self.geometry, channel_major=True)
        if b is not None:
            y += b[:, None, None]
        self.x_shape, self.w_shape, self.has_bias = x.shape, w.shape, b is not None
        y = xp.ascontiguousarray(y)
        return y[0] if self.unbatched else y

    def backward(self, g):
        xp = backend.array_module(g)
        g = g[None] if self.unbatched else g
        N, C, H, W = self.x_shape
        groups = self.wm.shape[0]
        gcols = im2col(g, *self.geometry, channel_major=True).reshape(groups, -1, N * H * W)
        gx = gw = gb = None
        if self.needs(0):
            gx = (self.wm @ gcols).reshape(C, N, H, W).transpose(1, 0, 2, 3)
            gx = xp.ascontiguousarray(gx[0] if self.unbatched else gx)
        if self.needs(1):
            gw = _fast.matmul_nt(xp, self.xm, gcols).reshape(self.w_shape)
        if self.has_bias and self.needs(2):
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed 2-D convolution (conv2d's gradient with respect to its input) over an
    (N, C_in, H, W) or (C_in, H, W) input, with weights (C_in, C_out/groups, kH, kW)."""
    op = "conv_transpose2d"
    stride = pair(op, "stride", stride)
    padding = pair(op, "padding", padding, allow_zero=True)
    output_padding = pair(op, "output_padding", output_padding, allow_zero=True)
    dilation = pair(op, "dilation", dilation)
    groups = positive_int(op, "groups", groups)
    if input.ndim not in (3, 4):
        raise OpError(
            f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {tuple(input.shape)}"
        )
    if weight.ndim != 4:
        raise OpError(
            f"{op}: expected weight of shape (in_channels, out_channels/groups, kH, kW), "
            f"got {tuple(weight.shape)}"
        )
    C, (Cw, Og) = input.shape[-3], tuple(weight.shape[:2])
    if Cw % groups:
        raise OpError(
            f"{op}: in_channels {Cw} of weight {tuple(weight.shape)} is not divisible by "
            f"groups={groups}"
        )
    if C != Cw:
        raise OpError(
            f"{op}: expected input with {Cw} channels (weight {tuple(weight.shape)}), got "
            f"{tuple(input.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (Og * groups,):
        raise OpError(
            f"{op}: expected bias of shape ({Og * groups},) for weight {tuple(weight.shape)} "
            f"and groups={groups}, got {tuple(bias.shape)}"
        )
    for o, s, d in zip(output_padding, stride, dilation, strict=True):
        if o >= s and o >= d:
            raise OpError(
                f"{op}: output_padding {output_padding} must be smaller than either stride "
                f"{stride} or dilation {dilation}"
            )
    named = {"input": input, "weight": weight, "bias": bias}
    if len({t.dtype for t in named.values() if t is not None}) > 1:
        names = ", ".join(f"{n} {t.dtype}" for n, t in named.items() if t is not None)
        raise OpError(f"{op}: input, weight and bias must have one dtype, got {names}")
    size = tuple(input.shape[-2:])
    out = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(
            size, stride, padding, dilation, weight.shape[2:], output_padding, strict=True
        )
    )
    if min(out) < 1:  # PyTorch's own kernel's rule (one of its backends returns empty at 0)
        raise OpError(
            f"{op}: given input size per channel {size}, the calculated output size per "
            f"channel {out} is too small"
        )
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2dOp.apply(
        *inputs,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        output_shape=out,
    )
