"""Convolution and pooling beyond test_ops: LeNet sizes, unbatched input, errors, reused buffers."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.autograd import OpError
from engine.nn import functional as F
from tests.engine.gradcheck import Const, check_op

pytestmark = pytest.mark.usefixtures("fast_path")  # every test runs fast and plain

rng = np.random.default_rng(7)


def randn(*shape):
    return rng.standard_normal(shape)


def conv(**kwargs):
    return lambda m, x, w, *b: m.nn.functional.conv2d(x, w, *b, **kwargs)


@pytest.mark.parametrize(
    ("fn", "inputs"),
    [
        (conv(), (randn(3, 5, 5), randn(2, 3, 3, 3), randn(2))),  # unbatched
        (conv(padding="same", dilation=2), (randn(1, 2, 5, 6), randn(2, 2, 2, 3), randn(2))),
        (
            conv(stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
            (randn(2, 2, 6, 5), randn(3, 2, 3, 2)),
        ),
        (conv(stride=3, padding=2, groups=2), (randn(1, 4, 7, 7), randn(4, 2, 3, 3), randn(4))),
        (conv(padding=2), (Const(randn(2, 1, 6, 6)), randn(3, 1, 5, 5), randn(3))),  # no grad_input
        (conv(groups=3), (randn(1, 3, 4, 4), randn(6, 1, 2, 2), randn(6))),
    ],
    ids=["unbatched", "same_dilated", "mixed_pairs", "strided_groups", "first_layer", "depthwise"],
)
def test_conv2d_configs(fn, inputs):
    check_op(fn, *inputs)


X = randn(2, 3, 7, 8)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: m.nn.functional.max_pool2d(x, 3, dilation=2),
        lambda m, x: m.nn.functional.max_pool2d(x, 2, stride=2, padding=1, dilation=2),
        lambda m, x: m.nn.functional.max_pool2d(x[0], 2),
        lambda m, x: m.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False),
        lambda m, x: m.nn.functional.avg_pool2d(x, (2, 3), stride=(1, 2), padding=(1, 1)),
        lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 1),
        lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (None, 4)),
        lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (3, 5)),  # windows overlap
        lambda m, x: m.nn.functional.adaptive_avg_pool2d(x[0], 2),
    ],
    ids=[
        "max_dilated",
        "max_dilated_padded",
        "max_unbatched",
        "avg_exclude_pad",
        "avg_pairs",
        "adaptive_1",
        "adaptive_none",
        "adaptive_uneven",
        "adaptive_unbatched",
    ],
)
def test_pool_configs(fn):
    check_op(fn, X)


@pytest.mark.torch
def test_lenet_sizes_match_torch_in_float32():
    """The wide-row im2col and col2im at LeNet's sizes, with ReLU ties into max pooling."""
    torch = pytest.importorskip("torch")
    x, w1, b1, w2, b2 = (
        randn(8, 1, 28, 28),
        randn(6, 1, 5, 5),
        randn(6),
        randn(16, 6, 5, 5),
        randn(16),
    )
    grads = []
    for lib, functional in ((engine, F), (torch, torch.nn.functional)):
        params = [lib.tensor(a.astype(np.float32), requires_grad=True) for a in (x, w1, b1, w2, b2)]
        x_, w1_, b1_, w2_, b2_ = params
        h = functional.max_pool2d(functional.relu(functional.conv2d(x_, w1_, b1_, padding=2)), 2)
        h = functional.max_pool2d(functional.relu(functional.conv2d(h, w2_, b2_)), 2)
        (
            h * lib.tensor(np.linspace(-1, 1, h.numel(), dtype=np.float32)).reshape(h.shape)
        ).sum().backward()
        grads.append([h.detach().numpy()] + [p.grad.numpy() for p in params])
    for ours, theirs in zip(*grads, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-3 * np.abs(theirs).max())


@pytest.mark.torch
def test_max_pool_sends_a_tie_to_one_element_and_indices_match_torch():
    torch = pytest.importorskip("torch")
    x = np.maximum(randn(2, 2, 6, 6), 0)
    x[0, 0, :2, :2] = 1.0
    for kwargs in (
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=3, dilation=2),
    ):
        ours = engine.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        out, idx = F.max_pool2d(ours, return_indices=True, **kwargs)
        ref, ref_idx = torch.nn.functional.max_pool2d(theirs, return_indices=True, **kwargs)
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_first_layer_input_gets_no_gradient():
    x = engine.tensor(randn(2, 1, 6, 6))
    w = engine.tensor(randn(3, 1, 3, 3), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 1, 3, 3)


# ----- reused scratch arrays never clobber what a graph or a caller still holds ----


def _conv_grads(x, w, b):
    tensors = [engine.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.conv2d(*tensors, padding=1)
    return out, tensors


def test_two_graphs_of_the_same_shape_keep_their_own_buffers():
    a, b = [(randn(2, 3, 6, 6), randn(4, 3, 3, 3), randn(4)) for _ in range(2)]
    out_a, ta = _conv_grads(*a)
    kept = out_a.detach().numpy().copy()
    out_b, tb = _conv_grads(*b)  # same shapes: must not reuse out_a's columns or output
    np.testing.assert_array_equal(out_a.detach().numpy(), kept)
    out_b.sum().backward()
    out_a.sum().backward()
    alone, ref = _conv_grads(*a)
    alone.sum().backward()
    for got, want in zip(ta, ref, strict=True):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy())


def test_retain_graph_backward_twice_doubles_the_gradients():
    x, w, b = randn(2, 3, 6, 6), randn(4, 3, 3, 3), randn(4)
    out, tensors = _conv_grads(x, w, b)
    pooled = F.max_pool2d(out, 2)
    pooled.sum().backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in tensors]
    _conv_grads(x, w, b)[0].sum().backward()  # another graph of the same shapes in between
    pooled.sum().backward()
    for t, g in zip(tensors, first, strict=True):
        np.testing.assert_allclose(t.grad.numpy(), 2 * g)


def test_a_held_input_gradient_survives_the_next_backward():
    x = engine.tensor(randn(2, 3, 8, 8), requires_grad=True)
    y = engine.tensor(randn(2, 3, 8, 8), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    held = x.grad.numpy().copy()
    F.max_pool2d(y * 2, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), held)


# ----- errors name the op, the option and the shapes ------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: F.conv2d(engine.randn(2, 1, 28, 28), engine.randn(6, 3, 5, 5)),
            OpError,
            "conv2d: expected input of shape (N, C, H, W) with C=3 (weight (6, 3, 5, 5)), "
            "got (2, 1, 28, 28)",
        ),
        (
            lambda: F.conv2d(engine.randn(1, 1, 3, 3), engine.randn(2, 1, 5, 5)),
            OpError,
            "conv2d: kernel (5, 5) (dilated (5, 5)) is larger than the padded input (3, 3)",
        ),
        (
            lambda: F.conv2d(engine.randn(1, 3, 8, 8), engine.randn(4, 1, 3, 3), groups=2),
            OpError,
            "conv2d: in_channels 3 of input (1, 3, 8, 8) is not divisible by groups=2",
        ),
        (
            lambda: F.conv2d(engine.randn(1, 4, 8, 8), engine.randn(3, 2, 3, 3), groups=2),
            OpError,
            "conv2d: out_channels 3 of weight (3, 2, 3, 3) is not divisible by groups=2",
        ),
        (
            lambda: F.conv2d(engine.randn(1, 2, 8, 8), engine.randn(3, 2, 3, 3), engine.randn(4)),
            OpError,
            "conv2d: expected bias of shape (3,) for weight (3, 2, 3, 3), got (4,)",
        ),
        (
            lambda: F.conv2d(engine.randn(8, 8), engine.randn(3, 2, 3, 3)),
            OpError,
            "conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got (8, 8)",
        ),
        (
            lambda: F.conv2d(
                engine.randn(1, 2, 8, 8), engine.randn(3, 2, 3, 3), stride=2, padding="same"
            ),
            OpError,  # a RuntimeError, as PyTorch's
            "conv2d: padding='same' is not supported for strided convolutions (stride (2, 2))",
        ),
        (
            lambda: F.conv2d(engine.randn(1, 2, 8, 8), engine.randn(3, 2, 3, 3), padding="full"),
            OpError,
            "conv2d: padding must be 'valid', 'same', an int or a pair, got 'full'",
        ),
        (
            lambda: F.avg_pool2d(engine.randn(1, 1, 4, 4), 2, padding=2),
            OpError,
            "avg_pool2d: padding (2, 2) should be at most half of kernel_size (2, 2)",
        ),
        (
            lambda: F.max_pool2d(engine.randn(1, 1, 2, 2), 3, stride=1, padding=0),
            OpError,
            "max_pool2d: kernel (3, 3) (dilated (3, 3)) is larger than the padded input (2, 2)",
        ),
        (
            lambda: F.adaptive_avg_pool2d(engine.randn(1, 1, 4, 4), (2, 0)),
            ValueError,
            "adaptive_avg_pool2d: output_size must be a positive integer, got 0",
        ),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize("bias", [True, False])
def test_a_padded_convolution_returns_a_compact_output(bias):
    # computed over whole padded rows and cropped: the crop is one compact array, laid out
    # as PyTorch's (images first), that the next op, the debugger's statistics and
    # x.view(x.size(0), -1) read without a copy
    b = engine.randn(4) if bias else None
    out = F.conv2d(engine.randn(2, 3, 6, 6), engine.randn(4, 3, 3, 3), b, padding=1)
    assert out.shape == (2, 4, 6, 6) and out._data.flags.c_contiguous
    assert out.view(2, -1)._data.base is not None


def test_a_batch_cut_into_pieces_matches_its_images_one_at_a_time():
    # 8 images of 28x28 through 6 5x5 filters is past the size at which the products
    # are cut into pieces along the pixels; one image at a time is not cut at all
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    w = engine.tensor(rng.standard_normal((6, 1, 5, 5)).astype(np.float32), requires_grad=True)
    b = engine.tensor(rng.standard_normal(6).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((8, 6, 28, 28)).astype(np.float32)
    whole = F.conv2d(engine.tensor(x), w, b, padding=2)
    whole.backward(engine.tensor(g))
    batch_grad = w.grad.numpy().copy()
    w.grad = None
    for i in range(8):
        one = F.conv2d(engine.tensor(x[i : i + 1]), w, b, padding=2)
        expected = whole.detach().numpy()[i : i + 1]
        np.testing.assert_allclose(one.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
        one.backward(engine.tensor(g[i : i + 1]))
    np.testing.assert_allclose(w.grad.numpy(), batch_grad, rtol=1e-4, atol=1e-3)
