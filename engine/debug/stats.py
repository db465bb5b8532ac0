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

    Takes a Tensor or an array. Empty and all-NaN inputs give NaN statistics
    and an empty histogram, without warnings.
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
    zeros = n - int(xp.count_nonzero(flat))
    nan_count = inf_count = 0
    if a.dtype.kind == "f":
        total = flat.sum(dtype=np.float64)
        if not math.isfinite(float(total)):  # only then pay for the finiteness pass
            nan_mask = xp.isnan(flat)
            nan_count = int(nan_mask.sum())
            inf_count = int(xp.isinf(flat).sum())
            flat = flat[xp.isfinite(flat)]
            zeros = int((flat == 0).sum())
            total = flat.sum(dtype=np.float64)
    else:
        total = flat.sum(dtype=np.float64)
    m = int(flat.size)
    if m == 0:
        return Stats(shape, n, *([math.nan] * 5), nan_count, inf_count, zeros / n)
    f64 = flat if flat.dtype == np.float64 else flat.astype(np.float64)
    sq = float(f64 @ f64)
    mean = float(total) / m
    lo, hi = float(flat.min()), float(flat.max())
    var = max(sq / m - mean * mean, 0.0)
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


def _histogram(xp, flat, lo: float, hi: float, bins: int) -> tuple[list, list]:
    if lo == hi:
        return [lo - 0.5, hi + 0.5], [int(flat.size)]
    scale = bins / (hi - lo)
    idx = ((flat - lo) * scale).astype(np.int64)
    xp.minimum(idx, bins - 1, out=idx)
    counts = xp.bincount(idx, minlength=bins)
    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    return edges, [int(c) for c in backend.to_numpy(counts)]
