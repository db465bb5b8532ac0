"""The Tensor: an array, its gradient, and the node that made it."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import numpy as np

from engine import _fast, autograd, backend
from engine import dtypes as _dt
from engine._aliases import numpy_names
from engine.autograd import backward_steps, state, version_counter
from engine.dtypes import device, dtype, from_numpy_dtype, to_dtype

_CPU = device("cpu")
_CUDA = device("cuda")
_HOST_TYPES = (np.ndarray, np.generic)


class _NoDim:
    """`dim` left out of sum/mean: PyTorch takes no `keepdim` then (dim=None is another call)."""

    def __repr__(self) -> str:
        return "None"


NO_DIM = _NoDim()


_ALL = object()  # what `Tensor._modify` writes by default: the whole tensor


class Tensor:
    """An n-dimensional array that can record the ops applied to it."""

    # _counter: the VersionCounter of this storage (made on first use); _view: (the tensor this
    # one is a view of, how to take the view again from an array shaped like it), or None
    __slots__ = ("_data", "requires_grad", "_grad", "_ctx", "_counter", "_view", "__weakref__")
    __array_ufunc__ = None  # `ndarray op Tensor` defers to the Tensor's reflected op

    def __init__(self, *args, requires_grad: bool = False):
        if args and all(isinstance(a, int) for a in args):
            data = np.zeros(args, dtype=_dt.default_dtype.np)  # Tensor(2, 3): a shape
        elif len(args) == 1:
            data = _to_array(args[0], _dt.default_dtype, None)
        elif not args:
            data = np.zeros((0,), dtype=_dt.default_dtype.np)
        else:
            raise TypeError(f"Tensor(): expected sizes or one sequence, got {args!r}")
        self._data, self._grad, self._ctx = data, None, None
        self._counter = self._view = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, requires_grad: bool, ctx) -> Tensor:
        t = object.__new__(cls)
        t._data = data
        t.requires_grad = requires_grad
        t._grad = None
        t._ctx = ctx
        t._counter = t._view = None
        return t

    # ----- what it is -------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's storage, outside the graph."""
        return Tensor._make(self._data, False, None)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else value

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> dtype:
        return from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> device:
        return _CPU if isinstance(self._data, _HOST_TYPES) else _CUDA

    @property
    def is_cuda(self) -> bool:
        return not isinstance(self._data, _HOST_TYPES)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        ctx = self._ctx
        return ctx if ctx is None or ctx.shown_as is None else ctx.shown_as[0]

    @property
    def _version(self) -> int:
        """How many times this tensor's storage was changed in place (shared with views)."""
        return version_counter(self).value

    @property
    def _base(self) -> Tensor | None:
        """The tensor whose storage this view shares, or None when it is not a view."""
        if self._view is None:
            return None
        base = self._view[0]
        while base._view is not None:
            base = base._view[0]
        return base

    def _is_view(self) -> bool:
        return self._view is not None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__

    # ----- values out ------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        if not isinstance(self._data, _HOST_TYPES):
            raise TypeError(
                "can't convert cuda tensor to numpy. Use Tensor.cpu() to copy the "
                "tensor to host memory first."
            )
        return np.asarray(self._data)

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self._data)
        return arr if dtype is None else arr.astype(dtype)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __format__(self, format_spec: str) -> str:
        # as PyTorch's: a 0-d tensor (not a Parameter) formats as its number, f"{loss:.4f}"
        if self._data.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __repr__(self) -> str:
        from engine.printing import format_array

        arr = backend.to_numpy(self._data)
        body = format_array(arr, "tensor(")
        extras = []
        if arr.size == 0 and arr.ndim != 1:
            extras.append(f"size={tuple(arr.shape)}")
        default = self._data.dtype == _dt.default_dtype.np
        if not default and (self._data.dtype not in (np.int64, np.bool_) or arr.size == 0):
            extras.append(f"dtype={self.dtype!r}")
        if self.is_cuda:
            extras.append("device='cuda'")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ----- autograd --------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (or only `inputs`')."""
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            if not inputs:
                raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        if retain_graph is None:
            retain_graph = create_graph
        steps = backward_steps(
            self, gradient, bool(retain_graph), create_graph=create_graph, inputs=inputs
        )
        if state.instrument is not None:
            state.instrument.backward(steps)
            return
        with _fast.quiet_float_errors():  # once for the walk, not once a node
            for _ in steps:
                pass

    def register_hook(self, hook):
        """hook(grad) runs on this tensor's gradient; a tensor it returns replaces the gradient
        (for a leaf, before it is added to .grad). Returns a handle whose remove() undoes it."""
        return autograd.register_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward."""
        if self._ctx is not None:
            self._ctx.retained = weakref.ref(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                "only Tensors of floating point dtype can require gradients "
                f"(this one is {self.dtype})"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; "
                "use detach() to get a tensor outside the graph"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same storage outside the graph; it shares the version counter, as in PyTorch."""
        out = Tensor._make(self._data, False, None)
        out._counter = version_counter(self)
        return out

    def detach_(self) -> Tensor:
        self._ctx, self.requires_grad = None, False
        return self

    # ----- copies and moves ------------------------------------------------
    def to(self, *args, **kwargs) -> Tensor:
        """`to(device)`, `to(dtype)`, `to(device, dtype)` or `to(other_tensor)`."""
        target_device = kwargs.pop("device", None)
        target_dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to(): unexpected arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                target_device, target_dtype = arg.device, arg.dtype
            elif isinstance(arg, device) or (
                isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda")
            ):
                target_device = arg
            else:
                target_dtype = arg
        out = self  # already of that dtype and on that device: self, as in PyTorch
        if target_dtype is not None and (np_dtype := to_dtype(target_dtype).np) != out._data.dtype:
            if np_dtype.kind not in "fc":
                out = out.detach()  # an integer or bool result carries no gradient, as in PyTorch
            out = ops.elementwise.Cast.apply(out, dtype=np_dtype)
        if target_device is not None and device(target_device).type != out.device.type:
            out = ops.elementwise.ToDevice.apply(out, device=device(target_device).type)
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:  # one GPU: device is ignored
        return self.to("cuda")

    def type(self, dtype=None):
        if dtype is None:
            return f"engine.{'cuda.' if self.is_cuda else ''}{self.dtype.tensor_type}"
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(dtype=_dt.float32)

    def double(self) -> Tensor:
        return self.to(dtype=_dt.float64)

    def half(self) -> Tensor:
        return self.to(dtype=_dt.float16)

    def long(self) -> Tensor:
        return self.to(dtype=_dt.int64)

    def int(self) -> Tensor:
        return self.to(dtype=_dt.int32)

    def bool(self) -> Tensor:
        return self.to(dtype=_dt.bool_)

    def clone(self, *, memory_format=None) -> Tensor:
        from engine.memory_format import copy_order

        order = copy_order(memory_format)
        if order == "K":
            return ops.elementwise.Clone.apply(self)
        return ops.elementwise.Clone.apply(self, order=order)

    def contiguous(self, memory_format=None) -> Tensor:
        """This tensor when its elements lie in row-major order, else a row-major copy."""
        from engine.memory_format import copy_order

        copy_order(memory_format)  # checks its type; every format is row-major here
        if self._data.flags.c_contiguous:
            return self
        return ops.elementwise.Clone.apply(self, order="C")

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None):
        """Steps in elements between neighbours along each dimension, as PyTorch's."""
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        shape = _shape_arg(size)
        return self.new_full(shape, 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        shape = _shape_arg(size)
        return self.new_full(shape, 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
        """A copy of `data` with this tensor's dtype and device unless they are given."""
        from engine import creation

        return creation.tensor(
            data._data if isinstance(data, Tensor) else data,
            dtype=dtype or self.dtype,
            device=device or self.device,
            requires_grad=requires_grad,
        )

    def _xp(self):
        return backend.array_module(self._data)

    # ----- ops (each defined in engine.ops, with forward and backward) ----
    def __add__(self, other) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other) -> Tensor:
        return ops.add(other, self)

    def add(self, other, *, alpha=1) -> Tensor:
        return ops.add(self, other, alpha=alpha)

    def __sub__(self, other) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other) -> Tensor:
        return ops.sub(other, self)

    def sub(self, other, *, alpha=1) -> Tensor:
        return ops.sub(self, other, alpha=alpha)

    def __mul__(self, other) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other) -> Tensor:
        return ops.mul(other, self)

    def mul(self, other) -> Tensor:
        return ops.mul(self, other)

    def __truediv__(self, other) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other) -> Tensor:
        # as PyTorch: a number over a tensor is the tensor's reciprocal times the number,
        # so its gradient is the reciprocal's (1 / b**2, inf where b**2 overflows)
        return ops.mul(ops.reciprocal(self), other)

    def div(self, other, *, rounding_mode=None) -> Tensor:
        return ops.div(self, other, rounding_mode=rounding_mode)

    def __pow__(self, exponent) -> Tensor:
        return ops.pow(self, exponent)

    def __rpow__(self, other) -> Tensor:
        return ops.pow(other, self)

    def pow(self, exponent) -> Tensor:
        return ops.pow(self, exponent)

    def __matmul__(self, other) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other) -> Tensor:
        return ops.matmul(other, self)

    def matmul(self, other) -> Tensor:
        return ops.matmul(self, other)

    def mm(self, mat2) -> Tensor:
        return ops.mm(self, mat2)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def neg(self) -> Tensor:
        return ops.neg(self)

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def reciprocal(self) -> Tensor:
        return ops.reciprocal(self)

    def sin(self) -> Tensor:
        return ops.sin(self)

    def cos(self) -> Tensor:
        return ops.cos(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def clamp(self, min=None, max=None) -> Tensor:
        return ops.clamp(self, min, max)

    def clip(self, min=None, max=None) -> Tensor:
        return ops.clamp(self, min, max)

    def floor(self) -> Tensor:
        return ops.floor(self)

    def ceil(self) -> Tensor:
        return ops.ceil(self)

    def trunc(self) -> Tensor:
        return ops.trunc(self)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def log1p(self) -> Tensor:
        return ops.log1p(self)

    def expm1(self) -> Tensor:
        return ops.expm1(self)

    def log2(self) -> Tensor:
        return ops.log2(self)

    def log10(self) -> Tensor:
        return ops.log10(self)

    def rsqrt(self) -> Tensor:
        return ops.rsqrt(self)

    def square(self) -> Tensor:
        return ops.square(self)

    def tan(self) -> Tensor:
        return ops.tan(self)

    def asin(self) -> Tensor:
        return ops.asin(self)

    def acos(self) -> Tensor:
        return ops.acos(self)

    def atan(self) -> Tensor:
        return ops.atan(self)

    def sinh(self) -> Tensor:
        return ops.sinh(self)

    def cosh(self) -> Tensor:
        return ops.cosh(self)

    def isnan(self) -> Tensor:
        return ops.isnan(self)

    def isinf(self) -> Tensor:
        return ops.isinf(self)

    def isfinite(self) -> Tensor:
        return ops.isfinite(self)

    def logical_not(self) -> Tensor:
        return ops.logical_not(self)

    def arcsin(self) -> Tensor:
        return ops.arcsin(self)

    def arccos(self) -> Tensor:
        return ops.arccos(self)

    def arctan(self) -> Tensor:
        return ops.arctan(self)

    def round(self, *, decimals=0) -> Tensor:
        return ops.round(self, decimals=decimals)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None) -> Tensor:
        return ops.nan_to_num(self, nan, posinf, neginf)

    def atan2(self, other) -> Tensor:
        return ops.atan2(self, other)

    def arctan2(self, other) -> Tensor:
        return ops.arctan2(self, other)

    def logical_and(self, other) -> Tensor:
        return ops.logical_and(self, other)

    def logical_or(self, other) -> Tensor:
        return ops.logical_or(self, other)

    def logical_xor(self, other) -> Tensor:
        return ops.logical_xor(self, other)

    def remainder(self, other) -> Tensor:
        return ops.remainder(self, other)

    def fmod(self, other) -> Tensor:
        return ops.fmod(self, other)

    def floor_divide(self, other) -> Tensor:
        return ops.floor_divide(self, other)

    def __mod__(self, other) -> Tensor:
        return ops.remainder(self, other)

    def __rmod__(self, other) -> Tensor:
        return ops.remainder(other, self)

    def __floordiv__(self, other) -> Tensor:
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other) -> Tensor:
        return ops.floor_divide(other, self)

    def clamp_min(self, min) -> Tensor:
        return ops.clamp_min(self, min)

    def clamp_max(self, max) -> Tensor:
        return ops.clamp_max(self, max)

    def lerp(self, end, weight) -> Tensor:
        return ops.lerp(self, end, weight)

    def maximum(self, other) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other) -> Tensor:
        return ops.minimum(self, other)

    def where(self, condition, other) -> Tensor:
        return ops.where(condition, self, other)

    @numpy_names
    def sum(self, dim=NO_DIM, keepdim=False, *, dtype=None) -> Tensor:
        return ops.sum(self, dim, keepdim, dtype=dtype)

    @numpy_names
    def mean(self, dim=NO_DIM, keepdim=False, *, dtype=None) -> Tensor:
        return ops.mean(self, dim, keepdim, dtype=dtype)

    @numpy_names
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
        return ops.var(self, dim, unbiased, keepdim, correction=correction)

    @numpy_names
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
        return ops.std(self, dim, unbiased, keepdim, correction=correction)

    @numpy_names
    def max(self, dim=None, keepdim=False, *, other=None):
        return ops.max(self, dim, keepdim, other=other)

    @numpy_names
    def min(self, dim=None, keepdim=False, *, other=None):
        return ops.min(self, dim, keepdim, other=other)

    @numpy_names
    def argmax(self, dim=None, keepdim=False) -> Tensor:
        return ops.argmax(self, dim, keepdim)

    @numpy_names
    def argmin(self, dim=None, keepdim=False) -> Tensor:
        return ops.argmin(self, dim, keepdim)

    # reductions, scans, sorting and index ops (engine.ops.aggregate, scan, indexing)
    @numpy_names
    def softmax(self, dim, dtype=None) -> Tensor:
        return ops.aggregate.softmax(self, dim, dtype, _position=1)

    @numpy_names
    def log_softmax(self, dim, dtype=None) -> Tensor:
        return ops.aggregate.log_softmax(self, dim, dtype, _position=1)

    @numpy_names
    def all(self, dim=None, keepdim=False) -> Tensor:
        return ops.aggregate.all(self, dim, keepdim)

    @numpy_names
    def any(self, dim=None, keepdim=False) -> Tensor:
        return ops.aggregate.any(self, dim, keepdim)

    @numpy_names
    def amax(self, dim=(), keepdim=False) -> Tensor:
        return ops.aggregate.amax(self, dim, keepdim)

    @numpy_names
    def amin(self, dim=(), keepdim=False) -> Tensor:
        return ops.aggregate.amin(self, dim, keepdim)

    @numpy_names
    def prod(self, dim=NO_DIM, keepdim=False, *, dtype=None) -> Tensor:
        return ops.aggregate.prod(self, dim, keepdim, dtype=dtype)

    @numpy_names
    def logsumexp(self, dim, keepdim=False) -> Tensor:
        return ops.aggregate.logsumexp(self, dim, keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None) -> Tensor:
        return ops.aggregate.norm(self, p, dim, keepdim, dtype=dtype)

    @numpy_names
    def cumsum(self, dim, *, dtype=None) -> Tensor:
        return ops.scan.cumsum(self, dim, dtype=dtype)

    @numpy_names
    def cumprod(self, dim, *, dtype=None) -> Tensor:
        return ops.scan.cumprod(self, dim, dtype=dtype)

    @numpy_names
    def sort(self, *args, dim=-1, descending=False, stable=None):
        return ops.indexing.sort(self, *args, dim=dim, descending=descending, stable=stable)

    @numpy_names
    def argsort(self, *args, dim=-1, descending=False, stable=None) -> Tensor:
        return ops.indexing.argsort(self, *args, dim=dim, descending=descending, stable=stable)

    @numpy_names
    def topk(self, k, dim=-1, largest=True, sorted=True):
        return ops.indexing.topk(self, k, dim, largest, sorted)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return ops.indexing.unique(self, sorted, return_inverse, return_counts, dim)

    @numpy_names
    def gather(self, dim, index, *, sparse_grad=False) -> Tensor:
        return ops.indexing.gather(self, dim, index)

    @numpy_names
    def scatter(self, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
        return ops.indexing.scatter(self, dim, index, src, value=value, reduce=reduce)

    @numpy_names
    def scatter_(self, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
        if isinstance(src, Tensor):
            return self._modify(
                lambda x, s: ops.indexing.scatter(x, dim, index, s, reduce=reduce),
                src,
                keeps_self=False,
            )
        return self._modify(
            lambda x: ops.indexing.scatter(x, dim, index, src, value=value, reduce=reduce),
            keeps_self=False,
        )

    @numpy_names
    def scatter_add(self, dim, index, src) -> Tensor:
        return ops.indexing.scatter_add(self, dim, index, src)

    @numpy_names
    def scatter_add_(self, dim, index, src) -> Tensor:
        return self._modify(
            lambda x, s: ops.indexing.scatter_add(x, dim, index, s), src, keeps_self=False
        )

    @numpy_names
    def index_select(self, dim, index) -> Tensor:
        return ops.indexing.index_select(self, dim, index)

    @numpy_names
    def index_add(self, dim, index, source, *, alpha=1) -> Tensor:
        return ops.indexing.index_add(self, dim, index, source, alpha=alpha)

    @numpy_names
    def index_add_(self, dim, index, source, *, alpha=1) -> Tensor:
        return self._modify(
            lambda x, s: ops.indexing.index_add(x, dim, index, s, alpha=alpha),
            source,
            keeps_self=False,
        )

    def masked_fill(self, mask, value) -> Tensor:
        return ops.indexing.masked_fill(self, mask, value)

    def masked_fill_(self, mask, value) -> Tensor:
        if isinstance(value, Tensor):
            return self._modify(ops.indexing.masked_fill, mask, value, keeps_self=False)
        return self._modify(
            lambda x, m: ops.indexing.masked_fill(x, m, value), mask, keeps_self=False
        )

    def masked_select(self, mask) -> Tensor:
        return ops.indexing.masked_select(self, mask)

    def nonzero(self, *, as_tuple=False):
        return ops.indexing.nonzero(self, as_tuple=as_tuple)

    def reshape(self, *shape) -> Tensor:
        return ops.reshape(self, *shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.view_as(self, other)

    def view(self, *shape) -> Tensor:
        return ops.view(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        return ops.view_as(self, other)

    def flatten(self, start_dim=0, end_dim=-1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes) -> Tensor:
        return ops.movement.unflatten(self, dim, sizes)

    def permute(self, *dims) -> Tensor:
        return ops.permute(self, *dims)

    def transpose(self, dim0, dim1) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        return ops.t(self)

    @numpy_names
    def unsqueeze(self, dim) -> Tensor:
        return ops.unsqueeze(self, dim)

    @numpy_names
    def squeeze(self, dim=None) -> Tensor:
        return ops.squeeze(self, dim)

    def expand(self, *sizes) -> Tensor:
        return ops.expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.expand_as(self, other)

    # ----- more movement, products, bitwise ops, erf, draws, in-place forms ----------------
    def flip(self, *dims) -> Tensor:
        return ops.shape_ops.flip(self, *dims)

    def fliplr(self) -> Tensor:
        return ops.shape_ops.fliplr(self)

    def flipud(self) -> Tensor:
        return ops.shape_ops.flipud(self)

    def roll(self, shifts, dims=None) -> Tensor:
        return ops.shape_ops.roll(self, shifts, dims)

    @numpy_names
    def chunk(self, chunks, dim=0) -> tuple:
        return ops.shape_ops.chunk(self, chunks, dim)

    def split(self, split_size, dim=0) -> tuple:
        return ops.shape_ops.split(self, split_size, dim)

    @numpy_names
    def unbind(self, dim=0) -> tuple:
        return ops.shape_ops.unbind(self, dim)

    @numpy_names
    def narrow(self, dim, start, length) -> Tensor:
        return ops.shape_ops.narrow(self, dim, start, length)

    def repeat(self, *sizes) -> Tensor:
        return ops.shape_ops.repeat(self, *sizes)

    def tile(self, *dims) -> Tensor:
        return ops.shape_ops.tile(self, _shape_arg(dims))

    @numpy_names
    def repeat_interleave(self, repeats, dim=None, *, output_size=None) -> Tensor:
        return ops.shape_ops.repeat_interleave(self, repeats, dim, output_size=output_size)

    def tril(self, diagonal=0) -> Tensor:
        return ops.shape_ops.tril(self, diagonal)

    def triu(self, diagonal=0) -> Tensor:
        return ops.shape_ops.triu(self, diagonal)

    def tril_(self, diagonal=0) -> Tensor:
        return self._modify(lambda x: ops.shape_ops.tril(x, diagonal), keeps_self=False)

    def triu_(self, diagonal=0) -> Tensor:
        return self._modify(lambda x: ops.shape_ops.triu(x, diagonal), keeps_self=False)

    def diag(self, diagonal=0) -> Tensor:
        return ops.shape_ops.diag(self, diagonal)

    def trace(self) -> Tensor:
        return ops.shape_ops.trace(self)

    @property
    def mT(self) -> Tensor:  # PyTorch's name
        return ops.shape_ops.mT(self)

    def bmm(self, mat2) -> Tensor:
        return ops.linalg_ops.bmm(self, mat2)

    def dot(self, other) -> Tensor:
        return ops.linalg_ops.dot(self, other)

    def outer(self, vec2) -> Tensor:
        return ops.linalg_ops.outer(self, vec2)

    def mv(self, vec) -> Tensor:
        return ops.linalg_ops.mv(self, vec)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
        return ops.linalg_ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
        return self._modify(
            lambda x, a, b: ops.linalg_ops.addmm(x, a, b, beta=beta, alpha=alpha),
            mat1,
            mat2,
            keeps_self=False,
        )

    def erf(self) -> Tensor:
        return ops.special.erf(self)

    def erf_(self) -> Tensor:
        return self._modify(ops.special.erf)

    def bitwise_and(self, other) -> Tensor:
        return ops.bitwise.bitwise_and(self, other)

    def bitwise_or(self, other) -> Tensor:
        return ops.bitwise.bitwise_or(self, other)

    def bitwise_xor(self, other) -> Tensor:
        return ops.bitwise.bitwise_xor(self, other)

    def bitwise_not(self) -> Tensor:
        return ops.bitwise.bitwise_not(self)

    def bitwise_left_shift(self, other) -> Tensor:
        return ops.bitwise.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other) -> Tensor:
        return ops.bitwise.bitwise_right_shift(self, other)

    def bitwise_and_(self, other) -> Tensor:
        return self._modify(ops.bitwise.bitwise_and, other, keeps_self=False)

    def bitwise_or_(self, other) -> Tensor:
        return self._modify(ops.bitwise.bitwise_or, other, keeps_self=False)

    def bitwise_xor_(self, other) -> Tensor:
        return self._modify(ops.bitwise.bitwise_xor, other, keeps_self=False)

    def bitwise_not_(self) -> Tensor:
        return self._modify(ops.bitwise.bitwise_not, keeps_self=False)

    def bitwise_left_shift_(self, other) -> Tensor:
        return self._modify(ops.bitwise.bitwise_left_shift, other, keeps_self=False)

    def bitwise_right_shift_(self, other) -> Tensor:
        return self._modify(ops.bitwise.bitwise_right_shift, other, keeps_self=False)

    def __and__(self, other) -> Tensor:
        return ops.bitwise.bitwise_and(self, other)

    def __rand__(self, other) -> Tensor:
        return ops.bitwise.bitwise_and(other, self)

    def __iand__(self, other):
        return self.bitwise_and_(other)

    def __or__(self, other) -> Tensor:
        return ops.bitwise.bitwise_or(self, other)

    def __ror__(self, other) -> Tensor:
        return ops.bitwise.bitwise_or(other, self)

    def __ior__(self, other):
        return self.bitwise_or_(other)

    def __xor__(self, other) -> Tensor:
        return ops.bitwise.bitwise_xor(self, other)

    def __rxor__(self, other) -> Tensor:
        return ops.bitwise.bitwise_xor(other, self)

    def __ixor__(self, other):
        return self.bitwise_xor_(other)

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind not in "iub":
            raise TypeError(
                "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
            )
        return ops.bitwise.bitwise_not(self)

    def __lshift__(self, other) -> Tensor:
        return ops.bitwise.bitwise_left_shift(self, other)

    def __rlshift__(self, other) -> Tensor:
        return ops.bitwise.bitwise_left_shift(other, self)

    def __ilshift__(self, other):
        return self.bitwise_left_shift_(other)

    def __rshift__(self, other) -> Tensor:
        return ops.bitwise.bitwise_right_shift(self, other)

    def __rrshift__(self, other) -> Tensor:
        return ops.bitwise.bitwise_right_shift(other, self)

    def __irshift__(self, other):
        return self.bitwise_right_shift_(other)

    def __imod__(self, other):
        return self.remainder_(other)

    def __ifloordiv__(self, other):
        return self.floor_divide_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    def equal(self, other) -> bool:
        return ops.compare.equal(self, other)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
        return ops.compare.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return ops.compare.allclose(self, other, rtol, atol, equal_nan)

    def bernoulli(self, p=None, *, generator=None) -> Tensor:
        return ops.sampling.bernoulli(self, p, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
        if isinstance(p, Tensor):
            draw = ops.sampling.bernoulli(p.expand_as(self), generator=generator)._data
        else:
            draw = ops.sampling.bernoulli(self.detach(), p, generator=generator)._data
        return self._modify(
            lambda x: ops.inplace.overwrite(x, draw.astype(self._data.dtype)), keeps_self=False
        )

    def multinomial(self, num_samples, replacement=False, *, generator=None) -> Tensor:
        return ops.sampling.multinomial(self, num_samples, replacement, generator=generator)

    def random_(self, from_=0, to=None, *, generator=None) -> Tensor:
        if to is None:  # random_(to), or the whole range: floats to 2**mantissa bits
            kind = self._data.dtype
            top = (
                2 ** (np.finfo(kind).nmant + 1) + 1
                if kind.kind == "f"
                else 2
                if kind.kind == "b"
                else int(np.iinfo(kind).max) + 1
            )
            from_, to = 0, from_ if from_ else top
        arr = random._rng(generator).integers(from_, to, size=tuple(self.shape))
        return self._modify(
            lambda x: ops.inplace.overwrite(x, arr.astype(self._data.dtype)), keeps_self=False
        )

    def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
        arr = random._rng(generator).exponential(1.0 / lambd, size=tuple(self.shape))
        return self._modify(
            lambda x: ops.inplace.overwrite(x, arr.astype(self._data.dtype)), keeps_self=False
        )

    def clip_(self, min=None, max=None) -> Tensor:
        return self.clamp_(min, max)

    def eq_(self, other) -> Tensor:
        return self._modify(ops.compare.eq_in_place, other, keeps_self=False)

    def ne_(self, other) -> Tensor:
        return self._modify(ops.compare.ne_in_place, other, keeps_self=False)

    def lt_(self, other) -> Tensor:
        return self._modify(ops.compare.lt_in_place, other, keeps_self=False)

    def le_(self, other) -> Tensor:
        return self._modify(ops.compare.le_in_place, other, keeps_self=False)

    def gt_(self, other) -> Tensor:
        return self._modify(ops.compare.gt_in_place, other, keeps_self=False)

    def ge_(self, other) -> Tensor:
        return self._modify(ops.compare.ge_in_place, other, keeps_self=False)

    def t_(self) -> Tensor:
        return self._restride(ops.t)

    def transpose_(self, dim0, dim1) -> Tensor:
        return self._restride(lambda x: ops.transpose(x, dim0, dim1))

    @numpy_names
    def squeeze_(self, dim=None) -> Tensor:
        return self._restride(lambda x: ops.squeeze(x, dim))

    @numpy_names
    def unsqueeze_(self, dim) -> Tensor:
        return self._restride(lambda x: ops.unsqueeze(x, dim))

    def _restride(self, make) -> Tensor:
        """Make this tensor the view `make(self)` of its own storage, in place (t_,
        squeeze_, ...): in the graph, that view op becomes the node that produced it."""
        if self._in_graph(()):
            self._check_inplace()
        out = make(self)
        if self._view is not None and out._view is not None:
            base, take = self._view
            again = out._view[1]
            self._view = (base, lambda a: again(take(a)))
        self._data = out._data
        if out._ctx is not None:
            ops.inplace.give_node(self, out._ctx, retake=False)
        version_counter(self).value += 1
        return self

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        from engine import creation

        return creation.full(
            _shape_arg((size,)),
            fill_value,
            dtype=dtype or self.dtype,
            device=device or self.device,
            requires_grad=requires_grad,
        )

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self.new_full(
            _shape_arg(size), 0, dtype=dtype, device=device, requires_grad=requires_grad
        )

    def __getitem__(self, index) -> Tensor:
        return ops.getitem(self, index)

    def __eq__(self, other) -> Tensor:  # type: ignore[override]
        return ops.eq(self, other)

    def eq(self, other) -> Tensor:
        return ops.eq(self, other)

    def __ne__(self, other) -> Tensor:  # type: ignore[override]
        return ops.ne(self, other)

    def ne(self, other) -> Tensor:
        return ops.ne(self, other)

    def __lt__(self, other) -> Tensor:
        return ops.lt(self, other)

    def lt(self, other) -> Tensor:
        return ops.lt(self, other)

    def __le__(self, other) -> Tensor:
        return ops.le(self, other)

    def le(self, other) -> Tensor:
        return ops.le(self, other)

    def __gt__(self, other) -> Tensor:
        return ops.gt(self, other)

    def gt(self, other) -> Tensor:
        return ops.gt(self, other)

    def __ge__(self, other) -> Tensor:
        return ops.ge(self, other)

    def ge(self, other) -> Tensor:
        return ops.ge(self, other)

    def bincount(self, weights=None, minlength=0) -> Tensor:
        return ops.counting.bincount(self, weights, minlength)

    def index_put_(self, indices, values, accumulate=False) -> Tensor:
        index = ops.inplace.index_put_args("index_put_", self, indices, values)
        if not accumulate:
            self[index] = values
            return self
        return self._modify(
            lambda x, v: ops.inplace.index_put_accumulate(x, index, v), values, keeps_self=False
        )

    def index_put(self, indices, values, accumulate=False) -> Tensor:
        ops.inplace.index_put_args("index_put", self, indices, values)
        return self.clone().index_put_(indices, values, accumulate)

    # ----- order statistics, NaN-aware reductions, running extrema (engine.ops.statistics) --
    def median(self, dim=None, keepdim=False):
        return ops.statistics.median(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        return ops.statistics.nanmedian(self, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return ops.statistics.mode(self, dim, keepdim)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return ops.statistics.kthvalue(self, k, dim, keepdim)

    def msort(self) -> Tensor:
        return ops.statistics.msort(self)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear") -> Tensor:
        return ops.statistics.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear") -> Tensor:
        return ops.statistics.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def nansum(self, dim=None, keepdim=False, *, dtype=None) -> Tensor:
        return ops.statistics.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None) -> Tensor:
        return ops.statistics.nanmean(self, dim, keepdim, dtype=dtype)

    def cummax(self, dim):
        return ops.statistics.cummax(self, dim)

    def cummin(self, dim):
        return ops.statistics.cummin(self, dim)

    def logcumsumexp(self, dim) -> Tensor:
        return ops.statistics.logcumsumexp(self, dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None) -> Tensor:
        return ops.statistics.diff(self, n, dim, prepend, append)

    def histc(self, bins=100, min=0, max=0) -> Tensor:
        return ops.statistics.histc(self, bins, min, max)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return ops.statistics.unique_consecutive(self, return_inverse, return_counts, dim)

    def aminmax(self, *, dim=None, keepdim=False):
        return ops.statistics.aminmax(self, dim=dim, keepdim=keepdim)

    # ----- more products and linear algebra (engine.ops.linalg_more) ----------------------
    def cross(self, other, dim=None) -> Tensor:
        return ops.linalg_more.cross(self, other, dim)

    def kron(self, other) -> Tensor:
        return ops.linalg_more.kron(self, other)

    def inner(self, other) -> Tensor:
        return ops.linalg_more.inner(self, other)

    def ger(self, vec2) -> Tensor:
        return ops.linalg_more.ger(self, vec2)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
        return ops.linalg_more.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
        return self._modify(
            lambda x, a, b: ops.linalg_more.baddbmm(x, a, b, beta=beta, alpha=alpha),
            batch1,
            batch2,
            keeps_self=False,
        )

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
        return self._modify(
            lambda x, a, b: ops.linalg_more.addbmm(x, a, b, beta=beta, alpha=alpha),
            batch1,
            batch2,
            keeps_self=False,
        )

    def addmv_(self, mat, vec, *, beta=1, alpha=1) -> Tensor:
        return self._modify(
            lambda x, a, b: ops.linalg_more.addmv(x, a, b, beta=beta, alpha=alpha),
            mat,
            vec,
            keeps_self=False,
        )

    def renorm_(self, p, dim, maxnorm) -> Tensor:
        return self._modify(lambda x: ops.linalg_more.renorm(x, p, dim, maxnorm))

    def qr(self, some=True):
        return ops.linalg_more.qr_legacy(self, some)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
        return ops.linalg_more.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1) -> Tensor:
        return ops.linalg_more.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def dist(self, other, p=2) -> Tensor:
        return ops.linalg_more.dist(self, other, p)

    def renorm(self, p, dim, maxnorm) -> Tensor:
        return ops.linalg_more.renorm(self, p, dim, maxnorm)

    def det(self) -> Tensor:
        return ops.linalg_more.det(self)

    def inverse(self) -> Tensor:
        return ops.linalg_more.inv(self)

    def slogdet(self):
        return ops.linalg_more.slogdet(self)

    def logdet(self) -> Tensor:
        return ops.linalg_more.logdet(self)

    def svd(self, some=True, compute_uv=True):
        return ops.linalg_more.svd(self, some, compute_uv)

    def pinverse(self, rcond=1e-15) -> Tensor:
        return ops.linalg_more.pinverse(self, rcond)

    def cholesky(self, upper=False) -> Tensor:
        return ops.linalg_more.cholesky(self, upper=upper)

    def matrix_power(self, n) -> Tensor:
        return ops.linalg_more.matrix_power(self, n)

    def matrix_exp(self) -> Tensor:
        return ops.linalg_more.matrix_exp(self)

    # ----- aliases, axis moves, splits, counting, pointwise math, indexing in place -------
    def absolute(self) -> Tensor:
        return ops.abs(self)

    def absolute_(self) -> Tensor:
        return self.abs_()

    def negative(self) -> Tensor:
        return ops.neg(self)

    def negative_(self) -> Tensor:
        return self.neg_()

    def positive(self) -> Tensor:
        return ops.more_shape.positive(self)

    def multiply(self, other) -> Tensor:
        return ops.mul(self, other)

    def multiply_(self, other) -> Tensor:
        return self.mul_(other)

    def subtract(self, other, *, alpha=1) -> Tensor:
        return ops.sub(self, other, alpha=alpha)

    def subtract_(self, other, *, alpha=1) -> Tensor:
        return self.sub_(other, alpha=alpha)

    def divide(self, other, *, rounding_mode=None) -> Tensor:
        return ops.more_shape.divide(self, other, rounding_mode=rounding_mode)

    def divide_(self, other, *, rounding_mode=None) -> Tensor:
        return self._modify(
            lambda x, o: ops.more_shape.divide(x, o, rounding_mode=rounding_mode),
            other,
            keeps_self=getattr(other, "requires_grad", False),
        )

    def true_divide(self, other) -> Tensor:
        return ops.div(self, other)

    def true_divide_(self, other) -> Tensor:
        return self.div_(other)

    def not_equal(self, other) -> Tensor:
        return ops.ne(self, other)

    def greater(self, other) -> Tensor:
        return ops.gt(self, other)

    def greater_equal(self, other) -> Tensor:
        return ops.ge(self, other)

    def less(self, other) -> Tensor:
        return ops.lt(self, other)

    def less_equal(self, other) -> Tensor:
        return ops.le(self, other)

    def not_equal_(self, other) -> Tensor:
        return self.ne_(other)

    def greater_(self, other) -> Tensor:
        return self.gt_(other)

    def greater_equal_(self, other) -> Tensor:
        return self.ge_(other)

    def less_(self, other) -> Tensor:
        return self.lt_(other)

    def less_equal_(self, other) -> Tensor:
        return self.le_(other)

    def swapaxes(self, axis0, axis1) -> Tensor:
        return ops.transpose(self, axis0, axis1)

    def swapdims(self, dim0, dim1) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    def swapaxes_(self, axis0, axis1) -> Tensor:
        return self.transpose_(axis0, axis1)

    def swapdims_(self, dim0, dim1) -> Tensor:
        return self.transpose_(dim0, dim1)

    def movedim(self, source, destination) -> Tensor:
        return ops.more_shape.movedim(self, source, destination)

    def moveaxis(self, source, destination) -> Tensor:
        return ops.more_shape.movedim(self, source, destination)

    def ravel(self) -> Tensor:
        return ops.more_shape.ravel(self)

    def select(self, dim, index) -> Tensor:
        return ops.more_shape.select(self, dim, index)

    def take(self, index) -> Tensor:
        return ops.more_shape.take(self, index)

    def take_along_dim(self, indices, dim=None) -> Tensor:
        return ops.more_shape.take_along_dim(self, indices, dim)

    def tensor_split(self, indices_or_sections, dim=0) -> tuple:
        return ops.more_shape.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, indices_or_sections) -> tuple:
        return ops.more_shape.hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections) -> tuple:
        return ops.more_shape.vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections) -> tuple:
        return ops.more_shape.dsplit(self, indices_or_sections)

    def broadcast_to(self, size) -> Tensor:
        return ops.more_shape.broadcast_to(self, size)

    def is_nonzero(self) -> bool:
        return ops.more_shape.is_nonzero(self)

    def is_complex(self) -> bool:
        return False

    def count_nonzero(self, dim=None) -> Tensor:
        return ops.more_shape.count_nonzero(self, dim)

    def argwhere(self) -> Tensor:
        return ops.more_shape.argwhere(self)

    def ndimension(self) -> int:
        return self._data.ndim

    def nelement(self) -> int:
        return int(self._data.size)

    def byte(self) -> Tensor:
        return self.to(_dt.uint8)

    def char(self) -> Tensor:
        return self.to(_dt.int8)

    def short(self) -> Tensor:
        return self.to(_dt.int16)

    @property
    def H(self) -> Tensor:  # real tensors: the conjugate is the tensor itself
        if self.ndim not in (0, 2):
            raise RuntimeError(
                f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor. "
                "For batches of matrices, consider using tensor.mH"
            )
        return self.T if self.ndim == 2 else self

    @property
    def mH(self) -> Tensor:
        return self.mT

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.size) * self._data.itemsize

    def data_ptr(self) -> int:
        a = self._data
        return int(a.data.ptr) if self.is_cuda else int(a.__array_interface__["data"][0])

    def get_device(self) -> int:
        return 0 if self.is_cuda else -1

    def pin_memory(self, device=None) -> Tensor:
        if not backend.is_cuda_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return self if self.is_cuda else self.clone()

    @property
    def retains_grad(self) -> bool:
        ref = getattr(self._ctx, "retained", None) if self._ctx is not None else None
        return ref is not None and ref() is self

    def sum_to_size(self, *size) -> Tensor:
        return ops.more_shape.sum_to_size(self, *size)

    def apply_(self, callable) -> Tensor:
        self._check_mapped()
        ops.more_shape.map_values(self, callable)
        version_counter(self).value += 1
        return self

    def map_(self, tensor, callable) -> Tensor:
        self._check_mapped()
        shape = ops.more_shape.broadcast_shapes(self.shape, tensor.shape)
        if tuple(shape) != tuple(self.shape):
            ops.expand(tensor, *self.shape)  # PyTorch's error for a size that cannot expand
        ops.more_shape.map_values(self, callable, tensor)
        version_counter(self).value += 1
        return self

    def sgn(self) -> Tensor:
        return ops.more_pointwise.sgn(self)

    def signbit(self) -> Tensor:
        return ops.more_pointwise.signbit(self)

    def frac(self) -> Tensor:
        return ops.more_pointwise.frac(self)

    def exp2(self) -> Tensor:
        return ops.more_pointwise.exp2(self)

    def erfc(self) -> Tensor:
        return ops.more_pointwise.erfc(self)

    def erfinv(self) -> Tensor:
        return ops.more_pointwise.erfinv(self)

    def lgamma(self) -> Tensor:
        return ops.more_pointwise.lgamma(self)

    def digamma(self) -> Tensor:
        return ops.more_pointwise.digamma(self)

    def deg2rad(self) -> Tensor:
        return ops.more_pointwise.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return ops.more_pointwise.rad2deg(self)

    def sinc(self) -> Tensor:
        return ops.more_pointwise.sinc(self)

    def isneginf(self) -> Tensor:
        return ops.more_pointwise.isneginf(self)

    def isposinf(self) -> Tensor:
        return ops.more_pointwise.isposinf(self)

    def isreal(self) -> Tensor:
        return ops.more_pointwise.isreal(self)

    def sgn_(self) -> Tensor:
        return self._modify(ops.more_pointwise.sgn)

    def frac_(self) -> Tensor:
        return self._modify(ops.more_pointwise.frac)

    def exp2_(self) -> Tensor:
        return self._modify(ops.more_pointwise.exp2)

    def erfc_(self) -> Tensor:
        return self._modify(ops.more_pointwise.erfc)

    def erfinv_(self) -> Tensor:
        return self._modify(ops.more_pointwise.erfinv)

    def lgamma_(self) -> Tensor:
        return self._modify(ops.more_pointwise.lgamma)

    def digamma_(self) -> Tensor:
        return self._modify(ops.more_pointwise.digamma)

    def deg2rad_(self) -> Tensor:
        return self._modify(ops.more_pointwise.deg2rad)

    def rad2deg_(self) -> Tensor:
        return self._modify(ops.more_pointwise.rad2deg)

    def sinc_(self) -> Tensor:
        return self._modify(ops.more_pointwise.sinc)

    def xlogy(self, other) -> Tensor:
        return ops.more_pointwise.xlogy(self, other)

    def hypot(self, other) -> Tensor:
        return ops.more_pointwise.hypot(self, other)

    def logaddexp(self, other) -> Tensor:
        return ops.more_pointwise.logaddexp(self, other)

    def logaddexp2(self, other) -> Tensor:
        return ops.more_pointwise.logaddexp2(self, other)

    def fmax(self, other) -> Tensor:
        return ops.more_pointwise.fmax(self, other)

    def fmin(self, other) -> Tensor:
        return ops.more_pointwise.fmin(self, other)

    def float_power(self, exponent) -> Tensor:
        return ops.more_pointwise.float_power(self, exponent)

    def gcd(self, other) -> Tensor:
        return ops.more_pointwise.gcd(self, other)

    def lcm(self, other) -> Tensor:
        return ops.more_pointwise.lcm(self, other)

    def ldexp(self, other) -> Tensor:
        return ops.more_pointwise.ldexp(self, other)

    def heaviside(self, values) -> Tensor:
        return ops.more_pointwise.heaviside(self, values)

    def xlogy_(self, other) -> Tensor:
        return self._modify(ops.more_pointwise.xlogy, other)

    def hypot_(self, other) -> Tensor:
        return self._modify(ops.more_pointwise.hypot, other)

    def gcd_(self, other) -> Tensor:
        return self._modify(ops.more_pointwise.gcd, other)

    def lcm_(self, other) -> Tensor:
        return self._modify(ops.more_pointwise.lcm, other)

    def ldexp_(self, other) -> Tensor:
        return self._modify(ops.more_pointwise.ldexp, other)

    def heaviside_(self, values) -> Tensor:
        return self._modify(ops.more_pointwise.heaviside, values)

    def float_power_(self, exponent) -> Tensor:
        if self._data.dtype != np.float64:
            raise RuntimeError(
                f"the base given to float_power_ has dtype {self.dtype} but the operation's "
                "result requires dtype Double"
            )
        return self._modify(ops.more_pointwise.float_power, exponent)

    def logit(self, eps=None) -> Tensor:
        return ops.more_pointwise.logit(self, eps)

    def logit_(self, eps=None) -> Tensor:
        return self._modify(lambda x: ops.more_pointwise.logit(x, eps))

    def addcmul(self, tensor1, tensor2, *, value=1) -> Tensor:
        return ops.more_pointwise.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1) -> Tensor:
        return ops.more_pointwise.addcdiv(self, tensor1, tensor2, value=value)

    def geometric_(self, p, *, generator=None) -> Tensor:
        if not 0 < p <= 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1], but got p={p}")
        return self._drawn(lambda rng, n: rng.geometric(p, size=n), generator)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None) -> Tensor:
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        return self._drawn(lambda rng, n: rng.lognormal(mean, std, size=n), generator)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None) -> Tensor:
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
        return self._drawn(lambda rng, n: median + sigma * rng.standard_cauchy(size=n), generator)

    def _drawn(self, draw, generator=None) -> Tensor:
        """Overwrite this tensor with draws (engine's generator), recorded as a fill."""
        values = draw(random._rng(generator), tuple(self.shape))
        values = np.asarray(values).astype(self._data.dtype)
        return self._modify(
            lambda x: ops.inplace.overwrite(x, backend.to_device(values, self.device.type)),
            keeps_self=False,
        )

    def index_copy(self, dim, index, source) -> Tensor:
        return ops.more_index.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source) -> Tensor:
        return self._modify(
            lambda x, s: ops.more_index.index_copy(x, dim, index, s), source, keeps_self=False
        )

    def index_fill(self, dim, index, value) -> Tensor:
        return ops.more_index.index_fill(self, dim, index, value)

    def index_fill_(self, dim, index, value) -> Tensor:
        return self._modify(
            lambda x, v: ops.more_index.index_fill(x, dim, index, v), value, keeps_self=False
        )

    def masked_scatter(self, mask, source) -> Tensor:
        return ops.more_index.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source) -> Tensor:
        return self._modify(
            lambda x, s: ops.more_index.masked_scatter(x, mask, s), source, keeps_self=False
        )

    def put(self, index, source, accumulate=False) -> Tensor:
        return ops.more_index.put(self, index, source, accumulate)

    def put_(self, index, source, accumulate=False) -> Tensor:
        return self._modify(
            lambda x, s: ops.more_index.put(x, index, s, accumulate), source, keeps_self=False
        )

    def fill_diagonal_(self, fill_value, wrap=False) -> Tensor:
        return self._modify(
            lambda x: ops.more_index.fill_diagonal(x, fill_value, wrap), keeps_self=False
        )

    def resize_(self, *sizes) -> Tensor:
        shape = _shape_arg(sizes)
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        if any(n < 0 for n in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
        old = self._data.reshape(-1)
        n = int(np.prod(shape))
        data = self._xp().zeros(n, dtype=old.dtype)
        keep = min(n, old.size)
        data[:keep] = old[:keep]
        self._data = data.reshape(shape)
        version_counter(self).value += 1
        return self

    def unfold(self, dimension, size, step) -> Tensor:
        return ops.more_index.unfold(self, dimension, size, step)

    def diagonal(self, offset=0, dim1=0, dim2=1) -> Tensor:
        return ops.more_index.diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1) -> Tensor:
        return ops.more_index.diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset=0) -> Tensor:
        return ops.more_index.diagflat(self, offset)

    def _check_mapped(self) -> None:
        if self.requires_grad and state.grad_enabled:
            raise RuntimeError(
                "Can't call apply_() on Variable that requires grad. Use var.detach().apply_() "
                "instead."
            )

    # ----- in place ----------------------------------------------------------
    def _modify(self, compute, *args, keeps_self: bool = True, direct=None, written=_ALL) -> Tensor:
        """Change this tensor in place to `compute(self, *args)`, recorded as PyTorch does.

        Outside the graph the result is written into the storage, which views share
        (`direct(array, *args)`, where given, changes the array itself). In the graph
        this tensor's node becomes the op's node; for a view, the base's node becomes a
        CopySlices over the change. `keeps_self`: the op's backward may read the old
        values, so in the graph it runs on a copy that the write leaves alone.
        `written`: the array the change writes (all of this tensor by default), checked
        for memory its inputs share with it as PyTorch checks; None checks nothing.
        """
        in_graph = self._in_graph(args)
        if in_graph:
            self._check_inplace()
        self._check_writable()
        if written is not None:
            self._check_overlap(self._data if written is _ALL else written, args)
        if not in_graph:
            if direct is None:
                out = compute(self, *args)
                self._check_result(out)
                self._data[...] = out._data
            else:
                direct(self._data, *args)
            version_counter(self).value += 1
            return self
        source = self
        if keeps_self:
            source = Tensor._make(self._data.copy(), self.requires_grad, self._ctx)
        out = compute(source, *args)
        self._check_result(out)
        if out._data.dtype != self._data.dtype:
            out = out.to(self.dtype)
        if out._ctx is None:  # a gradient cannot reach this dtype (copy_ into ints): no node
            self._data[...] = out._data
            version_counter(self).value += 1
            return self
        if self._view is None:
            self._data[...] = out._data
            ops.inplace.give_node(self, out._ctx)
        else:
            ops.inplace.change_view(self, out)
        counter = version_counter(self)
        counter.value += 1
        if out._ctx.saved:
            out._ctx.output_saved_as(counter)
        return self

    @staticmethod
    def _check_overlap(written, args) -> None:
        """PyTorch's refusals of a write where two elements are one place in memory: an
        expanded tensor written to, or an input that partly overlaps what is written."""
        if backend.internal_overlap(written):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor "
                "refers to a single memory location. Please clone() the tensor before "
                "performing the operation."
            )
        for a in args:
            if isinstance(a, Tensor) and backend.partial_overlap(written, a._data):
                raise RuntimeError(
                    "unsupported operation: some elements of the input tensor and the "
                    "written-to tensor refer to a single memory location. Please clone() "
                    "the tensor before performing the operation."
                )

    def _in_graph(self, args) -> bool:
        """Whether a change in place of this tensor by `args` goes into the graph."""
        if not state.grad_enabled:
            return False
        if self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args):
            return True
        return self._view is not None and self._base.requires_grad

    def _check_inplace(self) -> None:
        """PyTorch's refusals of a change in place that the graph would record."""
        if self.requires_grad and self._ctx is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        base = self._base
        if base is not None and base.requires_grad:
            if base._ctx is None:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an "
                    "in-place operation."
                )
            if not self.requires_grad:
                raise RuntimeError(
                    "A view was created in no_grad mode and is being modified inplace with "
                    "grad mode enabled: clone() the view, or make it outside no_grad."
                )

    def _check_result(self, out: Tensor) -> None:
        """Refuse, as PyTorch does, a result that this tensor cannot hold."""
        have, got = self._data, out._data
        if got.shape != have.shape:
            raise RuntimeError(
                f"output with shape {list(have.shape)} doesn't match the broadcast shape "
                f"{list(got.shape)}"
            )
        if not _torch_can_cast(got.dtype, have.dtype):
            raise RuntimeError(
                f"result type {out.dtype} can't be cast to the desired output type {self.dtype}"
            )

    def _check_writable(self) -> None:
        if not getattr(self._data.flags, "writeable", True):
            raise RuntimeError(
                "unsupported operation: the memory of this tensor is read-only. Please "
                "clone() the tensor before performing the operation."
            )

    def add_(self, other, alpha=1) -> Tensor:
        return self._modify(lambda x, o: ops.add(x, o, alpha=alpha), other, keeps_self=False)

    def sub_(self, other, alpha=1) -> Tensor:
        return self._modify(lambda x, o: ops.sub(x, o, alpha=alpha), other, keeps_self=False)

    def mul_(self, other) -> Tensor:  # mul and div save self only for other's gradient
        return self._modify(ops.mul, other, keeps_self=getattr(other, "requires_grad", False))

    def div_(self, other, *, rounding_mode=None) -> Tensor:
        if rounding_mode is not None:
            rounded = lambda t, o: ops.div(t, o, rounding_mode=rounding_mode)  # noqa: E731
            return self._modify(rounded, other, keeps_self=False)
        return self._modify(ops.div, other, keeps_self=getattr(other, "requires_grad", False))

    def pow_(self, exponent) -> Tensor:
        return self._modify(ops.pow, exponent)

    def addcmul_(self, t1, t2, value=1) -> Tensor:
        return self._modify(lambda x, a, b: x + value * a * b, t1, t2, keeps_self=False)

    def addcdiv_(self, t1, t2, value=1) -> Tensor:
        return self._modify(lambda x, a, b: x + value * a / b, t1, t2, keeps_self=False)

    def clamp_(self, min=None, max=None) -> Tensor:
        return self._modify(lambda x: ops.clamp(x, min, max))

    def relu_(self) -> Tensor:
        return self._modify(ops.relu, keeps_self=False)  # backward reads the output

    def sigmoid_(self) -> Tensor:
        return self._modify(ops.sigmoid, keeps_self=False)

    def tanh_(self) -> Tensor:
        return self._modify(ops.tanh, keeps_self=False)

    def exp_(self) -> Tensor:
        return self._modify(ops.exp, keeps_self=False)

    def log_(self) -> Tensor:
        return self._modify(ops.log)

    def neg_(self) -> Tensor:
        return self._modify(ops.neg, keeps_self=False)

    def floor_(self) -> Tensor:
        return self._modify(ops.floor, keeps_self=False)

    def ceil_(self) -> Tensor:
        return self._modify(ops.ceil, keeps_self=False)

    def trunc_(self) -> Tensor:
        return self._modify(ops.trunc, keeps_self=False)

    def sign_(self) -> Tensor:
        return self._modify(ops.sign, keeps_self=False)

    def expm1_(self) -> Tensor:
        return self._modify(ops.expm1, keeps_self=False)

    def rsqrt_(self) -> Tensor:
        return self._modify(ops.rsqrt, keeps_self=False)

    def tan_(self) -> Tensor:
        return self._modify(ops.tan, keeps_self=False)

    def log1p_(self) -> Tensor:
        return self._modify(ops.log1p)

    def log2_(self) -> Tensor:
        return self._modify(ops.log2)

    def log10_(self) -> Tensor:
        return self._modify(ops.log10)

    def square_(self) -> Tensor:
        return self._modify(ops.square)

    def asin_(self) -> Tensor:
        return self._modify(ops.asin)

    def acos_(self) -> Tensor:
        return self._modify(ops.acos)

    def atan_(self) -> Tensor:
        return self._modify(ops.atan)

    def sinh_(self) -> Tensor:
        return self._modify(ops.sinh)

    def cosh_(self) -> Tensor:
        return self._modify(ops.cosh)

    def arcsin_(self) -> Tensor:
        return self._modify(ops.arcsin)

    def arccos_(self) -> Tensor:
        return self._modify(ops.arccos)

    def arctan_(self) -> Tensor:
        return self._modify(ops.arctan)

    def round_(self, *, decimals=0) -> Tensor:
        return self._modify(lambda x: ops.round(x, decimals=decimals), keeps_self=False)

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None) -> Tensor:
        return self._modify(lambda x: ops.nan_to_num(x, nan, posinf, neginf))

    def logical_not_(self) -> Tensor:
        return self._modify(ops.logical_not, keeps_self=False)

    def logical_and_(self, other) -> Tensor:
        return self._modify(ops.logical_and, other, keeps_self=False)

    def logical_or_(self, other) -> Tensor:
        return self._modify(ops.logical_or, other, keeps_self=False)

    def logical_xor_(self, other) -> Tensor:
        return self._modify(ops.logical_xor, other, keeps_self=False)

    def atan2_(self, other) -> Tensor:
        return self._modify(ops.atan2, other)

    def arctan2_(self, other) -> Tensor:
        return self._modify(ops.arctan2, other)

    def remainder_(self, other) -> Tensor:
        return self._modify(ops.remainder, other)

    def fmod_(self, other) -> Tensor:
        return self._modify(ops.fmod, other)

    def floor_divide_(self, other) -> Tensor:
        return self._modify(ops.floor_divide, other, keeps_self=False)

    def clamp_min_(self, min) -> Tensor:
        return self._modify(lambda x: ops.clamp_min(x, min))

    def clamp_max_(self, max) -> Tensor:
        return self._modify(lambda x: ops.clamp_max(x, max))

    def lerp_(self, end, weight) -> Tensor:
        return self._modify(ops.lerp, end, weight)

    def sqrt_(self) -> Tensor:
        return self._modify(ops.sqrt, keeps_self=False)

    def sin_(self) -> Tensor:
        return self._modify(ops.sin)

    def cos_(self) -> Tensor:
        return self._modify(ops.cos)

    def abs_(self) -> Tensor:
        return self._modify(ops.abs)

    def reciprocal_(self) -> Tensor:
        return self._modify(ops.reciprocal, keeps_self=False)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value) -> Tensor:
        if not isinstance(value, Tensor):  # a number the dtype cannot hold: RuntimeError
            value = ops.elementwise.checked_scalar(value, self._data.dtype)
        return self._modify(  # PyTorch's fill_ writes one value and checks no overlap
            ops.inplace.overwrite,
            value,
            keeps_self=False,
            direct=lambda a, v: _assign(a, ..., v),
            written=None,
        )

    def copy_(self, src) -> Tensor:
        return self._modify(
            ops.inplace.overwrite,
            src,
            keeps_self=False,
            direct=lambda a, v: _assign(a, ..., v),
            written=_copy_target(self._data, src),
        )

    def uniform_(self, a=0.0, b=1.0, *, generator=None) -> Tensor:
        return self._modify(
            lambda x: ops.inplace.overwrite(
                x, random.host_uniform(self.shape, a, b, self._data.dtype, generator)
            ),
            keeps_self=False,
            direct=lambda array: random.fill_uniform(array, a, b, generator),  # into storage
        )

    def normal_(self, mean=0.0, std=1.0, *, generator=None) -> Tensor:
        return self._modify(
            lambda x: ops.inplace.overwrite(
                x, random.host_normal(self.shape, mean, std, self._data.dtype, generator)
            ),
            keeps_self=False,
            direct=lambda array: random.fill_normal(array, mean, std, generator),
        )

    def __setitem__(self, index, value) -> None:
        index = ops.index_for(index)
        if not isinstance(value, Tensor):  # the number first, then the index, as in PyTorch
            value = ops.elementwise.checked_scalar(value, self._data.dtype)
        ops.movement.check_basic(index, self.shape)
        # PyTorch copies into the view `self[index]`, and checks that; an index with
        # arrays goes to index_put_, which checks no overlap
        written = None
        if not ops.movement._is_advanced(index):
            parts = index if isinstance(index, tuple) else (index,)
            written = self._data[parts if Ellipsis in parts else (*parts, ...)]  # a view, even 0-d
        self._modify(
            lambda x, v: ops.inplace.index_put(x, index, v),
            value,
            keeps_self=False,
            direct=lambda a, v: _assign(a, index, v),
            written=None if written is None else _copy_target(written, value),
        )

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    # ----- gradient assignment, checked as PyTorch checks it; storage offsets --------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient that backward accumulated into this tensor, or None."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    "assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a "
                    f"tensor of size '{list(self.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor "
                    f"with dtype '{self.dtype}'"
                )
        self._grad = value

    def storage_offset(self) -> int:
        """How many elements into its storage this tensor starts (views of a slice: > 0)."""
        owner = self._data
        while getattr(owner, "base", None) is not None:
            owner = owner.base
        if getattr(owner, "dtype", None) is None or owner is self._data:
            return 0
        return (_address(self._data) - _address(owner)) // self._data.itemsize


def _address(array) -> int:
    if hasattr(array, "__cuda_array_interface__"):
        return int(array.__cuda_array_interface__["data"][0])
    return int(array.__array_interface__["data"][0])


class Size(tuple):
    """A tensor's shape: a tuple that prints like PyTorch's."""

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + other)

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(other + tuple(self))

    def __mul__(self, times):
        return Size(tuple(self) * times)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"engine.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


def _torch_can_cast(got, want) -> bool:
    """PyTorch's canCast: no complex to real, no float to integer, nothing but bool to bool.
    Any integer goes to any other (int64 into uint8 wraps), where NumPy's "same_kind" refuses
    signed to unsigned."""
    got, want = np.dtype(got), np.dtype(want)
    if got.kind == "c" and want.kind != "c":
        return False
    if got.kind == "f" and want.kind in "biu":
        return False
    return want.kind != "b" or got.kind == "b"


def _shape_arg(size) -> tuple:
    """Accept f(2, 3), f((2, 3)) and f([2, 3])."""
    if len(size) == 1 and isinstance(size[0], list | tuple | Size):
        size = size[0]
    return tuple(int(s) for s in size)


def _copy_target(written, src):
    """What a copy into `written` checks: nothing when `src` is those very elements (PyTorch's
    copy_ then returns at once), else `written` itself."""
    if isinstance(src, Tensor) and backend.same_view(written, src._data):
        return None
    return written


def _assign(array, index, value) -> None:
    """array[index] = value, where value is a tensor, an array or a number, on any device."""
    if isinstance(value, Tensor):
        value = value._data
    if hasattr(value, "dtype") and not np.isscalar(value):
        value = backend.to_device(value, backend.device_of(array))
    try:
        array[index] = value
    except ValueError as exc:  # a shape that does not broadcast: PyTorch's RuntimeError
        raise RuntimeError(f"shape mismatch: {exc}") from None


def _to_array(data, dtype_, device_name):
    """Build a backend array from nested lists, scalars, arrays or tensors."""
    if isinstance(data, Tensor):
        arr = data._data
    else:
        if dtype_ is None and isinstance(data, list | tuple):
            dtype_ = _sequence_dtype(data)
        if isinstance(data, list | tuple) and any(isinstance(x, Tensor) for x in data):
            data = [x.tolist() if isinstance(x, Tensor) else x for x in data]
        arr = data if hasattr(data, "__cuda_array_interface__") else np.asarray(data)
    if dtype_ is None:
        kind = arr.dtype.kind
        if (
            kind == "f"
            and not isinstance(data, np.ndarray | np.generic | Tensor)
            and not hasattr(data, "__cuda_array_interface__")
        ):
            dtype_ = _dt.default_dtype  # Python floats become float32, as in PyTorch
        elif kind in "iu" and not isinstance(data, np.ndarray | np.generic | Tensor):
            dtype_ = _dt.int64
        elif kind not in "fiub":
            raise TypeError(f"can't build a tensor from {type(data).__name__} of {arr.dtype}")
    if dtype_ is not None:
        arr = arr.astype(to_dtype(dtype_).np, copy=False)
    if device_name is not None:
        arr = backend.to_device(arr, device(device_name).type)
    if arr is data or (isinstance(data, Tensor) and arr is data._data):
        arr = arr.copy()
    return arr


_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _sequence_dtype(data) -> dtype | None:
    """The dtype PyTorch infers for nested sequences holding NumPy scalars, arrays or tensors:
    each keeps its dtype (Python floats the default dtype, ints int64) and they promote as
    dtypes do in PyTorch (the higher kind wins, else the wider type). None: plain Python
    numbers only, which the caller handles."""
    found: set = set()
    python_numbers: set = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, Tensor):
            found.add(item._data.dtype)
        elif isinstance(item, np.ndarray | np.generic):
            found.add(item.dtype)
        elif isinstance(item, bool):
            python_numbers.add(np.dtype(np.bool_))
        elif isinstance(item, int):
            python_numbers.add(np.dtype(np.int64))
        elif isinstance(item, float):
            python_numbers.add(_dt.default_dtype.np)
    if not found or any(d.kind not in _KIND_ORDER for d in found):
        return None
    result = None
    for d in found | python_numbers:
        if result is None or _KIND_ORDER[d.kind] > _KIND_ORDER[result.kind]:
            result = d
        elif _KIND_ORDER[d.kind] == _KIND_ORDER[result.kind]:
            result = np.promote_types(result, d)
    return from_numpy_dtype(result)


from engine import ops, random  # noqa: E402  (ops build on Tensor)
