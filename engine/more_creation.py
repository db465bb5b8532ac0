"""Creation helpers, modes and numeric limits with PyTorch's names: logspace, tril/triu
indices, cartesian_prod, combinations, block_diag, vander, unravel_index,
print options, thread counts, finfo and iinfo."""

from __future__ import annotations

import builtins
import itertools
import os

import numpy as np

from engine import dtypes as _dt
from engine import ops
from engine.creation import _finish, ones_like, tensor, zeros
from engine.dtypes import to_dtype
from engine.ops.elementwise import tensor_arg
from engine.tensor import Tensor


def logspace(
    start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False
) -> Tensor:
    arr = np.power(float(base), np.linspace(float(start), float(end), int(steps)))
    return _finish(arr, dtype or _dt.default_dtype, device, requires_grad)


def _triangle_indices(row, col, offset, upper, dtype, device) -> Tensor:
    dt = to_dtype(dtype or _dt.int64)
    if dt.np.kind not in "iu":
        raise RuntimeError(f'"tril_indices" not implemented for {dt}')
    r, c = np.indices((int(row), int(col)))
    keep = (c - r >= offset) if upper else (c - r <= offset)
    return _finish(np.stack([r[keep], c[keep]]).reshape(2, -1), dt, device, False)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    return _triangle_indices(row, col, offset, False, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    return _triangle_indices(row, col, offset, True, dtype, device)


def _vectors(op: str, tensors) -> tuple:
    for t in tensors:
        tensor_arg(op, t)
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    return tuple(tensors)


def cartesian_prod(*tensors) -> Tensor:
    tensors = _vectors("cartesian_prod", tensors)
    if len(tensors) == 1:
        return tensors[0]
    grids = ops.shape_ops.meshgrid(*tensors, indexing="ij")
    return ops.stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False) -> Tensor:
    (input,) = _vectors("combinations", (input,))
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty(0)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(pick(range(input.shape[0]), r))
    if not idx:
        return input.new_empty(0, r)
    index = tensor(np.asarray(idx, dtype=np.int64), device=input.device)
    return input[index]


def block_diag(*tensors) -> Tensor:
    mats = []
    for k, t in enumerate(tensors):
        tensor_arg("block_diag", t)
        if t.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {k} "
                f"has {t.ndim} dimensions"
            )
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not mats:
        return zeros(1, 0)
    mats = ops.movement._common_dtype(mats)
    width = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        h, w = m.shape
        parts = [
            m.new_zeros(h, left),
            m,
            m.new_zeros(h, width - left - w),
        ]
        rows.append(ops.cat(parts, 1))
        left += w
    return ops.cat(rows, 0)


def vander(x, N=None, increasing=False) -> Tensor:
    x = tensor_arg("vander", x)
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "bu" or (x._data.dtype.kind == "i" and x._data.dtype.itemsize < 8):
        x = x.to(_dt.int64)
    if n == 0:
        return x.new_empty(x.shape[0], 0)
    col = x.reshape(-1, 1)
    powers = [ones_like(col)]
    for _ in range(n - 1):
        powers.append(powers[-1] * col)
    out = ops.cat(powers, 1)
    return out if increasing else ops.shape_ops.flip(out, 1)


def unravel_index(indices, shape) -> tuple:
    if not isinstance(indices, Tensor):
        indices = tensor(indices)
    if indices._data.dtype.kind not in "iu":
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(indices.dtype))
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    a = indices._data
    out = []
    for s in reversed(shape):
        out.append(a % s)
        a = a // s
    return tuple(Tensor._make(v.astype(np.int64), False, None) for v in reversed(out))


# ----- inference mode -------------------------------------------------------------------
class _InferenceState:
    enabled = False


_inference = _InferenceState()


_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": 2**63 - 1, "edgeitems": 3, "linewidth": 80},
}
PRINT_OPTIONS = dict(_PROFILES["default"], sci_mode=None)


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """Tensor repr options as torch.set_printoptions: a profile first, then each value given."""
    if profile is not None:
        if profile not in _PROFILES:
            raise KeyError(profile)
        PRINT_OPTIONS.update(_PROFILES[profile])
    for key, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            PRINT_OPTIONS[key] = value
    PRINT_OPTIONS["sci_mode"] = sci_mode


def array2string_options() -> dict:
    """The options above as numpy.array2string's keyword arguments."""
    o = PRINT_OPTIONS
    kw = {
        "precision": o["precision"],
        "threshold": builtins.min(o["threshold"], np.iinfo(np.int64).max),
        "edgeitems": o["edgeitems"],
        "max_line_width": o["linewidth"],
    }
    if o["sci_mode"] is True:
        p = o["precision"]
        kw["formatter"] = {"float_kind": lambda v: np.format_float_scientific(v, precision=p)}
    elif o["sci_mode"] is False:
        kw["suppress_small"] = True
        kw["floatmode"] = "fixed"
    return kw


# ----- threads --------------------------------------------------------------------------
_threads = {"n": builtins.max(1, (os.cpu_count() or 2) // 2)}


def set_num_threads(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, builtins.bool):
        raise TypeError(f"set_num_threads(): argument 'int' must be int, not {type(n).__name__}")
    if n <= 0:
        raise RuntimeError("Expected number of threads to be positive")
    _threads["n"] = n


def get_num_threads() -> int:
    return _threads["n"]


# ----- numeric limits -------------------------------------------------------------------
class finfo:
    """Limits of a floating dtype: bits, eps, max, min, tiny (smallest_normal), resolution."""

    def __init__(self, type=None):
        dt = to_dtype(type or _dt.default_dtype)
        if dt.np.kind != "f":
            raise TypeError(f"torch.finfo() requires a floating point input type. Use "
                            f"torch.iinfo to handle '{dt}'")  # fmt: skip
        info = np.finfo(dt.np)
        self.dtype = str(dt).split(".")[-1]
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype: bits, max, min."""

    def __init__(self, type):
        dt = to_dtype(type)
        if dt.np.kind not in "iu":
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo "
                            f"to handle '{dt}'")  # fmt: skip
        info = np.iinfo(dt.np)
        self.dtype = str(dt).split(".")[-1]
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
