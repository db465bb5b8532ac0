"""Order statistics, NaN-aware reductions, running extrema, differences, histograms and
sorted-sequence searches: median, quantile, mode, kthvalue, cummax, diff, ..."""

from __future__ import annotations

import builtins
import math

import numpy as np

from engine import return_types
from engine.autograd import Function
from engine.dtypes import scalar_name
from engine.ops import aggregate, indexing, movement, reduce
from engine.ops.elementwise import _xp, tensor_arg
from engine.tensor import Tensor


def _int_tensor(array) -> Tensor:
    return Tensor._make(array.astype(np.int64, copy=False), False, None)


def _one_dim(op: str, input, dim) -> int:
    axes = reduce._axes(dim, input.ndim, op)
    return axes[0] if axes else 0


def _picked(op: str, input, dim, keepdim, choose):
    """(values, indices) along `dim`, where `choose(a, axis)` gives the chosen index with
    the axis kept (size 1); the gradient goes to the chosen element."""
    tensor_arg(op, input)
    axis = _one_dim(op, input, dim)
    scalar = input.ndim == 0
    work = input.reshape(1) if scalar else input
    if work.shape[axis] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {axis} to have non-zero size.")
    idx = choose(work._data, axis).astype(np.int64)
    values = indexing.gather(work, axis, _int_tensor(idx))
    if scalar:
        return getattr(return_types, op)(values.reshape(()), _int_tensor(idx.reshape(())))
    if not keepdim:
        values, idx = values.squeeze(axis), idx.squeeze(axis)
    return getattr(return_types, op)(values, _int_tensor(idx))


def _kth_index(a, axis, k):
    """The index of the k-th smallest (0-based `k`, an int or an array with the axis
    kept) along `axis`, NaN counted as the largest."""
    xp = _xp(a)
    order = xp.argsort(a, axis=axis, kind="stable")
    if isinstance(k, int):
        return xp.take(order, xp.asarray([k]), axis=axis)
    return xp.take_along_axis(order, k, axis=axis)


def _first_nan_or(a, axis, idx):
    xp = _xp(a)
    nan = xp.isnan(a) if a.dtype.kind == "f" else xp.zeros(a.shape, dtype=bool)
    has = nan.any(axis=axis, keepdims=True)
    return xp.where(has, xp.argmax(nan, axis=axis, keepdims=True), idx)


class EvenlyShared(Function):
    """A value picked from all elements (median, nanmedian): the gradient is split evenly
    among the elements equal to it (the NaNs when it is NaN)."""

    saves = ((0, None), ("out", None))

    def forward(self, a, value):
        self.a, self.out = a, value
        return value

    def backward(self, g):
        xp = _xp(g)
        hit = xp.isnan(self.a) if bool(xp.isnan(self.out)) else self.a == self.out
        return (xp.where(hit, g / hit.sum().astype(g.dtype), g.dtype.type(0)),)


def _whole_median(input, ignore_nan: bool):
    a = input._data
    xp = _xp(a)
    flat = a.reshape(-1)
    if flat.size == 0:
        return EvenlyShared.apply(input, value=xp.asarray(np.nan, dtype=a.dtype))
    if a.dtype.kind == "f" and ignore_nan:
        n = int((~xp.isnan(flat)).sum())
    else:
        n = flat.size
    if a.dtype.kind == "f" and not ignore_nan and bool(xp.isnan(flat).any()):
        value = xp.asarray(np.nan, dtype=a.dtype)
    else:
        value = xp.sort(flat)[builtins.max(n - 1, 0) // 2]
    return EvenlyShared.apply(input, value=xp.asarray(value, dtype=a.dtype))


def _no_bool(kernel: str, input) -> None:
    if input._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def median(input, dim=None, keepdim=False):
    """The lower median: of all elements (NaN if there is one), or (values, indices)
    along `dim`."""
    tensor_arg("median", input)
    _no_bool("median_cpu" if dim is None else "median_out", input)
    if dim is None:
        return _whole_median(input, ignore_nan=False)

    def choose(a, axis):
        idx = _kth_index(a, axis, (a.shape[axis] - 1) // 2)
        return _first_nan_or(a, axis, idx)

    return _picked("median", input, dim, keepdim, choose)


def nanmedian(input, dim=None, keepdim=False):
    """median that ignores NaNs (NaN only where all are NaN)."""
    tensor_arg("nanmedian", input)
    _no_bool("median_cpu" if dim is None else "median_out", input)
    if dim is None:
        return _whole_median(input, ignore_nan=True)

    def choose(a, axis):
        xp = _xp(a)
        if a.dtype.kind != "f":
            return _kth_index(a, axis, (a.shape[axis] - 1) // 2)
        count = (~xp.isnan(a)).sum(axis=axis, keepdims=True)
        return _kth_index(a, axis, xp.maximum(count - 1, 0) // 2)

    return _picked("nanmedian", input, dim, keepdim, choose)


def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element along `dim` (k counts from 1)."""
    tensor_arg("kthvalue", input)
    _no_bool("kthvalue_cpu", input)
    axis = _one_dim("kthvalue", input, dim)
    size = input.shape[axis] if input.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    return _picked("kthvalue", input, dim, keepdim, lambda a, ax: _kth_index(a, ax, k - 1))


def _mode_index(a, axis):
    """The most frequent value's last index along `axis` (the smallest such value)."""
    xp = _xp(a)
    moved = xp.moveaxis(a, axis, -1)
    counts = (moved[..., :, None] == moved[..., None, :]).sum(axis=-1)
    best = counts == counts.max(axis=-1, keepdims=True)
    if moved.dtype.kind == "f":  # a NaN equals nothing: each counts once, and loses ties
        nan = xp.isnan(moved)
        best &= ~nan
        some = best.any(axis=-1, keepdims=True)
        value = xp.where(best, moved, moved.dtype.type(np.inf)).min(axis=-1, keepdims=True)
        value = xp.where(some, value, moved.dtype.type(np.nan))
        hit = moved == value
        n = moved.shape[-1]
        last = (n - 1) - xp.argmax(xp.flip(hit, axis=-1), axis=-1)
        last = xp.where(some[..., 0], last, xp.argmax(nan, axis=-1))  # all NaN: the first
        return xp.expand_dims(last, axis)
    else:
        big = moved.max(axis=-1, keepdims=True)
        value = xp.where(best, moved, big).min(axis=-1, keepdims=True)
        hit = moved == value
    n = moved.shape[-1]
    last = (n - 1) - xp.argmax(xp.flip(hit, axis=-1), axis=-1)
    return xp.expand_dims(last, axis)


def mode(input, dim=-1, keepdim=False):
    """(values, indices): the most frequent value along `dim` (the smallest among equally
    frequent ones) and the index of its last occurrence."""
    return _picked("mode", input, dim, keepdim, _mode_index)


def msort(input):
    """`input` sorted along its first dimension."""
    tensor_arg("msort", input)
    return indexing.sort(input, dim=0).values


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op: str, input, q, dim, keepdim, interpolation, ignore_nan):
    tensor_arg(op, input)
    a = input._data
    xp = _xp(a)
    if a.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{op}() interpolation must be one of linear, lower, higher, midpoint or "
            f"nearest, but got {interpolation}"
        )
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
        scalar_q = q.ndim == 0
        qs = q._data.reshape(-1).astype(a.dtype)
    else:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {q}")
        scalar_q = True
        qs = xp.asarray([q], dtype=a.dtype)
    if bool(((qs < 0) | (qs > 1)).any()):
        raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    if input.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    if dim is None:
        work = input.reshape(-1)
        rest_ndim = input.ndim
    else:
        axis = _one_dim(op, input, dim)
        work = input if input.ndim else input.reshape(1)
        perm = [d for d in range(work.ndim) if d != axis] + [axis]
        work = work.permute(*perm)
    ordered = indexing.sort(work, dim=-1).values  # NaN last
    s = ordered._data
    n = s.shape[-1]
    nan = xp.isnan(s)
    if ignore_nan:
        count = (~nan).sum(axis=-1, keepdims=True)
        last = xp.where(count == 0, n - 1, count - 1)
    else:
        last = xp.full(s.shape[:-1] + (1,), n - 1)
    qs = qs.reshape((-1,) + (1,) * s.ndim)
    ranks = qs * last.astype(a.dtype)  # (nq, ..., 1)
    if not ignore_nan:
        ranks = xp.where(nan.any(axis=-1, keepdims=True), a.dtype.type(n - 1), ranks)
    else:
        ranks = xp.where(count == 0, a.dtype.type(n - 1), ranks)
    below, above = xp.floor(ranks), xp.ceil(ranks)
    if interpolation == "lower":
        above = below
    elif interpolation == "higher":
        below = above
    elif interpolation == "nearest":
        below = above = xp.round(ranks)
    big = ordered.unsqueeze(0).expand(qs.shape[0], *s.shape)
    lo = indexing.gather(big, -1, _int_tensor(below)).squeeze(-1)
    hi = indexing.gather(big, -1, _int_tensor(above)).squeeze(-1)
    if interpolation == "midpoint":
        weight = xp.full(ranks.shape[:-1], 0.5, dtype=a.dtype)
    else:
        weight = (ranks - below)[..., 0]
    w = Tensor._make(xp.asarray(weight, dtype=a.dtype), False, None)
    out = lo + w * (hi - lo)
    if keepdim:
        if dim is None:
            out = out.reshape((qs.shape[0],) + (1,) * rest_ndim)
        elif input.ndim:
            out = out.unsqueeze(axis + 1)
    if scalar_q:
        out = out.squeeze(0)
    return out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles along `dim` (of all elements when None), NaN where a NaN is."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile that ignores NaNs."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


def _nan_mask(input) -> Tensor:
    return Tensor._make(_xp(input._data).isnan(input._data), False, None)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """sum treating NaN as zero."""
    tensor_arg("nansum", input)
    if input._data.dtype.kind == "f":
        input = indexing.masked_fill(input, _nan_mask(input), 0.0)
    return reduce.sum(input, dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """mean of the non-NaN elements."""
    tensor_arg("nanmean", input)
    if input._data.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{str(input.dtype).removeprefix('torch.').capitalize()}"
        )
    if dtype is not None:
        input = input.to(dtype)
    kept = Tensor._make(~_xp(input._data).isnan(input._data), False, None)
    count = reduce.sum(kept, dim, keepdim).to(input.dtype)
    return nansum(input, dim, keepdim) / count


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over `dim`."""
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    v = reduce.var(input, dim, unbiased, keepdim, correction=correction)
    return v, reduce.mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over `dim`."""
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    s = reduce.std(input, dim, unbiased, keepdim, correction=correction)
    return s, reduce.mean(input, dim, keepdim)


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over `dim` (all elements when None)."""
    tensor_arg("aminmax", input)
    if dim is None and keepdim:
        shape = (1,) * input.ndim
        low, high = aggregate.amin(input).reshape(shape), aggregate.amax(input).reshape(shape)
        return return_types.aminmax(low, high)
    dims = () if dim is None else dim
    low, high = aggregate.amin(input, dims, keepdim), aggregate.amax(input, dims, keepdim)
    return return_types.aminmax(low, high)


def _running_extremum(op: str, input, dim):
    tensor_arg(op, input)
    axis = _one_dim(op, input, dim)
    if input.ndim == 0:
        zero = _int_tensor(_xp(input._data).zeros((), np.int64))
        return getattr(return_types, op)(input.clone(), zero)
    a = input._data
    xp = _xp(a)
    moved = xp.moveaxis(a, axis, 0)
    idx = xp.zeros(moved.shape, dtype=np.int64)
    if moved.shape[0]:
        best, at = moved[0].copy(), xp.zeros(moved.shape[1:], dtype=np.int64)
        for i in range(moved.shape[0]):
            x = moved[i]
            take = (x >= best) if op == "cummax" else (x <= best)
            if a.dtype.kind == "f":
                take = (take | xp.isnan(x)) & ~xp.isnan(best) | xp.isnan(x)
            best = xp.where(take, x, best)
            at = xp.where(take, i, at)
            idx[i] = at
    idx = xp.moveaxis(idx, 0, axis)
    values = indexing.gather(input, axis, _int_tensor(xp.ascontiguousarray(idx)))
    return getattr(return_types, op)(values, _int_tensor(xp.ascontiguousarray(idx)))


def cummax(input, dim):
    """(values, indices) of the running maximum along `dim` (a later tie's index wins)."""
    return _running_extremum("cummax", input, dim)


def cummin(input, dim):
    """(values, indices) of the running minimum along `dim` (a later tie's index wins)."""
    return _running_extremum("cummin", input, dim)


class LogCumSumExp(Function):
    """log(cumsum(exp(x))) computed stably; its gradient at x[j] is
    sum over i >= j of g[i] * exp(x[j] - out[i])."""

    op = "logcumsumexp"
    saves = ((0, None), ("out", None))

    def forward(self, a, axis):
        xp = _xp(a)
        self.a, self.axis = a, axis
        moved = xp.moveaxis(a, axis, -1)
        out = xp.empty_like(moved)
        if moved.shape[-1]:
            acc = moved[..., 0].copy()
            out[..., 0] = acc
            for i in range(1, moved.shape[-1]):
                acc = xp.logaddexp(acc, moved[..., i])
                out[..., i] = acc
        self.out = xp.ascontiguousarray(xp.moveaxis(out, -1, axis))
        return self.out

    def backward(self, g):
        xp = _xp(g)
        x = xp.moveaxis(self.a, self.axis, -1)
        out = xp.moveaxis(self.out, self.axis, -1)
        gm = xp.moveaxis(g, self.axis, -1)
        n = x.shape[-1]
        later = xp.arange(n)[None, :] >= xp.arange(n)[:, None]  # [j, i]: i >= j
        diff = x[..., :, None] - out[..., None, :]
        diff = xp.where(later & ~xp.isnan(diff), diff, g.dtype.type(-np.inf))
        grad = (xp.exp(diff) * gm[..., None, :]).sum(axis=-1)
        return (xp.ascontiguousarray(xp.moveaxis(grad, -1, self.axis)),)


def logcumsumexp(input, dim):
    """log of the running sum of exp along `dim`."""
    tensor_arg("logcumsumexp", input)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f"\"logcumsumexp_out_cpu\" not implemented for '{scalar_name(input._data.dtype)}'"
        )
    if input.ndim == 0:
        return input.clone()
    return LogCumSumExp.apply(input, axis=_one_dim("logcumsumexp", input, dim))


def _slice_along(t, axis, start, stop):
    index = (slice(None),) * axis + (slice(start, stop),)
    return t[index]


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along `dim`, after prepend and append are joined on."""
    tensor_arg("diff", input)
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = _one_dim("diff", input, dim)
    parts = [p for p in (prepend, input, append) if p is not None]
    x = movement.cat(parts, axis) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[axis]
        if length == 0:
            break
        later, earlier = _slice_along(x, axis, 1, None), _slice_along(x, axis, 0, length - 1)
        x = (later != earlier) if x._data.dtype.kind == "b" else later - earlier
    return x


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule's integral of y along `dim`, at points x or spacing dx."""
    tensor_arg("trapezoid", y)
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments: x and dx")
    axis = _one_dim("trapezoid", y, dim)
    length = y.shape[axis]
    if length == 0:
        return reduce.sum(y, axis) * 0
    pair = _slice_along(y, axis, 1, None) + _slice_along(y, axis, 0, length - 1)
    if x is None or not isinstance(x, Tensor):
        step = 1 if dx is None and x is None else (dx if x is None else x)
        return reduce.sum(pair, axis) * (step / 2)
    spacing = diff(x, dim=-1 if x.ndim == 1 else dim)
    if x.ndim == 1:
        spacing = spacing.reshape((-1,) + (1,) * (y.ndim - 1 - axis))
    return reduce.sum(spacing * pair, axis) / 2


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal-rule integral of y along `dim` (one element shorter)."""
    tensor_arg("cumulative_trapezoid", y)
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid() received an invalid combination of arguments")
    axis = _one_dim("cumulative_trapezoid", y, dim)
    length = y.shape[axis]
    pair = _slice_along(y, axis, 1, None) + _slice_along(y, axis, 0, builtins.max(length - 1, 0))
    if x is None or not isinstance(x, Tensor):
        step = 1 if dx is None and x is None else (dx if x is None else x)
        return (pair * (step / 2)).cumsum(axis)
    spacing = diff(x, dim=-1 if x.ndim == 1 else dim)
    if x.ndim == 1:
        spacing = spacing.reshape((-1,) + (1,) * (y.ndim - 1 - axis))
    return (spacing * pair / 2).cumsum(axis)


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def histc(input, bins=100, min=0, max=0):
    """Counts of `input`'s elements in `bins` equal bins from min to max (the data's range
    when both are 0); elements outside are left out."""
    tensor_arg("histc", input)
    a = input._data
    xp = _xp(a)
    if a.dtype.kind != "f":
        raise NotImplementedError(
            f"\"histogram_cpu\" not implemented for '{scalar_name(input._data.dtype)}'"
        )
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0")
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc(): max must be larger than min")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc(): range of [{lo}, {hi}] is not finite")
    flat = a.reshape(-1)
    flat = flat[(flat >= lo) & (flat <= hi)]
    pos = ((flat - a.dtype.type(lo)) / a.dtype.type(hi - lo) * a.dtype.type(bins)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    counts = xp.bincount(pos, minlength=bins)[:bins]
    return Tensor._make(counts.astype(a.dtype), False, None)


def _search_side(right, side) -> str:
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(
                f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}"
            )
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of "
                "left while right was True"
            )
        return side
    return "right" if right else "left"


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where `input`'s values would go in the sorted innermost rows of `sorted_sequence`."""
    tensor_arg("searchsorted", sorted_sequence, "sorted_sequence")
    seq = sorted_sequence._data
    xp = _xp(seq)
    how = _search_side(right, side)
    scalar = not isinstance(input, Tensor)
    values = xp.asarray(input, dtype=seq.dtype) if scalar else input._data
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data.astype(np.int64), axis=-1)
    if scalar and seq.ndim != 1:
        raise RuntimeError(
            "torch.searchsorted(): input value can be a scalar only when boundaries tensor "
            f"dimension is 1, but we got boundaries tensor dim({seq.ndim}) and input value's "
            "dim(0) numel(1)"
        )
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=how)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first "
                "N-1 dimensions of boundaries tensor and input value tensor must match, but "
                f"we got boundaries tensor {list(seq.shape)} and input value tensor "
                f"{list(values.shape)}"
            )
        rows = seq.reshape(-1, seq.shape[-1])
        vals = values.reshape(-1, values.shape[-1])
        out = xp.stack([xp.searchsorted(r, v, side=how) for r, v in zip(rows, vals, strict=True)])
        out = out.reshape(values.shape)
    out = xp.asarray(out, dtype=np.int32 if out_int32 else np.int64)
    return Tensor._make(out, False, None)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value of `input` among the 1-d sorted `boundaries`."""
    tensor_arg("bucketize", boundaries, "boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """`input` with each run of equal consecutive values (slices along `dim`) kept once,
    with, when asked, each element's run and the runs' lengths."""
    tensor_arg("unique_consecutive", input)
    a = input._data
    xp = _xp(a)
    if dim is None:
        flat = a.reshape(-1)
        starts = xp.ones(flat.shape, dtype=bool)
        if flat.size:
            starts[1:] = flat[1:] != flat[:-1]
        values = Tensor._make(flat[starts], False, None)
        inverse_shape = a.shape
    else:
        axis = _one_dim("unique_consecutive", input, dim)
        moved = xp.moveaxis(a, axis, 0)
        rows = moved.reshape(moved.shape[0], -1)
        starts = xp.ones(rows.shape[0], dtype=bool)
        if rows.shape[0]:
            starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        kept = xp.moveaxis(moved[starts], 0, axis)
        values = Tensor._make(xp.ascontiguousarray(kept), False, None)
        inverse_shape = (rows.shape[0],)
    run = xp.cumsum(starts.astype(np.int64)) - 1
    out = [values]
    if return_inverse:
        out.append(_int_tensor(run.reshape(inverse_shape)))
    if return_counts:
        out.append(_int_tensor(xp.bincount(run, minlength=int(starts.sum()))))
    return out[0] if len(out) == 1 else tuple(out)
