"""Every speed trick of the engine, each beside the plain code it replaces."""

# The plain code is what each function does with the fast path off; it computes
# the same values (to float rounding) and is what a reader should take as the
# meaning. `set_enabled(False)` (also `engine.backend.set_fast(False)`) turns
# every trick off at call time; the tests run with the fast path on and off.
# Each docstring states the trick's measured gain (CPU, NumPy's OpenBLAS).

from __future__ import annotations

import ctypes
import sys
import threading

import numpy as np

_enabled = True


def set_enabled(on: bool = True) -> None:
    """Use the speed tricks (the default) or the plain code beside them."""
    global _enabled
    _enabled = bool(on)


def enabled() -> bool:
    """Whether the speed tricks are in use."""
    return _enabled


# ----- scratch arrays reused while no one else holds them ----------------------


class _ScratchArrays(threading.local):
    """Each thread's scratch arrays: a worker thread never writes into the UI thread's."""

    def __init__(self):
        self.arrays = {}


_scratch_arrays = _ScratchArrays()


def _refs(arrays: dict, key) -> int:
    return sys.getrefcount(arrays[key])


_FREE = _refs({0: np.empty(0)}, 0)  # the count of an array that only the cache holds


def scratch(xp, name: str, shape: tuple, dtype):
    """An uninitialised array of `shape` (plain: `xp.empty(shape, dtype)`).

    Fast: the same memory every call once nothing else holds it. NumPy hands
    multi-megabyte arrays back to the OS when they die, so a fresh one costs page
    faults on every call (about half a LeNet-5 step). An array still held anywhere
    (saved for backward, a view returned to the caller) has more references than
    `_FREE` and is never reused: a new one takes its place in the cache.
    """
    if not _enabled or xp is not np:
        return xp.empty(shape, dtype)  # CuPy keeps its own memory pool
    arrays = _scratch_arrays.arrays
    key = (name, shape, np.dtype(dtype))
    if key not in arrays or _refs(arrays, key) > _FREE:
        if len(arrays) > 64:  # many shapes seen: start over rather than grow
            arrays.clear()
        arrays[key] = np.empty(shape, dtype)
    return arrays[key]


# ----- masked gradients: select, never multiply by the mask ----------------------

_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def select(xp, mask, g, out=None):
    """`g` where `mask` holds, exactly 0 elsewhere, even where `g` is inf or NaN (which a
    product `g * mask` would turn into NaN); written into `out` when given.

    Plain: `xp.where(mask, g, 0)`. Fast: an AND of g's bits with a mask of all ones or all
    zeros, as fast as `g * mask`; NumPy's `where` mispredicts a branch per element on a
    random mask and measured 7x slower (ReLU's backward on 64x6x28x28 float32: 1.1 ms
    against 0.16 ms).
    """
    if not _enabled or xp is not np or g.dtype.itemsize not in _SAME_SIZE_INT:
        picked = xp.where(mask, g, g.dtype.type(0))
        if out is None:
            return picked
        out[...] = picked
        return out
    ints = _SAME_SIZE_INT[g.dtype.itemsize]
    bits = np.negative(np.asarray(mask).view(np.int8), dtype=ints)  # 0 or -1 (every bit set)
    bits = np.asarray(bits)  # a 0-d mask gives a NumPy scalar
    if out is None:
        if bits.shape == g.shape:
            out = bits.view(g.dtype)  # the AND writes over the mask's own bits
        else:
            out = np.empty(np.broadcast_shapes(g.shape, bits.shape), g.dtype)
    np.bitwise_and(g.view(ints), bits, out=out.view(ints))
    return out


# ----- matrix products cut to the shape OpenBLAS is fastest at -----------------

_SMALL_PRODUCT = 1_000_000  # M*N*K that OpenBLAS multiplies with its small-matrix kernel
_SKINNY = 400  # the most m*n of a product whose long side is cut to fit that kernel


def _pieces(xp, m: int, n: int, long: int) -> int:
    """How many equal pieces to cut a product's long side into, where its other two
    sides are m and n (rows and shared axis in `matmul`, rows and columns in
    `matmul_nt`), so that each piece fits OpenBLAS's small-matrix kernel; 1 where no
    cut is needed or possible."""
    work = m * n * long
    if xp is not np or work <= _SMALL_PRODUCT or m * n > _SKINNY:
        return 1
    need = -(-work // _SMALL_PRODUCT)
    return next((p for p in range(need, 4 * need) if long % p == 0), 1)


def matmul(xp, a, b, out) -> None:
    """out = a @ b for stacks of (m, k) and (k, L) matrices with L long.

    Plain: one `xp.matmul(a, b, out=out)`. Fast: a skinny product (a few output
    channels by a few kernel taps, over every pixel of the batch) runs at a third of
    the small-matrix kernel's speed as one threaded call; cut along the pixels into
    pieces that fit that kernel it measured 27 -> 85 GFLOP/s, 2x faster for LeNet's
    first convolution forward (with `matmul_nt`, a LeNet-5 step 7.8 -> 6.6 ms).
    """
    (g, m, k), L = a.shape, b.shape[2]
    pieces = _pieces(xp, m, k, L) if _enabled else 1
    if pieces == 1:
        xp.matmul(a, b, out=out)
        return
    split = (g, -1, pieces, L // pieces)
    xp.matmul(
        a[:, None],
        b.reshape(split).transpose(0, 2, 1, 3),
        out=out.reshape(split).transpose(0, 2, 1, 3),
    )


def matmul_nt(xp, a, b):
    """a @ b.T for stacks of (m, L) and (n, L) matrices with L long.

    Plain: `a @ b.transpose(0, 2, 1)`. Fast: cut along L like `matmul` where the
    product is skinny (5x faster for LeNet's first convolution's weight gradient),
    else computed as (b @ a.T).T so that OpenBLAS splits the larger n across its
    threads (2.3x faster for LeNet's second convolution).
    """
    if not _enabled:
        return xp.matmul(a, b.transpose(0, 2, 1))
    (g, m, L), n = a.shape, b.shape[1]
    pieces = _pieces(xp, m, n, L)
    if pieces == 1:
        return xp.matmul(b, a.transpose(0, 2, 1)).transpose(0, 2, 1)
    split = (g, -1, pieces, L // pieces)
    cut_a = a.reshape(split).transpose(0, 2, 1, 3)
    cut_b = b.reshape(split).transpose(0, 2, 3, 1)
    return xp.matmul(cut_a, cut_b).sum(axis=1)


# ----- sums as BLAS products ---------------------------------------------------

_ONES: dict = {}  # dtype -> a vector of _ONES_SIZE ones
_ONES_SIZE = 1 << 16
_ROW = 256


def sum_and_squares(flat: np.ndarray) -> tuple[float, float]:
    """The sum and the sum of squares of a 1-D float NumPy array.

    Plain: `flat.sum()` and `(flat * flat).sum()`. Fast: both as BLAS products,
    three times faster than NumPy's pairwise sum: the values against a cached vector
    of ones (for a long array, rows of _ROW values against a short one that stays
    in cache), and the values against themselves.
    """
    if not _enabled:
        return float(flat.sum()), float((flat * flat).sum())
    ones = _ONES.get(flat.dtype)
    if ones is None:
        ones = _ONES[flat.dtype] = np.ones(_ONES_SIZE, flat.dtype)
    n = flat.size
    if n <= _ONES_SIZE:
        total = float(flat @ ones[:n])
    else:
        whole = n - n % _ROW
        total = float((flat[:whole].reshape(-1, _ROW) @ ones[:_ROW]).sum())
        total += float(flat[whole:] @ ones[: n - whole])
    return total, float(flat @ flat)


# ----- the C allocator ---------------------------------------------------------


def keep_large_arrays_on_the_heap() -> None:
    """Let glibc reuse freed activation-sized blocks (plain: leave the allocator alone).

    glibc hands every block over 128 KiB back to the OS when freed, so each training
    step pays page faults to get its activation-sized arrays again. Raising the
    thresholds (blocks up to 32 MiB from the heap, up to 128 MiB of freed memory kept)
    lets freed arrays be reused: a LeNet-5 step measured 20-30% faster. It changes
    the whole process, so only `engine.backend.tune()` calls it, never an import.
    """
    if not _enabled or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): leave the allocator alone
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 128 << 20)


# ----- NumPy's float-error state around each op --------------------------------


def _errstate_variable():
    """NumPy's context variable for its error state, and its value with every error
    ignored; None where this NumPy keeps the state some other way."""
    try:
        from numpy._core._ufunc_config import _extobj_contextvar as variable
    except ImportError:  # NumPy before 2.0, or a later one that moved it
        return None, None
    with np.errstate(all="ignore"):
        return variable, variable.get()


_ERRSTATE, _QUIET = _errstate_variable()


class _Quiet:
    """`np.errstate(all="ignore")` as a bare set and reset of NumPy's context variable."""

    __slots__ = ("token",)

    def __enter__(self):
        self.token = _ERRSTATE.set(_QUIET)

    def __exit__(self, *exc):
        _ERRSTATE.reset(self.token)
        return False


def quiet_float_errors():
    """Context manager: NumPy float errors (NaN, Inf, overflow) pass silently inside it.

    Plain: `np.errstate(all="ignore")`, 0.74 us to enter and leave. Fast: the same
    context variable set to a value built once (NumPy's private `_extobj_contextvar`,
    used only where it exists), 0.33 us.
    """
    if _enabled and _ERRSTATE is not None:
        return _Quiet()
    return np.errstate(all="ignore")


def quietly(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` with NumPy's float errors passing silently.

    Plain: `with np.errstate(all="ignore"): return fn(...)`, 0.40 us over the bare call
    (a + b on 10-element arrays, timeit, best of 5). Fast: nothing to do when the caller
    is already quiet (the backward walk, a training run): 0.12 us; else a bare set and
    reset of NumPy's context variable: 0.30 us. Every op forward and every node backward
    runs through it.
    """
    if _enabled and _ERRSTATE is not None:
        if _ERRSTATE.get() is _QUIET:
            return fn(*args, **kwargs)
        token = _ERRSTATE.set(_QUIET)
        try:
            return fn(*args, **kwargs)
        finally:
            _ERRSTATE.reset(token)
    with np.errstate(all="ignore"):
        return fn(*args, **kwargs)
