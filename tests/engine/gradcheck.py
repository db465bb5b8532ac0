"""Checks an engine op against finite differences (float64) and against PyTorch (float32)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

import engine

FD_EPS = 1e-6
FD_ATOL = 1e-6
FD_RTOL = 1e-5
TORCH_RTOL = 1e-5
TORCH_ATOL = 1e-5

# Set by tests/engine/test_gpu_ops.py: check_op then compares the engine on cuda with the
# engine on the CPU, instead of checking against finite differences and PyTorch.
ON_CUDA = False

try:  # make `engine.nn.functional` reachable as an attribute, like `torch.nn.functional`
    importlib.import_module("engine.nn.functional")
except ImportError:
    pass


@dataclass(frozen=True)
class Const:
    """A float input passed to the op as a tensor that does not require grad."""

    array: np.ndarray


def _torch() -> ModuleType | None:
    if importlib.util.find_spec("torch") is None:
        return None
    return importlib.import_module("torch")


def _make_args(
    lib: ModuleType, inputs: Sequence[Any], float_dtype: str, requires_grad: bool, device=None
):
    """Tensors of `lib` for the numpy inputs; other inputs (numbers, tuples) pass unchanged."""
    args, differentiable = [], []
    for x in inputs:
        if isinstance(x, Const):
            args.append(lib.tensor(x.array.copy(), dtype=getattr(lib, float_dtype), device=device))
        elif isinstance(x, np.ndarray) and x.dtype.kind == "f":
            t = lib.tensor(
                x.copy(),
                dtype=getattr(lib, float_dtype),
                device=device,
                requires_grad=requires_grad,
            )
            args.append(t)
            differentiable.append(t)
        elif isinstance(x, np.ndarray) and x.dtype.kind == "b":
            args.append(lib.tensor(x.copy(), dtype=lib.bool, device=device))
        elif isinstance(x, np.ndarray):
            args.append(lib.tensor(x.astype(np.int64), dtype=lib.int64, device=device))
        else:
            args.append(x)
    return args, differentiable


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, tuple | list) else [out]


def _run(lib, fn, inputs, float_dtype, weights=None, backward=True, device=None):
    """Outputs (numpy) and, when `backward`, grads of the float inputs under sum(out * w)."""
    args, differentiable = _make_args(lib, inputs, float_dtype, backward, device)
    outs = _as_list(fn(lib, *args))
    if device is not None:
        for k, o in enumerate(outs):
            assert o.device.type == device, f"output {k} is on {o.device}, not {device}"
    values = [o.detach().cpu().numpy() for o in outs]
    if weights is None:
        rng = np.random.default_rng(0)
        weights = [rng.uniform(0.5, 1.5, v.shape) if v.dtype.kind == "f" else None for v in values]
    if not backward or all(w is None for w in weights):
        return values, weights, None
    loss = None
    for out, w in zip(outs, weights, strict=True):
        if w is not None:
            term = (out * lib.tensor(w, dtype=getattr(lib, float_dtype), device=device)).sum()
            loss = term if loss is None else loss + term
    loss.backward()
    grads = []
    for t in differentiable:
        g = t.grad
        if g is not None and device is not None:
            assert g.device.type == device, f"a gradient is on {g.device}, not {device}"
        grads.append(np.zeros(tuple(t.shape)) if g is None else g.detach().cpu().numpy())
    return values, weights, grads


def _numeric_grads(fn, inputs, weights) -> list[np.ndarray]:
    """Central differences of sum(out * w) with respect to each float input, in float64."""

    def objective(perturbed) -> float:
        values, _, _ = _run(engine, fn, perturbed, "float64", weights, backward=False)
        pairs = zip(values, weights, strict=True)
        return sum(float(np.sum(v * w)) for v, w in pairs if w is not None)

    grads = []
    for i, x in enumerate(inputs):
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
            continue
        grad = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):
            plus, minus = x.copy(), x.copy()
            plus[idx] += FD_EPS
            minus[idx] -= FD_EPS
            f_plus = objective([*inputs[:i], plus, *inputs[i + 1 :]])
            f_minus = objective([*inputs[:i], minus, *inputs[i + 1 :]])
            grad[idx] = (f_plus - f_minus) / (2 * FD_EPS)
        grads.append(grad)
    return grads


def _assert_close(actual, expected, what: str, equal_nan: bool = False) -> None:
    """Compare with torch: exact for int/bool, else rtol plus an atol scaled by |expected|."""
    expected = np.asarray(expected)
    shape = np.shape(actual)
    assert shape == expected.shape, f"{what}: shape {shape} != {expected.shape}"
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    finite = expected[np.isfinite(expected)]
    biggest = float(np.max(np.abs(finite))) if finite.size else 0.0
    atol = TORCH_ATOL * max(1.0, biggest)
    np.testing.assert_allclose(
        actual, expected, rtol=TORCH_RTOL, atol=atol, equal_nan=equal_nan, err_msg=what
    )


def check_op(
    fn: Callable[..., Any],
    *inputs: Any,
    backward: bool = True,
    torch_atol: float | None = None,
) -> None:
    """Check `fn(lib, *inputs)` for lib = engine (and torch when installed).

    Float numpy arrays become tensors that require grad; int and bool arrays and `Const`
    become constant tensors; anything else is passed as is. `fn` may return a tensor or a
    tuple of tensors. Functional ops are reached as `lib.nn.functional`.

    The engine's gradients of sum(out * w), for a fixed random w, are compared with central
    finite differences in float64. With torch installed, outputs and gradients in float32
    are compared with torch's. `backward=False` checks the forward results only.
    With ON_CUDA set, outputs and gradients on cuda are compared with the CPU's instead.
    """
    if ON_CUDA:
        _check_on_cuda(fn, inputs, backward)
        return
    values64, weights, grads64 = _run(engine, fn, inputs, "float64", backward=backward)
    for v in values64:
        if v.dtype.kind == "f":
            assert v.dtype == np.float64, f"float64 inputs gave a {v.dtype} output"
    if grads64 is not None:
        for k, v in enumerate(values64):
            assert np.all(np.isfinite(v)), f"output {k} is not finite: {v}"
        for k, (analytic, numeric) in enumerate(
            zip(grads64, _numeric_grads(fn, inputs, weights), strict=True)
        ):
            assert analytic.shape == numeric.shape, f"grad {k}: shape {analytic.shape}"
            assert analytic.dtype == np.float64, f"grad {k}: {analytic.dtype} for float64"
            np.testing.assert_allclose(
                analytic,
                numeric,
                rtol=FD_RTOL,
                atol=FD_ATOL,
                err_msg=f"grad of float input {k} vs finite differences",
            )

    torch = _torch()
    if torch is None:
        return
    values, _, grads = _run(engine, fn, inputs, "float32", weights, backward=backward)
    ref_values, _, ref_grads = _run(torch, fn, inputs, "float32", weights, backward=backward)
    for k, (v, ref) in enumerate(zip(values, ref_values, strict=True)):
        assert v.dtype == ref.dtype, f"output {k}: dtype {v.dtype}, torch gives {ref.dtype}"
        what = f"output {k} vs torch"
        if torch_atol is None:
            _assert_close(v, ref, what, equal_nan=not backward)
        else:
            np.testing.assert_allclose(v, ref, rtol=TORCH_RTOL, atol=torch_atol, err_msg=what)
    if grads is None or ref_grads is None:
        return
    for k, (g, ref) in enumerate(zip(grads, ref_grads, strict=True)):
        assert g.dtype == np.float32, f"grad of float input {k}: dtype {g.dtype} for float32"
        _assert_close(g, ref, f"grad of float input {k} vs torch")


def _check_on_cuda(fn, inputs, backward: bool) -> None:
    """The engine on cuda gives the CPU's dtypes, values and gradients, on cuda."""
    for float_dtype in ("float32", "float64"):
        values, weights, grads = _run(engine, fn, inputs, float_dtype, backward=backward)
        on_cuda = _run(engine, fn, inputs, float_dtype, weights, backward, device="cuda")
        for k, (got, want) in enumerate(zip(on_cuda[0], values, strict=True)):
            assert got.dtype == want.dtype, f"output {k}: {got.dtype} on cuda, {want.dtype} on cpu"
            _assert_close(got, want, f"{float_dtype} output {k} on cuda", equal_nan=True)
        for k, (got, want) in enumerate(zip(on_cuda[2] or (), grads or (), strict=True)):
            assert got.dtype == want.dtype, f"grad {k}: {got.dtype} on cuda, {want.dtype} on cpu"
            _assert_close(got, want, f"{float_dtype} grad of float input {k} on cuda")
