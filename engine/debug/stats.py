"""Summary statistics of an array, computed on its device, returned as plain numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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
    hist_edges: list = field(default_factory=list)
    hist_counts: list = field(default_factory=list)

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
    flat = a.reshape(-1)
    zeros = int(xp.count_nonzero(flat == 0))
    nan_count = inf_count = 0
    total = _sum(xp, flat)
    if not math.isfinite(total) and a.dtype.kind == "f":  # only then pay for a finiteness pass
        nan_count = int(xp.isnan(flat).sum())
        inf_count = int(xp.isinf(flat).sum())
        flat = flat[xp.isfinite(flat)]
        zeros = int(xp.count_nonzero(flat == 0))
        total = float(flat.sum())
    m = int(flat.size)
    if m == 0:
        return Stats(shape, n, *([math.nan] * 5), nan_count, inf_count, zeros / n)
    if not math.isfinite(total):  # float32 sum overflowed although every value is finite
        total = float(flat.sum(dtype=np.float64))
    sq = (
        float(flat @ flat)
        if flat.dtype.kind == "f"
        else float((flat.astype(np.float64) ** 2).sum())
    )
    if not math.isfinite(sq):
        f64 = flat.astype(np.float64)
        sq = float(f64 @ f64)
    mean = total / m
    lo, hi = float(flat.min()), float(flat.max())
    var = max(sq / m - mean * mean, 0.0)
    if var < 1e-4 * mean * mean:  # the one-pass formula cancels when the spread is tiny
        centred = flat.astype(np.float64) - mean
        var = float(centred @ centred) / m
    edges: list = []
    counts: list = []
    if histogram:
        edges, counts = _histogram(xp, flat, lo, hi, bins)
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
        edges,
        counts,
    )


HISTOGRAM_SAMPLE = 1 << 14
_ONES: dict = {}


def _sum(xp, flat) -> float:
    """The sum, as a BLAS dot with ones on the CPU: a third of the time of NumPy's pairwise sum."""
    if xp is not np or flat.dtype.kind != "f":
        return float(flat.sum())
    ones = _ONES.get(flat.dtype)
    if ones is None or ones.size < flat.size:
        ones = _ONES[flat.dtype] = np.ones(max(flat.size, 1 << 16), flat.dtype)
    return float(
        flat @ ones[: flat.size]
    )  # past this many values the histogram counts an even sample, scaled


def _histogram(xp, flat, lo: float, hi: float, bins: int) -> tuple[list, list]:
    if lo == hi:
        return [lo - 0.5, hi + 0.5], [int(flat.size)]
    n = int(flat.size)
    sample = flat[:: -(-n // HISTOGRAM_SAMPLE)] if n > HISTOGRAM_SAMPLE else flat
    scale = bins / (hi - lo)
    idx = ((sample.astype(np.float64) - lo) * scale).astype(np.int32)
    xp.minimum(idx, bins - 1, out=idx)
    counts = backend.to_numpy(xp.bincount(idx, minlength=bins))
    if sample.size != n:
        counts = np.round(counts * (n / sample.size)).astype(np.int64)
    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    return edges, [int(c) for c in counts]
