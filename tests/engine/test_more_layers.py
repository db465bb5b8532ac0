"""More nn layers and functional forms, against PyTorch: values, dtypes, gradients,
parameters and their state_dict, reprs and the exceptions for bad input."""

from __future__ import annotations

import numpy as np
import pytest

import engine
import engine.nn as enn
import engine.nn.functional as EF
from tests.engine.gradcheck import Const, check_op

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional

RNG = np.random.default_rng(0)


def _lib(name):
    return (engine, enn, EF) if name == "engine" else (torch, tnn, TF)


def compare(fn, *arrays, grad=True, atol=1e-6, rtol=1e-5):
    """fn(lib, nn, F, *tensors) on the engine and on torch: same values, dtype, shape and
    gradients of every float input."""
    results = []
    for name in ("engine", "torch"):
        lib, nn, F = _lib(name)
        ts = [
            lib.tensor(a, requires_grad=grad and a.dtype.kind == "f")
            if isinstance(a, np.ndarray)
            else a
            for a in arrays
        ]
        out = fn(lib, nn, F, *ts)
        outs = out if isinstance(out, tuple) else (out,)
        grads = []
        if grad and any(getattr(t, "requires_grad", False) for t in ts):
            loss = None
            for k, o in enumerate(outs):
                if o.is_floating_point():
                    term = (o * (k + 1.5)).sum()
                    loss = term if loss is None else loss + term
            loss.backward()
            grads = [t.grad for t in ts if getattr(t, "requires_grad", False)]
        results.append((outs, grads))
    (eo, eg), (to, tg) = results
    assert len(eo) == len(to)
    for e, t in zip(eo, to, strict=True):
        assert tuple(e.shape) == tuple(t.shape)
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    for e, t in zip(eg, tg, strict=True):
        if t is None:
            assert e is None or np.all(e.numpy() == 0)
            continue
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=rtol, atol=atol)


def raises_same(fn, *arrays):
    """fn raises the same exception type on the engine as on torch."""
    errs = []
    for name in ("engine", "torch"):
        lib, nn, F = _lib(name)
        ts = [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]
        with pytest.raises(Exception) as info:
            fn(lib, nn, F, *ts)
        errs.append(info.type)
    assert issubclass(errs[0], errs[1]), errs


def x(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# ----- activations ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.CELU(),
        lambda nn: nn.CELU(0.5),
        lambda nn: nn.Hardshrink(),
        lambda nn: nn.Hardshrink(0.3),
        lambda nn: nn.Softshrink(),
        lambda nn: nn.Softshrink(0.2),
        lambda nn: nn.Softmin(1),
        lambda nn: nn.Softmin(dim=0),
        lambda nn: nn.Softmax2d(),
        lambda nn: nn.Threshold(0.1, 20.0),
        lambda nn: nn.RReLU().eval(),
        lambda nn: nn.RReLU(0.1, 0.3).eval(),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_layers(make, dtype):
    compare(lambda lib, nn, F, a: make(nn)(a), x(2, 3, 4, 5, dtype=dtype))
    assert repr(make(enn)) == repr(make(tnn))


@pytest.mark.parametrize(
    "call",
    [
        lambda F, a: F.celu(a, 2.0),
        lambda F, a: F.hardshrink(a, 0.7),
        lambda F, a: F.softshrink(a, 0.7),
        lambda F, a: F.softmin(a, dim=-1),
        lambda F, a: F.softmin(a, 0, dtype=a.double().dtype),
        lambda F, a: F.threshold(a, 0.5, -3.0),
        lambda F, a: F.rrelu(a),
        lambda F, a: F.rrelu(a, 0.2, 0.4, training=False),
    ],
)
def test_activation_functions(call):
    compare(lambda lib, nn, F, a: call(F, a), x(3, 7, dtype=np.float32))


@pytest.mark.parametrize(
    "call",
    [
        lambda F, a: F.relu_(a),
        lambda F, a: F.elu_(a, 0.5),
        lambda F, a: F.selu_(a),
        lambda F, a: F.celu_(a, 0.5),
        lambda F, a: F.leaky_relu_(a, 0.2),
        lambda F, a: F.hardtanh_(a, -0.5, 0.5),
        lambda F, a: F.threshold_(a, 0.1, 2.0),
        lambda F, a: F.rrelu_(a),
        lambda F, a: F.celu(a, inplace=True),
        lambda F, a: F.threshold(a, 0.0, 1.0, inplace=True),
    ],
)
def test_inplace_forms(call):
    def fn(lib, nn, F, a):
        b = a * 1.0
        out = call(F, b)
        assert out is b
        return b

    compare(fn, x(4, 5))


def test_activations_of_nan_and_inf():
    a = np.array([np.nan, np.inf, -np.inf, 0.5, -0.2])
    for call in (
        lambda F, t: F.hardshrink(t),
        lambda F, t: F.softshrink(t),
        lambda F, t: F.threshold(t, 0.1, 7.0),
        lambda F, t: F.celu(t),
        lambda F, t: F.rrelu(t),
    ):
        got = call(EF, engine.tensor(a)).numpy()
        np.testing.assert_allclose(got, call(TF, torch.tensor(a)).numpy(), rtol=1e-15)


def test_activation_errors():
    raises_same(lambda lib, nn, F, a: F.softshrink(a, -1.0), x(3))
    raises_same(lambda lib, nn, F, a: nn.Softmax2d()(a), x(3, 4))
    raises_same(lambda lib, nn, F, a: F.celu(a, 0.0), x(3))
    raises_same(lambda lib, nn, F, a: F.hardshrink(a), np.arange(3))
    raises_same(lambda lib, nn, F, a: F.softshrink(a), np.arange(3))
    raises_same(lambda lib, nn, F, a: F.rrelu(a, 0.5, 0.1), x(3))
    raises_same(lambda lib, nn, F, a: F.rrelu(a, 0.5, 0.1, True), x(3))


def test_rrelu_training_draws_slopes_in_range():
    a = engine.tensor(-np.ones((200,)), requires_grad=True)
    out = EF.rrelu(a, 0.1, 0.3, training=True)
    slopes = -out.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.01
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), slopes)
    pos = engine.tensor(np.ones(5))
    np.testing.assert_array_equal(EF.rrelu(pos, training=True).numpy(), np.ones(5))
    engine.manual_seed(3)
    first = EF.rrelu(a, training=True).detach().numpy()
    engine.manual_seed(3)
    np.testing.assert_array_equal(EF.rrelu(a, training=True).detach().numpy(), first)


def test_upsample_warns_and_matches_interpolate():
    a = x(1, 2, 3, 4)
    with pytest.warns(UserWarning, match="deprecated"):
        out = EF.upsample(engine.tensor(a), scale_factor=2, mode="bilinear", align_corners=False)
    ref = TF.interpolate(torch.tensor(a), scale_factor=2, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(out.numpy(), ref.numpy())


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax(hard):
    logits = engine.tensor(x(6, 5), requires_grad=True)
    y = EF.gumbel_softmax(logits, tau=0.5, hard=hard)
    assert y.shape == (6, 5) and y.dtype == engine.float64
    np.testing.assert_allclose(y.detach().numpy().sum(-1), np.ones(6))
    if hard:
        assert set(np.unique(y.detach().numpy())) <= {0.0, 1.0}
    (y * engine.tensor(x(6, 5))).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
    # the sample follows softmax(logits): the most likely class wins most often
    big = engine.tensor(np.array([[0.0, 3.0, 0.0]] * 2000))
    wins = EF.gumbel_softmax(big, hard=True).numpy().sum(0)
    assert wins[1] > 1600


def test_similarity_layers():
    a, b = x(4, 6), x(4, 6)
    compare(lambda lib, nn, F, p, q: nn.CosineSimilarity()(p, q), a, b)
    compare(lambda lib, nn, F, p, q: nn.CosineSimilarity(dim=0, eps=1e-3)(p, q), a, b)
    compare(lambda lib, nn, F, p, q: nn.PairwiseDistance()(p, q), a, b)
    compare(lambda lib, nn, F, p, q: nn.PairwiseDistance(1.0, 1e-3, True)(p, q), a, b)
    assert repr(enn.PairwiseDistance()) == repr(tnn.PairwiseDistance())


def test_dropout1d():
    a = engine.tensor(np.ones((8, 50, 6)), requires_grad=True)
    out = enn.Dropout1d(0.4)(a)
    d = out.detach().numpy()
    assert set(np.unique(d)) <= {0.0, 1 / 0.6}
    assert np.all(d == d[:, :, :1])  # whole channels
    assert 0.2 < (d[:, :, 0] == 0).mean() < 0.6
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), d)
    assert EF.dropout1d(engine.ones(5, 7), 0.5).shape == (5, 7)
    assert enn.Dropout1d(0.4).eval()(a) is a
    raises_same(lambda lib, nn, F, t: F.dropout1d(t, 0.5), x(2, 3, 4, 5))
    raises_same(lambda lib, nn, F: nn.Dropout1d(1.5))
    assert repr(enn.Dropout1d(0.3)) == repr(tnn.Dropout1d(0.3))


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout(feature):
    layer = (enn.FeatureAlphaDropout if feature else enn.AlphaDropout)(0.2)
    assert repr(layer) == repr((tnn.FeatureAlphaDropout if feature else tnn.AlphaDropout)(0.2))
    a = engine.tensor(RNG.standard_normal((40, 30, 50)))
    out = layer(a).numpy()
    # self-normalising: mean ~0 and variance ~1 kept for standard-normal input
    assert abs(out.mean()) < 0.05 and abs(out.var() - 1) < 0.1
    if feature:
        dropped = np.isclose(out, out[:, :, :1]).all(-1)
        assert 0.1 < dropped.mean() < 0.3
    layer.eval()
    assert layer(a) is a
    fn = EF.feature_alpha_dropout if feature else EF.alpha_dropout
    assert fn(a, 0.5) is a  # training defaults to False
    np.testing.assert_allclose(fn(a, 1.0, True).numpy(), 0)


# ----- padding, pooling, shuffling, resampling ---------------------------------------------------
@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda nn: nn.ConstantPad1d(2, 3.5), (2, 3, 4)),
        (lambda nn: nn.ConstantPad1d((1, 0), -1.0), (3, 4)),
        (lambda nn: nn.ConstantPad2d((1, 2, 0, 3), 0.5), (2, 3, 4, 5)),
        (lambda nn: nn.ConstantPad3d(1, 2.0), (1, 2, 3, 4, 5)),
        (lambda nn: nn.ZeroPad1d((2, 1)), (2, 3, 4)),
        (lambda nn: nn.ReflectionPad1d(2), (2, 3, 4)),
        (lambda nn: nn.ReflectionPad1d((3, 1)), (3, 5)),
        (lambda nn: nn.ReflectionPad2d((1, 2, 2, 1)), (2, 3, 4, 5)),
        (lambda nn: nn.ReplicationPad1d((0, 3)), (2, 3, 4)),
        (lambda nn: nn.ReplicationPad2d(2), (2, 3, 4, 5)),
        (lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 7)),
        (lambda nn: nn.AdaptiveAvgPool1d(4), (3, 9)),
        (lambda nn: nn.AdaptiveMaxPool1d(3), (2, 3, 7)),
        (lambda nn: nn.AdaptiveMaxPool1d(2, return_indices=True), (3, 9)),
        (lambda nn: nn.LPPool1d(2, 3), (2, 3, 8)),
        (lambda nn: nn.LPPool1d(3.0, 2, stride=1), (2, 3, 7)),
        (lambda nn: nn.LPPool2d(2, 2), (2, 3, 4, 6)),
        (lambda nn: nn.LPPool2d(1.5, (2, 3), stride=(1, 2), ceil_mode=True), (2, 3, 5, 7)),
        (lambda nn: nn.PixelShuffle(2), (2, 8, 3, 4)),
        (lambda nn: nn.PixelShuffle(3), (9, 2, 3)),
        (lambda nn: nn.PixelUnshuffle(2), (2, 3, 4, 6)),
        (lambda nn: nn.ChannelShuffle(3), (2, 6, 2, 2)),
        (lambda nn: nn.ChannelShuffle(2), (2, 4, 5)),
        (lambda nn: nn.UpsamplingNearest2d(scale_factor=2), (1, 2, 3, 4)),
        (lambda nn: nn.UpsamplingNearest2d(size=(5, 7)), (1, 2, 3, 4)),
        (lambda nn: nn.UpsamplingBilinear2d(scale_factor=2), (1, 2, 3, 4)),
        (lambda nn: nn.UpsamplingBilinear2d((5, 3)), (2, 1, 3, 4)),
        (lambda nn: nn.AdaptiveAvgPool3d(2), (2, 3, 5, 4, 3)),
        (lambda nn: nn.AdaptiveAvgPool3d((3, None, 2)), (2, 7, 5, 3)),
        (lambda nn: nn.AdaptiveAvgPool3d((1, 4, 5)), (1, 2, 3, 9, 7)),
    ],
)
def test_shape_layers(make, shape):
    a = np.abs(x(*shape)) + 0.1 if "LPPool" in repr(make(tnn)) else x(*shape)
    compare(lambda lib, nn, F, t: make(nn)(t), a)
    assert repr(make(enn)) == repr(make(tnn))


def test_padding_layers_check_widths_when_called():
    raises_same(lambda lib, nn, F, t: nn.ConstantPad2d((1, 2, 3), 0.0)(t), x(2, 3, 4))
    raises_same(lambda lib, nn, F, t: nn.ReflectionPad1d(4)(t), x(2, 3, 4))
    assert enn.ConstantPad2d((1, 2, 3), 0.0).padding == (1, 2, 3)


def test_lp_pool_functions_and_negative_input():
    a = x(2, 3, 8)
    compare(lambda lib, nn, F, t: F.lp_pool1d(t, 2, 3, 2), a)
    compare(lambda lib, nn, F, t: F.lp_pool2d(t, 2, 2), x(1, 2, 4, 4))


def test_pixel_shuffle_roundtrip_and_errors():
    a = x(2, 12, 3, 5)
    out = EF.pixel_unshuffle(EF.pixel_shuffle(engine.tensor(a), 2), 2)
    np.testing.assert_array_equal(out.numpy(), a)
    raises_same(lambda lib, nn, F, t: F.pixel_shuffle(t, 2), x(2, 6, 3, 3))
    raises_same(lambda lib, nn, F, t: F.pixel_unshuffle(t, 2), x(2, 6, 3, 3))
    raises_same(lambda lib, nn, F, t: F.channel_shuffle(t, 4), x(2, 6, 3, 3))
    raises_same(lambda lib, nn, F, t: F.pixel_shuffle(t, 2), x(4, 4))


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "shape"),
    [(2, None, 0, (2, 3, 6, 8)), (3, 2, 1, (1, 2, 7, 5)), ((2, 3), (2, 1), 0, (3, 5, 6))],
)
def test_max_unpool2d(kernel, stride, padding, shape):
    def fn(lib, nn, F, t):
        pooled, idx = F.max_pool2d(t, kernel, stride, padding, return_indices=True)
        layer = nn.MaxUnpool2d(kernel, stride, padding)
        return layer(pooled, idx), F.max_unpool2d(pooled * 2, idx, kernel, stride, padding)

    compare(fn, x(*shape))
    assert repr(enn.MaxUnpool2d(kernel, stride, padding)) == repr(
        tnn.MaxUnpool2d(kernel, stride, padding)
    )


def test_max_unpool_output_size_and_1d():
    def fn(lib, nn, F, t):
        pooled, idx = F.max_pool2d(t, 2, return_indices=True)
        return F.max_unpool2d(pooled, idx, 2, output_size=(7, 9))

    compare(fn, x(1, 2, 7, 9))

    def fn1(lib, nn, F, t):
        pooled, idx = F.max_pool1d(t, 3, 2, return_indices=True)
        return nn.MaxUnpool1d(3, 2)(pooled, idx), F.max_unpool1d(pooled, idx, 3, 2, 0, [10])

    compare(fn1, x(2, 3, 10))
    assert repr(enn.MaxUnpool1d(3)) == repr(tnn.MaxUnpool1d(3))

    def bad(lib, nn, F, t):
        pooled, idx = F.max_pool2d(t, 2, return_indices=True)
        return F.max_unpool2d(pooled, idx, 2, output_size=(9, 9))

    raises_same(bad, x(1, 1, 6, 6))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"stride": 2, "padding": 1},
        {"stride": 3, "output_padding": 1, "dilation": 2},
        {"groups": 2, "bias": False},
    ],
)
def test_conv_transpose1d_module_and_state_dict(kwargs):
    torch.manual_seed(0)
    ref = tnn.ConvTranspose1d(4, 6, 3, **kwargs).double()
    mine = enn.ConvTranspose1d(4, 6, 3, **kwargs).double()
    assert repr(mine) == repr(ref)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert mine.weight.shape == ref.weight.shape
    bound = 1 / np.sqrt(6 // kwargs.get("groups", 1) * 3)
    assert np.abs(mine.weight.detach().numpy()).max() <= bound
    mine.load_state_dict({k: engine.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    a = x(2, 4, 5)
    ea, ta = engine.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    eo, to = mine(ea), ref(ta)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-6, atol=1e-9)
    eo.pow(2).sum().backward()
    to.pow(2).sum().backward()
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(mine.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-6)


def test_conv_transpose1d_function():
    w = x(3, 2, 4)
    compare(lambda lib, nn, F, t, k: F.conv_transpose1d(t, k, stride=2), x(2, 3, 5), w)
    compare(lambda lib, nn, F, t, k, b: F.conv_transpose1d(t, k, b, 1, 1), x(3, 5), w, x(2))
    compare(
        lambda lib, nn, F, t: (
            nn.ConvTranspose1d(3, 2, 4, stride=2)(t, output_size=[12]).shape[-1] * t.sum()
        ),
        x(1, 3, 5, dtype=np.float32),
    )


def test_batchnorm3d():
    torch.manual_seed(0)
    ref = tnn.BatchNorm3d(3).double()
    mine = enn.BatchNorm3d(3).double()
    assert repr(mine) == repr(ref)
    with torch.no_grad():
        ref.weight.uniform_()
        ref.bias.uniform_()
    mine.load_state_dict({k: engine.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    a = x(2, 3, 2, 3, 4)
    compare(lambda lib, nn, F, t: (ref if lib is torch else mine)(t), a)
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(mine.state_dict()[k].numpy(), v.numpy(), rtol=1e-6)
    raises_same(lambda lib, nn, F, t: nn.BatchNorm3d(3)(t), x(2, 3, 4, 4))
    no_bias = enn.BatchNorm3d(3, affine=True, bias=False)
    assert repr(no_bias) == repr(tnn.BatchNorm3d(3, bias=False))
    assert [n for n, _ in no_bias.named_parameters()] == ["weight"]


# ----- norms, bags of embeddings, bilinear and lazy linear maps ------------------------------
def _pair(make):
    """The same layer on both sides, with torch's parameters and buffers copied over."""
    torch.manual_seed(1)
    ref = make(tnn).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.uniform_(-1, 1)
    mine = make(enn).double()
    mine.load_state_dict({k: engine.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    assert repr(mine) == repr(ref)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in ref.named_parameters()]
    return mine, ref


def _check_params(mine, ref):
    for (n, p), (_, q) in zip(mine.named_parameters(), ref.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-9, err_msg=n)


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda nn: nn.InstanceNorm1d(3), (2, 3, 5)),
        (lambda nn: nn.InstanceNorm1d(3, affine=True), (3, 6)),
        (lambda nn: nn.InstanceNorm3d(2, affine=True), (2, 2, 3, 2, 4)),
        (lambda nn: nn.InstanceNorm3d(2), (2, 3, 2, 4)),
        (lambda nn: nn.LocalResponseNorm(3), (2, 5, 3, 4)),
        (lambda nn: nn.LocalResponseNorm(2, 0.1, 0.5, 2.0), (2, 4, 6)),
        (lambda nn: nn.LocalResponseNorm(4, alpha=1.0), (1, 6, 2, 2, 3)),
        (lambda nn: nn.RMSNorm(5), (2, 3, 5)),
        (lambda nn: nn.RMSNorm((3, 5), eps=1e-3), (2, 3, 5)),
        (lambda nn: nn.RMSNorm([5], elementwise_affine=False), (4, 5)),
    ],
)
def test_norm_layers(make, shape):
    mine, ref = _pair(make)
    a = x(*shape)
    compare(lambda lib, nn, F, t: (ref if lib is torch else mine)(t), a)
    if list(ref.parameters()):
        for layer, lib in ((mine, engine), (ref, torch)):
            layer.zero_grad()
            layer(lib.tensor(a)).pow(2).sum().backward()
        _check_params(mine, ref)


def test_norm_functions_and_errors():
    compare(lambda lib, nn, F, t: F.local_response_norm(t, 5, 0.01, 0.6, 1.5), x(2, 7, 3))
    compare(lambda lib, nn, F, t, w: F.rms_norm(t, (4,), w), x(3, 4), x(4))
    compare(lambda lib, nn, F, t: F.rms_norm(t, [2, 4]), x(3, 2, 4, dtype=np.float32))
    raises_same(lambda lib, nn, F, t: F.local_response_norm(t, 2), x(3, 4))
    raises_same(lambda lib, nn, F, t: F.rms_norm(t, (3,)), x(3, 4))
    raises_same(lambda lib, nn, F, t: nn.InstanceNorm1d(3)(t), x(2, 3, 4, 4))
    raises_same(lambda lib, nn, F, t: nn.InstanceNorm3d(3)(t), x(2, 3, 4))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag(mode, padding_idx):
    w = x(6, 4)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 2, 0])
    offsets = np.array([0, 2, 2, 5])
    ends = np.array([0, 2, 2, 9])  # with include_last_offset, the last is input's length

    def fn(lib, nn, F, weight):
        i, o = lib.tensor(idx), lib.tensor(offsets)
        return (
            F.embedding_bag(i, weight, o, mode=mode, padding_idx=padding_idx),
            F.embedding_bag(i.reshape(3, 3), weight, mode=mode, padding_idx=padding_idx),
            F.embedding_bag(i, weight, lib.tensor(ends), mode=mode, include_last_offset=True),
        )

    compare(fn, w)


def test_embedding_bag_module_and_per_sample_weights():
    mine, ref = _pair(lambda nn: nn.EmbeddingBag(7, 3, mode="sum", padding_idx=1))
    idx, offsets = np.array([0, 1, 6, 3, 3]), np.array([0, 3])
    psw = x(5)

    def fn(lib, nn, F, s):
        layer = ref if lib is torch else mine
        return layer(lib.tensor(idx), lib.tensor(offsets), per_sample_weights=s)

    compare(fn, psw)
    _check_params(mine, ref)
    fresh = enn.EmbeddingBag(7, 3, padding_idx=-2)
    assert fresh.padding_idx == 5 and np.all(fresh.weight.detach().numpy()[5] == 0)
    assert repr(fresh) == repr(tnn.EmbeddingBag(7, 3, padding_idx=-2))
    raises_same(
        lambda lib, nn, F, w: F.embedding_bag(
            lib.tensor(idx), w, lib.tensor(offsets), per_sample_weights=w[:5, 0]
        ),
        x(7, 3),
    )
    raises_same(
        lambda lib, nn, F, w: F.embedding_bag(lib.tensor(idx).reshape(1, 5), w, lib.tensor([0])),
        x(7, 3),
    )
    raises_same(lambda lib, nn, F, w: F.embedding_bag(lib.tensor([[7]]), w), x(7, 3))
    raises_same(lambda lib, nn, F, w: F.embedding_bag(lib.tensor([[1.0]]), w), x(7, 3))
    raises_same(
        lambda lib, nn, F, w: F.embedding_bag(lib.tensor([1]), w, lib.tensor([0]), mode="min"),
        x(7, 3),
    )


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear(bias):
    mine, ref = _pair(lambda nn: nn.Bilinear(3, 4, 5, bias=bias))
    a, b = x(2, 6, 3), x(2, 6, 4)
    compare(lambda lib, nn, F, p, q: (ref if lib is torch else mine)(p, q), a, b)
    _check_params(mine, ref)
    w = enn.Bilinear(9, 4, 5).weight.detach().numpy()
    assert np.abs(w).max() <= 1 / 3 and np.abs(w).max() > 0.25
    compare(lambda lib, nn, F, p, q, w: F.bilinear(p, q, w), x(3), x(4), x(2, 3, 4))
    raises_same(lambda lib, nn, F, p, q, w: F.bilinear(p, q, w), x(2, 3), x(3, 4), x(2, 3, 4))
    raises_same(lambda lib, nn, F: nn.Bilinear(0, 2, 3))


def test_lazy_linear():
    layer = enn.LazyLinear(4)
    ref = tnn.LazyLinear(4)
    assert isinstance(layer.weight, enn.UninitializedParameter)
    assert layer.weight.numel() == 0
    out = layer(engine.randn(2, 7))
    assert out.shape == (2, 4) and type(layer) is enn.Linear
    ref(torch.randn(2, 7))
    assert repr(layer) == repr(ref)
    assert np.abs(layer.weight.detach().numpy()).max() <= 1 / np.sqrt(7)
    loaded = enn.LazyLinear(4, bias=False)
    loaded.load_state_dict({"weight": engine.tensor(ref.weight.detach().numpy())})
    np.testing.assert_allclose(
        loaded(engine.ones(1, 7)).detach().numpy(),
        TF.linear(torch.ones(1, 7), ref.weight).detach().numpy(),
        rtol=1e-6,
    )


# ----- margin and likelihood losses --------------------------------------------------------------
def _signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pair_losses(reduction):
    a, b, y = x(5, 4), x(5, 4), _signs(5)
    compare(
        lambda lib, nn, F, p, q, t: nn.CosineEmbeddingLoss(0.2, reduction=reduction)(p, q, t),
        a, b, y,
    )  # fmt: skip
    compare(lambda lib, nn, F, p, q, t: F.cosine_embedding_loss(p[0], q[0], t[0]), a, b, y)
    compare(
        lambda lib, nn, F, p, t: nn.HingeEmbeddingLoss(0.5, reduction=reduction)(p, t),
        x(3, 4), _signs(3, 4),
    )  # fmt: skip
    compare(
        lambda lib, nn, F, p, q, t: nn.MarginRankingLoss(0.3, reduction=reduction)(p, q, t),
        x(6), x(6), _signs(6),
    )  # fmt: skip
    compare(
        lambda lib, nn, F, p, t: nn.SoftMarginLoss(reduction=reduction)(p, t.detach()),
        x(3, 4), _signs(3, 4),
    )  # fmt: skip
    raises_same(lambda lib, nn, F, p, t: F.soft_margin_loss(p, t.requires_grad_()), x(3), _signs(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("p", "margin"), [(1, 1.0), (2, 0.5)])
def test_multi_margin_loss(reduction, p, margin):
    target = np.array([0, 3, 2, 3])
    w = np.abs(x(4)) + 0.5

    def fn(lib, nn, F, a, weight):
        t = lib.tensor(target)
        return (
            nn.MultiMarginLoss(p, margin, reduction=reduction)(a, t),
            F.multi_margin_loss(a, t, p, margin, weight.detach(), reduction=reduction),
            F.multi_margin_loss(a[1], t[1], p, margin, reduction=reduction),
        )

    compare(fn, x(4, 4), w)


def test_multi_margin_loss_module_weight_and_errors():
    w = np.abs(x(3)) + 0.5
    mine, ref = (
        enn.MultiMarginLoss(weight=engine.tensor(w)),
        tnn.MultiMarginLoss(weight=torch.tensor(w)),
    )
    assert list(mine.state_dict()) == list(ref.state_dict()) == ["weight"]
    assert repr(mine) == repr(ref)
    compare(lambda lib, nn, F, a: (ref if lib is torch else mine)(a, lib.tensor([2, 0])), x(2, 3))
    raises_same(lambda lib, nn, F, a: F.multi_margin_loss(a, lib.tensor([0, 1]), p=3), x(2, 3))
    raises_same(lambda lib, nn, F: nn.MultiMarginLoss(p=3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_losses(reduction):
    target = np.array([[3, 0, -1, 1], [1, 2, 3, -1], [0, 0, -1, 2]])

    def fn(lib, nn, F, a):
        t = lib.tensor(target)
        return (
            nn.MultiLabelMarginLoss(reduction=reduction)(a, t),
            F.multilabel_margin_loss(a[0], t[0], reduction=reduction),
        )

    compare(fn, x(3, 4))
    labels = (RNG.random((3, 5)) < 0.5).astype(np.float64)
    compare(
        lambda lib, nn, F, a, y: nn.MultiLabelSoftMarginLoss(reduction=reduction)(a, y),
        x(3, 5), labels,
    )  # fmt: skip
    compare(
        lambda lib, nn, F, a, y, w: F.multilabel_soft_margin_loss(a, y, w, reduction=reduction),
        x(3, 5), labels, np.abs(x(5)),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_losses(reduction, swap):
    a, p, n = x(5, 4), x(5, 4), x(5, 4)
    compare(
        lambda lib, nn, F, *t: nn.TripletMarginLoss(0.7, 1.5, swap=swap, reduction=reduction)(*t),
        a, p, n,
    )  # fmt: skip
    compare(lambda lib, nn, F, *t: F.triplet_margin_loss(*t, swap=swap), a[0], p[0], n[0])

    def fn(lib, nn, F, *t):
        def dist(u, v):
            return 1 - F.cosine_similarity(u, v)

        return (
            nn.TripletMarginWithDistanceLoss(swap=swap, reduction=reduction)(*t),
            F.triplet_margin_with_distance_loss(
                *t, distance_function=dist, margin=0.5, swap=swap, reduction=reduction
            ),
        )

    compare(fn, a, p, n)
    assert repr(enn.TripletMarginWithDistanceLoss()) == repr(tnn.TripletMarginWithDistanceLoss())
    raises_same(lambda lib, nn, F: nn.TripletMarginWithDistanceLoss(margin=0))
    raises_same(lambda lib, nn, F, *t: F.triplet_margin_loss(*t), a, p[0], n)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_likelihood_losses(reduction, full):
    rate = np.abs(x(3, 4)) + 0.1
    # from 1: at 0, PyTorch's full loss has a NaN gradient for the target (0 * log 0)
    counts = RNG.integers(1 if full else 0, 5, (3, 4)).astype(np.float64)
    compare(
        lambda lib, nn, F, a, t: nn.PoissonNLLLoss(full=full, reduction=reduction)(a, t),
        x(3, 4), counts,
    )  # fmt: skip
    compare(
        lambda lib, nn, F, a, t: F.poisson_nll_loss(
            a, t, log_input=False, full=full, eps=1e-4, reduction=reduction
        ),
        rate, counts,
    )  # fmt: skip
    var = np.abs(x(3, 4)) + 0.1
    var[0, 0] = 1e-9  # clamped to eps, the gradient passing through
    compare(
        lambda lib, nn, F, a, t, v: nn.GaussianNLLLoss(full=full, reduction=reduction)(a, t, v),
        x(3, 4), x(3, 4), var,
    )  # fmt: skip
    compare(
        lambda lib, nn, F, a, t, v: F.gaussian_nll_loss(a, t, v, full, 1e-3, reduction),
        x(3, 4), x(3, 4), var[:, 0],
    )  # fmt: skip
    compare(
        lambda lib, nn, F, a, t, v: F.gaussian_nll_loss(a, t, v, reduction=reduction),
        x(3, 4), x(3, 4), var[:, :1],
    )  # fmt: skip


def test_loss_errors_and_legacy_flags():
    raises_same(lambda lib, nn, F, a, t, v: F.gaussian_nll_loss(a, t, v), x(3, 4), x(3, 4), x(2))
    raises_same(lambda lib, nn, F, a, t, v: F.gaussian_nll_loss(a, t, v), x(3), x(3), -np.ones(3))
    raises_same(lambda lib, nn, F, a, t: F.soft_margin_loss(a, t, reduction="avg"), x(3), x(3))
    raises_same(lambda lib, nn, F, a, t: F.hinge_embedding_loss(a, t, reduction="x"), x(3), x(3))
    raises_same(lambda lib, nn, F, a, b, t: F.margin_ranking_loss(a, b, t), x(3, 2), x(3, 2), x(3))
    for nn in (enn, tnn):
        with pytest.warns(UserWarning):
            assert nn.SoftMarginLoss(size_average=False).reduction == "sum"
        with pytest.warns(UserWarning):
            assert nn.PoissonNLLLoss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning, match="deprecated"):
        compare(
            lambda lib, nn, F, a, t: F.hinge_embedding_loss(a, t, reduce=False),
            x(4), _signs(4),
        )  # fmt: skip


# ----- finite differences (float64), torch (float32) and, from test_gpu_ops, cuda ----------------
def _away(*shape, gap=0.15, center=0.0):
    """Random values at least `gap` from center ± 0.5 and from center, clear of kinks."""
    v = RNG.uniform(-2, 2, shape)
    for kink in (center - 0.5, center, center + 0.5):
        v = np.where(np.abs(v - kink) < gap, kink + gap * np.sign(v - kink + 1e-9), v)
    return v


def _fn(lib):
    return lib.nn.functional


_LABELS = np.array([[3, 0, -1, 1], [1, 2, 3, -1]])
CHECK_CASES = {
    "celu": (lambda m, a: _fn(m).celu(a, 0.7), [_away(3, 4)]),
    "hardshrink": (lambda m, a: _fn(m).hardshrink(a), [_away(3, 4)]),
    "softshrink": (lambda m, a: _fn(m).softshrink(a), [_away(3, 4)]),
    "softmin": (lambda m, a: _fn(m).softmin(a, 1), [_away(3, 4)]),
    "threshold": (lambda m, a: _fn(m).threshold(a, 0.5, -2.0), [_away(3, 4)]),
    "rrelu_eval": (lambda m, a: _fn(m).rrelu(a), [_away(3, 4)]),
    "lrn": (lambda m, a: _fn(m).local_response_norm(a, 3, 0.1), [_away(2, 4, 3)]),
    "rms_norm": (lambda m, a, w: _fn(m).rms_norm(a, (4,), w), [_away(3, 4), _away(4)]),
    "bilinear": (
        lambda m, a, b, w, c: _fn(m).bilinear(a, b, w, c),
        [_away(2, 3), _away(2, 2), _away(4, 3, 2), _away(4)],
    ),
    "lp_pool2d": (lambda m, a: _fn(m).lp_pool2d(a, 2, 2), [_away(1, 2, 4, 4) + 3]),
    "pixel_shuffle": (lambda m, a: _fn(m).pixel_shuffle(a, 2), [_away(1, 8, 2, 3)]),
    "channel_shuffle": (lambda m, a: _fn(m).channel_shuffle(a, 2), [_away(1, 4, 3)]),
    "adaptive_avg_pool1d": (lambda m, a: _fn(m).adaptive_avg_pool1d(a, 3), [_away(2, 3, 7)]),
    "adaptive_avg_pool3d": (
        lambda m, a: _fn(m).adaptive_avg_pool3d(a, (2, 3, 2)),
        [_away(2, 3, 5, 4, 3)],
    ),
    "adaptive_max_pool1d": (lambda m, a: _fn(m).adaptive_max_pool1d(a, 3), [_away(2, 3, 7)]),
    "conv_transpose1d": (
        lambda m, a, w: _fn(m).conv_transpose1d(a, w, stride=2, padding=1),
        [_away(2, 3, 4), _away(3, 2, 3)],
    ),
    "max_unpool2d": (
        lambda m, a: _fn(m).max_unpool2d(*_fn(m).max_pool2d(a, 2, return_indices=True), 2),
        [_away(1, 2, 4, 4)],
    ),
    "embedding_bag_mean": (
        lambda m, w, i, o: _fn(m).embedding_bag(i, w, o),
        [_away(5, 3), np.array([0, 4, 2, 2, 1]), np.array([0, 2])],
    ),
    "embedding_bag_max": (
        lambda m, w, i: _fn(m).embedding_bag(i, w, mode="max"),
        [_away(5, 3), np.array([[0, 4], [2, 1]])],
    ),
    "cosine_embedding_loss": (
        lambda m, a, b, t: _fn(m).cosine_embedding_loss(a, b, t, 0.1),
        [_away(3, 4), _away(3, 4), Const(np.array([1.0, -1.0, 1.0]))],
    ),
    "hinge_embedding_loss": (
        lambda m, a, t: _fn(m).hinge_embedding_loss(a, t, 0.3),
        [_away(3, 4), Const(np.where(_away(3, 4) > 0, 1.0, -1.0))],
    ),
    "margin_ranking_loss": (
        lambda m, a, b, t: _fn(m).margin_ranking_loss(a, b, t),
        [_away(5), _away(5) + 0.3, Const(np.array([1.0, -1, 1, 1, -1]))],
    ),
    "multi_margin_loss": (
        lambda m, a, t: _fn(m).multi_margin_loss(a, t, p=2),
        [_away(3, 4), np.array([0, 3, 2])],
    ),
    "multilabel_margin_loss": (
        lambda m, a, t: _fn(m).multilabel_margin_loss(a, t),
        [_away(2, 4) * 3, _LABELS],
    ),
    "multilabel_soft_margin_loss": (
        lambda m, a, t: _fn(m).multilabel_soft_margin_loss(a, t),
        [_away(2, 4), Const(np.array([[1.0, 0, 0, 1], [0, 1, 1, 1]]))],
    ),
    "triplet_margin_loss": (
        lambda m, a, p, n: _fn(m).triplet_margin_loss(a, p, n, swap=True),
        [_away(3, 4), _away(3, 4), _away(3, 4)],
    ),
    "poisson_nll_loss": (
        lambda m, a, t: _fn(m).poisson_nll_loss(a, t, full=True),
        [_away(3, 4), Const(np.array([[0.0, 1, 2, 5]] * 3))],
    ),
    "ctc_loss": (
        lambda m, a, t: _fn(m).ctc_loss(a.log_softmax(2), t, (6, 4), (2, 1)),
        [_away(6, 2, 4), np.array([[1, 3], [2, 0]])],
    ),
    "gaussian_nll_loss": (
        lambda m, a, t, v: _fn(m).gaussian_nll_loss(a, t, v),
        [_away(3, 4), _away(3, 4), np.abs(_away(3, 1)) + 0.2],
    ),
}


@pytest.mark.parametrize("name", sorted(CHECK_CASES))
def test_check_op(name):
    fn, inputs = CHECK_CASES[name]
    check_op(fn, *inputs)


# ----- CTC ---------------------------------------------------------------------------------------
_CTC_TARGETS = np.array([[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 3, 1]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("through_softmax", [True, False])
def test_ctc_loss(reduction, through_softmax):
    def fn(lib, nn, F, logits):
        lp = logits.log_softmax(2) if through_softmax else logits
        args = (lib.tensor(_CTC_TARGETS + 1), lib.tensor([12, 10, 7]), lib.tensor([4, 2, 3]))
        flat = lib.tensor(np.array([2, 3, 3, 4, 5, 2, 4, 4, 4]))
        return (
            nn.CTCLoss(reduction=reduction)(lp, *args),
            F.ctc_loss(lp, flat, (12, 10, 7), [4, 2, 3], reduction=reduction),
            F.ctc_loss(lp, args[0] - 1, *args[1:], blank=5, reduction=reduction),
        )

    logits = x(12, 3, 6)
    compare(fn, logits if through_softmax else np.log(np.abs(logits) / 6 + 0.01))
    assert repr(enn.CTCLoss()) == repr(tnn.CTCLoss())


def test_ctc_loss_unbatched_impossible_and_float32():
    compare(
        lambda lib, nn, F, a: F.ctc_loss(a.log_softmax(1), lib.tensor([1, 2]), (5,), [2]),
        x(5, 4, dtype=np.float32),
        atol=1e-5,
    )

    def fn(lib, nn, F, a):
        lp = a.log_softmax(2)
        args = (lib.tensor(_CTC_TARGETS + 1), lib.tensor([2, 10, 2]), lib.tensor([4, 2, 3]))
        return (
            F.ctc_loss(lp, *args, reduction="none", zero_infinity=True),
            F.ctc_loss(lp, *args, zero_infinity=True),
        )

    compare(fn, x(10, 3, 6))
    for lib in (engine, torch):
        lp = lib.tensor(x(10, 3, 6)).log_softmax(2)
        out = lib.nn.functional.ctc_loss(
            lp, lib.tensor(_CTC_TARGETS + 1), [2, 10, 2], [4, 2, 3], reduction="none"
        )
        assert np.isinf(out.numpy()[0]) and np.isfinite(out.numpy()[1])
    raises_same(
        lambda lib, nn, F, a: F.ctc_loss(a, lib.tensor(_CTC_TARGETS), [12, 3, 3], [4, 2, 3]),
        x(10, 3, 6),
    )
    raises_same(lambda lib, nn, F, a: F.ctc_loss(a, lib.tensor([1, 2]), 5, 2), x(5, 4))
