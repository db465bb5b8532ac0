"""Constructor-argument checks shared by the layers: errors name the argument and value."""

from __future__ import annotations

import math
import os

import numpy as np


def positive_int(layer: str, name: str, value, allow_zero: bool = False) -> int:
    ok = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        need = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{layer}: {name} must be {need} integer, got {value!r}")
    return value


def pair(layer: str, name: str, value, allow_zero: bool = False) -> tuple[int, int]:
    items = (value, value) if isinstance(value, int) else tuple(value)
    if len(items) != 2:
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(positive_int(layer, name, v, allow_zero) for v in items)


def probability(layer: str, name: str, value) -> float:
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{layer}: {name} has to be between 0 and 1, but got {value!r}")
    return float(value)


def choice(layer: str, name: str, value, options) -> str:
    if value not in options:
        raise ValueError(
            f"{layer}: {name} must be one of {', '.join(map(repr, options))}, got {value!r}"
        )
    return value


def memory_bytes() -> int:
    """This machine's physical memory: no one tensor or layer may ask for more."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf: only the int64 limit holds
        return 2**63 - 1


def allocation(what: str, shapes, dtype=None) -> None:
    """Refuse, before any allocation, tensors that need more bytes than this machine has
    (PyTorch fails with "Storage size calculation overflowed" or "can't allocate memory")."""
    from engine.dtypes import default_dtype, to_dtype

    itemsize = np.dtype(default_dtype.np if dtype is None else to_dtype(dtype).np).itemsize
    count = sum(math.prod(shape) for shape in shapes)
    need, have = count * itemsize, memory_bytes()
    if need > have:
        raise RuntimeError(
            f"{what} would need {need:.3g} bytes ({count:,} values of {itemsize} bytes), more "
            f"than this machine's {have:.3g} bytes of memory; refusing to allocate"
        )
