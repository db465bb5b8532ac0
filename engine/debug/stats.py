"""Summary statistics of an array, computed on its device, returned as plain numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from engine import backend


@dataclass(frozen=True)
class Stats:
    """What a tensor holds, at a glance. Statistics cover the finite values only."""

    shape: tuple
    count: int
    min: float
    max: float
    mean: float
    std: float
    norm: float
    nan_count: int
    inf_count: int
    zero_fraction: float
    bins: int = 20
    sample: np.ndarray | None = field(default=None, repr=False, compare=False)

    @cached_property
    def histogram(self) -> tuple[list, list]:
        """(bin edges, counts) over [min, max], computed when first asked for.

        Up to HISTOGRAM_SAMPLE values are counted exactly; past that, an even
        sample kept at summary time is counted and scaled to the total.
        """
        if self.sample is None or self.sample.size == 0:
            return [], []
        return _histogram(
            self.sample, self.count - self.nan_count - self.inf_count, self.min, self.max, self.bins
        )

    @property
    def hist_edges(self) -> list:
        return self.histogram[0]

    @property
    def hist_counts(self) -> list:
        return self.histogram[1]

    @property
    def finite(self) -> bool:
        return self.nan_count == 0 and self.inf_count == 0

    @property
    def nonfinite(self) -> int:
        return self.nan_count + self.inf_count


def stats(x, bins: int = 20, histogram: bool = True) -> Stats:
    """min, max, mean, std, L2 norm, NaN and Inf counts, zero fraction and a histogram.

    Takes a Tensor or an array. Exact counts; the histogram of a large array is
    drawn from an even sample and scaled to its size. Empty and all-NaN inputs
    give NaN statistics and an empty histogram, without warnings.
    """
    a = getattr(x, "_data", x)
    xp = backend.array_module(a)
    shape = tuple(a.shape)
    n = int(a.size)
    if n == 0:
        return Stats(shape, 0, *([math.nan] * 5), 0, 0, math.nan)
    if a.dtype.kind == "b":
        a = a.astype(np.float32)
    flat = a.ravel(order="K")  # memory order: a view even of a transposed array
    nan_count = inf_count = 0
    total, sq, lo, hi, zeros = _moments(xp, flat)
    if not math.isfinite(total + sq) and a.dtype.kind == "f":
        finite = xp.isfinite(flat)
        if not bool(finite.all()):  # NaN or Inf present: count them, summarise the rest
            nan_count = int(xp.isnan(flat).sum())
            inf_count = int(flat.size - finite.sum()) - nan_count
            flat = flat[finite]
            if flat.size == 0:
                return Stats(shape, n, *([math.nan] * 5), nan_count, inf_count, 0.0)
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
    sample = None
    if histogram:  # a bounded, evenly strided host copy: enough to draw the histogram later
        step = -(-m // HISTOGRAM_SAMPLE)
        sample = np.array(backend.to_numpy(flat[::step]), copy=True)
    return Stats(
        shape,
        n,
        lo,
        hi,
        mean,
        math.sqrt(var),
        math.sqrt(sq),
        nan_count,
        inf_count,
        zeros / n,
        bins,
        sample,
    )


HISTOGRAM_SAMPLE = 1 << 12  # past this many values the histogram counts an even sample
_ONES: dict = {}


def _moments(xp, flat) -> tuple[float, float, float, float, int]:
    """Sum, sum of squares, min, max and zero count: five fast passes over the array.

    On the CPU both sums are BLAS dots (the plain sum against a cached vector of
    ones), three times faster than NumPy's pairwise sum.
    """
    if xp is not np or flat.dtype.kind != "f":
        f = flat if flat.dtype.kind == "f" else flat.astype(np.float64)
        total, sq = float(f.sum()), float((f * f).sum())
        return total, sq, float(f.min()), float(f.max()), int(xp.count_nonzero(f == 0))
    ones = _ONES.get(flat.dtype)
    if ones is None or ones.size < flat.size:
        ones = _ONES[flat.dtype] = np.ones(max(flat.size, 1 << 16), flat.dtype)
    total = float(flat @ ones[: flat.size])
    sq = float(flat @ flat)
    return total, sq, float(flat.min()), float(flat.max()), int(np.count_nonzero(flat == 0))


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
