"""index_put_ / index_put (with and without accumulate) against PyTorch: values, gradients,
node names and errors; the confusion-matrix idiom they serve."""

from __future__ import annotations

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


def _builtin_error(fn) -> str:
    try:
        fn()
    except Exception as exc:
        return next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
    return "no error"


def _run(lib, accumulate: bool, method: str):
    w = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    v = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    rows, cols = lib.tensor([0, 0, 2]), lib.tensor([1, 1, 3])
    base = w * 1.0
    if method == "inplace":
        y = base.index_put_((rows, cols), v, accumulate=accumulate)
    elif method == "function":
        y = lib.index_put(base, (rows, cols), v, accumulate)
    else:
        y = base.index_put([rows, cols], v, accumulate=accumulate)
    (y * lib.arange(12.0, dtype=lib.float64).reshape(3, 4)).sum().backward()
    return y.detach().numpy(), w.grad.numpy(), v.grad.numpy(), y.grad_fn.name()


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("method", ["inplace", "function", "method"])
def test_index_put_matches_torch(accumulate, method):
    ours, theirs = _run(engine, accumulate, method), _run(torch, accumulate, method)
    for a, b in zip(ours[:3], theirs[:3], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert ours[3] == theirs[3]


def test_broadcast_value_bool_index_and_errors():
    for lib in (engine, torch):
        m = lib.zeros(2, 2).index_put_((lib.tensor([True, False]),), lib.tensor(7.0))
        assert m.tolist() == [[7.0, 7.0], [0.0, 0.0]]
    cases = {
        "number": lambda lib: lib.zeros(3).index_put_((lib.tensor([0]),), 1.0),
        "dtype": lambda lib: lib.zeros(3).index_put_((lib.tensor([0]),), lib.tensor([1])),
        "bare": lambda lib: lib.zeros(3).index_put_(lib.tensor([0]), lib.tensor([1.0])),
    }
    for name, fn in cases.items():
        assert _builtin_error(lambda f=fn: f(engine)) == _builtin_error(lambda f=fn: f(torch)), name


def test_confusion_matrix_idiom():
    labels, preds = [0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 2, 1, 1, 0]
    got = []
    for lib in (engine, torch):
        cm = lib.zeros(3, 3, dtype=lib.long)
        ones = lib.ones(len(labels), dtype=lib.long)
        cm.index_put_((lib.tensor(labels), lib.tensor(preds)), ones, accumulate=True)
        got.append(cm.tolist())
    assert got[0] == got[1]


@pytest.mark.gpu
def test_accumulate_on_cuda():
    x = engine.zeros(4, device="cuda")
    x.index_put_((engine.tensor([1, 1, 3], device="cuda"),), engine.ones(3, device="cuda"), True)
    assert x.device.type == "cuda" and x.cpu().tolist() == [0.0, 2.0, 0.0, 1.0]
