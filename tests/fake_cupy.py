"""A NumPy-backed stand-in for CuPy, as strict as CuPy about what lives on the device."""

# The engine's GPU path runs in CI without a GPU against this module. It provides the
# part of CuPy's API that stepgrad uses and keeps the rules that make CPU-only code
# fail on a real GPU:
#
# - `ndarray` is its own type wrapping a NumPy array, never a NumPy array;
# - implicit conversion to NumPy (`np.asarray(a)`, `np.array(a)`, `__array__`) raises
#   CuPy's TypeError; `.get()`, `asnumpy`, `.item()`, `.tolist()`, `float()` and
#   `int()` are the explicit transfers to the host;
# - an op that mixes a device array with a NumPy array raises TypeError, as CuPy's
#   kernels do (NumPy scalars and Python numbers are fine; a NumPy array may index);
# - reductions and scalar indexing give 0-d device arrays, not NumPy scalars;
# - functions, operators and NumPy ufuncs or functions called on device arrays
#   (`__array_ufunc__`, `__array_function__`) give device arrays;
# - host data reaches the device only through `array`/`asarray`, always as a copy.
#
# `install(monkeypatch)` puts it in `sys.modules` as `cupy` and `cupyx` for one test.

from __future__ import annotations

import math
import sys
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)


def _refuse_host(x) -> None:
    raise TypeError(f"Unsupported type {type(x)}")


def _unwrap(x, host_ok: bool = False):
    """The NumPy array inside a device array; a NumPy array raises unless `host_ok`."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray) and not host_ok:
        _refuse_host(x)
    if isinstance(x, list | tuple):
        return type(x)(_unwrap(v, host_ok) for v in x)
    return x


def _wrap(x, inputs=()):
    """Device arrays for NumPy results; an input's own array comes back as that input."""
    if isinstance(x, np.ndarray):
        for given in inputs:
            if isinstance(given, ndarray) and given._a is x:
                return given
        return ndarray._of(x)
    if isinstance(x, np.generic):
        return ndarray._of(np.asarray(x))
    if isinstance(x, list | tuple):
        items = [_wrap(v, inputs) for v in x]
        return type(x)(*items) if hasattr(type(x), "_fields") else type(x)(items)
    return x


def _on_device(fn, name: str):
    """`fn`, a NumPy function, taking and giving device arrays."""

    def call(*args, **kwargs):
        out = kwargs.get("out")
        result = fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        return _wrap(result, (*args, out))

    call.__name__ = call.__qualname__ = name
    return call


class _Flags:
    def __init__(self, a: np.ndarray):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


_METHODS = (
    "all any argmax argmin argsort astype clip conj copy cumsum diagonal dot flatten max mean "
    "min nonzero prod ravel repeat reshape round sort squeeze std sum swapaxes take trace "
    "transpose var view"
).split()


class ndarray(NDArrayOperatorsMixin):  # CuPy's name
    """A device array: a NumPy array that NumPy may not read implicitly."""

    __slots__ = ("_a", "__weakref__")

    def __init__(self, shape, dtype=float, order="C"):
        self._a = _checked(np.empty(shape, dtype, order=order))

    @classmethod
    def _of(cls, a: np.ndarray) -> ndarray:
        out = object.__new__(cls)
        out._a = a
        return out

    # ----- what it is
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: ndarray._of(self._a.T))
    real = property(lambda self: _wrap(self._a.real, (self,)))
    imag = property(lambda self: _wrap(self._a.imag, (self,)))
    device = property(lambda self: cuda.Device(0))

    @property
    def __cuda_array_interface__(self) -> dict:
        """What CuPy hands other GPU libraries (here: the host buffer's address)."""
        host = self._a.__array_interface__
        strides = None if self._a.flags.c_contiguous else self._a.strides
        return dict(host, strides=strides, version=3, stream=1)

    # ----- host transfers, explicit only
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
        """A host copy."""
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __complex__(self) -> complex:
        return complex(self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __repr__(self) -> str:
        return repr(self._a)

    def __str__(self) -> str:
        return str(self._a)

    def __format__(self, spec: str) -> str:
        return format(self._a, spec)

    # ----- containers and copies
    def __len__(self) -> int:
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index, host_ok=True)])

    def __setitem__(self, index, value):
        if isinstance(value, np.ndarray) and value.ndim:
            _refuse_host(value)  # CuPy refuses assignment from host arrays (gh-2079)
        self._a[_unwrap(index, host_ok=True)] = _unwrap(value, host_ok=True)

    def fill(self, value) -> None:
        if isinstance(value, np.ndarray | ndarray) and value.ndim:
            raise ValueError("fill takes a scalar")
        self._a.fill(_unwrap(value, host_ok=True))

    def __copy__(self) -> ndarray:
        return self.copy()

    def __deepcopy__(self, memo) -> ndarray:
        return self.copy()

    def __reduce__(self):
        return array, (self.get(),)

    # ----- NumPy's protocols: results stay on the device
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        outs = kwargs.get("out", ())
        for x in (*inputs, *outs):
            if not isinstance(x, ndarray | np.ndarray | np.generic | int | float | complex):
                return NotImplemented  # a Tensor, a list: let the other side try
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in outs)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        return _wrap(result, (*inputs, *outs))

    def __array_function__(self, func, types_, args, kwargs):
        if not all(issubclass(t, ndarray | np.ndarray) for t in types_):
            return NotImplemented
        module = _MODULE_OF.get(func.__module__)
        device_func = None if module is None else getattr(module, func.__name__, None)
        if device_func is None:
            return NotImplemented
        return device_func(*args, **kwargs)


def _method(name: str):
    def call(self, *args, **kwargs):
        result = getattr(self._a, name)(
            *_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}
        )
        return _wrap(result, (self, kwargs.get("out")))

    call.__name__ = call.__qualname__ = name
    return call


for _name in _METHODS:
    setattr(ndarray, _name, _method(_name))


def _checked(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "OSUVMm":
        raise ValueError(f"Unsupported dtype {a.dtype}")
    return a


class _DeviceUfunc:
    """A NumPy ufunc on device arrays, with its `at`, `reduce`, `outer` and `accumulate`."""

    def __init__(self, ufunc: np.ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.nin, self.nout = ufunc.nin, ufunc.nout
        self._call = _on_device(ufunc, ufunc.__name__)
        for method in ("at", "reduce", "outer", "accumulate"):
            setattr(self, method, _on_device(getattr(ufunc, method), method))

    def __call__(self, *args, **kwargs):
        for x in args[: self.nin]:
            if not isinstance(x, ndarray | np.generic | int | float | complex):
                _refuse_host(x)
        return self._call(*args, **kwargs)


class _DeviceModule(types.ModuleType):
    """A module whose missing names are its NumPy twin's, taking and giving device arrays."""

    def __init__(self, name: str, twin, **names):
        super().__init__(name)
        self._twin = twin
        self.__dict__.update(names)

    def __getattr__(self, name: str):
        if name.startswith("__") or self._twin is None:
            raise AttributeError(name)
        value = getattr(self._twin, name)  # AttributeError where NumPy has no such name
        if isinstance(value, np.ufunc):
            value = _DeviceUfunc(value)
        elif callable(value) and not isinstance(value, type):
            value = _on_device(value, name)
        setattr(self, name, value)
        return value


# ----- creation and transfers ------------------------------------------------------------


def array(obj, dtype=None, copy=True, order="K", ndmin=0) -> ndarray:
    """A device array from host data (copied) or from device arrays."""
    if isinstance(obj, ndarray):
        a = np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
        return obj if a is obj._a else ndarray._of(a)
    host = np.array(_unwrap(obj, host_ok=True), dtype=dtype, copy=True, order=order, ndmin=ndmin)
    return ndarray._of(_checked(host))


def asarray(a, dtype=None, order=None) -> ndarray:
    return array(a, dtype=dtype, copy=False if isinstance(a, ndarray) else True, order=order)


def asnumpy(a, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
    """A host copy of a device array (a NumPy input comes back as is)."""
    if isinstance(a, ndarray):
        return a.get(stream, order, out, blocking)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return cupy if any(isinstance(a, ndarray) for a in args) else np


# ----- cupy.cuda, cupy.random, cupyx -----------------------------------------------------


class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise runtime.CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def synchronize(self) -> None:
        pass

    def use(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __eq__(self, other):
        return isinstance(other, _Device) and other.id == self.id

    __hash__ = object.__hash__


class _MemoryPool:
    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


class _CUDARuntimeError(RuntimeError):
    pass


_POOL = _MemoryPool()
runtime = types.ModuleType("cupy.cuda.runtime")
runtime.getDeviceCount = lambda: 1
runtime.CUDARuntimeError = _CUDARuntimeError
cuda = types.ModuleType("cupy.cuda")
cuda.runtime = runtime
cuda.Device = _Device
cuda.is_available = lambda: True
cuda.get_device_id = lambda: 0
cuda.get_default_memory_pool = lambda: _POOL
cuda.get_default_pinned_memory_pool = lambda: _POOL


class _Generator:
    """`cupy.random.Generator`: NumPy's draws, given as device arrays."""

    def __init__(self, host: np.random.Generator):
        self._host = host

    def __getattr__(self, name: str):
        method = getattr(self._host, name)
        return _on_device(method, name) if callable(method) else method


random = _DeviceModule(
    "cupy.random",
    np.random,
    default_rng=lambda seed=None: _Generator(np.random.default_rng(_unwrap(seed))),
    Generator=_Generator,
)

cupy = _DeviceModule(
    "cupy",
    np,
    ndarray=ndarray,
    array=array,
    asarray=asarray,
    asanyarray=asarray,
    asnumpy=asnumpy,
    get_array_module=get_array_module,
    cuda=cuda,
    random=random,
    linalg=_DeviceModule("cupy.linalg", np.linalg),
    fft=_DeviceModule("cupy.fft", np.fft),
    lib=_DeviceModule(
        "cupy.lib",
        None,
        stride_tricks=_DeviceModule("cupy.lib.stride_tricks", np.lib.stride_tricks),
    ),
    __version__="13.0.0+fake",
)
_MODULE_OF = {"numpy": cupy, "numpy.linalg": cupy.linalg, "numpy.fft": cupy.fft}

_erf_host = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x, out=None):
    """The error function on device arrays, in x's float dtype."""
    a = _unwrap(x)
    if not isinstance(x, ndarray):
        _refuse_host(x)
    dtype = a.dtype if a.dtype.kind == "f" else np.float64
    result = _erf_host(a).astype(dtype)
    if out is not None:
        out[...] = ndarray._of(result)
        return out
    return ndarray._of(result)


def scatter_add(a: ndarray, slices, value) -> None:
    """a[slices] += value with repeated indices adding up (`cupyx.scatter_add`)."""
    if not isinstance(a, ndarray):
        _refuse_host(a)
    if isinstance(value, np.ndarray):
        _refuse_host(value)
    np.add.at(a._a, _unwrap(slices, host_ok=True), _unwrap(value))


special = types.ModuleType("cupyx.scipy.special")
special.erf = _erf
scipy = types.ModuleType("cupyx.scipy")
scipy.special = special
cupyx = types.ModuleType("cupyx")
cupyx.scipy = scipy
cupyx.scatter_add = scatter_add

MODULES = {
    "cupy": cupy,
    "cupy.cuda": cuda,
    "cupy.cuda.runtime": runtime,
    "cupy.random": random,
    "cupy.linalg": cupy.linalg,
    "cupyx": cupyx,
    "cupyx.scipy": scipy,
    "cupyx.scipy.special": special,
}


def install(monkeypatch) -> None:
    """Make the engine see this module as CuPy and a GPU as present, for one test."""
    from engine import backend

    for name, module in MODULES.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(backend, "_cupy", None)  # imported again: this time, the fake
    monkeypatch.setattr(backend, "_cuda_ok", None)
    monkeypatch.setattr(backend, "cuda_used", backend.cuda_used)  # put back afterwards
