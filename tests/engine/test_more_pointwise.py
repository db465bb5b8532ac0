"""Aliases, axis moves, splits, stacks, pointwise math, creation helpers and in-place
indexing against PyTorch: values, dtypes, shapes, gradients and exception types."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.engine.gradcheck import Const, check_op

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RNG = np.random.default_rng(0)


def _same(ours, ref, rtol=1e-6, atol=1e-6):
    if isinstance(ref, tuple | list):
        assert len(ours) == len(ref)
        for o, r in zip(ours, ref, strict=True):
            _same(o, r, rtol, atol)
        return
    if not isinstance(ref, torch.Tensor):
        assert ours == ref
        return
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(
        ours.detach().numpy().astype(np.float64),
        ref.detach().numpy().astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
    )


def _both(fn, *arrays):
    """fn(lib, *tensors) for the engine and torch, from the same NumPy arrays."""
    ours = fn(engine, *(engine.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays))
    ref = fn(torch, *(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays))
    return ours, ref


def _raises(fn, *arrays):
    with pytest.raises(Exception) as ref:
        fn(torch, *(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays))
    with pytest.raises(ref.type):
        fn(engine, *(engine.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays))


X = RNG.standard_normal((3, 4)).astype(np.float32)
Y = RNG.standard_normal((3, 4)).astype(np.float32)
I = np.array([[7, -7, 5], [-5, 3, 0]], dtype=np.int64)
J = np.array([[2, 2, -3], [3, -2, 4]], dtype=np.int64)

# ----- aliases and wrappers -------------------------------------------------------------

ALIASES = [
    lambda m, x, y: m.absolute(x),
    lambda m, x, y: x.absolute(),
    lambda m, x, y: m.multiply(x, y),
    lambda m, x, y: x.multiply(y),
    lambda m, x, y: m.subtract(x, y, alpha=2),
    lambda m, x, y: m.negative(x),
    lambda m, x, y: m.positive(x),
    lambda m, x, y: m.true_divide(x, y),
    lambda m, x, y: m.divide(x, y),
    lambda m, x, y: m.divide(x, y, rounding_mode="trunc"),
    lambda m, x, y: m.divide(x, y, rounding_mode="floor"),
    lambda m, x, y: x.divide(y, rounding_mode="trunc"),
    lambda m, x, y: m.clone(x),
    lambda m, x, y: m.concat([x, y], 1),
    lambda m, x, y: m.concatenate([x, y], axis=0),
    lambda m, x, y: m.swapaxes(x, 0, 1),
    lambda m, x, y: x.swapdims(1, 0),
    lambda m, x, y: m.movedim(x.reshape(3, 2, 2), 0, -1),
    lambda m, x, y: m.moveaxis(x.reshape(3, 2, 2), (0, 1), (2, 0)),
    lambda m, x, y: x.reshape(3, 2, 2).movedim((2,), (0,)),
    lambda m, x, y: m.ravel(x.t()),
    lambda m, x, y: m.select(x, 1, -1),
    lambda m, x, y: x.select(0, 2),
    lambda m, x, y: m.broadcast_to(x[0], (2, 4)),
    lambda m, x, y: m.broadcast_tensors(x, y[:1]),
    lambda m, x, y: m.hstack([x, y]),
    lambda m, x, y: m.hstack([x[0], y[0]]),
    lambda m, x, y: m.vstack([x[0], y]),
    lambda m, x, y: m.dstack([x, y]),
    lambda m, x, y: m.dstack([x[0], y[0]]),
    lambda m, x, y: m.column_stack([x[0], y.t()]),
    lambda m, x, y: m.atleast_1d(x.sum()),
    lambda m, x, y: m.atleast_2d(x[0]),
    lambda m, x, y: m.atleast_3d(x),
    lambda m, x, y: m.atleast_3d(x[0], x.sum()),
    lambda m, x, y: m.tensor_split(x, 3, 1),
    lambda m, x, y: m.tensor_split(x, [1, 3], dim=1),
    lambda m, x, y: x.tensor_split([2, 7]),
    lambda m, x, y: m.hsplit(x, 2),
    lambda m, x, y: m.hsplit(x, [1]),
    lambda m, x, y: m.vsplit(x, 3),
    lambda m, x, y: m.dsplit(x.reshape(3, 1, 4), [1, 2]),
    lambda m, x, y: m.aminmax(x),
    lambda m, x, y: m.aminmax(x, dim=1, keepdim=True),
    lambda m, x, y: x.sum_to_size(1, 4),
    lambda m, x, y: x.sum_to_size(4),
    lambda m, x, y: x.t().H,
    lambda m, x, y: x.reshape(3, 2, 2).mH,
]


@pytest.mark.parametrize("k", range(len(ALIASES)))
def test_aliases_match_torch_with_gradients(k):
    fn = ALIASES[k]
    check_op(fn, X.astype(np.float64) + 0.1, Const(Y.astype(np.float64) + 3.0))


def test_integer_division_modes_and_comparison_aliases():
    for mode in (None, "trunc", "floor"):
        _same(*_both(lambda m, a, b, mode=mode: m.divide(a, b, rounding_mode=mode), I, J))
        _same(*_both(lambda m, a, b, mode=mode: a.divide(b, rounding_mode=mode), I, 3))
    for name in ("not_equal", "greater", "greater_equal", "less", "less_equal"):
        _same(*_both(lambda m, a, b, name=name: getattr(m, name)(a, b), I, J))
        _same(*_both(lambda m, a, b, name=name: getattr(a, name)(b), I, J))
    ours, ref = engine.tensor(I), torch.tensor(I)
    ours.divide_(2, rounding_mode="floor")
    ref.divide_(2, rounding_mode="floor")
    _same(ours, ref)


def test_take_count_and_predicates():
    idx = np.array([[0, -1], [5, 11]], dtype=np.int64)
    _same(*_both(lambda m, x, i: m.take(x, i), X, idx))
    _same(*_both(lambda m, x, i: x.take(i), I, idx[:1]))
    along = np.array([[0, 3], [1, 1], [2, 0]], dtype=np.int64)
    _same(*_both(lambda m, x, i: m.take_along_dim(x, i, 1), X, along))
    _same(*_both(lambda m, x, i: m.take_along_dim(x, i), X, along))
    _same(*_both(lambda m, x, i: m.take_along_dim(x, i[:1, :1], dim=0), X, along))
    check_op(lambda m, x, i: m.take(x, i), X.astype(np.float64), idx)
    check_op(lambda m, x, i: m.take_along_dim(x, i, dim=1), X.astype(np.float64), along)
    z = np.array([[0, 1, 0], [2, 0, 3]], dtype=np.int64)
    _same(*_both(lambda m, x: m.count_nonzero(x), z))
    _same(*_both(lambda m, x: m.count_nonzero(x, dim=0), z))
    _same(*_both(lambda m, x: x.count_nonzero((0, 1)), z))
    _same(*_both(lambda m, x: m.argwhere(x), z))
    _same(*_both(lambda m, x: x.argwhere(), z[0]))
    for v in (np.array([0.0]), np.array(2), np.array([[True]])):
        assert engine.is_nonzero(engine.tensor(v)) == torch.is_nonzero(torch.tensor(v))
    t, r = engine.tensor(X), torch.tensor(X)
    assert engine.is_floating_point(t) and not engine.is_floating_point(engine.tensor(I))
    assert engine.is_complex(t) is False and t.is_complex() is False
    assert t.ndimension() == r.ndimension() and t.nelement() == r.nelement()
    assert t.itemsize == r.itemsize and t.nbytes == r.nbytes
    assert engine.tensor(I).nbytes == torch.tensor(I).nbytes
    for name in ("byte", "char", "short"):
        _same(getattr(engine.tensor(I), name)(), getattr(torch.tensor(I), name)())
    assert t.get_device() == r.get_device() == -1
    assert t.data_ptr() != 0 and t[1:].data_ptr() == t.data_ptr() + 4 * 4
    assert engine.broadcast_shapes((2, 1), (3,), 1) == torch.broadcast_shapes((2, 1), (3,), 1)
    assert engine.broadcast_shapes() == torch.broadcast_shapes()


def test_retains_grad_apply_and_map():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert not x.retains_grad and not y.retains_grad
    y.retain_grad()
    assert y.retains_grad
    ours, ref = engine.tensor(I), torch.tensor(I)
    _same(ours.apply_(lambda v: v * 3 + 1), ref.apply_(lambda v: v * 3 + 1))
    ours, ref = engine.tensor(X), torch.tensor(X)
    _same(
        ours.map_(engine.tensor(Y[0]), lambda a, b: a - 2 * b),
        ref.map_(torch.tensor(Y[0]), lambda a, b: a - 2 * b),
    )
    assert ours._version == 1
    with pytest.raises(RuntimeError):
        x.apply_(lambda v: v)
    with pytest.raises(RuntimeError):
        engine.ones(2).map_(engine.ones(3), lambda a, b: a)


ERRORS = [
    lambda m, x: m.divide(x, x, rounding_mode="up"),
    lambda m, x: m.positive(x > 0),
    lambda m, x: m.select(x, 2, 0),
    lambda m, x: m.select(x, 0, 3),
    lambda m, x: m.take(x, m.tensor([12])),
    lambda m, x: m.take(x, m.tensor([1.0])),
    lambda m, x: m.movedim(x, (0, 1), 0),
    lambda m, x: m.hsplit(x, 3),
    lambda m, x: m.vsplit(x[0], 1),
    lambda m, x: m.dsplit(x, 1),
    lambda m, x: m.tensor_split(x.sum(), 2),
    lambda m, x: m.hstack(x),
    lambda m, x: m.take_along_dim(x, m.tensor([[0, 1]]), dim=0),
    lambda m, x: m.broadcast_shapes((2,), (3,)),
    lambda m, x: m.broadcast_tensors(x, x[:2]),
    lambda m, x: m.is_nonzero(x),
    lambda m, x: m.is_nonzero(x[:0, 0]),
    lambda m, x: m.aminmax(x[:0]),
    lambda m, x: x.sum_to_size(2),
    lambda m, x: x[0].H,
    lambda m, x: m.take_along_dim(x, m.tensor([0]), 0),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_alias_errors_match_torch(k):
    _raises(ERRORS[k], X)


# ----- pointwise math -------------------------------------------------------------------

SPECIAL = np.array([-3.7, -2.5, -1.5, -0.5, -1e-3, 0.0, -0.0, 0.3, 1.0, 2.0, 4.5, 12.0, 40.0])
UNIT = np.array([-0.999, -0.9, -0.4, -1e-4, 0.0, 0.2, 0.6, 0.95, 0.99999, 1.0, -1.0, 1.5])
WIDE = np.array([-30.0, -6.0, -2.5, -1.0, -0.1, 0.0, 0.4, 1.7, 2.5, 3.3, 6.0, 9.0, 27.0])
EDGE = np.array([np.inf, -np.inf, np.nan, -2.0, 0.0, -0.0])
INTS = np.array([-3, -1, 0, 2, 5], dtype=np.int64)
UNARY_MATH = "sgn signbit frac exp2 erfc erfinv lgamma digamma deg2rad rad2deg sinc".split()
UNARY_MATH += "isneginf isposinf isreal logit".split()


@pytest.mark.parametrize("name", UNARY_MATH)
def test_unary_math_values_and_dtypes(name):
    for arr in (SPECIAL, UNIT, WIDE, EDGE):
        for dt in (np.float32, np.float64):
            ours, ref = _both(lambda m, x: getattr(m, name)(x), arr.astype(dt))
            tol = 2e-6 if dt == np.float32 else 1e-10
            _same(ours, ref, rtol=tol, atol=tol)
            ours, ref = _both(lambda m, x: getattr(x, name)(), arr.astype(dt))
            _same(ours, ref, rtol=tol, atol=tol)
    if name == "frac":
        _raises(lambda m, x: m.frac(x), INTS)
    else:
        _same(*_both(lambda m, x: getattr(m, name)(x), INTS), rtol=2e-6, atol=2e-6)


IN_PLACE = [n for n in UNARY_MATH if hasattr(torch.Tensor, n + "_") and n != "sgn"]


@pytest.mark.parametrize("name", IN_PLACE)
def test_unary_math_in_place(name):
    ours, ref = _both(lambda m, x: getattr(x, name + "_")(), WIDE.astype(np.float32) / 31)
    _same(ours, ref, rtol=2e-6, atol=2e-6)
    x = engine.tensor(UNIT[1:8], requires_grad=True)
    y = x * 1.0
    getattr(y, name + "_")()
    y.sum().backward()
    xt = torch.tensor(UNIT[1:8], requires_grad=True)
    yt = xt * 1.0
    getattr(yt, name + "_")()
    yt.sum().backward()
    _same(x.grad, xt.grad, rtol=1e-6, atol=1e-6)


GRADS = [
    (lambda m, x: m.lgamma(x), SPECIAL[[0, 1, 3, 4, 7, 8, 9, 10, 11]]),
    (lambda m, x: m.digamma(x), SPECIAL[[0, 1, 3, 4, 7, 8, 9, 10, 11]]),
    (lambda m, x: m.erfc(x), WIDE[2:-2]),
    (lambda m, x: m.erfinv(x), UNIT[:8]),
    (lambda m, x: m.sinc(x), WIDE),
    (lambda m, x: m.frac(x), WIDE[[2, 4, 6, 7, 9]]),
    (lambda m, x: m.exp2(x), WIDE[1:-2]),
    (lambda m, x: m.deg2rad(x), WIDE),
    (lambda m, x: x.rad2deg(), WIDE),
    (lambda m, x: m.logit(x), UNIT[[1, 2, 5, 6, 7]] / 2 + 0.5),
    (lambda m, x: m.logit(x, eps=0.25), UNIT[[1, 2, 5, 6, 7]] / 2 + 0.5),
]


@pytest.mark.parametrize("k", range(len(GRADS)))
def test_unary_math_gradients(k):
    fn, arr = GRADS[k]
    check_op(fn, arr.astype(np.float64))


A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((1, 4))
POS = np.abs(RNG.standard_normal((3, 1))) + 0.5
BINARY_GRADS = [
    (lambda m, a, p: m.xlogy(a, p), "ap"),
    (lambda m, a, b: a.xlogy(b * b + 0.1), "ab"),
    (lambda m, a, b: m.hypot(a, b), "ab"),
    (lambda m, a, b: m.logaddexp(a, b), "ab"),
    (lambda m, a, b: a.logaddexp2(b * 10), "ab"),
    (lambda m, a, b: m.fmax(a, b), "ab"),
    (lambda m, a, b: m.fmin(a, b), "ab"),
    (lambda m, p, a: m.float_power(p, a), "pa"),
    (lambda m, a: m.float_power(a, 2), "a"),
    (lambda m, a: m.ldexp(a, m.tensor([1, 2, 3, 0]).to(a.device)), "a"),
    (lambda m, a, b, p: m.addcmul(a, b, p, value=-1.5), "abp"),
    (lambda m, a, b, p: a.addcdiv(b, p, value=0.5), "abp"),
    (lambda m, a, b, p: m.addcdiv(a, b, p), "abp"),
]


@pytest.mark.parametrize("k", range(len(BINARY_GRADS)))
def test_binary_math_gradients(k):
    fn, which = BINARY_GRADS[k]
    check_op(fn, *({"a": A, "b": B, "p": POS}[c] for c in which))


def test_binary_math_values_dtypes_and_specials():
    nan, inf = np.nan, np.inf
    a = np.array([0.0, 0.0, 1.0, nan, 2.0, -inf, inf, -1.0], dtype=np.float32)
    b = np.array([nan, 0.0, nan, 1.0, -3.0, 5.0, inf, -0.0], dtype=np.float32)
    for name in ("xlogy", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "heaviside"):
        _same(*_both(lambda m, x, y, name=name: getattr(m, name)(x, y), a, b))
        _same(*_both(lambda m, x, y, name=name: getattr(x, name)(y), a, b))
    i = np.array([0, -4, 6, 12, 7], dtype=np.int64)
    j = np.array([0, 6, -9, 8, 0], dtype=np.int64)
    for name in ("gcd", "lcm", "fmax", "fmin", "heaviside"):
        _same(*_both(lambda m, x, y, name=name: getattr(m, name)(x, y), i, j))
    _same(*_both(lambda m, x, y: m.xlogy(x, y), i, j))
    _same(*_both(lambda m, x, y: m.xlogy(2, y), i, a[:5]))
    _same(*_both(lambda m, x, y: m.xlogy(x, 3.0), a, i))
    _same(*_both(lambda m, x, y: m.float_power(x, y), i, j))
    _same(*_both(lambda m, x, y: m.float_power(x, 0.5), a, i))
    _same(*_both(lambda m, x, y: m.float_power(2, x), a, i))
    _same(*_both(lambda m, x, y: m.ldexp(x, y), a[:5], i))
    _same(*_both(lambda m, x, y: m.addcmul(x, x, y, value=2), i, j))
    _same(*_both(lambda m, x, y: m.addcdiv(x.float(), y.float(), x.float()), i, j + 20))
    _same(*_both(lambda m, x, y: x.gcd_(y), i, j))
    _same(*_both(lambda m, x, y: x.lcm_(y), i, j))
    _same(*_both(lambda m, x, y: x.double().float_power_(y), a, b))
    _same(*_both(lambda m, x, y: x.hypot_(y), a, b))
    _same(*_both(lambda m, x, y: x.heaviside_(y), a, b))
    _same(*_both(lambda m, x, y: m.isin(x, y), i, j))
    _same(*_both(lambda m, x, y: m.isin(x, y, invert=True), i, j))
    _same(*_both(lambda m, x, y: m.isin(x, 6), i, j))
    _same(*_both(lambda m, x, y: m.isin(6, y), i, j))
    _same(*_both(lambda m, x, y: m.isin(x, y), a, b))


MATH_ERRORS = [
    lambda m, x, i: m.hypot(i, i),
    lambda m, x, i: m.logaddexp(i, i),
    lambda m, x, i: m.gcd(x, x),
    lambda m, x, i: m.lcm(x, i),
    lambda m, x, i: m.heaviside(x, x.double()),
    lambda m, x, i: m.addcdiv(x, i, i),
    lambda m, x, i: x.float_power_(2),
    lambda m, x, i: i.frac_(),
    lambda m, x, i: i.lgamma_(),
    lambda m, x, i: m.erfinv(x.tolist()),
    lambda m, x, i: m.lgamma(x, x),
]


@pytest.mark.parametrize("k", range(len(MATH_ERRORS)))
def test_math_errors_match_torch(k):
    _raises(MATH_ERRORS[k], A.astype(np.float32), INTS)


# ----- creation, modes, limits, random fills --------------------------------------------


def test_creation_helpers_match_torch():
    _same(engine.logspace(-2, 3, 7), torch.logspace(-2, 3, 7), rtol=1e-6)
    _same(
        engine.logspace(0, 4, 5, base=2.0, dtype=engine.float64),
        torch.logspace(0, 4, 5, base=2.0, dtype=torch.float64),
    )
    for args in ((3, 4, 1), (4, 3, -1), (3, 3, 0), (0, 2, 0)):
        _same(engine.tril_indices(*args), torch.tril_indices(*args))
        _same(engine.triu_indices(*args), torch.triu_indices(*args))
    _same(
        engine.tril_indices(3, 3, dtype=engine.int32), torch.tril_indices(3, 3, dtype=torch.int32)
    )
    v = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    w = np.array([4, 5], dtype=np.int64)
    _same(*_both(lambda m, a, b: m.cartesian_prod(a, b.float()), v, w))
    _same(*_both(lambda m, a, b: m.cartesian_prod(a), v, w))
    for r, rep in ((2, False), (3, False), (2, True), (0, False), (4, False)):
        _same(*_both(lambda m, a, r=r, rep=rep: m.combinations(a, r, rep), v))
    _same(*_both(lambda m, a, b: m.block_diag(a.sum(), a, b.reshape(2, 1)), v, w))
    _same(*_both(lambda m, a: m.block_diag(a.reshape(3, 1), a.double()), v))
    _same(*_both(lambda m, a: m.vander(a), v))
    _same(*_both(lambda m, a: m.vander(a, 4, increasing=True), w))
    _same(*_both(lambda m, a: m.vander(a, N=0), v))
    idx = np.array([[4, 5], [0, -1], [6, -7]], dtype=np.int64)
    _same(*_both(lambda m, i: m.unravel_index(i, (2, 3)), idx))
    _same(*_both(lambda m, i: m.unravel_index(i, 6), idx))
    _same(*_both(lambda m, i: m.unravel_index(i[0, 0], (2, 3)), idx))
    check_op(lambda m, a, b: m.cartesian_prod(a, b), v.astype(np.float64), v[:2].astype(np.float64))
    check_op(lambda m, a: m.combinations(a, 2, with_replacement=True), v.astype(np.float64))
    check_op(
        lambda m, a, b: m.block_diag(a, b.reshape(1, 2)),
        v.astype(np.float64),
        v[:2].astype(np.float64) + 0.5,
    )
    check_op(lambda m, a: m.vander(a, 4), v.astype(np.float64) - 0.5, backward=False)


CREATION_ERRORS = [
    lambda m, v: m.cartesian_prod(v.reshape(1, 3)),
    lambda m, v: m.combinations(v, -1),
    lambda m, v: m.block_diag(v.reshape(1, 1, 3)),
    lambda m, v: m.vander(v.reshape(1, 3)),
    lambda m, v: m.unravel_index(v, (2, 3)),
    lambda m, v: m.finfo(m.int32),
    lambda m, v: m.iinfo(m.float32),
    lambda m, v: m.set_num_threads(0),
]


@pytest.mark.parametrize("k", range(len(CREATION_ERRORS)))
def test_creation_errors_match_torch(k):
    _raises(CREATION_ERRORS[k], np.array([1.0, 2.0, 3.0], dtype=np.float32))


def test_inference_mode_and_threads():
    x = engine.ones(2, requires_grad=True)
    assert not engine.is_inference_mode_enabled()
    with engine.inference_mode():
        assert engine.is_inference_mode_enabled() and not engine.is_grad_enabled()
        y = x * 2
    assert not y.requires_grad and engine.is_grad_enabled()
    assert not engine.is_inference_mode_enabled()

    @engine.inference_mode()
    def f(t):
        return t * 3, engine.is_inference_mode_enabled()

    out, inside = f(x)
    assert inside and not out.requires_grad
    with engine.inference_mode(False):
        assert not engine.is_inference_mode_enabled() and (x * 2).requires_grad
    before = engine.get_num_threads()
    assert isinstance(before, int) and before >= 1
    engine.set_num_threads(3)
    assert engine.get_num_threads() == 3
    engine.set_num_threads(before)


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    ours, ref = engine.finfo(getattr(engine, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, attr) == getattr(ref, attr), attr
    assert ours.dtype == ref.dtype
    assert engine.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    ours, ref = engine.iinfo(getattr(engine, name)), torch.iinfo(getattr(torch, name))
    assert (ours.bits, ours.max, ours.min, ours.dtype) == (ref.bits, ref.max, ref.min, ref.dtype)


def test_print_options_change_repr():
    t = engine.tensor([1.123456789, 2.0, 3.0])
    try:
        engine.set_printoptions(precision=2)
        assert "1.12" in repr(t) and "1.123" not in repr(t)
        engine.set_printoptions(threshold=5, edgeitems=2)
        r = repr(engine.arange(100))
        assert "..." in r and "98" in r and "50" not in r
        engine.set_printoptions(profile="full")
        assert "..." not in repr(engine.arange(2000))
        engine.set_printoptions(sci_mode=True)
        assert "e+00" in repr(t)
    finally:
        engine.set_printoptions(profile="default")
    assert "1.1235" in repr(t) and "..." in repr(engine.arange(2000))


def test_random_fills_follow_the_seed_and_distribution():
    for fill, check in (
        (lambda t: t.geometric_(0.25), lambda a: abs(a.mean() - 4.0) < 0.3 and a.min() >= 1),
        (lambda t: t.log_normal_(0.0, 0.5), lambda a: abs(np.median(a) - 1.0) < 0.1),
        (lambda t: t.cauchy_(2.0, 0.5), lambda a: abs(np.median(a) - 2.0) < 0.1),
    ):
        engine.manual_seed(5)
        a = fill(engine.empty(4000)).numpy()
        engine.manual_seed(5)
        b = fill(engine.empty(4000)).numpy()
        assert np.array_equal(a, b) and check(a)
        t = engine.zeros(3)
        assert fill(t) is t and t._version == 1
    with pytest.raises(RuntimeError):
        engine.empty(2).geometric_(0)
    with pytest.raises(RuntimeError):
        engine.empty(2).cauchy_(0.0, -1.0)
    x = engine.ones(3, requires_grad=True)
    y = x * 2
    y.geometric_(0.5)
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), np.zeros(3, np.float32))


# ----- indexing in place, diagonal views, sliding windows -------------------------------

M = RNG.standard_normal((4, 5))
IDX = np.array([3, 0], dtype=np.int64)
INDEX_GRADS = [
    (lambda m, x, s: m.index_copy(x, 0, m.tensor([3, 0]).to(x.device), s), (M, M[:2] * 3)),
    (lambda m, x, s: x.index_copy(1, m.tensor([4, 1]).to(x.device), s.t()[:4]), (M, M[:2] * 3)),
    (lambda m, x: m.index_fill(x, 1, m.tensor([0, -1]), -2.0), (M,)),
    (lambda m, x, v: x.index_fill(0, m.tensor([1]), v.sum()), (M, M[0])),
    (lambda m, x, v: m.index_put(x, (m.tensor([0, 2]),), v), (M, M[1])),
    (
        lambda m, x, v: x.index_put((m.tensor([0, 2, 0]), m.tensor([1, 1, 1])), v, True),
        (M, M[1, :3]),
    ),
    (lambda m, x, v: m.index_put(x, (m.tensor([3, 3]),), v, accumulate=True), (M, M[2])),
    (lambda m, x, s: m.masked_scatter(x, x > 0, s), (M, M.T * 2)),
    (
        lambda m, x, s: x.masked_scatter(
            m.tensor([True, False, True, False, True]).to(x.device), s
        ),
        (M, M),
    ),
    (lambda m, x, s: m.put(x, m.tensor([0, -1, 7]), s), (M, M[0, :3])),
    (lambda m, x, s: x.put(m.tensor([[0, 7], [7, 0]]), s, accumulate=True), (M, M[:2, :2])),
    (lambda m, x: m.diagonal(x), (M,)),
    (lambda m, x: x.diagonal(1), (M,)),
    (lambda m, x: x.reshape(2, 2, 5).diagonal(-1, 2, 0), (M,)),
    (lambda m, x: m.diagonal(x, offset=-3, dim1=1, dim2=0), (M,)),
    (lambda m, x: m.diag_embed(x), (M,)),
    (lambda m, x: m.diag_embed(x[:2], 1, 0, 2), (M,)),
    (lambda m, x: x.diag_embed(-2, dim1=-1, dim2=0), (M,)),
    (lambda m, x: m.diagflat(x[:2]), (M,)),
    (lambda m, x: x[0].diagflat(-1), (M,)),
    (lambda m, x: x.unfold(1, 2, 1), (M,)),
    (lambda m, x: x.unfold(0, 3, 2), (M,)),
    (lambda m, x: x.unfold(-1, 5, 1), (M,)),
    (lambda m, x: x.sum().unfold(0, 1, 1), (M,)),
    (lambda m, x: x.unfold(1, 0, 2), (M,)),
]


@pytest.mark.parametrize("k", range(len(INDEX_GRADS)))
def test_indexing_ops_with_gradients(k):
    fn, arrays = INDEX_GRADS[k]
    check_op(fn, *arrays)


IN_PLACE_INDEXING = [
    lambda m, x, s: x.index_copy_(0, m.tensor([3, 0]), s[:2]),
    lambda m, x, s: x.index_fill_(1, m.tensor([2]), -1.0),
    lambda m, x, s: x.index_put_((m.tensor([1, 1]), m.tensor([0, 4])), s[0, :2]),
    lambda m, x, s: x.index_put_((m.tensor([1, 1]),), s[0], accumulate=True),
    lambda m, x, s: x.index_put_((x > 0,), s[x > 0]),
    lambda m, x, s: x.index_put_((x > 0,), m.tensor(5.0, dtype=x.dtype), accumulate=True),
    lambda m, x, s: x.masked_scatter_(x < 0, s),
    lambda m, x, s: x.put_(m.tensor([1, 19]), s[0, :2]),
    lambda m, x, s: x.put_(m.tensor([1, 1]), s[0, :2], accumulate=True),
    lambda m, x, s: x.fill_diagonal_(7.0),
    lambda m, x, s: x.t().fill_diagonal_(7.0, wrap=True),
    lambda m, x, s: x.reshape(2, 10)[:, :2].fill_diagonal_(-1.0),
    lambda m, x, s: m.ones(7, 3).fill_diagonal_(2.0, wrap=True),
    lambda m, x, s: m.zeros(3, 3, 3).fill_diagonal_(1.0),
    lambda m, x, s: x.diagonal().mul_(10),
    lambda m, x, s: x.unfold(1, 2, 2).zero_(),
]


@pytest.mark.parametrize("k", range(len(IN_PLACE_INDEXING)))
def test_indexing_in_place_values_views_and_grads(k):
    fn = IN_PLACE_INDEXING[k]
    results = []
    for m in (engine, torch):
        leaf = m.tensor(M, dtype=m.float32, requires_grad=True)
        src = m.tensor(M * 3, dtype=m.float32, requires_grad=True)
        x = leaf * 1.0
        out = fn(m, x, src)
        (x * m.tensor(np.arange(20.0).reshape(4, 5), dtype=m.float32)).sum().backward()
        results.append((out, x, leaf.grad, src.grad))
    for ours, ref in zip(*results, strict=True):
        if ref is None:
            assert ours is None or not np.any(ours.numpy())
        else:
            _same(ours, ref)
    no_grad = fn(engine, engine.tensor(M, dtype=engine.float32), engine.tensor(M * 3.0).float())
    ref = fn(torch, torch.tensor(M, dtype=torch.float32), torch.tensor(M * 3, dtype=torch.float32))
    _same(no_grad, ref)


def test_views_share_memory_and_resize():
    x = engine.tensor(M)
    d = x.diagonal(1)
    d.fill_(0.0)
    assert x[0, 1].item() == 0.0 and x._version == d._version == 1
    w = x.unfold(1, 3, 1)
    assert w._is_view and w._base is x
    x.add_(1.0)
    assert w[0, 1, 0].item() == x[0, 1].item()
    ours, ref = engine.tensor(M[0]), torch.tensor(M[0])
    _same(ours.resize_(2, 2), ref.resize_(2, 2))
    _same(ours.resize_(1, 3), ref.resize_(1, 3))
    t = engine.arange(6)
    assert t.resize_(2, 4).shape == (2, 4) and t[0].tolist() == [0, 1, 2, 3]
    with pytest.raises(RuntimeError):
        engine.ones(2, requires_grad=True).resize_(3)


INDEX_ERRORS = [
    lambda m, x: x.index_copy(0, m.tensor([4]), x[:1]),
    lambda m, x: x.index_copy(0, m.tensor([0]), x[:1].double()),
    lambda m, x: x.index_fill(2, m.tensor([0]), 1.0),
    lambda m, x: x.index_fill(0, m.tensor([0.0]), 1.0),
    lambda m, x: x.index_fill(0, m.tensor([[0]]), 1.0),
    lambda m, x: x.index_copy(0, m.tensor([0.0]), x[:1]),
    lambda m, x: x.index_put((m.tensor([4]),), m.tensor(1.0)),
    lambda m, x: x.index_put((m.tensor([0]),), m.tensor(1.0, dtype=m.float64)),
    lambda m, x: x.masked_scatter(x > 0, x[:1]),
    lambda m, x: x.masked_scatter(x, x),
    lambda m, x: x.put(m.tensor([20]), m.tensor([1.0])),
    lambda m, x: x.put(m.tensor([0, 1]), m.tensor([1.0])),
    lambda m, x: x[0].fill_diagonal_(1.0),
    lambda m, x: m.zeros(2, 3, 2).fill_diagonal_(1.0),
    lambda m, x: x.diagonal(0, 1, 1),
    lambda m, x: x.diagonal(0, 0, 2),
    lambda m, x: m.diag_embed(x, 0, 1, 1),
    lambda m, x: x.unfold(1, 6, 1),
    lambda m, x: x.unfold(1, 2, 0),
    lambda m, x: x.unfold(2, 1, 1),
]


@pytest.mark.parametrize("k", range(len(INDEX_ERRORS)))
def test_indexing_errors_match_torch(k):
    _raises(INDEX_ERRORS[k], M.astype(np.float32))


def test_accumulating_index_put_with_device_indices():
    x = engine.zeros(3, 2).cuda() if engine.cuda.is_available() else engine.zeros(3, 2)
    idx = engine.tensor([2, 2, 0]).to(x.device)
    out = x.index_put((idx,), engine.ones(2).to(x.device), accumulate=True)
    assert out.tolist() == [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]


def test_zero_dim_moves_and_pin_memory():
    _same(*_both(lambda m, x: m.movedim(x, 0, 0), np.array(3.0, dtype=np.float32)))
    _same(*_both(lambda m, x: m.movedim(x, (), ()), np.array(3.0, dtype=np.float32)))
    if not engine.cuda.is_available():
        _raises(lambda m, x: x.pin_memory(), X)
