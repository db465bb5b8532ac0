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


# --- masked backward selects: inf and NaN from downstream stay out of zeroed inputs ----------

G3 = [inf, nan, inf]


@pytest.mark.torch
@pytest.mark.parametrize(
    ("fn", "x", "g"),
    [
        (lambda m, x: m.relu(x), [-1.0, 0.0, 1.0], G3),
        (lambda m, x: m.relu(x), [nan, -1.0, 2.0], [1.0, inf, 1.0]),
        (lambda m, x: F(m).leaky_relu(x), [-1.0, 0.0, 1.0], G3),
        (lambda m, x: m.clamp(x, -0.5, 0.5), [-1.0, 0.0, 1.0], G3),
        (lambda m, x: m.clamp(x, min=0.0), [-1.0, nan, 1.0], G3),
        (lambda m, x: m.clamp(x, max=0.0), [-1.0, 0.0, 1.0], [nan, 1.0, inf]),
        (lambda m, x: m.abs(x), [-1.0, 0.0, 1.0], [inf, inf, nan]),  # torch multiplies
        (lambda m, x: x**0, [0.0, 1.0, -2.0], G3),
        (lambda m, x: m.pow(m.tensor(0.0), x), [0.0, 1.0, 2.0], G3),
        (lambda m, x: x ** m.tensor([0.0, 2.0, 0.0]), [0.0, 0.0, 3.0], G3),
        (lambda m, x: m.where(x > 0, x, m.zeros(3)), [-1.0, 1.0, 0.0], G3),
        (lambda m, x: m.maximum(x, m.tensor([0.0, 1.0, 2.0])), [1.0, 1.0, 3.0], G3),
        (lambda m, x: m.minimum(x, m.tensor([0.0, 1.0, 2.0])), [1.0, 1.0, 3.0], G3),
        (lambda m, x: m.maximum(x, m.tensor([nan, 1.0, 2.0])), [1.0, nan, 3.0], None),
        (lambda m, x: m.minimum(m.tensor([nan, 1.0, 2.0]), x), [1.0, nan, 3.0], None),
        (lambda m, x: m.maximum(x, m.tensor(2.0)), [2.0, 1.0, 3.0], G3),
        (lambda m, x: x.max(), [1.0, 3.0, 3.0], inf),
        (lambda m, x: x.min(), [1.0, -3.0, 0.0], nan),
        (lambda m, x: x.max(), [1.0, nan, 3.0], None),
        (lambda m, x: x.min(), [1.0, nan, nan], None),
        (lambda m, x: x.std(), [2.0, 2.0, 2.0], None),
        (lambda m, x: x.std(), [2.0, 2.0, 2.0], inf),
        (lambda m, x: x.std(0), [[2.0, 1.0], [2.0, 3.0]], [inf, 1.0]),
        (lambda m, x: x.var(), [2.0, 2.0, 2.0], inf),
        (lambda m, x: x.std(), [1.0, 2.0, 4.0], None),
    ],
)
def test_masked_backward_selects_as_torch(fn, x, g):
    same(fn, x, grad_out=g)
    same(fn, x, grad_out=g, dtype="float64")


@pytest.mark.torch
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_along_a_dim_with_nan_and_inf(op, keepdim):
    import torch

    x = np.array([[1.0, nan, 3.0, nan], [2.0, inf, 0.0, -inf], [5.0, 5.0, 1.0, 0.0]])
    g = np.array([[inf], [nan], [1.0]]) if keepdim else np.array([inf, nan, 1.0])
    same(lambda m, x: getattr(x, op)(1, keepdim), x, grad_out=g)
    ours = getattr(engine.tensor(x), op)(1, keepdim).indices.numpy()
    ref = getattr(torch.tensor(x), op)(1, keepdim).indices.numpy()
    np.testing.assert_array_equal(ours, ref)
    arg = "argmax" if op == "max" else "argmin"
    assert getattr(engine.tensor(x), arg)().item() == getattr(torch.tensor(x), arg)().item()
    np.testing.assert_array_equal(
        getattr(engine.tensor(x), arg)(0).numpy(), getattr(torch.tensor(x), arg)(0).numpy()
    )


def test_std_gradcheck_away_from_zero():
    check_op(lambda m, x: m.std(x, 1, keepdim=True), rng.standard_normal((3, 4)))
    check_op(lambda m, x: x.std(correction=0), rng.standard_normal((5,)))


# --- sigmoid, tanh, softmax at the extremes ---------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: m.sigmoid(x),
        lambda m, x: m.log(m.sigmoid(x)),
        lambda m, x: m.tanh(x),
        lambda m, x: F(m).log_softmax(x, 0),
        lambda m, x: F(m).softmax(x, 0),
        lambda m, x: F(m).binary_cross_entropy_with_logits(x, m.ones_like(x), reduction="none"),
        lambda m, x: F(m).binary_cross_entropy_with_logits(x, m.zeros_like(x), reduction="none"),
    ],
)
def test_extreme_inputs_match_torch(fn, dtype):
    x = [-1000.0, -100.0, -88.5, -30.0, -20.0, -1e-8, 0.0, 3.0, 20.0, 40.0, 100.0]
    # float32: a last-bit difference of exp or tanh shows as 2e-6 in tanh's gradient at 3
    # and as one step between subnormals (1e-45) in softplus(-100); sigmoid(-20) = 2e-9
    # still counts, so no tolerance reaches it
    if dtype == "float32":
        same(fn, x, dtype=dtype, rtol=1e-5, atol=1e-40)
    else:
        same(fn, x, dtype=dtype, rtol=1e-13)


@pytest.mark.torch
def test_sigmoid_keeps_tiny_values_and_their_gradient():
    """The issue's numbers: sigmoid(-20) is 2.06e-9 in float32, log(sigmoid(-30)) is -30."""
    x = engine.tensor([-20.0], requires_grad=True)
    y = engine.sigmoid(x)
    assert y.item() == pytest.approx(2.0611537e-09, rel=1e-6)
    x = engine.tensor([-30.0], requires_grad=True)
    y = engine.log(engine.sigmoid(x))
    y.backward(engine.ones(1))
    assert y.item() == -30.0 and x.grad.item() == 1.0


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(2, 0), (0, 3)])
@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_empty_tensors(name, shape, dim):
    import torch

    ours = engine.zeros(*shape, requires_grad=True)
    ref = torch.zeros(*shape, requires_grad=True)
    out, ref_out = getattr(F(engine), name)(ours, dim), getattr(F(torch), name)(ref, dim)
    assert tuple(out.shape) == tuple(ref_out.shape) and out.dtype == engine.float32
    out.sum().backward()
    ref_out.sum().backward()
    assert tuple(ours.grad.shape) == tuple(ref.grad.shape)


@pytest.mark.torch
def test_softmax_rows_with_inf_match_torch():
    x = [[inf, 1.0], [-inf, -inf], [-inf, 0.0]]
    same(lambda m, x: F(m).log_softmax(x, 1), x)
    same(lambda m, x: F(m).softmax(x, 1), x)


# --- losses: target gradients, ignored rows ----------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_differentiates_the_target(reduction, weighted):
    x = [0.0, 0.2, 0.7, 1.0, 1e-30]
    t = [0.3, 0.5, 1.0, 0.1, 0.5]

    def fn(m, x, t):
        w = m.tensor([1.0, 2.0, 3.0, 4.0, 0.5]) if weighted else None
        return F(m).binary_cross_entropy(x, t, w, reduction=reduction)

    same(fn, x, t, rtol=1e-5)
    same(fn, x, t, dtype="float64", rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("pos_weight", [None, [1.5, 2.0, 0.5, 3.0, 1.0]])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_differentiates_the_target(reduction, pos_weight, weighted):
    x = [-50.0, -2.0, 0.5, 40.0, -100.0]
    t = [0.3, 0.5, 1.0, 0.1, 0.0]

    def fn(m, x, t):
        w = m.tensor([1.0, 2.0, 3.0, 4.0, 0.5], dtype=x.dtype) if weighted else None
        pw = None if pos_weight is None else m.tensor(pos_weight, dtype=x.dtype)
        return F(m).binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw)

    same(fn, x, t, rtol=1e-5, atol=1e-30)
    same(fn, x, t, dtype="float64", rtol=1e-12)


@pytest.mark.torch
def test_bce_loss_modules_pass_the_target_gradient():
    import torch

    x, t = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    for name in ("BCELoss", "BCEWithLogitsLoss"):
        grads = []
        for lib in (engine, torch):
            xt = lib.tensor(x, requires_grad=True)
            tt = lib.tensor(t, requires_grad=True)
            getattr(lib.nn, name)()(xt, tt).backward()
            grads.append(tt.grad.numpy())
        np.testing.assert_allclose(*grads, rtol=1e-10)


def test_bce_gradchecks():
    x, t = rng.uniform(0.1, 0.9, (3, 2)), rng.uniform(0, 1, (3, 2))
    check_op(lambda m, x, t: m.nn.functional.binary_cross_entropy(x, t), x, t)
    logits = rng.standard_normal((3, 2))
    pw = rng.uniform(0.5, 2, (2,))

    def with_logits(m, x, t):
        pos = m.tensor(pw, dtype=x.dtype)
        return m.nn.functional.binary_cross_entropy_with_logits(x, t, pos_weight=pos)

    check_op(with_logits, logits, t)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("targets", [[-100, -100, -100], [2, -100, 0]])
def test_cross_entropy_ignored_rows_get_zero_gradient(reduction, smoothing, targets):
    import torch

    logits = rng.standard_normal((3, 4))
    got = []
    for lib in (engine, torch):
        x = lib.tensor(logits, requires_grad=True)
        loss = F(lib).cross_entropy(
            x, lib.tensor(targets), reduction=reduction, label_smoothing=smoothing
        )
        loss.sum().backward()
        got.append((loss.detach().numpy(), x.grad.numpy()))
    (value, grad), (ref_value, ref_grad) = got
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


# --- embedding --------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding_padding_row_gets_no_gradient(padding_idx):
    import torch

    idx = [[1, 2, 1], [3, 0, 3]]
    weights = rng.uniform(size=(2, 3, 2)).round(1)
    got = []
    for lib in (engine, torch):
        lib.manual_seed(0)
        emb = lib.nn.Embedding(4, 2, padding_idx=padding_idx)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(np.arange(8.0).reshape(4, 2), dtype=lib.float32))
        out = emb(lib.tensor(idx))
        (out * lib.tensor(weights, dtype=lib.float32)).sum().backward()
        got.append((out.detach().numpy(), emb.weight.grad.numpy()))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-6)


# --- padding modes ----------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 0, 3), (0, 0, 1, 1), (3, 3, 2, 2)])
def test_pad_matches_torch(mode, pad):
    x = rng.standard_normal((2, 3, 4, 5)[4 - len(pad) :])  # torch's rule for non-constant
    same(
        lambda m, x: F(m).pad(x, pad, mode=mode),
        x,
        grad_out=rng.standard_normal(tuple(F(engine).pad(engine.tensor(x), pad, mode=mode).shape)),
        dtype="float64",
        rtol=1e-12,
    )


def test_pad_gradcheck():
    x = rng.standard_normal((1, 2, 3, 4))
    for mode in ("reflect", "replicate", "circular"):
        check_op(lambda m, x, mode=mode: m.nn.functional.pad(x, (2, 1, 1, 2), mode=mode), x)


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3, "padding": 1},
        {"kernel_size": (3, 2), "padding": (2, 1), "stride": 2},
        {"kernel_size": 3, "padding": "same", "dilation": 2},
        {"kernel_size": (2, 3), "padding": "same"},
        {"kernel_size": 3, "padding": 0},
    ],
)
def test_conv2d_padding_modes_match_torch(mode, kwargs):
    import torch

    x = rng.standard_normal((2, 2, 7, 6)).astype(np.float32)
    got = []
    for lib in (engine, torch):
        conv = lib.nn.Conv2d(2, 3, padding_mode=mode, **kwargs)
        with lib.no_grad():
            for p in conv.parameters():
                p.copy_(
                    lib.tensor(np.linspace(-1, 1, p.numel()).reshape(p.shape), dtype=lib.float32)
                )
        xt = lib.tensor(x, requires_grad=True)
        out = conv(xt)
        out.backward(
            lib.tensor(np.cos(np.arange(out.numel())).reshape(out.shape), dtype=lib.float32)
        )
        got.append([out.detach().numpy(), xt.grad.numpy(), conv.weight.grad.numpy()])
    for ours, ref in zip(*got, strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)
    assert repr(engine.nn.Conv2d(2, 3, 3, padding_mode=mode)).endswith(f"padding_mode={mode})")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (((4, 0), "reflect"), RuntimeError),
        (((0, 6), "circular"), RuntimeError),
        (((1,), "constant"), RuntimeError),  # as PyTorch
        (((1, 1), "wrap"), NotImplementedError),
        (((1, 1), "reflect"), NotImplementedError),  # one dim of a 4-D input
    ],
)
def test_pad_errors(args, error):
    with pytest.raises(error):
        F(engine).pad(engine.ones(1, 2, 3, 4), args[0], mode=args[1])


# --- initialisation memory ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: engine.nn.Linear(4096, 4096),
        lambda: engine.nn.Conv2d(256, 256, 3),
        lambda: engine.nn.Embedding(8192, 512),
    ],
    ids=["linear", "conv", "embedding"],
)
def test_layer_init_peaks_at_about_its_weight(make):
    """No float64 draw of the whole weight and no cast copy: the weight plus a small chunk."""
    import tracemalloc

    tracemalloc.start()
    try:
        layer = make()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    weight = layer.weight.numel() * 4
    assert peak < weight + (2 << 20), f"peak {peak / weight:.2f}x the weight"  # 512 KiB chunks


def test_chunked_draws_give_the_numbers_of_one_draw():
    from engine import random

    for fill, whole in (
        (random.fill_uniform, random.host_uniform),
        (random.fill_normal, random.host_normal),
    ):
        random.manual_seed(3)
        out = np.empty((3, 50_000), np.float32)
        fill(out, -2.0, 3.0)
        random.manual_seed(3)
        np.testing.assert_array_equal(out, whole(out.shape, -2.0, 3.0, np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_select_keeps_inf_and_nan_out_of_the_zeros(dtype):
    g = np.array([inf, nan, -inf, 2.0, -0.0, nan], dtype)
    mask = np.array([False, False, True, True, True, True])
    expected = np.where(mask, g, dtype(0))
    np.testing.assert_array_equal(_fast.select(np, mask, g), expected)
    assert _fast.select(np, mask, g).dtype == dtype
    np.testing.assert_array_equal(_fast.select(np, np.bool_(False), g[0:1].reshape(())), 0)
    wide = _fast.select(np, mask[:2, None], np.full((2, 3), inf, dtype))  # broadcast
    np.testing.assert_array_equal(wide, np.zeros((2, 3), dtype))
    out = np.full(12, 7, dtype)
    _fast.select(np, mask, g, out=out[::2])  # a strided destination
    np.testing.assert_array_equal(out[::2], expected)
    assert (out[1::2] == 7).all()
