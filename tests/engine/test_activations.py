"""Activations beyond ReLU and GELU against PyTorch: values, gradients, dtypes, errors, reprs."""

from __future__ import annotations

import numpy as np
import pytest

import engine as torch_engine
import engine.nn.functional as F
from engine import nn

pytestmark = pytest.mark.torch

# name: the call, given engine.nn.functional or torch.nn.functional and a tensor
CASES = {
    "silu": lambda F, x: F.silu(x),
    "elu": lambda F, x: F.elu(x),
    "elu_alpha": lambda F, x: F.elu(x, 0.3),
    "selu": lambda F, x: F.selu(x),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, 2.0, 5.0),
    "mish": lambda F, x: F.mish(x),
    "hardtanh": lambda F, x: F.hardtanh(x),
    "hardtanh_range": lambda F, x: F.hardtanh(x, -2.5, 0.5),
    "relu6": lambda F, x: F.relu6(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "glu": lambda F, x: F.glu(x),
    "glu_dim0": lambda F, x: F.glu(x, 0),
    "softsign": lambda F, x: F.softsign(x),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
}

SPECIAL = [-1e30, -800.0, -100.0, -30.0, -20.5, -6.0, -3.0, -2.9, -1.0, -1e-8, -0.0, 0.0, 1e-8,
           0.5, 1.0, 2.9, 3.0, 6.0, 10.0, 20.5, 30.0, 100.0, 800.0, 1e30]  # fmt: skip
NONFINITE = [np.nan, np.inf, -np.inf]


def _torch():
    return pytest.importorskip("torch")


def _inputs(dtype, rng):
    vals = np.array(SPECIAL + NONFINITE + list(rng.normal(0, 4, 13)), dtype=dtype)
    return vals.reshape(4, 10)  # an even size in both dimensions, for glu


def _compare(ours, theirs, dtype):
    tol = dict(rtol=2e-6, atol=1e-38) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(ours, theirs, **tol, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_pytorch(name, dtype, fast_path):
    torch = _torch()
    fn = CASES[name]
    x = _inputs(dtype, np.random.default_rng(0))
    g = np.random.default_rng(1).normal(size=fn(torch.nn.functional, torch.tensor(x)).shape)
    g = g.astype(dtype)

    ours_x = torch_engine.tensor(x, requires_grad=True)
    ours = fn(F, ours_x)
    ours.backward(torch_engine.tensor(g))
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs = fn(torch.nn.functional, theirs_x)
    theirs.backward(torch.tensor(g))

    assert ours._data.dtype == dtype
    _compare(ours._data, theirs.detach().numpy(), dtype)
    _compare(ours_x.grad._data, theirs_x.grad.numpy(), dtype)


@pytest.mark.parametrize("name", ["softplus", "logsigmoid", "mish", "silu"])
def test_stable_for_large_inputs(name):
    x = torch_engine.tensor([-1e4, -500.0, 500.0, 1e4], requires_grad=True)
    out = CASES[name](F, x)
    out.sum().backward()
    assert np.isfinite(out._data).all()
    assert np.isfinite(x.grad._data).all()


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_and_bool_inputs_as_pytorch(name, dtype):
    torch = _torch()
    fn = CASES[name]
    x = np.array([[1, 0], [2, 1]]).astype(dtype)
    try:
        theirs = fn(torch.nn.functional, torch.tensor(x))
    except Exception as err:
        with pytest.raises(type(err)) as ours_err:
            fn(F, torch_engine.tensor(x))
        if not isinstance(err, NotImplementedError) or "cpu" in str(err):
            assert str(ours_err.value) == str(err) or isinstance(err, RuntimeError)
        return
    ours = fn(F, torch_engine.tensor(x))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["silu", "elu", "selu", "softplus", "logsigmoid", "mish", "glu"])
def test_integer_error_message_names_pytorchs_kernel(name):
    torch = _torch()
    x = np.ones((2, 2), dtype=np.int64)
    with pytest.raises(NotImplementedError) as theirs:
        CASES[name](torch.nn.functional, torch.tensor(x))
    with pytest.raises(NotImplementedError) as ours:
        CASES[name](F, torch_engine.tensor(x))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "args", [((3,), -1), ((2, 3), -1), ((2, 4), 5), ((), -1), ((2, 4), -3)], ids=str
)
def test_glu_shape_errors_as_pytorch(args):
    torch = _torch()
    shape, dim = args
    with pytest.raises(Exception) as theirs:
        torch.nn.functional.glu(torch.ones(shape), dim)
    with pytest.raises(type(theirs.value)) as ours:
        F.glu(torch_engine.ones(shape), dim)
    if isinstance(theirs.value, RuntimeError):
        assert str(ours.value) == str(theirs.value)


def test_hardtanh_range_errors_as_pytorch():
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(torch_engine.ones(2), 2.0, 1.0)
    with pytest.raises(AssertionError, match=r"max_val \(1\) must be greater than min_val \(2\)"):
        nn.Hardtanh(2, 1)


@pytest.mark.parametrize("name", ["silu", "elu", "selu", "mish", "hardtanh", "relu6",
                                  "hardswish", "hardsigmoid"])  # fmt: skip
def test_inplace_writes_into_the_input_with_pytorchs_gradient(name):
    torch = _torch()
    x = _inputs(np.float64, np.random.default_rng(2))
    ours_leaf = torch_engine.tensor(x, requires_grad=True)
    ours_x = ours_leaf * 1
    out = getattr(F, name)(ours_x, inplace=True)
    assert out is ours_x
    out.sum().backward()
    theirs_leaf = torch.tensor(x, requires_grad=True)
    theirs_x = theirs_leaf * 1
    getattr(torch.nn.functional, name)(theirs_x, inplace=True).sum().backward()
    _compare(ours_x._data, theirs_x.detach().numpy(), np.float64)
    _compare(ours_leaf.grad._data, theirs_leaf.grad.numpy(), np.float64)


MODULES = [
    ("SiLU", ()), ("SiLU", (True,)), ("ELU", ()), ("ELU", (0.5, True)), ("SELU", ()),
    ("SELU", (True,)), ("Softplus", ()), ("Softplus", (2, 10)), ("Mish", ()), ("Mish", (True,)),
    ("Hardtanh", ()), ("Hardtanh", (-2, 3, True)), ("Hardtanh", (-2.0, 3.0)), ("ReLU6", ()),
    ("ReLU6", (True,)), ("LogSigmoid", ()), ("Hardswish", ()), ("Hardswish", (True,)),
    ("Hardsigmoid", ()), ("Hardsigmoid", (True,)), ("GLU", ()), ("GLU", (0,)), ("Softsign", ()),
    ("Tanhshrink", ()),
]  # fmt: skip


@pytest.mark.parametrize(("cls", "args"), MODULES, ids=[f"{c}{a}" for c, a in MODULES])
def test_modules_repr_and_forward_as_pytorch(cls, args):
    torch = _torch()
    ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(3).normal(0, 4, (4, 6))
    _compare(ours(torch_engine.tensor(x))._data, theirs(torch.tensor(x)).numpy(), np.float64)
