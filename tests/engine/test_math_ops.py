"""Rounding, logs, trigonometry, NaN tests, logical ops, remainders and lerp against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

NAN, INF = float("nan"), float("inf")
FLOATS = [-2.5, -1.5, -0.5, -0.0, 0.0, 0.3, 0.5, 0.99, 1.5, 2.5, 7.0, NAN, INF, -INF]
INTS = [-7, -3, -1, 0, 1, 2, 5]
BOOLS = [True, False, True]

UNARY = (
    "floor ceil round trunc sign log1p expm1 log2 log10 rsqrt reciprocal square tan asin "
    "acos atan sinh cosh isnan isinf isfinite nan_to_num logical_not"
).split()
NO_BOOL = {"floor", "ceil", "round", "trunc"}
GRAD_OUT = [-1.0, 0.5, 2.0, 0.0, 1.5, -0.25, 3.0, 1.0, 0.75, -2.0]
DIFFERENTIABLE = [n for n in UNARY if n not in ("isnan", "isinf", "isfinite", "logical_not")]


def _same(ours, ref):
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(
        ours.detach().numpy().astype(np.float64),
        ref.detach().numpy().astype(np.float64),
        rtol=1e-6,
        atol=1e-6,
        equal_nan=True,
    )


def _pair(values, dtype):
    return engine.tensor(values, dtype=getattr(engine, dtype)), torch.tensor(
        values, dtype=getattr(torch, dtype)
    )


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_unary_values_and_dtypes(name, dtype):
    values = {"bool": BOOLS, "int64": INTS}.get(dtype, FLOATS)
    ours, ref = _pair(values, dtype)
    if dtype == "bool" and name in NO_BOOL:
        with pytest.raises(NotImplementedError):
            getattr(torch, name)(ref)
        with pytest.raises(NotImplementedError):
            getattr(engine, name)(ours)
        return
    _same(getattr(engine, name)(ours), getattr(torch, name)(ref))
    _same(getattr(ours, name)(), getattr(ref, name)())


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_gradients(name, dtype):
    values = [-2.5, -0.5, -0.0, 0.0, 0.3, 0.5, 0.99, 1.5, NAN, INF]
    grads = []
    for lib in (engine, torch):
        x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        y = getattr(lib, name)(x)
        y.backward(lib.tensor(GRAD_OUT, dtype=getattr(lib, dtype)))
        grads.append(x.grad)
    _same(*grads)


@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("isnan", "isinf", "isfinite")])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_in_place_variants(name, dtype):
    values = INTS if dtype == "int64" else FLOATS
    ours, ref = _pair(values, dtype)
    try:
        getattr(ref, name + "_")()
    except RuntimeError:
        with pytest.raises(RuntimeError):
            getattr(ours, name + "_")()
        return
    assert getattr(ours, name + "_")() is ours
    _same(ours, ref)


def test_in_place_gradient_through_graph():
    grads = []
    for lib in (engine, torch):
        x = lib.tensor([0.2, -0.1, 0.3], requires_grad=True)
        y = x * 2
        y.asin_().sinh_().log1p_().tan_()
        y.sum().backward()
        grads.append(x.grad)
    _same(*grads)
    for lib in (engine, torch):  # expm1 saves its output, which sinh_ then changes
        y = lib.tensor([0.2, -0.4], requires_grad=True) * 2
        y.expm1_().sinh_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_round_half_to_even_and_decimals():
    ours, ref = _pair([0.5, 1.5, 2.5, -0.5, -1.5], "float32")
    _same(engine.round(ours), torch.round(ref))
    _same(engine.round(ours, decimals=1), torch.round(ref, decimals=1))


def test_nan_to_num_arguments():
    ours, ref = _pair([NAN, INF, -INF, 1.0], "float64")
    _same(engine.nan_to_num(ours, 1.0, 2.0, -3.0), torch.nan_to_num(ref, 1.0, 2.0, -3.0))
    _same(ours.nan_to_num(posinf=9.0), ref.nan_to_num(posinf=9.0))


BINARY_VALUES = (
    [-7.5, -3.0, -1.0, 0.0, 2.5, 5.0, NAN, INF],
    [2.0, -2.0, 0.5, 3.0, -1.5, INF, 1.0, 2.0],
)
INT_VALUES = ([-7, -3, -1, 0, 5, 6], [2, -2, 3, -4, 2, 4])


DTYPE_PAIRS = [("float32", "float32"), ("float64", "float32"), ("int64", "int64")]
DTYPE_PAIRS += [("int64", "float32"), ("bool", "int64")]


@pytest.mark.parametrize("name", ["atan2", "remainder", "fmod", "floor_divide"])
@pytest.mark.parametrize("dtypes", DTYPE_PAIRS)
def test_binary_values_and_dtypes(name, dtypes):
    ints = [d in ("int64", "bool") for d in dtypes]
    a_vals = INT_VALUES[0] if ints[0] else BINARY_VALUES[0][:6]
    b_vals = INT_VALUES[1] if ints[1] else BINARY_VALUES[1][:6]
    if dtypes[0] == "bool":
        a_vals = [v % 2 == 0 for v in a_vals]
    a, ta = _pair(a_vals, dtypes[0])
    b, tb = _pair(b_vals, dtypes[1])
    _same(getattr(engine, name)(a, b), getattr(torch, name)(ta, tb))
    _same(getattr(a, name)(b), getattr(ta, name)(tb))


@pytest.mark.parametrize("name", ["remainder", "fmod", "floor_divide"])
@pytest.mark.parametrize("scalar", [2, -3, 2.5, -0.5])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_remainders_with_scalars(name, scalar, dtype):
    ours, ref = _pair(INT_VALUES[0], dtype)
    _same(getattr(engine, name)(ours, scalar), getattr(torch, name)(ref, scalar))


def test_remainder_operators():
    ours, ref = _pair(INT_VALUES[0], "int64")
    _same(ours % 4, ref % 4)
    _same(ours // -4, ref // -4)
    _same(10 % engine.tensor([3, -4]), 10 % torch.tensor([3, -4]))
    _same(7.5 // engine.tensor([2.0, -2.0]), 7.5 // torch.tensor([2.0, -2.0]))


@pytest.mark.parametrize("name", ["remainder", "fmod", "floor_divide"])
def test_integer_division_errors(name):
    zero = [0, 1]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(torch, name)(torch.tensor([1, 2]), torch.tensor(zero))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(engine, name)(engine.tensor([1, 2]), engine.tensor(zero))
    with pytest.raises(NotImplementedError):
        getattr(torch, name)(torch.tensor([True]), torch.tensor([True]))
    with pytest.raises(NotImplementedError):
        getattr(engine, name)(engine.tensor([True]), engine.tensor([True]))


@pytest.mark.parametrize("name", ["atan2", "remainder", "fmod"])
def test_binary_gradients(name):
    a_vals = [-7.5, -3.0, -1.0, 0.5, 2.5, 5.0]
    b_vals = [2.0, -2.0, 0.5, 3.0, -1.5, 4.0]
    grads = []
    for lib in (engine, torch):
        a = lib.tensor(a_vals, requires_grad=True)
        b = lib.tensor([b_vals], dtype=lib.float64, requires_grad=True)  # broadcast, promote
        getattr(lib, name)(a, b).sum().backward()
        grads.append((a.grad, b.grad))
    for ours, ref in zip(*grads, strict=True):
        _same(ours, ref)


def test_floor_divide_has_no_derivative():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = engine.floor_divide(x, 2)
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="not implemented"):
        y.sum().backward()


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_binary(name):
    a, ta = _pair([0.0, 1.5, NAN, -0.0], "float32")
    b, tb = _pair([[1], [0]], "int64")
    _same(getattr(engine, name)(a, b), getattr(torch, name)(ta, tb))
    _same(getattr(a, name)(b), getattr(ta, name)(tb))
    with pytest.raises(TypeError):
        getattr(torch, name)(ta, 1)
    with pytest.raises(TypeError):
        getattr(engine, name)(a, 1)
    getattr(a, name + "_")(engine.tensor([1.0, 0, 1, 0]))
    getattr(ta, name + "_")(torch.tensor([1.0, 0, 1, 0]))
    _same(a, ta)


def test_atan2_takes_tensors_only():
    with pytest.raises(TypeError):
        torch.atan2(torch.tensor([1.0]), 2.0)
    with pytest.raises(TypeError):
        engine.atan2(engine.tensor([1.0]), 2.0)


@pytest.mark.parametrize("bound", [1, 1.5, -0.5])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_clamp_min_max(bound, dtype):
    ours, ref = _pair(INTS, dtype)
    _same(engine.clamp_min(ours, bound), torch.clamp_min(ref, bound))
    _same(ours.clamp_max(bound), ref.clamp_max(bound))
    grads = []
    for lib in (engine, torch):
        x = lib.tensor([-1.0, 1.0, 1.5, 2.0], requires_grad=True)
        (lib.clamp_min(x, 1.0) + x.clamp_max(1.5)).sum().backward()
        grads.append(x.grad)
    _same(*grads)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 1.0, -2.0, "tensor"])
def test_lerp(weight):
    results = []
    for lib in (engine, torch):
        a = lib.tensor([1.0, -2.0, 3.5, NAN], requires_grad=True)
        b = lib.tensor([[4.0], [0.1]], requires_grad=True)
        w = weight
        if weight == "tensor":
            w = lib.tensor([0.0, 0.4, 0.6, 1.0], requires_grad=True)
        out = lib.lerp(a, b, w)
        out.backward(lib.ones_like(out))
        results += [(out, a.grad, b.grad, w.grad if weight == "tensor" else a.grad)]
    for ours, ref in zip(*results, strict=True):
        _same(ours, ref)


def test_lerp_errors():
    for lib in (engine, torch):
        with pytest.raises(NotImplementedError):
            lib.lerp(lib.tensor([1, 2]), lib.tensor([3, 4]), 0.5)
        with pytest.raises(RuntimeError, match="expected dtype float"):
            lib.lerp(lib.tensor([1.0]), lib.tensor([2.0], dtype=lib.float64), 0.5)
    ours, ref = _pair([1.0, 2.0], "float32")
    ours.lerp_(engine.tensor([3.0, 5.0]), 0.25)
    ref.lerp_(torch.tensor([3.0, 5.0]), 0.25)
    _same(ours, ref)


@pytest.mark.parametrize("name", ["log1p", "tan", "rsqrt", "sqrt"])
def test_in_place_float_result_into_int_is_refused(name):
    for lib in (engine, torch):
        with pytest.raises(RuntimeError):
            getattr(lib.tensor([1, 2]), name + "_")()
