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
