"""The Optimizer base: parameter groups, per-parameter state, saving and loading both."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import numpy as np

from engine import backend
from engine.autograd import enable_grad, state, version_counter
from engine.tensor import Tensor


class Optimizer:
    """Holds parameter groups and their state; subclasses write `step()`.

    `params` is an iterable of tensors, or of dicts (parameter groups) whose
    'params' entry lists tensors and whose other entries override `defaults`
    for that group, as in `SGD([{'params': a}, {'params': b, 'lr': 0.1}], lr=0.01)`.
    """

    def __init_subclass__(cls, **kwargs):
        """Every subclass's `step` notes that it ran, so a scheduler stepped first can warn."""
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is None or getattr(step, "_notes_call", False):
            return

        @functools.wraps(step)
        def noted_step(self, *args, **kwargs):
            self._opt_called = True
            return step(self, *args, **kwargs)

        noted_step._notes_call = True
        cls.step = noted_step

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]):
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors "
                "or dicts, but got a Tensor"
            )
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own options, to `param_groups`."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = [params] if isinstance(params, Tensor) else list(params)
        group: dict[str, Any] = {"params": params}
        named = [isinstance(p, tuple) for p in params]
        if any(named):  # (name, tensor) pairs, as model.named_parameters() gives them
            if not all(named):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            group = {"params": [p for _, p in params], "param_names": [n for n, _ in params]}
        group.update((k, v) for k, v in param_group.items() if k != "params")
        if self.param_groups and ("param_names" in group) != (
            "param_names" in self.param_groups[0]
        ):
            with_names = "with" if "param_names" in group else "without"
            raise ValueError(
                "all optimizer param groups should be with/without names. cannot add param "
                f"group {with_names} names to the optimizer"
            )
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    "can't optimize a non-leaf Tensor (it was computed by an op; "
                    "optimize the leaf it came from, or a .detach()ed copy)"
                )
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient, or fill it with zeros when `set_to_none=False`."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return `closure()`'s loss."""
        raise NotImplementedError

    def _apply_update(self, p: Tensor, update, group: dict) -> None:
        """p -= update: the one place a parameter changes, so a debugger can show each update."""
        instrument = state.instrument
        if instrument is not None:
            instrument.update(self, p, update, group)
        p._data -= update
        version_counter(p).value += 1  # an in-place change, as PyTorch's p.add_ counts it

    def _closure_loss(self, closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ----- saving and loading --------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout, parameters replaced by their indices.

        {'state': {index: {'step': 3, 'exp_avg': Tensor, ...}},
         'param_groups': [{'lr': 0.01, ..., 'params': [0, 1]}, ...]}

        Unlike PyTorch, the state tensors are copies: a saved dict stays a snapshot
        while training goes on.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: _snapshot(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by `state_dict()` onto this optimizer's parameters."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} "
                    f"parameters, this optimizer's group {i} has {len(group['params'])}"
                )
        params_by_index = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in self.param_groups),
                strict=True,
            )
        )
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            if index not in params_by_index:
                raise ValueError(
                    f"loaded state dict has state for parameter {index}, "
                    "which none of its parameter groups lists"
                )
            p = params_by_index[index]
            state[p] = {k: _restore(v, p, k, index) for k, v in saved_state.items()}
        groups = []
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            restored = {k: v for k, v in saved.items() if k != "params"}
            restored["params"] = group["params"]
            if "param_names" in group:  # kept when the saved groups had no names
                restored.setdefault("param_names", group["param_names"])
            groups.append(restored)
        self.param_groups = groups
        self.state = state
        self._opt_called = True  # a resumed optimizer: its scheduler's next step needn't warn


def check_implementation_options(differentiable: bool) -> None:
    """PyTorch's options that choose how an update is computed (`foreach`, `fused`,
    `capturable`) change nothing here, where there is one way; `differentiable=True`,
    a step that autograd records, is refused."""
    if differentiable:
        raise NotImplementedError(
            "differentiable=True is not supported: the engine's optimizer steps are not "
            "recorded by autograd"
        )


def zeros_state(p: Tensor) -> Tensor:
    """A zero buffer shaped, typed and placed like parameter `p`, for optimizer state."""
    return Tensor._make(backend.array_module(p._data).zeros_like(p._data), False, None)


def _snapshot(value):
    if isinstance(value, Tensor):
        return Tensor._make(value._data.copy(), False, None)
    return value


def _restore(value, p: Tensor, key: str, index: int):
    """A copy of saved `value` on `p`'s device, in `p`'s dtype for floating buffers."""
    if isinstance(value, np.ndarray):
        value = Tensor._make(value, False, None)
    if not isinstance(value, Tensor):
        return value
    if key in ("step", "mu_product"):  # PyTorch keeps these as 0-d tensors; here, numbers
        return value.item()
    if tuple(value.shape) != tuple(p.shape):
        raise ValueError(
            f"loaded state dict's '{key}' for parameter {index} has shape "
            f"{tuple(value.shape)}, the parameter has shape {tuple(p.shape)}"
        )
    arr = backend.to_device(value._data, p.device.type)
    if p._data.dtype.kind == "f":
        arr = arr.astype(p._data.dtype, copy=False)
    return Tensor._make(arr.copy() if arr is value._data else arr, False, None)
