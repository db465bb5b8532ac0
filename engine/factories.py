"""More tensor factories: empty_like, randint_like, and the legacy typed constructors
(`LongTensor([1, 2])`, `FloatTensor(2, 3)`) that PyTorch 1.0 programs use."""

from __future__ import annotations

import numpy as np

from engine import creation
from engine import dtypes as _dt
from engine.tensor import Size, Tensor, _to_array


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor shaped like `input` (its values are left as zeros)."""
    return creation.zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    """Integers uniform on [low, high) shaped like `input`, in input's dtype by default."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    dt, dev = dtype or input.dtype, device or input.device
    return creation.randint(
        low, high, tuple(input.shape), dtype=dt, device=dev, requires_grad=requires_grad
    )


class _LegacyType(type):
    """The metaclass of `FloatTensor` and its kin: calling one builds a tensor of its dtype,
    and isinstance(t, FloatTensor) asks whether t is a float32 tensor on the CPU."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and not obj.is_cuda and obj.dtype is cls.legacy_dtype

    def __call__(cls, *args, device=None) -> Tensor:
        dt = cls.legacy_dtype
        if len(args) == 1 and isinstance(args[0], Size):
            args = tuple(args[0])
        if not args:
            arr = np.zeros((0,), dt.np)
        elif all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            if any(a < 0 for a in args):
                raise RuntimeError(f"Trying to create tensor with negative dimension: {list(args)}")
            arr = np.zeros(args, dt.np)  # PyTorch leaves it uninitialised
        elif len(args) == 1 and not isinstance(args[0], Tensor | int | float | bool):
            arr = _to_array(args[0], dt, None)
        else:
            raise TypeError(
                f"{cls.__name__}(): expected sizes (ints) or one sequence of data, got "
                f"{tuple(type(a).__name__ for a in args)}"
            )
        out = Tensor._make(arr, False, None)
        return out if device is None else out.to(device)

    def __repr__(cls) -> str:
        return f"<class 'engine.{cls.__name__}'>"


def _legacy(name: str, dt) -> type:
    return _LegacyType(name, (), {"legacy_dtype": dt, "__module__": "engine"})


FloatTensor = _legacy("FloatTensor", _dt.float32)
DoubleTensor = _legacy("DoubleTensor", _dt.float64)
HalfTensor = _legacy("HalfTensor", _dt.float16)
LongTensor = _legacy("LongTensor", _dt.int64)
IntTensor = _legacy("IntTensor", _dt.int32)
ShortTensor = _legacy("ShortTensor", _dt.int16)
CharTensor = _legacy("CharTensor", _dt.int8)
ByteTensor = _legacy("ByteTensor", _dt.uint8)
BoolTensor = _legacy("BoolTensor", _dt.bool_)
