"""Data types and devices with PyTorch's names."""

from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tensor element type; wraps the NumPy dtype that stores it."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize", "tensor_type")

    def __init__(self, name: str, tensor_type: str):
        self.name = name
        self.tensor_type = tensor_type  # PyTorch's legacy type name: "FloatTensor"
        self.np = np.dtype(name)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"engine.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


float16 = dtype("float16", "HalfTensor")
float32 = dtype("float32", "FloatTensor")
float64 = dtype("float64", "DoubleTensor")
uint8 = dtype("uint8", "ByteTensor")
int8 = dtype("int8", "CharTensor")
int16 = dtype("int16", "ShortTensor")
int32 = dtype("int32", "IntTensor")
int64 = dtype("int64", "LongTensor")
bool_ = dtype("bool", "BoolTensor")

half, float_, double = float16, float32, float64
short, int_, long = int16, int32, int64

_BY_NUMPY = {d.np: d for d in (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)}
_ALIASES = {
    float: float64,  # torch.tensor(x, dtype=float) is float64
    int: int64,
    builtins.bool: bool_,
    "float": float32,
    "double": float64,
    "half": float16,
    "long": int64,
    "int": int32,
    "bool": bool_,
}

_BY_TENSOR_TYPE = {d.tensor_type: d for d in _BY_NUMPY.values()}

default_dtype = float32  # read as `dtypes.default_dtype` at each use: set_default_dtype changes it


def get_default_dtype() -> dtype:
    """The dtype Python floats and the float factories (zeros, rand, ...) give."""
    return default_dtype


def set_default_dtype(d) -> None:
    """Make `d` (float16, float32 or float64) the dtype of new float tensors."""
    global default_dtype
    if isinstance(d, dtype) or d in (float, "float64", "float32", "float16"):
        d = to_dtype(d)
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    default_dtype = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The engine dtype for a NumPy dtype."""
    try:
        return _BY_NUMPY[np_dtype]
    except KeyError:
        raise TypeError(f"unsupported element type {np_dtype}") from None


_SCALAR_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long"}
_SCALAR_NAMES |= {"int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def scalar_name(np_dtype) -> str:
    """PyTorch's C++ name of a dtype, as its error messages spell it (float64: Double)."""
    name = np.dtype(np_dtype).name
    return _SCALAR_NAMES.get(name, name)


def to_dtype(value) -> dtype:
    """Accept an engine dtype, a NumPy dtype, a Python type or a name."""
    value = getattr(value, "legacy_dtype", value)  # engine.LongTensor and its kin
    if isinstance(value, dtype):
        return value
    if value in _ALIASES:
        return _ALIASES[value]
    if isinstance(value, str) and value.endswith("Tensor"):  # "torch.LongTensor", for .type()
        found = _BY_TENSOR_TYPE.get(value.rpartition(".")[2])
        if found is not None:
            return found
    try:
        return from_numpy_dtype(np.dtype(value))
    except TypeError:
        raise TypeError(f"unknown dtype {value!r}") from None


class device:
    """Where a tensor lives: 'cpu' or 'cuda'. Compares equal to its name."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name, _, number = str(type).partition(":")
        if name not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {type!r}: expected 'cpu' or 'cuda'")
        self.type = name
        self.index = int(number) if number else index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{extra})"
