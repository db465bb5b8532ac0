"""Functions that make tensors, with PyTorch's names and defaults."""

from __future__ import annotations

import numpy as np

from engine import _checks, backend
from engine import dtypes as _dt
from engine.dtypes import device, int64, to_dtype
from engine.random import _rng
from engine.tensor import Tensor, _shape_arg, _to_array


def _finish(arr, dtype_, device_, requires_grad) -> Tensor:
    if dtype_ is not None:
        arr = arr.astype(to_dtype(dtype_).np, copy=False)
    if device_ is not None:
        arr = backend.to_device(arr, device(device_).type)
    t = Tensor._make(arr, False, None)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of `data` (floats become float32, ints int64)."""
    t = Tensor._make(_to_array(data, dtype, device), False, None)
    return t.requires_grad_(True) if requires_grad else t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, sharing memory where it can: a tensor is returned (converted only
    where dtype or device differ), a NumPy array of the wanted dtype on the CPU shared."""
    if isinstance(data, Tensor):
        if dtype is None and device is None:
            return data
        return data.to(device=device, dtype=dtype)
    on_cpu = device is None or str(device) == "cpu"
    if isinstance(data, np.ndarray) and on_cpu and data.dtype.kind in "biuf":
        if dtype is None or to_dtype(dtype).np == data.dtype:
            try:
                return from_numpy(data)
            except TypeError:  # a dtype the engine lacks: tensor() says so
                pass
    return tensor(data, dtype, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    to_dtype(array.dtype)  # rejects object and string arrays with a clear error
    return Tensor._make(array, False, None)


def _new_shape(op: str, size, dtype) -> tuple[int, ...]:
    """A shape PyTorch would make: no negative sizes, no more bytes than there is memory."""
    shape = _shape_arg(size)
    if any(n < 0 for n in shape):
        raise RuntimeError(f"{op}: Dimension size must be non-negative, got {list(shape)}")
    if any(n >= 2**63 for n in shape):
        raise TypeError(f"{op}(): size {list(shape)} overflows a 64-bit integer")
    _checks.allocation(f"{op}{tuple(shape)}", [shape], dtype)
    return shape


def _filled(size, value, dtype, device, requires_grad, op="full"):
    shape = _new_shape(op, size, dtype)
    dt = to_dtype(dtype).np if dtype is not None else _dt.default_dtype.np
    return _finish(np.full(shape, value, dtype=dt), None, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 0, dtype, device, requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 1, dtype, device, requires_grad, "ones")


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 0, dtype, device, requires_grad, "empty")


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = (
            "bool"
            if isinstance(fill_value, bool)
            else int64
            if isinstance(fill_value, int)
            else _dt.default_dtype
        )
    return _filled((size,), fill_value, dtype, device, requires_grad)


def _like(t: Tensor, dtype, device):
    return dtype or t.dtype, device or t.device


def zeros_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return zeros(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return ones(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return full(input.shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    integral = all(isinstance(v, int) for v in (start, end, step))
    dt = dtype or (int64 if integral else _dt.default_dtype)
    arr = np.arange(start, end, step, dtype=np.float64 if not integral else np.int64)
    return _finish(arr, dt, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = np.linspace(start, end, int(steps))
    return _finish(arr, dtype or _dt.default_dtype, device, requires_grad)


def logspace(
    start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False
) -> Tensor:
    """`steps` powers of `base`, their exponents evenly spaced from start to end."""
    arr = np.logspace(start, end, int(steps), base=base)
    return _finish(arr, dtype or _dt.default_dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = np.eye(n, n if m is None else m)
    return _finish(arr, dtype or _dt.default_dtype, device, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1)."""
    dt = to_dtype(dtype or _dt.default_dtype).np
    arr = _rng(generator).random(
        _new_shape("rand", size, dt), dtype=dt if dt.itemsize >= 4 else np.float32
    )
    return _finish(arr, dt, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal."""
    dt = to_dtype(dtype or _dt.default_dtype).np
    arr = _rng(generator).standard_normal(
        _new_shape("randn", size, dt), dtype=dt if dt.itemsize >= 4 else np.float32
    )
    return _finish(arr, dt, device, requires_grad)


def randint(
    low, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False
) -> Tensor:
    """Integers uniform on [low, high); int64 unless `dtype` says otherwise."""
    if size is None and isinstance(high, tuple | list):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: missing the 'size' argument")
    arr = _rng(generator).integers(low, high, size=_shape_arg((size,)), dtype=np.int64)
    return _finish(arr, dtype, device, requires_grad)


def randperm(n, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1."""
    return _finish(_rng(generator).permutation(int(n)), dtype or int64, device, False)


def rand_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return rand(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return randn(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)
