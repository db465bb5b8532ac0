"""Op numerics against PyTorch: NaN and inf in values and gradients, extremes, pooling modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine import _fast
from tests.engine.gradcheck import check_op

pytestmark = pytest.mark.usefixtures("fast_path")  # every test runs fast and plain

inf, nan = math.inf, math.nan
rng = np.random.default_rng(16)


def run(lib, fn, inputs, grad_out=None, dtype="float32"):
    """fn(lib, *tensors)'s first output and each input's gradient, as numpy.

    `grad_out` is the upstream gradient (ones when None), so inf and NaN can be sent
    down from a later op.
    """
    xs = [lib.tensor(np.array(a), dtype=getattr(lib, dtype), requires_grad=True) for a in inputs]
    out = fn(lib, *xs)
    out = out[0] if isinstance(out, tuple) else out
    g = np.ones(tuple(out.shape)) if grad_out is None else np.array(grad_out)
    out.backward(lib.tensor(g, dtype=getattr(lib, dtype)))
    grads = [None if x.grad is None else x.grad.numpy() for x in xs]
    return out.detach().numpy(), grads


def same(fn, *inputs, grad_out=None, dtype="float32", rtol=1e-6, atol=0.0):
    """fn agrees with torch in value, dtype, shape and gradients, NaN and inf in place."""
    import torch

    value, grads = run(engine, fn, inputs, grad_out, dtype)
    ref_value, ref_grads = run(torch, fn, inputs, grad_out, dtype)
    assert value.dtype == ref_value.dtype and value.shape == ref_value.shape
    np.testing.assert_allclose(value, ref_value, rtol=rtol, atol=atol, err_msg="value")
    for k, (g, ref) in enumerate(zip(grads, ref_grads, strict=True)):
        assert (g is None) == (ref is None), f"grad {k}: {g} against torch's {ref}"
        if ref is not None:
            assert g.dtype == ref.dtype and g.shape == ref.shape, f"grad {k}"
            np.testing.assert_allclose(g, ref, rtol=rtol, atol=atol, err_msg=f"grad {k}")


def F(lib):
    return lib.nn.functional


# --- scratch buffers never show through -----------------------------------------------------


@pytest.fixture
def poisoned_scratch(monkeypatch):
    """Every scratch array comes back full of NaN: an element an op forgets to write shows."""
    plain = _fast.scratch

    def poisoned(xp, name, shape, dtype):
        arr = plain(xp, name, shape, dtype)
        arr.fill(np.nan if np.dtype(dtype).kind == "f" else 7)
        return arr

    monkeypatch.setattr(_fast, "scratch", poisoned)


@pytest.mark.torch
@pytest.mark.usefixtures("poisoned_scratch")
@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: F(m).max_pool2d(x, 2, stride=3, dilation=2),  # stride = dilated span
        lambda m, x: F(m).max_pool2d(x, (2, 1), stride=(3, 1), dilation=(2, 1)),
        lambda m, x: F(m).max_pool2d(x, 3, stride=3, dilation=1),  # 7 = 2*3 + 1: one left
        lambda m, x: F(m).max_pool2d(x, 2, stride=2, padding=1, ceil_mode=True),
        lambda m, x: F(m).avg_pool2d(x, 2, stride=3),
        lambda m, x: F(m).avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        lambda m, x: F(m).avg_pool2d(x, 2),
    ],
)
@pytest.mark.parametrize("size", [6, 7])
def test_pool_gradients_never_show_a_reused_buffer(fn, size):
    x = rng.standard_normal((2, 3, size, size))
    same(fn, x, rtol=1e-5, atol=1e-6)
    same(fn, x, rtol=1e-5, atol=1e-6)  # the second call gets the first call's buffer


@pytest.mark.torch
@pytest.mark.usefixtures("poisoned_scratch")
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"padding": 2}, {"stride": 2, "padding": 1}, {"dilation": 2}, {"padding": (0, 3)}],
)
def test_conv_never_shows_a_reused_buffer(kwargs):
    fn = lambda m, x, w, b: F(m).conv2d(x, w, b, **kwargs)  # noqa: E731
    x, w, b = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 2)), np.ones(4)
    same(fn, x, w, b, rtol=1e-4, atol=1e-4)
    same(fn, x, w, b, rtol=1e-4, atol=1e-4)


def test_max_pool_dilated_gradient_is_zero_between_the_taps():
    """The issue's case: the rows and columns dilation skips held an earlier call's values."""
    x = engine.tensor(rng.standard_normal((1, 1, 6, 6)), requires_grad=True)
    engine.nn.functional.max_pool2d(x * 1000, 2, stride=2).sum().backward()  # fills the buffer
    x.grad = None
    engine.nn.functional.max_pool2d(x, 2, stride=3, dilation=2).sum().backward()
    grad = x.grad.numpy()
    assert not grad[:, :, 1::3].any() and not grad[:, :, :, 1::3].any()
    assert grad.sum() == 4


# --- pooling: NaN, inf, ceil_mode, divisors ------------------------------------------------

WINDOWS = np.array(
    [[[[1.0, nan, 3.0, 0.0, nan], [2.0, 5.0, 1.0, 7.0, 4.0], [nan, 1.0, nan, 2.0, 0.0]]]]
)


@pytest.mark.torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 2},
        {"kernel_size": 2, "stride": 1},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": 2, "ceil_mode": True},
        {"kernel_size": 2, "dilation": 2, "stride": 1},
    ],
)
def test_max_pool_picks_the_nan_as_torch_does(kwargs):
    """A window with NaN gives NaN, its index and its gradient point at that NaN alone."""
    import torch

    same(lambda m, x: F(m).max_pool2d(x, **kwargs), WINDOWS)
    out, idx = engine.nn.functional.max_pool2d(
        engine.tensor(WINDOWS), **kwargs, return_indices=True
    )
    ref, ref_idx = torch.nn.functional.max_pool2d(
        torch.tensor(WINDOWS), **kwargs, return_indices=True
    )
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("stride", [2, 1])
def test_max_pool_sends_inf_and_nan_gradients_only_to_each_max(stride):
    x = np.array([[[[1.0, 2.0, 3.0, 4.0], [2.0, 5.0, 1.0, 7.0]]]])
    g = [[[[nan, inf]]]] if stride == 2 else [[[[nan, 1.0, inf]]]]
    same(lambda m, x: F(m).max_pool2d(x, 2, stride=stride), x, grad_out=g)


@pytest.mark.torch
@pytest.mark.parametrize("size", [(1, 2), (2, 2), (1, 1), (3, 2)])
def test_adaptive_avg_pool_keeps_inf_in_its_own_windows(size):
    x = np.array([[[[1.0, inf, 3.0], [2.0, 5.0, 1.0], [0.0, 1.0, -2.0]]]])
    same(lambda m, x: F(m).adaptive_avg_pool2d(x, size), x, rtol=1e-6)
    g = np.ones((1, 1) + size)
    g[..., 0, 0] = inf
    same(lambda m, x: F(m).adaptive_avg_pool2d(x, size), x, grad_out=g, rtol=1e-6)


POOL_MODES = [
    (2, 2, 0, True, True, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    (2, 3, 0, True, True, None),
    (3, 3, 1, True, False, None),
    ((3, 2), (2, 3), (1, 0), True, True, None),
    (3, 2, 1, False, False, None),
    (3, 1, 1, False, True, None),
    (2, 2, 0, False, True, 3),
    (3, 2, 1, True, False, 5),
]


@pytest.mark.torch
@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil", "include", "divisor"), POOL_MODES)
@pytest.mark.parametrize("size", [(5, 5), (6, 7)])
def test_avg_pool_modes_match_torch(kernel, stride, padding, ceil, include, divisor, size):
    x = rng.standard_normal((2, 2, *size))

    def fn(m, x):
        return F(m).avg_pool2d(x, kernel, stride, padding, ceil, include, divisor)

    same(fn, x, rtol=1e-5, atol=1e-6)
    same(fn, x, dtype="float64", rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil", "include", "divisor"), POOL_MODES)
@pytest.mark.parametrize("size", [(5, 5), (6, 7)])
def test_max_pool_ceil_mode_matches_torch(kernel, stride, padding, ceil, include, divisor, size):
    import torch

    x = rng.standard_normal((2, 2, *size))
    same(lambda m, x: F(m).max_pool2d(x, kernel, stride, padding, ceil_mode=ceil), x)
    args = (kernel, stride, padding, 1, ceil, True)
    _, idx = engine.nn.functional.max_pool2d(engine.tensor(x), *args)
    _, ref = torch.nn.functional.max_pool2d(torch.tensor(x), *args)
    np.testing.assert_array_equal(idx.numpy(), ref.numpy())


@pytest.mark.torch
def test_pool_modules_take_torch_arguments():
    import torch

    x = rng.standard_normal((1, 3, 7, 6)).astype(np.float32)
    for name, kwargs in [
        ("MaxPool2d", dict(kernel_size=2, ceil_mode=True)),
        ("AvgPool2d", dict(kernel_size=3, stride=2, ceil_mode=True, count_include_pad=False)),
        ("AvgPool2d", dict(kernel_size=2, divisor_override=2)),
    ]:
        ours = getattr(engine.nn, name)(**kwargs)(engine.tensor(x))
        ref = getattr(torch.nn, name)(**kwargs)(torch.tensor(x))
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)


def test_pool_gradcheck_in_ceil_mode():
    x = rng.standard_normal((1, 2, 5, 6))
    check_op(lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1, True, False), x)
    check_op(lambda m, x: m.nn.functional.avg_pool2d(x, 2, 2, 0, True, True, 3), x)
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, 2, 2, 1, ceil_mode=True), x)


@pytest.mark.parametrize(("divisor", "error"), [(0, RuntimeError), (1.5, TypeError)])
def test_avg_pool_divisor_override_errors_as_torch(divisor, error):
    with pytest.raises(error):
        engine.nn.functional.avg_pool2d(engine.ones(1, 1, 4, 4), 2, divisor_override=divisor)
