"""Two-dimensional toy classification sets: moons, circles, spirals, XOR and blobs.

Each returns (X, y): X a float32 tensor (n, 2), y an int64 tensor (n,) of class
labels, shuffled, and the same for the same arguments (the seed drives a private
NumPy generator, never the global one).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence

import numpy as np

from engine.tensor import Tensor


def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles."""
    rng = _check(n, noise, seed, classes=2)
    n_out = n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n - n_out)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)
    return _finish(rng, [outer, inner], noise)


def make_circles(
    n: int = 200, noise: float = 0.05, seed: int = 0, factor: float = 0.5
) -> tuple[Tensor, Tensor]:
    """A small circle (label 1) inside a large one (label 0); `factor` is their radius ratio."""
    if not _is_real(factor) or not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be a number in (0, 1), got {factor!r}")
    rng = _check(n, noise, seed, classes=2)
    n_out = n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n - n_out, endpoint=False)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    return _finish(rng, [outer, inner], noise)


def make_spirals(
    n: int = 200, noise: float = 0.1, seed: int = 0, classes: int = 2
) -> tuple[Tensor, Tensor]:
    """`classes` spiral arms wound around the origin (radius up to 1, 1.25 turns each)."""
    if not _is_int(classes) or classes < 2:
        raise ValueError(f"make_spirals: classes must be an int >= 2, got {classes!r}")
    rng = _check(n, noise, seed, classes=classes)
    arms = []
    for k, m in enumerate(_split(n, classes)):
        r = np.linspace(0.05, 1, m)
        angle = 2.5 * np.pi * r + 2 * np.pi * k / classes
        arms.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
    return _finish(rng, arms, noise)


def make_xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Points in [-1, 1]^2; label 1 where x and y have different signs."""
    rng = _check(n, noise, seed, classes=2)
    points = rng.uniform(-1, 1, size=(n, 2))
    points += np.sign(points) * 0.05  # a small gap along the axes keeps the classes apart
    labels = (points[:, 0] > 0) != (points[:, 1] > 0)
    groups = [points[~labels], points[labels]]
    return _finish(rng, groups, noise)


def make_blobs(
    n: int = 200, noise: float = 0.5, seed: int = 0, centers: int | Sequence = 3
) -> tuple[Tensor, Tensor]:
    """Gaussian blobs with standard deviation `noise`, around `centers` points.

    An int places that many centers evenly on a circle of radius 2; a sequence of
    (x, y) pairs gives them explicitly.
    """
    if _is_int(centers):
        if centers < 1:
            raise ValueError(f"make_blobs: centers must be >= 1, got {centers}")
        rng = _check(n, noise, seed, classes=centers)  # before making that many centers
        angles = 2 * np.pi * np.arange(centers) / centers + np.pi / 2
        points = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        points = _pairs(centers)
        rng = _check(n, noise, seed, classes=len(points))
    groups = [
        np.repeat(c[None], m, axis=0) for c, m in zip(points, _split(n, len(points)), strict=True)
    ]
    return _finish(rng, groups, noise)


def _check(n: int, noise: float, seed: int, classes: int) -> np.random.Generator:
    if not _is_int(n) or n < classes:
        raise ValueError(f"n must be an int of at least {classes} (one per class), got {n!r}")
    if not _is_real(noise) or not 0 <= noise < math.inf:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return np.random.default_rng(seed)


def _pairs(centers) -> np.ndarray:
    """`centers` as a float array (k, 2) of finite points, k >= 1."""
    problem = (
        f"make_blobs: centers must be an int >= 1 or (x, y) pairs, got {reprlib.repr(centers)}"
    )
    if isinstance(centers, str | bytes) or not isinstance(centers, Sequence | np.ndarray):
        raise ValueError(problem)
    try:
        points = np.asarray(centers, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(problem) from None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 1:
        raise ValueError(
            f"make_blobs: centers must be (x, y) pairs, got {reprlib.repr(centers)} "
            f"(shape {points.shape})"
        )
    if not (np.abs(points) <= np.finfo(np.float32).max).all():  # NaN fails this too
        raise ValueError(
            f"make_blobs: centers must be finite float32 values, got {reprlib.repr(centers)}"
        )
    return points


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _split(n: int, parts: int) -> list[int]:
    """n as `parts` near-equal counts, the larger ones first."""
    return [n // parts + (i < n % parts) for i in range(parts)]


def _finish(rng: np.random.Generator, groups: list[np.ndarray], noise: float):
    """Stack the groups (group k has label k), add noise, shuffle, make tensors."""
    x = np.concatenate(groups).astype(np.float64)
    y = np.concatenate([np.full(len(g), k, dtype=np.int64) for k, g in enumerate(groups)])
    x += rng.normal(0.0, noise, size=x.shape) if noise else 0.0
    order = rng.permutation(len(y))
    with np.errstate(over="ignore"):
        points = x[order].astype(np.float32)
    if not np.isfinite(points).all():
        raise ValueError(f"noise {noise!r} puts points beyond float32's range")
    return Tensor._make(points, False, None), Tensor._make(y[order], False, None)
