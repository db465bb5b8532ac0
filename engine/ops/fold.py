"""Sliding blocks of (N, C, H, W) arrays: im2col (`unfold`) and col2im (`fold`).

The two are each other's backward; conv_transpose2d is built on them as well.
"""

from __future__ import annotations

from engine import backend
from engine._checks import pair
from engine.autograd import Function, OpError
from engine.dtypes import scalar_name
from engine.tensor import Tensor


def im2col(x, kernel, dilation, padding, stride, blocks, channel_major=False):
    """(N, C, H, W) -> (N, C*kH*kW, bH*bW): block (i, j) of the zero-padded input as a
    column, with `blocks` = (bH, bW) blocks along each axis. One copy of a strided view.
    With `channel_major` the columns of all images are side by side: (C*kH*kW, N*bH*bW)."""
    xp = backend.array_module(x)
    N, C, H, W = x.shape
    (kh, kw), (dh, dw), (ph, pw), (sh, sw), (bh, bw) = kernel, dilation, padding, stride, blocks
    if ph or pw:
        padded = xp.zeros((N, C, H + 2 * ph, W + 2 * pw), x.dtype)
        padded[:, :, ph : ph + H, pw : pw + W] = x
    else:
        padded = x
    sn, sc, sy, sx = padded.strides
    view = xp.lib.stride_tricks.as_strided(
        padded, (N, C, kh, kw, bh, bw), (sn, sc, dh * sy, dw * sx, sh * sy, sw * sx)
    )
    if channel_major:
        return xp.ascontiguousarray(view.transpose(1, 2, 3, 0, 4, 5)).reshape(C * kh * kw, -1)
    return xp.ascontiguousarray(view).reshape(N, C * kh * kw, bh * bw)


def col2im(cols, size, kernel, dilation, padding, stride, blocks, channel_major=False):
    """The adjoint of im2col: (N, C*kH*kW, bH*bW) -> (N, C, H, W), each column's values
    added back where its block read them. One strided add per kernel offset. With
    `channel_major` the columns come as (C*kH*kW, N*bH*bW)."""
    xp = backend.array_module(cols)
    (H, W), (kh, kw), (dh, dw), (ph, pw), (sh, sw), (bh, bw) = (
        size,
        kernel,
        dilation,
        padding,
        stride,
        blocks,
    )
    if channel_major:
        C, N = cols.shape[0] // (kh * kw), cols.shape[1] // (bh * bw)
        cols = cols.reshape(C, kh, kw, N, bh, bw).transpose(3, 0, 1, 2, 4, 5)
    else:
        N, C = cols.shape[0], cols.shape[1] // (kh * kw)
    Hp = max(H + 2 * ph, (kh - 1) * dh + (bh - 1) * sh + 1)
    Wp = max(W + 2 * pw, (kw - 1) * dw + (bw - 1) * sw + 1)
    out = xp.zeros((N, C, Hp, Wp), cols.dtype)
    cols = cols.reshape(N, C, kh, kw, bh, bw)  # a view where it already has this shape
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (bh - 1) * sh + 1, sh)
            columns = slice(j * dw, j * dw + (bw - 1) * sw + 1, sw)
            out[:, :, rows, columns] += cols[:, :, i, j]
    return out[:, :, ph : ph + H, pw : pw + W]


def _blocks(size, kernel, dilation, padding, stride) -> tuple[int, int]:
    """How many blocks fit along each axis of the padded input (may be <= 0)."""
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, d, p, s in zip(size, kernel, dilation, padding, stride, strict=True)
    )


class UnfoldOp(Function):
    op = "unfold"

    def name(self) -> str:
        return "Im2ColBackward0"

    def forward(self, x, kernel_size, dilation, padding, stride):
        self.unbatched = x.ndim == 3
        x = x[None] if self.unbatched else x
        self.geometry = kernel_size, dilation, padding, stride
        self.size = x.shape[2:]
        self.blocks = _blocks(self.size, *self.geometry)
        out = im2col(x, *self.geometry, self.blocks)
        return out[0] if self.unbatched else out

    def backward(self, g):
        g = g[None] if self.unbatched else g
        gx = col2im(g, self.size, *self.geometry, self.blocks)
        return (gx[0] if self.unbatched else gx,)


class FoldOp(Function):
    op = "fold"

    def name(self) -> str:
        return "Col2ImBackward0"

    def forward(self, x, output_size, kernel_size, dilation, padding, stride):
        self.unbatched = x.ndim == 2
        x = x[None] if self.unbatched else x
        self.geometry = kernel_size, dilation, padding, stride
        self.blocks = _blocks(output_size, *self.geometry)
        out = col2im(x, output_size, *self.geometry, self.blocks)
        return out[0] if self.unbatched else out

    def backward(self, g):
        g = g[None] if self.unbatched else g
        gx = im2col(g, *self.geometry, self.blocks)
        return (gx[0] if self.unbatched else gx,)


_NAMES = ("kernel_size", "dilation", "padding", "stride")


def _fold_args(op, kernel_size, dilation, padding, stride):
    return (
        pair(op, "kernel_size", kernel_size),
        pair(op, "dilation", dilation),
        pair(op, "padding", padding, allow_zero=True),
        pair(op, "stride", stride),
    )


def _check_float(op: str, name: str, x) -> None:
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for {scalar_name(x._data.dtype)!r}')


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of a (N, C, H, W) or (C, H, W) input as columns: (N, C*kH*kW, L)."""
    geometry = _fold_args("unfold", kernel_size, dilation, padding, stride)
    if input.ndim not in (3, 4):
        error = IndexError if input.ndim < 3 else OpError  # PyTorch's types
        raise error(
            f"unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {tuple(input.shape)}"
        )
    _check_float("unfold", "im2col_out_cpu", input)
    blocks = _blocks(tuple(input.shape[-2:]), *geometry)
    if min(blocks) < 1:
        k, d, p, _ = geometry
        raise OpError(
            f"unfold: given input with spatial size {tuple(input.shape[-2:])}, kernel_size={k}, "
            f"dilation={d}, padding={p}, the array of sliding blocks would be {blocks}: it must "
            "be at least one block along each axis"
        )
    return UnfoldOp.apply(input, **dict(zip(_NAMES, geometry, strict=True)))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The sum of sliding-block columns (N, C*kH*kW, L) back into an (N, C, *output_size)
    image; overlapping blocks add up."""
    size = pair("fold", "output_size", output_size)
    geometry = _fold_args("fold", kernel_size, dilation, padding, stride)
    if input.ndim not in (2, 3):
        raise OpError(
            "fold: expected a 2-D (C*kH*kW, L) or 3-D (N, C*kH*kW, L) input, got "
            f"{tuple(input.shape)}"
        )
    _check_float("fold", "col2im_out_cpu", input)
    (kh, kw), rows = geometry[0], input.shape[-2]
    if rows % (kh * kw):
        raise OpError(
            f"fold: expected size of input's dimension {input.ndim - 2} to be divisible by the "
            f"product of kernel_size {geometry[0]}, got {rows}"
        )
    blocks = _blocks(size, *geometry)
    if min(blocks) < 1 or blocks[0] * blocks[1] != input.shape[-1]:
        raise OpError(
            f"fold: given output_size={size}, kernel_size={geometry[0]}, dilation={geometry[1]}, "
            f"padding={geometry[2]}, stride={geometry[3]}, expected input's last dimension to "
            f"be {blocks[0]} * {blocks[1]} blocks, got {input.shape[-1]}"
        )
    return FoldOp.apply(input, output_size=size, **dict(zip(_NAMES, geometry, strict=True)))
