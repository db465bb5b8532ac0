"""Summary statistics of an array, computed on its device, returned as plain numbers."""

from __future__ import annotations

import math

import numpy as np

from engine import _fast, backend

HISTOGRAM_SAMPLE = 1 << 12  # past this many values the histogram counts an even sample
_SUMMARY = ("min", "max", "mean", "std", "norm", "nan_count", "inf_count", "zero_fraction")


class Stats:
    """What a tensor holds, at a glance. Statistics cover the finite values only.

    Read-only: shape, count, min, max, mean, std, norm, nan_count, inf_count,
    zero_fraction, and the histogram. An array of up to HISTOGRAM_SAMPLE values
    is copied whole and summarised when a statistic is first read (a copy is one
    call; a summary is several, which cost more than the copy inside a traced
    step); a larger one is summarised at once and keeps an even sample of its
    values for the histogram.
    """

    __slots__ = ("shape", "count", "bins", "_summary", "_sample", "_histogram")

    def __init__(self, shape: tuple, count: int, summary: tuple | None, bins: int, sample):
        self.shape, self.count, self.bins = shape, count, bins
        self._summary, self._sample, self._histogram = summary, sample, None

    def summary(self) -> tuple:
        """(min, max, mean, std, norm, nan_count, inf_count, zero_fraction)."""
        if self._summary is None:
            self._summary = _summarise(np, self._sample, self.count)[0]
        return self._summary

    min = property(lambda self: self.summary()[0])
    max = property(lambda self: self.summary()[1])
    mean = property(lambda self: self.summary()[2])
    std = property(lambda self: self.summary()[3])
    norm = property(lambda self: self.summary()[4])
    nan_count = property(lambda self: self.summary()[5])
    inf_count = property(lambda self: self.summary()[6])
    zero_fraction = property(lambda self: self.summary()[7])

    @property
    def finite(self) -> bool:
        return self.nan_count == 0 and self.inf_count == 0

    @property
    def nonfinite(self) -> int:
        return self.nan_count + self.inf_count

    @property
    def histogram(self) -> tuple[list, list]:
        """(bin edges, counts) over [min, max], computed when first asked for.

        Up to HISTOGRAM_SAMPLE values are counted exactly; past that, an even
        sample kept at summary time is counted and scaled to the total.
        """
        if self._histogram is None:
            sample = self._sample
            if sample is None or sample.size == 0 or self.nonfinite == self.count:
                self._histogram = [], []
            else:
                if self.nonfinite:
                    sample = sample[np.isfinite(sample)]
                finite = self.count - self.nonfinite
                self._histogram = _histogram(sample, finite, self.min, self.max, self.bins)
        return self._histogram

    @property
    def hist_edges(self) -> list:
        return self.histogram[0]

    @property
    def hist_counts(self) -> list:
        return self.histogram[1]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Stats):
            return NotImplemented
        mine, theirs = self.summary(), other.summary()
        nan_equal = (a == b or (a != a and b != b) for a, b in zip(mine, theirs, strict=True))
        same = all(nan_equal)
        return same and (self.shape, self.count) == (other.shape, other.count)

    __hash__ = None

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in zip(_SUMMARY, self.summary(), strict=True))
        return f"Stats(shape={self.shape!r}, count={self.count}, {values})"


def stats(x, bins: int = 20, histogram: bool = True) -> Stats:
    """min, max, mean, std, L2 norm, NaN and Inf counts, zero fraction and a histogram.

    Takes a Tensor or an array. Exact counts; the histogram of a large array is
    drawn from an even sample and scaled to its size. Empty and all-NaN inputs
    give NaN statistics and an empty histogram, without warnings.
    """
    a = getattr(x, "_data", x)
    shape, n = a.shape, a.size
    if n <= HISTOGRAM_SAMPLE:  # one copy now; the summary when it is first read
        host = backend.to_numpy(a)
        copy = np.array(host, np.float32 if host.dtype.kind == "b" else None, copy=True)
        return Stats(shape, n, None, bins, copy.reshape(-1))
    xp = backend.array_module(a)
    if a.dtype.kind == "b":
        a = a.astype(np.float32)
    flat = _flat(a)
    summary, finite = _summarise(xp, flat, n)
    sample = None
    if histogram:  # a bounded, evenly strided host copy: enough to draw the histogram later
        strided = finite[:: max(1, -(-finite.size // HISTOGRAM_SAMPLE))]
        sample = strided.copy() if xp is np else backend.to_numpy(strided)
    return Stats(shape, n, summary, bins, sample)


def _flat(a):
    """`a` as one dimension without copying, where its memory allows.

    Ops that compute through a transposed product return outputs whose axes are
    permuted in memory; ravel copies those, which costs a pass of its own.
    """
    if a.flags.c_contiguous:
        return a.reshape(-1)
    order = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))
    permuted = a.transpose(order)
    return permuted.reshape(-1) if permuted.flags.c_contiguous else a.ravel()


@backend.quiet_float_errors()
def _summarise(xp, flat, n: int) -> tuple[tuple, object]:
    """The summary tuple of a 1-D array, and the finite values it covers."""
    if flat.size == 0:
        return (*([math.nan] * 5), 0, 0, math.nan), flat
    nan_count = inf_count = 0
    total, sq, lo, hi, zeros = _moments(xp, flat)
    if not math.isfinite(total + sq) and flat.dtype.kind == "f":
        finite = xp.isfinite(flat)
        if not bool(finite.all()):  # NaN or Inf present: count them, summarise the rest
            nan_count = int(xp.isnan(flat).sum())
            inf_count = int(flat.size - finite.sum()) - nan_count
            flat = flat[finite]
            if flat.size == 0:
                return (*([math.nan] * 5), nan_count, inf_count, 0.0), flat
            total, sq, lo, hi, zeros = _moments(xp, flat)
        if not math.isfinite(total + sq):  # float32 sums overflowed: every value is finite
            f64 = flat.astype(np.float64)
            total, sq = float(f64.sum()), float(f64 @ f64)
    m = int(flat.size)
    mean = total / m
    var = max(sq / m - mean * mean, 0.0)
    if var < 1e-4 * mean * mean:  # the one-pass formula cancels when the spread is tiny
        centred = flat.astype(np.float64) - mean
        var = float(centred @ centred) / m
    summary = (lo, hi, mean, math.sqrt(var), math.sqrt(sq), nan_count, inf_count, zeros / n)
    return summary, flat


def _moments(xp, flat) -> tuple[float, float, float, float, int]:
    """Sum, sum of squares, min, max and zero count: at most five fast passes.

    On the CPU both sums come from `_fast.sum_and_squares`. The zeros are
    counted only when zero lies between the minimum and the maximum.
    """
    if xp is not np or flat.dtype.kind != "f":
        f = flat if flat.dtype.kind == "f" else flat.astype(np.float64)
        total, sq = float(f.sum()), float((f * f).sum())
        return total, sq, float(f.min()), float(f.max()), int(xp.count_nonzero(f == 0))
    total, sq = _fast.sum_and_squares(flat)
    lo, hi = float(np.minimum.reduce(flat)), float(np.maximum.reduce(flat))
    zeros = int(np.count_nonzero(flat == 0)) if lo <= 0.0 <= hi else 0
    return total, sq, lo, hi, zeros


@backend.quiet_float_errors()
def _histogram(
    sample: np.ndarray, total: int, lo: float, hi: float, bins: int
) -> tuple[list, list]:
    if lo == hi:
        return [lo - 0.5, hi + 0.5], [total]
    scale = bins / (hi - lo)
    wide = sample.astype(np.float64)
    idx = ((wide - lo) * scale).astype(np.intp)
    np.clip(idx, 0, bins - 1, out=idx)
    counts = np.bincount(idx, minlength=bins)
    if sample.size != total:
        counts = np.round(counts * (total / sample.size)).astype(np.int64)
    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    return edges, [int(c) for c in counts]
