"""The one place that knows NumPy from CuPy."""

from __future__ import annotations

import ctypes
import functools
import glob
import math
import os

import numpy as np

from engine import _fast

_cupy = None
_cuda_ok: bool | None = None
cuda_used = False  # set once any array is placed on the GPU: only then can devices mix


def _import_cupy():
    global _cupy
    if _cupy is None:
        import cupy  # optional dependency, imported on demand

        _cupy = cupy
    return _cupy


def is_cuda_available() -> bool:
    """True only when CuPy is installed and an allocation on a GPU succeeds."""
    global _cuda_ok
    if _cuda_ok is None:
        try:
            cp = _import_cupy()
            cp.zeros(1, dtype=cp.float32) + 1
            _cuda_ok = True
        except Exception:  # no cupy, no driver, no device: all mean "no GPU"
            _cuda_ok = False
    return _cuda_ok


def xp(device: str):
    """The array module for a device name ('cpu' or 'cuda')."""
    if device == "cpu":
        return np
    if device == "cuda":
        if not is_cuda_available():
            raise RuntimeError(
                "device 'cuda' is not available: install the 'gpu' extra "
                "(cupy-cuda12x) and check that an NVIDIA GPU and driver are present"
            )
        return _cupy
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def device_of(array) -> str:
    """'cpu' for NumPy arrays, 'cuda' for CuPy arrays."""
    return "cpu" if isinstance(array, np.ndarray | np.generic) else "cuda"


def array_module(array):
    """The array module that owns `array`."""
    return np if isinstance(array, np.ndarray | np.generic) else _cupy


def to_device(array, device: str):
    """Copy `array` to `device` (no copy when it is already there)."""
    global cuda_used
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    cuda_used = True
    return xp("cuda").asarray(array)


def check_same_device(op: str, arrays) -> None:
    """Raise a clear error when the arrays of one op live on different devices."""
    devices = [device_of(a) for a in arrays]
    if len(set(devices)) > 1:
        where = ", ".join(f"input {i} on {d}" for i, d in enumerate(devices))
        raise RuntimeError(f"{op}: expected all tensors on the same device, got {where}")


def to_numpy(array) -> np.ndarray:
    """A host copy (or view, on the CPU) of `array` as a NumPy array."""
    return np.asarray(array) if device_of(array) == "cpu" else array.get()


def index_add(out, index, values) -> None:
    """out[index] += values, with repeated indices adding up."""
    if device_of(out) == "cpu":
        np.add.at(out, index, values)
    else:
        import cupyx

        cupyx.scatter_add(out, index, values)


def broadcast_view(a, shape):
    """`a` broadcast to `shape` as a view that can be written, as PyTorch's expand (NumPy's
    own is read-only): whether a write may go through is `internal_overlap`'s to say."""
    out = array_module(a).broadcast_to(a, shape)
    if isinstance(a, np.ndarray) and a.flags.writeable and not out.flags.writeable:
        out = np.lib.stride_tricks.as_strided(a, out.shape, out.strides)
    return out


def _address(a) -> int:
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    return a.__cuda_array_interface__["data"][0]


def internal_overlap(a) -> bool:
    """Whether two elements of `a` are one place in memory (an expanded dimension), which
    PyTorch refuses to write to."""
    return a.size > 1 and any(n > 1 and s == 0 for n, s in zip(a.shape, a.strides, strict=True))


def _dense(a) -> bool:
    """PyTorch's non-overlapping-and-dense: some order of the dims is contiguous."""
    need = a.itemsize
    for stride, n in sorted((s, n) for n, s in zip(a.shape, a.strides, strict=True) if n > 1):
        if stride != need:
            return False
        need *= n
    return True


def same_view(a, b) -> bool:
    """Whether `a` and `b` are the same elements of the same memory (PyTorch's copy_ of
    such a pair does nothing)."""
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
        and device_of(a) == device_of(b)
        and _address(a) == _address(b)
    )


def partial_overlap(a, b) -> bool:
    """PyTorch's partial overlap of two dense arrays: their spans of memory meet but are not
    the same elements (where either is not dense, PyTorch does not tell, nor do we)."""
    if not a.size or not b.size or device_of(a) != device_of(b):
        return False
    if not array_module(a).may_share_memory(a, b) or not (_dense(a) and _dense(b)):
        return False
    a_begin, b_begin = _address(a), _address(b)
    a_end, b_end = a_begin + a.nbytes, b_begin + b.nbytes
    if a_begin == b_begin and a_end == b_end:
        return a.strides != b.strides
    return a_begin < b_end and b_begin < a_end


def erf(x):
    """The error function, elementwise, in x's dtype."""
    if device_of(x) == "cuda":
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    return _erf_cpu(x).astype(x.dtype, copy=False)


_erf_cpu = np.vectorize(math.erf, otypes=[np.float64])

# A NaN or Inf inside a network is something to show the user (the debugger
# finds its source), not a warning printed over the terminal UI, and PyTorch
# prints none. Ops run their arrays under `quiet_float_errors()`; NumPy's own
# settings, for code outside the engine, stay as the process set them.
FLOAT_ERRORS = {"all": "ignore"}


def quiet_float_errors():
    """Context manager: NumPy float errors (NaN, Inf, overflow) pass silently inside it."""
    return np.errstate(**FLOAT_ERRORS)


_tuned = False


def tune() -> None:
    """Tune the process for training speed; the app calls it once at start.

    Changes the C allocator for the whole process (glibc on Linux only, nothing
    elsewhere): blocks up to 32 MiB come from the heap rather than fresh pages, and
    freed memory stays with the process up to 128 MiB. A training step allocates
    activation-sized arrays again and again; without this glibc returns every block
    over 128 KiB to the OS when freed and each step pays page faults to get it back
    (measured: a LeNet-5 step 20-30% faster). Calling it again does nothing.
    """
    global _tuned
    if _tuned:
        return
    _tuned = True
    _fast.keep_large_arrays_on_the_heap()


def set_fast(on: bool = True) -> None:
    """Use the engine's speed tricks (the default) or the plain code beside them.

    Both give the same values to float rounding; the plain path is slower and
    easier to read. Honoured by every op called after it, on every thread.
    See `engine/_fast.py` for each trick and its measured gain.
    """
    _fast.set_enabled(on)


def fast_enabled() -> bool:
    """Whether the engine's speed tricks are in use."""
    return _fast.enabled()


def is_tuned() -> bool:
    """Whether `tune()` has run in this process."""
    return _tuned


def limit_blas_threads(n: int) -> int | None:
    """Let matrix products made on the calling thread use at most `n` BLAS threads.

    For threads that run ops while the terminal UI draws on the main thread: on two
    cores, OpenBLAS's spinning helpers starve the UI (a LeNet-5 convolution backward
    measured 10 ms alone, 100-260 ms beside the UI). Needs the per-thread setting of
    OpenBLAS 0.3.27+, which NumPy's wheels ship; returns the previous count, or None
    where the BLAS has no such setting (nothing changes then).
    """
    setter = _blas_thread_setter()
    return None if setter is None else int(setter(int(n)))


@functools.cache
def _blas_thread_setter():
    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(folder, "*openblas*")):
        try:
            setter = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None
