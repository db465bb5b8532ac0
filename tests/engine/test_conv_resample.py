"""conv1d, conv_transpose2d, 1-d pooling, adaptive max pooling, interpolate, pad and
unfold/fold against PyTorch: values, gradients, layers loaded from torch state_dicts,
reprs and the exception types of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import engine
from tests.engine.gradcheck import Const, check_op

pytestmark = [
    pytest.mark.torch,
    # PyTorch's note that it copies the input for an even kernel with padding='same'
    pytest.mark.filterwarnings("ignore:Using padding='same'"),
]
torch = pytest.importorskip("torch")

rng = np.random.default_rng(17)


def randn(*shape):
    return rng.standard_normal(shape)


def F(name, *args, **kwargs):
    """lib.nn.functional.<name>(tensors..., *args, **kwargs) for lib = engine or torch."""
    return lambda m, *t: getattr(m.nn.functional, name)(*t, *args, **kwargs)


CONV1D = [
    ("plain", F("conv1d"), (randn(2, 3, 7), randn(4, 3, 3), randn(4))),
    ("unbatched", F("conv1d"), (randn(3, 6), randn(2, 3, 2), randn(2))),
    ("stride_pad", F("conv1d", stride=2, padding=1), (randn(2, 2, 8), randn(3, 2, 3))),
    ("dilated", F("conv1d", padding=2, dilation=2), (randn(1, 2, 6), randn(2, 2, 3), randn(2))),
    ("groups", F("conv1d", stride=3, groups=2), (randn(2, 4, 9), randn(6, 2, 2), randn(6))),
    ("same", F("conv1d", padding="same", dilation=3), (randn(1, 2, 7), randn(2, 2, 2), randn(2))),
    ("valid", F("conv1d", padding="valid"), (randn(1, 1, 5), randn(1, 1, 5))),
    (
        "tuples",
        F("conv1d", stride=(2,), padding=(1,), dilation=(1,)),
        (randn(1, 1, 6), randn(2, 1, 3)),
    ),
    ("no_grad_input", F("conv1d"), (Const(randn(2, 1, 5)), randn(2, 1, 2), randn(2))),
]


@pytest.mark.parametrize(("fn", "inputs"), [c[1:] for c in CONV1D], ids=[c[0] for c in CONV1D])
@pytest.mark.usefixtures("fast_path")  # with the speed tricks and without
def test_conv1d(fn, inputs):
    check_op(fn, *inputs)


def ct(**kwargs):
    return F("conv_transpose2d", **kwargs)


CONV_T = [
    ("plain", ct(), (randn(2, 3, 3, 4), randn(3, 2, 2, 3), randn(2))),
    ("unbatched", ct(), (randn(2, 3, 3), randn(2, 3, 3, 2), randn(3))),
    ("stride2", ct(stride=2), (randn(1, 2, 3, 3), randn(2, 2, 3, 3), randn(2))),
    (
        "stride_pad_out",
        ct(stride=2, padding=1, output_padding=1),
        (randn(2, 2, 3, 2), randn(2, 1, 3, 3)),
    ),
    (
        "mixed_pairs",
        ct(stride=(2, 1), padding=(0, 1), output_padding=(1, 0), dilation=(1, 2)),
        (randn(1, 2, 3, 3), randn(2, 2, 2, 3), randn(2)),
    ),
    (
        "out_pad_below_dilation",
        ct(stride=1, output_padding=1, dilation=2),
        (randn(1, 1, 3, 3), randn(1, 2, 2, 2)),
    ),
    ("groups", ct(stride=2, groups=2), (randn(1, 4, 2, 3), randn(4, 3, 2, 2), randn(6))),
    ("depthwise", ct(padding=1, groups=3), (randn(2, 3, 3, 3), randn(3, 1, 3, 3), randn(3))),
    (
        "positional",
        F("conv_transpose2d", None, 3, 1, 2, 1, 2),
        (randn(1, 2, 3, 3), randn(2, 1, 3, 3)),
    ),
    ("no_grad_input", ct(stride=2), (Const(randn(1, 2, 3, 3)), randn(2, 2, 2, 2), randn(2))),
]


@pytest.mark.parametrize(("fn", "inputs"), [c[1:] for c in CONV_T], ids=[c[0] for c in CONV_T])
@pytest.mark.usefixtures("fast_path")  # with the speed tricks and without
def test_conv_transpose2d(fn, inputs):
    check_op(fn, *inputs)


X1 = randn(2, 3, 9)
X2 = randn(2, 3, 7, 8)

POOL = [
    ("max1d", F("max_pool1d", 3), X1),
    ("max1d_options", F("max_pool1d", 3, 2, 1, 2, True), X1),
    ("max1d_unbatched", F("max_pool1d", (2,), stride=(1,)), X1[0]),
    ("max1d_indices", F("max_pool1d", 3, 2, 1, return_indices=True), X1),
    ("avg1d", F("avg_pool1d", 3), X1),
    ("avg1d_options", F("avg_pool1d", 4, 2, 2, True, False), X1),
    ("avg1d_unbatched", F("avg_pool1d", 2, 1, 1), X1[1]),
    ("amax_1", F("adaptive_max_pool2d", 1), X2),
    ("amax_overlap", F("adaptive_max_pool2d", (3, 5)), X2),
    ("amax_none", F("adaptive_max_pool2d", (None, 3)), X2),
    ("amax_up", F("adaptive_max_pool2d", (9, 10)), X2[:, :, :4, :5]),
    ("amax_unbatched", F("adaptive_max_pool2d", 2, return_indices=True), X2[0]),
    ("amax_indices", F("adaptive_max_pool2d", (2, 3), True), X2),
]


@pytest.mark.parametrize(("fn", "x"), [c[1:] for c in POOL], ids=[c[0] for c in POOL])
def test_pool(fn, x):
    check_op(fn, x)


def test_adaptive_max_pool2d_ties_nan_and_inf():
    """PyTorch's argmax: the first maximum in row-major order, the last NaN, and the
    window's first element when every value is -inf."""
    x = np.round(randn(2, 2, 6, 7))
    x[0, 0, 1, 2] = x[0, 0, 4, 5] = np.nan
    x[0, 1, :3, :4] = -np.inf
    x[1, 0] = 1.0
    for size in [(2, 3), (4, 4), 1, (6, 7), (7, 9)]:
        ours = engine.nn.functional.adaptive_max_pool2d(engine.tensor(x), size, True)
        ref = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), size, True)
        np.testing.assert_array_equal(ours[0].numpy(), ref[0].numpy())
        np.testing.assert_array_equal(ours[1].numpy(), ref[1].numpy())
        assert ours[1].dtype == engine.int64


def interp(**kwargs):
    return F("interpolate", **kwargs)


X4 = randn(2, 2, 4, 5)
INTERP = [
    ("nearest_size", interp(size=(7, 3)), X4),
    ("nearest_int_size", interp(size=6), X4),
    ("nearest_scale2", interp(scale_factor=2), X4),
    ("nearest_scale_pair", interp(scale_factor=(1.7, 0.6)), X4),
    ("nearest_scale_near_1", interp(scale_factor=1.1), randn(1, 1, 10, 10)),
    ("nearest_recompute", interp(scale_factor=1.7, recompute_scale_factor=True), X4),
    ("nearest_exact", interp(scale_factor=(2.3, 0.7), mode="nearest-exact"), X4),
    ("nearest_3d", interp(size=7), randn(2, 3, 4)),
    ("nearest_3d_scale", interp(scale_factor=0.5), randn(2, 3, 7)),
    ("bilinear", interp(size=(7, 3), mode="bilinear"), X4),
    ("bilinear_corners", interp(size=(7, 3), mode="bilinear", align_corners=True), X4),
    ("bilinear_scale", interp(scale_factor=1.6, mode="bilinear"), X4),
    (
        "bilinear_scale_corners",
        interp(scale_factor=(2, 0.5), mode="bilinear", align_corners=True),
        X4,
    ),
    (
        "bilinear_recompute",
        interp(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True),
        X4,
    ),
    ("bilinear_to_1", interp(size=1, mode="bilinear", align_corners=True), X4),
    ("bilinear_down", interp(size=(2, 2), mode="bilinear"), X4),
    ("bilinear_same_size_copies", interp(scale_factor=1.1, mode="bilinear"), X4),
    ("bilinear_one_axis_same", interp(scale_factor=(1.1, 1.5), mode="bilinear"), X4),
    ("linear_3d", interp(scale_factor=2.5, mode="linear"), randn(2, 3, 4)),
    ("area", interp(size=(3, 2), mode="area"), X4),
    ("area_scale", interp(scale_factor=0.5, mode="area"), X4),
    ("area_3d", interp(size=3, mode="area"), randn(2, 3, 7)),
    (
        "trilinear",
        interp(size=(3, 2, 4), mode="trilinear", align_corners=True),
        randn(1, 2, 2, 3, 3),
    ),
    ("bicubic", interp(size=(7, 3), mode="bicubic"), X4),
    ("bicubic_corners", interp(size=(7, 9), mode="bicubic", align_corners=True), X4),
    ("bicubic_scale", interp(scale_factor=(2, 0.6), mode="bicubic"), X4),
    ("bicubic_same_size", interp(scale_factor=1.0, mode="bicubic"), X4),
]


@pytest.mark.parametrize(("fn", "x"), [c[1:] for c in INTERP], ids=[c[0] for c in INTERP])
def test_interpolate(fn, x):
    check_op(fn, x)


@pytest.mark.parametrize(
    ("shape", "factor"), [((1, 2, 10), 1.05), ((1, 1, 3), 2.05), ((1, 1, 2, 2, 3), 2.05)]
)
def test_interpolate_nearest_gradient_as_torch_where_it_is_not_the_adjoint(shape, factor):
    """For 1-d and 3-d 'nearest' to the same or twice the size by a factor other than 1
    or 2, PyTorch's forward computes floor(dst / factor) but its backward copies (or
    pairs) positions: the engine returns the same values and the same gradients."""
    x = randn(*shape).astype(np.float32)
    results = []
    for lib in (engine, torch):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.interpolate(t, scale_factor=factor)
        y.backward(lib.tensor(np.arange(y.numel(), dtype=np.float32).reshape(tuple(y.shape))))
        results.append((y.detach().numpy(), t.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_keeps_non_finite_gradients_local(mode):
    """An inf in the output gradient reaches only the inputs that output read."""
    x = randn(1, 1, 3, 4).astype(np.float32)
    g = np.ones((1, 1, 6, 8), np.float32)
    g[0, 0, 0, 0] = np.inf
    grads = []
    for lib in (engine, torch):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.interpolate(t, scale_factor=2, mode=mode).backward(lib.tensor(g))
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
    assert np.isinf(grads[0]).sum() < x.size


def test_bilinear_axis_of_unchanged_size_as_torch():
    """An axis that keeps its size reads each position with weight 1 and itself again
    with weight 0, whatever the scale_factor: the identity, but an inf there is NaN."""
    x = np.arange(20, dtype=np.float32).reshape(1, 1, 4, 5)
    x[0, 0, 2, 1] = np.inf
    x[0, 0, 0, 3] = -np.inf
    for kwargs in [dict(scale_factor=(1.1, 1.5)), dict(size=(4, 5)), dict(size=(1, 5))]:
        ours, ref = (
            lib.nn.functional.interpolate(lib.tensor(x), mode="bilinear", **kwargs).numpy()
            for lib in (engine, torch)
        )
        np.testing.assert_allclose(ours, ref, rtol=1e-6, equal_nan=True)  # NaN where torch's


PAD = [
    ("constant_3_dims", F("pad", (1, 2, 0, 1, 2, 0), value=0.5), randn(2, 2, 3, 2)),
    ("reflect_1", F("pad", (2, 1), mode="reflect"), randn(2, 3, 4)),
    ("reflect_2", F("pad", (1, 2, 2, 1), mode="reflect"), randn(1, 2, 3, 4)),
    ("replicate_1", F("pad", (3, 1), mode="replicate"), randn(2, 3)),
    ("replicate_2", F("pad", (1, 0, 2, 3), mode="replicate"), randn(2, 3, 3)),
    ("negative_crops", F("pad", (-1, 2, 1, -2)), randn(2, 4, 5)),
]


@pytest.mark.parametrize(("fn", "x"), [c[1:] for c in PAD], ids=[c[0] for c in PAD])
def test_pad(fn, x):
    check_op(fn, x)


FOLD = [
    ("unfold", F("unfold", 2), randn(2, 2, 3, 4)),
    ("unfold_options", F("unfold", (2, 3), 2, 1, (2, 1)), randn(1, 2, 5, 6)),
    ("unfold_unbatched", F("unfold", 2, stride=2), randn(2, 4, 4)),
    ("fold", F("fold", (3, 4), 2), randn(2, 8, 6)),
    ("fold_options", F("fold", (5, 6), (2, 3), 2, 1, (2, 1)), randn(1, 12, 12)),
    ("fold_unbatched", F("fold", 4, 2, stride=2), randn(4, 4)),
]


@pytest.mark.parametrize(("fn", "x"), [c[1:] for c in FOLD], ids=[c[0] for c in FOLD])
def test_unfold_fold(fn, x):
    check_op(fn, x)


def test_pad_takes_numpy_ints():
    x = randn(1, 2, 3).astype(np.float32)
    pads = (np.int64(1), np.int32(2), 0, 1)
    ours = engine.nn.functional.pad(engine.tensor(x), pads, value=3.0)
    ref = torch.nn.functional.pad(torch.tensor(x), pads, value=3.0)
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.conv_transpose2d(x, x[:1].detach().sum(1, keepdim=True).expand(2, 1, 4, 4)),
        lambda F, x: F.conv1d(x[0], x[0, :, :, :2].detach()),
        lambda F, x: F.interpolate(x, scale_factor=2),
        lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear"),
        lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest-exact"),
        lambda F, x: F.interpolate(x[:, :, 0], scale_factor=2, mode="linear"),
        lambda F, x: F.interpolate(x[:, :, :1, None], scale_factor=2, mode="trilinear"),
        lambda F, x: F.adaptive_max_pool2d(x, 2),
        lambda F, x: F.unfold(x, 2),
        lambda F, x: F.fold(x.reshape(1, 8, 4), (3, 3), 2),
    ],
)
def test_grad_fn_names_as_torch(call):
    x = randn(1, 2, 4, 4).astype(np.float32)
    names = [
        type(call(lib.nn.functional, lib.tensor(x, requires_grad=True)).grad_fn).__name__
        if lib is torch
        else call(lib.nn.functional, lib.tensor(x, requires_grad=True)).grad_fn.name()
        for lib in (torch, engine)
    ]
    assert names[1] == names[0]


def test_fold_of_unfold_counts_overlaps():
    x = engine.ones(1, 1, 4, 4)
    counts = engine.nn.functional.fold(engine.nn.functional.unfold(x, 3), (4, 4), 3)
    np.testing.assert_array_equal(
        counts.numpy()[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]
    )


LAYERS = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (4, 6, 2), dict(stride=2, padding=1, dilation=2, groups=2), (2, 4, 9)),
    ("Conv1d", (2, 3, 4), dict(padding="same", padding_mode="reflect", bias=False), (1, 2, 7)),
    ("Conv1d", (2, 3, 3), dict(padding=2, padding_mode="circular"), (2, 5)),
    ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 4, 5)),
    (
        "ConvTranspose2d",
        (4, 6, (3, 2)),
        dict(stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2)),
        (1, 4, 3, 4),
    ),
    ("ConvTranspose2d", (2, 2, 2), dict(stride=2, bias=False), (2, 3, 3)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 8)),
    ("AvgPool1d", (3,), dict(stride=1, count_include_pad=False, padding=1), (2, 3, 8)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("Upsample", (), dict(scale_factor=2), (2, 3, 3, 4)),
    ("Upsample", (), dict(size=(5, 7), mode="bilinear"), (2, 3, 3, 4)),
    ("Upsample", (), dict(scale_factor=1.5, mode="bilinear", align_corners=True), (2, 3, 3, 4)),
    ("ZeroPad2d", (2,), {}, (2, 3, 3, 4)),
    ("ZeroPad2d", ((1, 0, 2, 3),), {}, (3, 3, 4)),
    ("ZeroPad2d", ((-1, 2, 0, -1),), {}, (2, 3, 3, 4)),
    ("Unfold", (2,), dict(padding=1), (2, 3, 3, 4)),
    ("Fold", ((3, 4), 2), {}, (2, 8, 6)),
]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape"), LAYERS, ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYERS)]
)
def test_layer_matches_torch(name, args, kwargs, shape):
    """Same parameter names and shapes, repr, and, with torch's state_dict loaded, the same
    output and gradients."""
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(engine.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(ref)
    shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == shapes
    ours.load_state_dict({k: engine.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    x = randn(*shape).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), engine.tensor(x, requires_grad=True)
    ty, ey = ref(tx), ours(ex)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = randn(*ty.shape).astype(np.float32)
    ty.backward(torch.tensor(g))
    ey.backward(engine.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    for (k, p), q in zip(ref.named_parameters(), ours.parameters(), strict=True):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=k)


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("Conv1d", (4, 6, 3), dict(groups=2)),
        ("ConvTranspose2d", (4, 6, 3), dict(groups=2)),
        ("ConvTranspose2d", (3, 5, (2, 4)), {}),
    ],
)
def test_layer_init_bounds(name, args, kwargs):
    """kaiming_uniform(a=sqrt(5)) weights and biases within 1/sqrt(fan_in), as in torch."""
    ours = getattr(engine.nn, name)(*args, **kwargs)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    w = ours.weight.detach().numpy()
    fan_in = np.prod(w.shape[1:])
    bound = 1 / np.sqrt(fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(ours.bias.detach().numpy()).max() <= bound
    assert np.abs(ref.weight.detach().numpy()).max() <= bound  # the same formula there


def test_conv_transpose2d_output_size():
    ref = torch.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1)
    ours = engine.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1)
    ours.load_state_dict({k: engine.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    x = randn(1, 2, 4, 4).astype(np.float32)
    for size in [(10, 10), (11, 12), [1, 3, 12, 11]]:
        a = ours(engine.tensor(x), output_size=size)
        b = ref(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-5)
    for lib, layer in ((engine, ours), (torch, ref)):
        with pytest.raises(ValueError):
            layer(lib.tensor(x), output_size=(13, 10))


def test_upsample_with_return_indices_pool_round_trip():
    """MaxPool1d and AdaptiveMaxPool2d hand back indices as torch does."""
    x = randn(2, 3, 8).astype(np.float32)
    for lib in (engine, torch):
        out, idx = lib.nn.MaxPool1d(2, return_indices=True)(lib.tensor(x))
        assert idx.dtype == lib.int64
    ours = engine.nn.AdaptiveMaxPool2d(2, return_indices=True)(engine.tensor(randn(1, 4, 4)))
    assert len(ours) == 2 and tuple(ours[1].shape) == (1, 2, 2)


def _both(call):
    """The exception (type) each library raises for call(lib, ...), None if none."""
    out = []
    for lib in (engine, torch):
        try:
            call(lib)
        except Exception as exc:
            out.append(exc)
        else:
            out.append(None)
    return out


def T(*shape, dtype="float32"):
    return lambda lib: lib.zeros(*shape, dtype=getattr(lib, dtype))


def fn(name, *tensors, **kwargs):
    """lib.nn.functional.<name>(built tensors..., **kwargs); tensors are builders or values."""

    def call(lib):
        args = [t(lib) if callable(t) else t for t in tensors]
        return getattr(lib.nn.functional, name)(*args, **kwargs)

    return call


ERRORS = [
    ("conv1d_4d_input", fn("conv1d", T(1, 1, 4, 4), T(1, 1, 2))),
    ("conv1d_channels", fn("conv1d", T(1, 4, 4), T(2, 2, 2))),
    ("conv1d_kernel_too_big", fn("conv1d", T(1, 1, 3), T(1, 1, 4))),
    ("conv1d_same_strided", fn("conv1d", T(1, 1, 5), T(1, 1, 3), stride=2, padding="same")),
    ("conv1d_padding_string", fn("conv1d", T(1, 1, 5), T(1, 1, 3), padding="full")),
    ("conv2d_padding_string", fn("conv2d", T(1, 1, 5, 5), T(1, 1, 3, 3), padding="full")),
    ("conv2d_same_strided", fn("conv2d", T(1, 1, 5, 5), T(1, 1, 3, 3), stride=2, padding="same")),
    ("conv1d_stride_pair", fn("conv1d", T(1, 1, 5), T(1, 1, 3), stride=(1, 2))),
    ("conv1d_bias_shape", fn("conv1d", T(1, 1, 5), T(2, 1, 3), T(3))),
    ("convt_channels", fn("conv_transpose2d", T(1, 1, 4, 4), T(2, 1, 2, 2))),
    (
        "convt_output_padding",
        fn("conv_transpose2d", T(1, 1, 4, 4), T(1, 1, 2, 2), stride=2, output_padding=2),
    ),
    ("convt_too_small", fn("conv_transpose2d", T(1, 1, 4, 4), T(1, 1, 2, 2), padding=3)),
    ("convt_2d_input", fn("conv_transpose2d", T(4, 4), T(1, 1, 2, 2))),
    ("convt_bias", fn("conv_transpose2d", T(1, 2, 3, 3), T(2, 1, 2, 2), T(3), groups=2)),
    ("max1d_too_big", fn("max_pool1d", T(1, 4), 5)),
    ("max1d_1d_input", fn("max_pool1d", T(4), 2)),
    ("max1d_pad", fn("max_pool1d", T(1, 1, 8), 2, padding=2)),
    ("max1d_kernel_pair", fn("max_pool1d", T(1, 1, 8), (2, 2))),
    ("max1d_long", fn("max_pool1d", T(1, 1, 8, dtype="int64"), 2)),
    ("avg1d_too_big", fn("avg_pool1d", T(1, 4), 5)),
    ("avg1d_pad", fn("avg_pool1d", T(1, 1, 8), 2, padding=2)),
    ("avg1d_divisor", fn("avg_pool1d", T(1, 1, 8), 2, divisor_override=2)),
    ("amax_2d_input", fn("adaptive_max_pool2d", T(4, 4), 2)),
    ("amax_long", fn("adaptive_max_pool2d", T(1, 4, 4, dtype="int64"), 2)),
    ("interp_both", fn("interpolate", T(1, 1, 4, 4), size=2, scale_factor=2)),
    ("interp_neither", fn("interpolate", T(1, 1, 4, 4))),
    ("interp_size_len", fn("interpolate", T(1, 1, 4, 4), size=(2, 2, 2))),
    ("interp_scale_len", fn("interpolate", T(1, 1, 4, 4), scale_factor=(2, 2, 2))),
    ("interp_corners_nearest", fn("interpolate", T(1, 1, 4, 4), size=3, align_corners=True)),
    ("interp_bilinear_3d", fn("interpolate", T(1, 4, 4), size=3, mode="bilinear")),
    ("interp_linear_4d", fn("interpolate", T(1, 1, 4, 4), size=3, mode="linear")),
    ("interp_zero", fn("interpolate", T(1, 1, 4, 4), size=0)),
    (
        "interp_recompute_size",
        fn("interpolate", T(1, 1, 4, 4), size=2, recompute_scale_factor=True),
    ),
    ("interp_long", fn("interpolate", T(1, 1, 4, 4, dtype="int64"), scale_factor=2)),
    ("unfold_too_big", fn("unfold", T(1, 1, 4, 4), 5)),
    ("unfold_2d", fn("unfold", T(4, 4), 2)),
    ("unfold_long", fn("unfold", T(1, 1, 4, 4, dtype="int64"), 2)),
    ("fold_rows", fn("fold", T(1, 5, 9), (4, 4), 2)),
    ("fold_blocks", fn("fold", T(1, 4, 8), (4, 4), 2)),
    ("pad_reflect_too_big", fn("pad", T(1, 2, 3), (3, 0), mode="reflect")),
    ("pad_odd", fn("pad", T(1, 2, 3), (1, 2, 3))),
    ("pad_too_long", fn("pad", T(1, 2, 3), (1,) * 8)),
    ("pad_float", fn("pad", T(1, 2, 3), (1.5, 1))),
    ("pad_bool", fn("pad", T(1, 2, 3), (True, 1))),
    ("pad_mode", fn("pad", T(1, 2, 3), (1, 1), mode="foo")),
    ("pad_reflect_value", fn("pad", T(1, 2, 3), (1, 1), mode="reflect", value=1.0)),
    ("pad_reflect_3_dims", fn("pad", T(1, 2, 3), (1,) * 6, mode="reflect")),
]


@pytest.mark.parametrize("call", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_as_torch(call):
    ours, ref = _both(call)
    assert ref is not None, "torch accepts this: the case is wrong"
    assert ours is not None, f"the engine accepts what torch rejects with {ref!r}"
    assert isinstance(ours, type(ref)), f"engine raised {ours!r}, torch {ref!r}"
    assert str(ours)


LAYER_ERRORS = [
    ("conv1d_groups", lambda nn: nn.Conv1d(3, 4, 2, groups=2)),
    ("conv1d_same_strided", lambda nn: nn.Conv1d(3, 4, 2, stride=2, padding="same")),
    ("convt_padding_mode", lambda nn: nn.ConvTranspose2d(2, 2, 2, padding_mode="reflect")),
    ("convt_groups", lambda nn: nn.ConvTranspose2d(2, 3, 2, groups=2)),
]


@pytest.mark.parametrize("make", [c[1] for c in LAYER_ERRORS], ids=[c[0] for c in LAYER_ERRORS])
def test_layer_errors_as_torch(make):
    ours, ref = _both(lambda lib: make(lib.nn))
    assert ref is not None and ours is not None
    assert isinstance(ours, type(ref)), f"engine raised {ours!r}, torch {ref!r}"


# ----- random calls against torch: the same exception type, or the same values and grads -----


@st.composite
def random_call(draw):
    """(function name, array shapes, keyword arguments, special values allowed)."""
    op = draw(
        st.sampled_from(
            ["conv1d", "conv_transpose2d", "max_pool1d", "avg_pool1d", "adaptive_max_pool2d",
             "interpolate", "unfold", "fold"]
        )
    )  # fmt: skip
    small = st.integers(1, 4)
    n, c = draw(small), draw(small)
    if op in ("conv1d", "conv_transpose2d"):
        groups = draw(st.sampled_from([1, 1, 2]))
        out = draw(small) * groups
        k = draw(st.integers(1, 3))
        spatial = (draw(st.integers(1, 6)),) * (1 if op == "conv1d" else 2)
        cin = c * groups
        kw = dict(stride=draw(st.integers(1, 3)), padding=draw(st.integers(0, 2)))
        kw["dilation"] = draw(st.integers(1, 2))
        kw["groups"] = groups
        if op == "conv1d":
            w = (out, c, k)
        else:
            kw["output_padding"] = draw(st.integers(0, 2))
            w = (cin, out // groups, k, k)
            size = (spatial[0] - 1) * kw["stride"] - 2 * kw["padding"] + kw["dilation"] * (k - 1)
            # an output of size 0 is an error or empty, depending on PyTorch's backend
            assume(size + kw["output_padding"] + 1 != 0)
        shapes = [(n, cin, *spatial), w] + ([(out,)] if draw(st.booleans()) else [])
        if draw(st.integers(0, 4)) == 0:
            shapes[0] = shapes[0][1:]  # unbatched
        return op, shapes, kw, False
    if op in ("max_pool1d", "avg_pool1d"):
        k = draw(st.integers(1, 4))
        kw = dict(kernel_size=k, stride=draw(st.sampled_from([None, 1, 2, 3])))
        kw.update(padding=draw(st.integers(0, 2)), ceil_mode=draw(st.booleans()))
        if op == "max_pool1d":
            kw["dilation"] = draw(st.integers(1, 2))
        else:
            kw["count_include_pad"] = draw(st.booleans())
        length = draw(st.integers(1, 8))
        if op == "max_pool1d":  # torch 2.13 writes outside its buffer for such a window
            dilation, stride = kw["dilation"], kw["stride"] or k
            assume(not _padding_window(length, k, stride, kw["padding"], dilation, kw["ceil_mode"]))
        return op, [(n, c, length)], kw, True
    if op == "adaptive_max_pool2d":
        size = draw(st.one_of(small, st.tuples(st.integers(1, 7), st.sampled_from([None, 1, 3]))))
        shape = (n, c, draw(st.integers(1, 6)), draw(st.integers(1, 6)))
        return op, [shape], dict(output_size=size, return_indices=draw(st.booleans())), True
    if op == "interpolate":
        dims = draw(st.sampled_from([1, 2, 2, 3]))
        shape = (n, c, *(draw(st.integers(1, 5 if dims == 3 else 6)) for _ in range(dims)))
        modes = ["nearest", "nearest-exact", "area", "linear", "bilinear", "trilinear"]
        mode = draw(st.sampled_from(modes))
        assume(not (dims == 3 and mode == "area"))  # adaptive_avg_pool3d: not in the engine
        kw = dict(mode=mode)
        if draw(st.booleans()):
            kw["size"] = draw(st.integers(1, 9))
        else:
            kw["scale_factor"] = draw(st.sampled_from([0.5, 0.7, 1.0, 1.3, 2.0, 2.5, 3.0]))
            kw["recompute_scale_factor"] = draw(st.sampled_from([None, True]))
        if mode in ("linear", "bilinear", "trilinear"):
            kw["align_corners"] = draw(st.booleans())
        return op, [shape], kw, True
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kw = dict(kernel_size=kernel, dilation=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)))
    kw["stride"] = draw(st.integers(1, 2))
    if op == "unfold":
        return op, [(n, c, draw(st.integers(1, 6)), draw(st.integers(1, 6)))], kw, True
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    blocks = draw(st.integers(1, 12))
    return op, [(n, c * kernel[0] * kernel[1], blocks)], dict(output_size=size, **kw), True


def _padding_window(n, k, stride, pad, dilation, ceil_mode) -> bool:
    """Whether a pooling window over n inputs lies wholly in the padding."""
    span = dilation * (k - 1) + 1
    count = (n + 2 * pad - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (count - 1) * stride >= n + pad:
        count -= 1
    starts = (o * stride - pad for o in range(max(count, 0)))
    return any(all(not 0 <= a + j * dilation < n for j in range(k)) for a in starts)


def _outcome(lib, op, arrays, kwargs):
    """(outputs, gradients) as numpy arrays, or the exception raised."""
    tensors = [lib.tensor(a, requires_grad=True) for a in arrays]
    try:
        out = getattr(lib.nn.functional, op)(*tensors, **kwargs)
        outs = list(out) if isinstance(out, tuple) else [out]
        weights = [np.cos(np.arange(o.numel())).reshape(tuple(o.shape)) for o in outs[:1]]
        (outs[0] * lib.tensor(weights[0].astype(np.float32))).sum().backward()
    except Exception as exc:
        return exc
    values = [o.detach().numpy() for o in outs]
    return values, [None if t.grad is None else t.grad.numpy() for t in tensors]


@settings(max_examples=150, deadline=None)
@given(random_call(), st.integers(0, 2**32 - 1))
def test_random_calls_match_torch(call, seed):
    op, shapes, kwargs, special = call
    gen = np.random.default_rng(seed)
    arrays = [gen.standard_normal(s).astype(np.float32) for s in shapes]
    if special and gen.random() < 0.5:  # ties, infinities and NaN
        pool = np.array([0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan], np.float32)
        arrays[0] = gen.choice(pool, shapes[0])
    ours = _outcome(engine, op, arrays, kwargs)
    ref = _outcome(torch, op, arrays, kwargs)
    if isinstance(ref, Exception) or isinstance(ours, Exception):
        assert isinstance(ours, Exception), f"torch raised {ref!r}; the engine did not"
        assert isinstance(ref, Exception), f"the engine raised {ours!r}; torch did not"
        assert isinstance(ours, type(ref)), f"engine raised {ours!r}, torch {ref!r}"
        return
    for got, want in zip(ours[0], ref[0], strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, equal_nan=True)
    for got, want in zip(ours[1], ref[1], strict=True):
        if got is None or want is None:
            assert got is None and want is None or np.all((got if want is None else want) == 0)
            continue
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, equal_nan=True)
