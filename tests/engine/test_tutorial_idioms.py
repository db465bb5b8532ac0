"""Idioms from PyTorch tutorials and d2l.ai against PyTorch: NumPy-style argument names,
out=, grad-mode decorators, print options and other tensor basics."""

from __future__ import annotations

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

A = np.arange(20, dtype=np.float32).reshape(5, 4)


def _same(a, b):
    if isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
        return
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: x.sum(axis=0),
        lambda m, x: x.sum(axis=1, keepdims=True),
        lambda m, x: x.sum(axis=[0, 1]),
        lambda m, x: x.mean(axis=0, keepdim=True),
        lambda m, x: m.sum(x, axis=0),
        lambda m, x: m.mean(x, axis=1, keepdims=True),
        lambda m, x: x.cumsum(axis=0),
        lambda m, x: m.cumsum(x, axis=1),
        lambda m, x: x.max(axis=0).values,
        lambda m, x: m.max(x, 1, keepdims=True)[1],
        lambda m, x: x.argmax(axis=1),
        lambda m, x: x.std(axis=0),
        lambda m, x: m.cat([x, x], axis=1),
        lambda m, x: m.stack([x, x], axis=2),
        lambda m, x: x.softmax(axis=1),
        lambda m, x: x.unsqueeze(axis=0),
    ],
)
def test_numpy_argument_names(call):
    _same(call(engine, engine.tensor(A)), call(torch, torch.tensor(A)))


def test_numpy_argument_names_refused_where_torch_refuses():
    for lib in (engine, torch):
        with pytest.raises(TypeError):
            lib.tensor(A).norm(axis=0)  # a Python-level function in PyTorch: no aliases
        with pytest.raises(TypeError):
            lib.tensor(A).sum(dim=0, axis=0)


def _grad_modes(lib):
    x = lib.ones(2, requires_grad=True)
    seen = []

    @lib.no_grad
    def bare(x):
        return x * 2

    @lib.inference_mode
    def bare_inference(x):
        return x * 2

    @lib.inference_mode()
    def called_inference(x):
        return (x * 2, lib.is_inference_mode_enabled())

    seen += [bare(x).requires_grad, bare_inference(x).requires_grad]
    seen += [called_inference(x)[0].requires_grad, called_inference(x)[1]]
    with lib.inference_mode():
        seen += [(x * 2).requires_grad, lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
    with lib.no_grad(), lib.inference_mode(False):
        seen += [(x * 2).requires_grad, lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
    with lib.inference_mode(mode=False):
        seen += [(x * 2).requires_grad]

    @lib.enable_grad
    def bare_enable(x):
        return x * 2

    with lib.no_grad():
        seen += [bare_enable(x).requires_grad]
    seen += [lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
    return seen


def test_grad_mode_decorators_and_inference_mode():
    assert _grad_modes(engine) == _grad_modes(torch)


@pytest.mark.parametrize("mode", ["floor", "trunc"])
@pytest.mark.parametrize(
    "a, b",
    [
        ([-7, 7, 5, -4], [2, -2, 5, 3]),
        ([-7, 7, 5, -4], 2),
        ([-7, 7, 5, -4], 2.5),
        ([-7.5, 7.5, 0.3, -4.0], [2.0, -2.0, 0.1, 3.0]),
    ],
)
def test_div_rounding_mode(mode, a, b):
    def run(lib):
        other = lib.tensor(b) if isinstance(b, list) else b
        return lib.div(lib.tensor(a), other, rounding_mode=mode)

    _same(run(engine), run(torch))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_rounding_mode_gradient_is_zero_and_in_place(mode):
    def run(lib):
        x = lib.tensor([-7.5, 7.5], requires_grad=True)
        y = lib.tensor([2.0, -2.0], requires_grad=True)
        r = lib.div(x, y, rounding_mode=mode)
        r.sum().backward()
        z = lib.tensor([-7, 7, 9])
        z.div_(2, rounding_mode=mode)
        return [r, x.grad, y.grad, z, x.div(2, rounding_mode=mode)]

    _same(run(engine), run(torch))
    for lib in (engine, torch):
        with pytest.raises(RuntimeError):
            lib.div(lib.tensor([1, 2]), 0, rounding_mode=mode)
        with pytest.raises(NotImplementedError):
            lib.div(lib.tensor([True]), True, rounding_mode=mode)
        with pytest.raises(RuntimeError):
            lib.div(lib.tensor([1.0]), 2, rounding_mode="round")


def test_true_divide():
    def run(lib):
        i = lib.tensor([1, 2, 3])
        return [lib.true_divide(i, 2), i.true_divide(lib.tensor([2, 4, 8]))]

    _same(run(engine), run(torch))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "mm", "matmul"])
def test_out_argument(op):
    def run(lib):
        x, y = lib.ones(2, 2), lib.full((2, 2), 3.0)
        same_shape = lib.empty(2, 2)
        got = getattr(lib, op)(x, y, out=same_shape)
        wider = lib.zeros(2, 2, dtype=lib.float64)
        if op in ("mm", "matmul"):  # matrix products take only their own dtype
            with pytest.raises(RuntimeError):
                getattr(lib, op)(x, y, out=wider)
        else:
            getattr(lib, op)(x, y, out=wider)
        empty = lib.empty(0)
        getattr(lib, op)(x, y, out=empty)
        return [got, same_shape, wider, empty, lib.tensor(got is same_shape)]

    _same(run(engine), run(torch))


def test_out_argument_refusals_and_resize_warning():
    for lib in (engine, torch):
        x, y = lib.ones(2, 2), lib.full((2, 2), 3.0)
        with pytest.raises(RuntimeError):  # no float into an integer out
            lib.add(x, y, out=lib.zeros(2, 2, dtype=lib.long))
        with pytest.raises(RuntimeError):  # autograd cannot follow out=
            lib.mul(lib.ones(2, 2, requires_grad=True), y, out=lib.empty(2, 2))
        with pytest.raises(TypeError):
            lib.add(x, y, out=[1])
        with lib.no_grad():
            assert not lib.mul(
                lib.ones(2, 2, requires_grad=True), y, out=lib.empty(2, 2)
            ).requires_grad
        with pytest.warns(UserWarning, match="resized"):
            out = lib.zeros(3)
            lib.add(x, y, alpha=2, out=out)
        np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 7.0, np.float32))
