"""How tensors print: PyTorch's choice of fixed or scientific notation, under the options
that torch.set_printoptions sets (engine.more_creation keeps them)."""

from __future__ import annotations

import math

import numpy as np


def format_array(arr: np.ndarray, prefix: str) -> str:
    """The elements of `arr` as PyTorch prints them after `prefix`."""
    from engine.more_creation import PRINT_OPTIONS as _OPTIONS

    precision, sci_mode = _OPTIONS["precision"], _OPTIONS["sci_mode"]
    kwargs = {
        "separator": ", ",
        "prefix": prefix,
        "threshold": sys_max if (t := _OPTIONS["threshold"]) == math.inf else t,
        "edgeitems": _OPTIONS["edgeitems"],
        "max_line_width": _OPTIONS["linewidth"] - 1,
        "precision": precision,
    }
    summarize = arr.size > kwargs["threshold"]
    if arr.dtype.kind == "f" and arr.size:
        shown = _shown(arr, kwargs["edgeitems"]) if summarize else arr
        finite = np.abs(shown[np.isfinite(shown)].astype(np.float64))
        nonzero = finite[finite != 0]
        integral = bool(np.all(np.ceil(finite) == finite))
        sci = bool(nonzero.size) and (
            nonzero.max() / nonzero.min() > 1000.0
            or nonzero.max() > 1.0e8
            or (not integral and nonzero.min() < 1.0e-4)
        )
        if sci_mode is not None:
            sci = sci_mode
            texts = [
                _text(v, precision, sci) for v in shown.ravel()[np.isfinite(shown.ravel())].tolist()
            ]
            width = max(map(len, texts), default=0)
            kwargs["formatter"] = {
                "float_kind": lambda v: _text(float(v), precision, sci).rjust(width)
            }
        elif sci or not integral:
            kwargs["floatmode"] = "fixed"
    text = np.array2string(arr, **kwargs)
    # PyTorch sets the ellipsis within a row one space further from the element before it
    return text.replace(", ...,", ",  ...,") if summarize else text


def _shown(arr: np.ndarray, edgeitems: int) -> np.ndarray:
    """The elements a summarised print shows: `edgeitems` at each end of every dimension."""
    for axis, size in enumerate(arr.shape):
        if size > 2 * edgeitems:
            keep = np.r_[0:edgeitems, size - edgeitems : size]
            arr = np.take(arr, keep, axis=axis)
    return arr


sys_max = np.iinfo(np.int64).max


def _text(value: float, precision: int, sci: bool) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{precision}e}" if sci else f"{value:.{precision}f}"
