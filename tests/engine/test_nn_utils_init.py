"""nn.utils (gradient clipping, parameter vectors) and nn.init against PyTorch."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import engine
import engine.nn as nn
from engine.nn import init

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

SHAPES = ((3, 4), (5,), (2, 1, 3))


def both_params(dtype=np.float64, grads=True, scale=1.0):
    rng = np.random.default_rng(3)
    values = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    gvalues = [scale * rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [engine.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    if grads:
        for p, tp, g in zip(ours, theirs, gvalues, strict=True):
            p.grad, tp.grad = engine.tensor(g), torch.tensor(g)
    return ours, theirs


def assert_grads_equal(ours, theirs, rtol=1e-12):
    for p, tp in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf", 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = both_params()
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, engine.Tensor) and total.shape == ()
    assert total.dtype == engine.float64
    np.testing.assert_allclose(total.item(), t_total.item(), rtol=1e-12)
    assert_grads_equal(ours, theirs)


def test_clip_grad_norm_in_float32_and_with_one_tensor():
    ours, theirs = both_params(np.float32, scale=10.0)
    total = nn.utils.clip_grad_norm_(ours[0], 1.0)
    t_total = torch.nn.utils.clip_grad_norm_(theirs[0], 1.0)
    assert total.dtype == engine.float32
    np.testing.assert_allclose(total.item(), t_total.item(), rtol=1e-6)
    assert_grads_equal(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ours[0].grad.numpy()), 1.0, rtol=1e-5)


def test_clip_grad_norm_skips_missing_grads_and_returns_zero_without_any():
    ours, theirs = both_params()
    ours[1].grad = theirs[1].grad = None
    np.testing.assert_allclose(
        nn.utils.clip_grad_norm_(ours, 0.1).item(),
        torch.nn.utils.clip_grad_norm_(theirs, 0.1).item(),
        rtol=1e-12,
    )
    assert_grads_equal([ours[0], ours[2]], [theirs[0], theirs[2]])
    empty, _ = both_params(grads=False)
    total = nn.utils.clip_grad_norm_(empty, 1.0)
    assert total.item() == 0.0 and total.dtype == engine.float32


def test_clip_grad_norm_error_if_nonfinite():
    ours, theirs = both_params()
    ours[0].grad._data[0, 0] = np.inf
    theirs[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as err:
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert str(err.value) == str(t_err.value)
    total = nn.utils.clip_grad_norm_(ours, 1.0)  # without the flag: scaled by inf, as torch
    t_total = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isinf(total.item()) and math.isinf(t_total.item())
    np.testing.assert_array_equal(ours[1].grad.numpy(), theirs[1].grad.numpy())


def test_get_total_norm_and_clip_grads_with_norm():
    ours, theirs = both_params()
    total = nn.utils.get_total_norm([p.grad for p in ours], norm_type=3.0)
    t_total = torch.nn.utils.get_total_norm([p.grad for p in theirs], norm_type=3.0)
    np.testing.assert_allclose(total.item(), t_total.item(), rtol=1e-12)
    nn.utils.clip_grads_with_norm_(ours, 0.3, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.3, t_total)
    assert_grads_equal(ours, theirs)


@pytest.mark.parametrize("clip_value", [0.5, 2])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = both_params()
    assert nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert_grads_equal(ours, theirs)
    assert max(np.abs(p.grad.numpy()).max() for p in ours) <= clip_value


def test_parameters_to_vector_and_back():
    ours, theirs = both_params(grads=False)
    vec = nn.utils.parameters_to_vector(ours)
    t_vec = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vec.detach().numpy(), t_vec.detach().numpy())
    assert vec.requires_grad and vec.shape == (12 + 5 + 6,)
    vec.sum().backward()  # part of the graph, as torch's
    assert all(np.all(p.grad.numpy() == 1) for p in ours)

    new = np.arange(23, dtype=np.float64)
    nn.utils.vector_to_parameters(engine.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for p, tp in zip(ours, theirs, strict=True):
        assert p.shape == tp.shape
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    with pytest.raises(TypeError):
        torch.nn.utils.vector_to_parameters([1.0], theirs)
    with pytest.raises(TypeError):
        nn.utils.vector_to_parameters([1.0], ours)
    with pytest.raises(RuntimeError):
        torch.nn.utils.vector_to_parameters(torch.zeros(5), theirs)
    with pytest.raises(RuntimeError):
        nn.utils.vector_to_parameters(engine.zeros(5), ours)


def test_nn_utils_reached_as_torch_reaches_it():
    import engine.nn

    assert engine.nn.utils.clip_grad_norm_ is nn.utils.clip_grad_norm_
    assert "utils" in engine.nn.__all__
    for name in ("clip_grad_norm_", "clip_grad_value_", "parameters_to_vector"):
        ours = inspect.signature(getattr(nn.utils, name)).parameters
        theirs = inspect.signature(getattr(torch.nn.utils, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


# ----- init -----------------------------------------------------------------
INIT_NAMES = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_", "sparse_",
]  # fmt: skip


@pytest.mark.parametrize("name", INIT_NAMES)
def test_init_signatures_are_torchs(name):
    ours = inspect.signature(getattr(init, name)).parameters
    theirs = inspect.signature(getattr(torch.nn.init, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


@pytest.mark.parametrize(
    "args",
    [("linear",), ("conv_transpose2d",), ("sigmoid",), ("tanh",), ("relu",), ("selu",),
     ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 3)],
)  # fmt: skip
def test_calculate_gain_matches_torch(args):
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


def test_calculate_gain_errors_as_torch():
    for args in [("swish",), ("leaky_relu", "x"), ("leaky_relu", True)]:
        with pytest.raises(ValueError) as t_err:
            torch.nn.init.calculate_gain(*args)
        with pytest.raises(ValueError) as err:
            init.calculate_gain(*args)
        assert str(err.value) == str(t_err.value)


STD_CASES = [
    ("xavier_uniform_", (300, 200), {}, math.sqrt(2 / 500)),
    ("xavier_normal_", (300, 200), {"gain": 2.0}, 2 * math.sqrt(2 / 500)),
    ("kaiming_uniform_", (200, 50, 3), {}, math.sqrt(2 / 1.0001) / math.sqrt(150)),
    ("kaiming_normal_", (200, 300), {"mode": "fan_out", "nonlinearity": "relu"}, 0.1),
    ("kaiming_normal_", (200, 300), {"a": 0.5}, math.sqrt(2 / 1.25) / math.sqrt(300)),
    ("normal_", (400, 300), {"mean": 1.0, "std": 0.3}, 0.3),
    ("uniform_", (400, 300), {"a": -1.0, "b": 3.0}, 4 / math.sqrt(12)),
]


@pytest.mark.parametrize("name, shape, kwargs, std", STD_CASES)
def test_random_init_statistics(name, shape, kwargs, std):
    w = engine.empty(shape)
    out = getattr(init, name)(w, **kwargs)
    assert out is w
    ours = w.numpy()
    t = torch.empty(shape)
    getattr(torch.nn.init, name)(t, **kwargs)
    assert abs(ours.std() - std) < 0.02 * std
    assert abs(ours.std() - t.numpy().std()) < 0.03 * std
    assert abs(ours.mean() - t.numpy().mean()) < 0.05 * std + 1e-3


def test_init_is_reproducible_with_a_generator():
    a, b = engine.empty(20, 30), engine.empty(20, 30)
    init.kaiming_uniform_(a, generator=engine.Generator().manual_seed(4))
    init.kaiming_uniform_(b, generator=engine.Generator().manual_seed(4))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    init.orthogonal_(a, generator=engine.Generator().manual_seed(5))
    init.orthogonal_(b, generator=engine.Generator().manual_seed(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize(
    "mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 3.0), (0.0, 0.02, -0.04, 0.04)]
)
def test_trunc_normal_statistics_and_bounds(mean, std, a, b):
    w = engine.empty(400, 500)
    init.trunc_normal_(w, mean=mean, std=std, a=a, b=b)
    t = torch.empty(400, 500)
    torch.nn.init.trunc_normal_(t, mean=mean, std=std, a=a, b=b)
    ours, theirs = w.numpy(), t.numpy()
    assert ours.min() >= a and ours.max() <= b
    assert ours.min() < a + 0.01 * (b - a) and ours.max() > b - 0.01 * (b - a)
    assert abs(ours.mean() - theirs.mean()) < 0.01 * std
    assert abs(ours.std() - theirs.std()) < 0.01 * std


@pytest.mark.parametrize("shape", [(50, 50), (30, 80), (80, 30), (16, 4, 3, 3)])
@pytest.mark.parametrize("gain", [1, 2.5])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain):
    w = engine.empty(shape, dtype=engine.float64)
    init.orthogonal_(w, gain=gain)
    flat = w.numpy().reshape(shape[0], -1) / gain
    small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, np.eye(len(small)), atol=1e-10)
    assert w.dtype == engine.float64


def test_orthogonal_float32_and_errors():
    w = engine.empty(64, 64)
    init.orthogonal_(w)
    np.testing.assert_allclose(w.numpy() @ w.numpy().T, np.eye(64), atol=1e-5)
    for fn in (init.orthogonal_, init.eye_):
        with pytest.raises(ValueError) as err:
            fn(engine.empty(3))
        with pytest.raises(ValueError) as t_err:
            getattr(torch.nn.init, fn.__name__)(torch.empty(3))
        assert str(err.value) == str(t_err.value)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_matches_torch(shape):
    w = engine.empty(shape)
    init.eye_(w)
    np.testing.assert_array_equal(w.numpy(), torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.parametrize("shape, groups", [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 1, 3, 3), 1)])
def test_dirac_matches_torch(shape, groups):
    w = engine.empty(shape)
    init.dirac_(w, groups)
    np.testing.assert_array_equal(
        w.numpy(), torch.nn.init.dirac_(torch.empty(shape), groups).numpy()
    )


def test_sparse_zeroes_the_right_count_per_column():
    w = engine.empty(10, 40)
    init.sparse_(w, sparsity=0.3, std=0.5)
    assert ((w.numpy() == 0).sum(axis=0) == 3).all()


def test_constant_ones_zeros_and_grad_free_writes():
    w = engine.empty(3, 4, requires_grad=True)
    assert init.constant_(w, 0.25) is w
    assert (w.detach().numpy() == 0.25).all() and w.is_leaf and w.requires_grad
    init.ones_(w)
    assert (w.detach().numpy() == 1).all()
    init.zeros_(w)
    assert (w.detach().numpy() == 0).all()
    init.orthogonal_(w)
    init.trunc_normal_(w)
    assert w.is_leaf and w.grad_fn is None


def test_fan_errors_are_torchs():
    for call in (
        lambda m, t: m.nn.init.xavier_uniform_(t),
        lambda m, t: m.nn.init.kaiming_normal_(t),
    ):
        with pytest.raises(ValueError):
            call(torch, torch.empty(5))
        with pytest.raises(ValueError):
            call(engine, engine.empty(5))
    with pytest.raises(ValueError):
        init.kaiming_uniform_(engine.empty(3, 3), mode="fan_avg")


@pytest.mark.parametrize("old", ["xavier_uniform", "normal", "constant", "orthogonal", "eye"])
def test_deprecated_names_warn_as_torch(old):
    args = (0.5,) if old == "constant" else ()
    with pytest.warns(FutureWarning) as theirs:
        getattr(torch.nn.init, old)(torch.empty(4, 4), *args)
    with pytest.warns(FutureWarning) as ours:
        out = getattr(init, old)(engine.empty(4, 4), *args)
    assert str(ours[0].message) == str(theirs[0].message)
    assert out.shape == (4, 4)
