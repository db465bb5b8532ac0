"""torch.finfo and torch.iinfo: the limits of a floating or integer dtype."""

from __future__ import annotations

import numpy as np

from engine import dtypes as _dt


class finfo:
    """Machine limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, type=None):
        dt = _dt.to_dtype(type if type is not None else _dt.default_dtype)
        if dt.np.kind != "f":
            raise TypeError(
                "torch.finfo() requires a floating point input type. Use torch.iinfo to "
                "handle 'torch.finfo'"
            )
        info = np.finfo(dt.np)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = dt.np.name

    def __eq__(self, other) -> bool:
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("finfo", self.dtype))

    def __repr__(self) -> str:
        fields = ("resolution", "min", "max", "eps", "smallest_normal", "tiny")
        body = ", ".join(f"{name}={getattr(self, name):g}" for name in fields)
        return f"finfo({body}, dtype={self.dtype})"


class iinfo:
    """Limits of an integer dtype."""

    def __init__(self, type):
        dt = _dt.to_dtype(type)
        if dt.np.kind not in "iu":
            raise TypeError(
                "torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                "'torch.iinfo'"
            )
        info = np.iinfo(dt.np)
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)
        self.dtype = dt.np.name

    def __eq__(self, other) -> bool:
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("iinfo", self.dtype))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
