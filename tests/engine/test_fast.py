"""The speed tricks of engine/_fast.py give the plain path's values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import _fast, backend
from engine.debug import stats
from engine.nn import functional as F

rng = np.random.default_rng(3)


def run(fast: bool, fn, *arrays):
    """fn's output and each input's gradient, computed with the fast path on or off."""
    before = backend.fast_enabled()
    backend.set_fast(fast)
    try:
        tensors = [engine.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*tensors)
        (out * engine.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape))).sum().backward()
        return out.detach().numpy().copy(), [t.grad.numpy().copy() for t in tensors]
    finally:
        backend.set_fast(before)


def conv_reference(x, w, b):
    """A float64 stride-1, unpadded convolution by einsum over explicit windows."""
    kh, kw = w.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", windows, w) + b[None, :, None, None]


CASES = [
    # LeNet's first convolution on a batch: its products are skinny and get cut into pieces
    pytest.param((32, 1, 28, 28), (6, 1, 5, 5), {}, id="lenet-conv1"),
    pytest.param((32, 6, 14, 14), (16, 6, 5, 5), {}, id="lenet-conv2"),
    pytest.param((4, 3, 9, 9), (5, 3, 3, 3), {"stride": 2, "padding": 1}, id="strided"),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "kwargs"), CASES)
def test_conv2d_fast_and_plain_agree(x_shape, w_shape, kwargs):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)

    def fn(x, w, b):
        return F.conv2d(x, w, b, **kwargs)

    fast_out, fast_grads = run(True, fn, x, w, b)
    plain_out, plain_grads = run(False, fn, x, w, b)
    np.testing.assert_allclose(fast_out, plain_out, rtol=1e-4, atol=1e-4)
    for fast_g, plain_g in zip(fast_grads, plain_grads, strict=True):
        np.testing.assert_allclose(fast_g, plain_g, rtol=1e-4, atol=1e-3)
    if not kwargs:  # both also equal an independent float64 reference
        ref = conv_reference(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
        np.testing.assert_allclose(fast_out, ref, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(plain_out, ref, rtol=1e-4, atol=1e-3)


def test_the_lenet_case_exercises_the_cut_product():
    assert _fast._pieces(np, 6, 25, 32 * 24 * 24) > 1


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pooling_fast_and_plain_agree(pool):
    x = rng.standard_normal((8, 6, 24, 24)).astype(np.float32)
    if pool == "max":

        def fn(x):
            return F.max_pool2d(x, 2)
    else:

        def fn(x):
            return F.avg_pool2d(x, 3, stride=2, padding=1)

    fast_out, (fast_g,) = run(True, fn, x)
    plain_out, (plain_g,) = run(False, fn, x)
    np.testing.assert_array_equal(fast_out, plain_out)
    np.testing.assert_allclose(fast_g, plain_g, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("size", [1000, (1 << 16) + 1, 3 * (1 << 16) + 77])
def test_sums_fast_and_plain_agree(size):
    flat = rng.standard_normal(size).astype(np.float32)
    fast = _fast.sum_and_squares(flat)
    _fast.set_enabled(False)
    try:
        plain = _fast.sum_and_squares(flat)
        plain_stats = stats(flat)
    finally:
        _fast.set_enabled(True)
    wide = flat.astype(np.float64)
    np.testing.assert_allclose(fast, (wide.sum(), (wide * wide).sum()), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(plain, (wide.sum(), (wide * wide).sum()), rtol=1e-4, atol=1e-2)
    assert stats(flat).mean == pytest.approx(plain_stats.mean, rel=1e-4, abs=1e-5)


def test_scratch_reuses_memory_only_when_fast():
    _fast.set_enabled(True)
    first = _fast.scratch(np, "test", (1000,), np.float32)
    address = first.ctypes.data
    del first
    assert _fast.scratch(np, "test", (1000,), np.float32).ctypes.data == address
    held = _fast.scratch(np, "test", (1000,), np.float32)
    assert _fast.scratch(np, "test", (1000,), np.float32) is not held  # held: never reused
    _fast.set_enabled(False)
    try:
        kept = _fast.scratch(np, "test", (1000,), np.float32)
        assert _fast.scratch(np, "test", (1000,), np.float32) is not kept
    finally:
        _fast.set_enabled(True)


def test_the_switch_is_honoured_at_call_time():
    assert backend.fast_enabled()
    backend.set_fast(False)
    try:
        assert not backend.fast_enabled() and not _fast.enabled()
    finally:
        backend.set_fast(True)
    assert _fast.enabled()


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_quiet_float_errors_silences_inside_and_restores_after(fast):
    _fast.set_enabled(fast)
    try:
        with np.errstate(all="raise"):
            with _fast.quiet_float_errors():
                assert np.geterr()["divide"] == "ignore"
                with _fast.quiet_float_errors():  # nested, as an op inside an op
                    np.log(np.zeros(1))
                assert np.geterr()["invalid"] == "ignore"
            assert np.geterr()["divide"] == "raise"
            with pytest.raises(FloatingPointError):
                np.log(np.zeros(1))
    finally:
        _fast.set_enabled(True)
