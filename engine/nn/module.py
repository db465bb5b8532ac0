"""Module and Parameter: the tree of layers, its state, and its hooks."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import NamedTuple

from engine import backend
from engine.autograd import Function, no_grad, state
from engine.dtypes import device as device_cls
from engine.dtypes import to_dtype
from engine.tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as a learnable parameter."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        arr = data._data if isinstance(data, Tensor) else backend.np.zeros((0,), "float32")
        p = Tensor._make.__func__(cls, arr, False, None)
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data=None, requires_grad=True):  # state is set in __new__
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(NamedTuple):
    """What `load_state_dict` could not match; its repr is PyTorch's."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
            f"unexpected_keys={self.unexpected_keys!r})"
        )

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys


class RemovableHandle:
    """Returned by register_*_hook; `remove()` takes the hook away."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


class _PassGradients(Function):
    """Identity on several tensors whose backward reports the gradients of all of them at once
    (what a module's full backward hook sees at its inputs and outputs)."""

    @staticmethod
    def forward(ctx, report, *tensors):
        ctx.report = report
        ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.report(grads))


class _BackwardHookState:
    """One call of a module with full backward hooks: wraps its tensor inputs and outputs."""

    def __init__(self, module, args):
        self.module, self.grad_output = module, None
        self.positions = [
            i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad
        ]
        self.n_inputs = len(args)

    def wrap_inputs(self, args):
        if not self.positions:
            return args
        wrapped = _PassGradients.apply(self.at_inputs, *(args[i] for i in self.positions))
        args = list(args)
        for i, t in zip(self.positions, wrapped, strict=True):
            args[i] = t
        return tuple(args)

    def wrap_outputs(self, out):
        outs = out if isinstance(out, tuple) else (out,)
        where = [j for j, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not where:
            return out
        self.n_outputs = len(outs)
        self.out_positions = where
        wrapped = _PassGradients.apply(self.at_outputs, *(outs[j] for j in where))
        outs = list(outs)
        for j, t in zip(where, wrapped, strict=True):
            outs[j] = t
        return tuple(outs) if isinstance(out, tuple) else outs[0]

    def at_outputs(self, grads):
        full = [None] * self.n_outputs
        for j, g in zip(self.out_positions, grads, strict=True):
            full[j] = g
        self.grad_output = tuple(full)
        if not self.positions:  # no input wants a gradient: the hook runs now, as in PyTorch
            self._call_hooks((None,) * self.n_inputs)
        return grads

    def at_inputs(self, grads):
        full = [None] * self.n_inputs
        for i, g in zip(self.positions, grads, strict=True):
            full[i] = g
        full = self._call_hooks(tuple(full))
        return tuple(full[i] for i in self.positions)

    def _call_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                result = result if isinstance(result, tuple) else (result,)
                if len(result) != len(grad_input):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got "
                        f"{len(result)}, but expected {len(grad_input)}"
                    )
                grad_input = result
        return grad_input


class _KwargsHook:
    """A hook registered with with_kwargs=True: called with the keyword arguments too."""

    _with_kwargs = True

    def __init__(self, hook: Callable):
        self.hook = hook

    def __call__(self, *args):
        return self.hook(*args)


def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool, with_kwargs: bool):
    handle = RemovableHandle(hooks)
    hooks[handle.id] = _KwargsHook(hook) if with_kwargs else hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class Module:
    """Base class of every layer: holds parameters, buffers and sub-modules by name."""

    training: bool

    def __init__(self):
        for name in ("_parameters", "_buffers", "_modules", "_forward_hooks", "_forward_pre_hooks"):
            object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        if (
            self._forward_pre_hooks
            or self._forward_hooks
            or state.instrument is not None
            or self.__dict__.get("_backward_hooks")
        ):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            if getattr(hook, "_with_kwargs", False):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result}."
                        )
                    args, kwargs = result
                continue
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        backward_hooks = self.__dict__.get("_backward_hooks") and state.grad_enabled
        if backward_hooks:
            seen = _BackwardHookState(self, args)
            args = seen.wrap_inputs(args)
        instrument = state.instrument
        if instrument is not None:
            out = instrument.call_module(self, args, kwargs)
        else:
            out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            if getattr(hook, "_with_kwargs", False):
                result = hook(self, args, kwargs, out)
            else:
                result = hook(self, args, out)
            if result is not None:
                out = result
        if backward_hooks:
            out = seen.wrap_outputs(out)
        return out

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, grad_input, grad_output) runs when the gradients of the module's
        inputs are computed; a tuple it returns replaces grad_input."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:  # fmt: skip
        """hook(module, inputs, output) (with_kwargs: hook(module, inputs, kwargs, output)) runs
        after forward; a non-None result replaces output. prepend runs it before the others."""
        return _add_hook(self._forward_hooks, hook, prepend, with_kwargs)

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """hook(module, inputs) runs before forward; a non-None result replaces inputs. With
        with_kwargs, hook(module, inputs, kwargs) may return (new_inputs, new_kwargs)."""
        return _add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    # ----- attributes -----------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep=params)
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(engine.nn.Parameter or None expected)"
                )
            params[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}'")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep=None) -> None:
        """Drop `name` from every store but `keep`, where a replacement keeps its place."""
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            if store is not keep:
                store.pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' as parameter '{name}'")
        self._check_name(name)
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' as buffer '{name}'")
        self._check_name(name)
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name)
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    @staticmethod
    def _check_name(name: str) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f'name must be a non-empty string without ".", got {name!r}')

    # ----- walking the tree -----------------------------------------------
    def named_modules(
        self, memo=None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(
                    memo, f"{prefix}.{name}" if prefix else name, remove_duplicate
                )

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path `target` ("" is this module)."""
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path `target`."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path `target`."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(module, name)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, child in self._modules.items():
            if child is not None and child not in seen:
                seen.add(child)
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate=True):
        seen = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mod_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ----- modes and moves ------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    def to(self, *args, **kwargs) -> Module:
        """Move parameters and buffers in place to a device and/or floating dtype."""
        target_device = kwargs.get("device")
        target_dtype = kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, device_cls) or (
                isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda")
            ):
                target_device = arg
            elif isinstance(arg, Tensor):
                target_device, target_dtype = arg.device, arg.dtype
            else:
                target_dtype = arg
        dev = None if target_device is None else device_cls(target_device).type
        dt = None if target_dtype is None else to_dtype(target_dtype)
        if dt is not None and not dt.is_floating_point:
            raise TypeError(
                f"Module.to only accepts floating point dtypes, but got desired dtype={dt}"
            )

        def move(t: Tensor) -> None:
            arr = t._data
            if dt is not None and arr.dtype.kind == "f":
                arr = arr.astype(dt.np)
            if dev is not None:
                arr = backend.to_device(arr, dev)
            t._data = arr
            if t.grad is not None:
                move(t.grad)

        for t in list(self.parameters()) + list(self.buffers()):
            move(t)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device=None) -> Module:  # one GPU: device is ignored
        return self.to("cuda")

    def float(self) -> Module:
        return self.to(dtype="float32")

    def double(self) -> Module:
        return self.to(dtype="float64")

    def half(self) -> Module:
        return self.to(dtype="float16")

    # ----- state ----------------------------------------------------------
    def state_dict(
        self, destination=None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """Parameters and persistent buffers by PyTorch's dotted names."""
        out = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy tensors into parameters and buffers; keys, shapes and kinds are checked.

        As in PyTorch, values are cast to each parameter's dtype (integers and bools
        convert, complex ones lose their imaginary part with a warning), and anything
        that is not a tensor is an error, as is a wrong shape.
        """
        own = self.state_dict(keep_vars=True)
        # as PyTorch's for a dict without version metadata (an old checkpoint): a norm layer's
        # absent num_batches_tracked keeps its value and is not reported missing
        kept = {
            f"{name}.num_batches_tracked" if name else "num_batches_tracked"
            for name, module in self.named_modules()
            if getattr(module, "track_running_stats", False)
            and isinstance(getattr(module, "num_batches_tracked", None), Tensor)
        }
        missing = [k for k in own if k not in state_dict and k not in kept]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and unexpected:
            errors.append(
                "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
            )
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing))
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):  # PyTorch refuses numpy arrays and lists too
                errors.append(
                    f'While copying the parameter named "{key}", expected Tensor or Tensor-like '
                    f"object from checkpoint but received {type(value)}"
                )
            elif value._data.dtype.kind not in "biufc":
                errors.append(
                    f'While copying the parameter named "{key}", expected a Tensor of numbers '
                    f"from checkpoint but received one of {value._data.dtype}"
                )
            elif tuple(value.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} "
                    f"from checkpoint, the shape in current model is {tuple(target.shape)}."
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    arr = backend.to_numpy(state_dict[key]._data)
                    if arr.dtype.kind == "c" and target._data.dtype.kind != "c":
                        warnings.warn(
                            "Casting complex values to real discards the imaginary part",
                            UserWarning,
                            stacklevel=2,
                        )
                        arr = arr.real
                    arr = backend.to_device(arr, target.device.type)
                    target._data[...] = arr.astype(target._data.dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ----- printing -------------------------------------------------------
    def extra_repr(self) -> str:
        """The constructor arguments, as they would be written to build this layer."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not self._modules and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        return type(self).__name__ + "(\n  " + "\n  ".join(lines) + "\n)"
