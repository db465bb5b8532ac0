"""Movement ops (flip ... meshgrid), einsum and the matrix products, erf, bitwise ops, random
draws, comparisons, the default dtype, legacy constructors and in-place forms, against PyTorch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import engine
from tests.engine.gradcheck import check_op

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RNG = np.random.default_rng(17)


def _x(*shape):
    return RNG.standard_normal(shape)


def _same(ours, ref, tol=1e-6):
    """Same dtype, shape and values (a tensor, a tuple of them, or a Python value)."""
    if isinstance(ref, tuple | list):
        assert isinstance(ours, tuple | list) and len(ours) == len(ref)
        for o, r in zip(ours, ref, strict=True):
            _same(o, r, tol)
        return
    if not isinstance(ref, torch.Tensor):
        assert ours == ref and type(ours) is type(ref)
        return
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(
        np.asarray(ours.detach().tolist(), dtype=np.float64),
        np.asarray(ref.detach().tolist(), dtype=np.float64),
        rtol=tol,
        atol=tol,
        equal_nan=True,
    )


def _both(fn, *arrays):
    """fn(lib, *tensors) for lib = engine and torch, the arrays given as tensors of each."""
    ours = fn(engine, *[engine.tensor(a) for a in arrays])
    ref = fn(torch, *[torch.tensor(a) for a in arrays])
    _same(ours, ref)


def _same_error(fn):
    """fn(lib) raises for torch, and the engine raises the same exception type."""
    with pytest.raises(Exception) as ref:  # whatever torch raises
        fn(torch)
    with pytest.raises(type(ref.value)):
        fn(engine)


# ----- movement -------------------------------------------------------------------------
MOVEMENT = {
    "flip": lambda lib, x: x.flip(0, 2),
    "flip_list": lambda lib, x: lib.flip(x, [1]),
    "fliplr": lambda lib, x: lib.fliplr(x),
    "roll": lambda lib, x: lib.roll(x, 2, 1),
    "roll_many": lambda lib, x: x.roll((1, -2), (0, 2)),
    "roll_flat": lambda lib, x: x.roll(3),
    "chunk": lambda lib, x: x.chunk(2, 2),
    "chunk_uneven": lambda lib, x: lib.chunk(x, 3, -1),
    "split_int": lambda lib, x: x.split(2, 2),
    "split_list": lambda lib, x: lib.split(x, [1, 3], dim=2),
    "unbind": lambda lib, x: x.unbind(1),
    "narrow": lambda lib, x: x.narrow(2, 1, 2),
    "narrow_neg": lambda lib, x: lib.narrow(x, -1, -3, 2),
    "repeat": lambda lib, x: x.repeat(2, 1, 3),
    "repeat_more": lambda lib, x: x.repeat(2, 1, 1, 2),
    "tile": lambda lib, x: lib.tile(x, (2,)),
    "tile_method": lambda lib, x: x.tile(2, 1, 1, 1),
    "ri_int": lambda lib, x: x.repeat_interleave(2, dim=1),
    "ri_flat": lambda lib, x: lib.repeat_interleave(x, 2),
    "ri_tensor": lambda lib, x: x.repeat_interleave(lib.tensor([1, 0, 3]), dim=1),
    "tril": lambda lib, x: x.tril(),
    "tril_k": lambda lib, x: lib.tril(x, -1),
    "triu": lambda lib, x: lib.triu(x, 1),
    "triu_neg": lambda lib, x: x.triu(-1),
    "mT": lambda lib, x: x.mT,
}


@pytest.mark.parametrize("name", sorted(MOVEMENT))
def test_movement_grads(name):
    check_op(MOVEMENT[name], _x(2, 3, 4))


@pytest.mark.parametrize("name", sorted(MOVEMENT))
def test_movement_ints(name):
    arr = np.arange(24).reshape(2, 3, 4)
    _both(MOVEMENT[name], arr)


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, v: lib.diag(v),
        lambda lib, v: v.diag(1),
        lambda lib, v: lib.diag(v, -2),
    ],
)
def test_diag_of_vector(fn):
    check_op(fn, _x(3))


@pytest.mark.parametrize("k", [0, 1, -1, 3, -4])
def test_diag_of_matrix_and_trace(k):
    check_op(lambda lib, m: lib.diag(m, k), _x(3, 4))
    check_op(lambda lib, m: m.trace(), _x(3, 4))
    check_op(lambda lib, m: lib.trace(m), _x(4, 2))


def test_trace_dtypes():
    for dt in ("int32", "int64", "uint8", "float64"):
        _both(lambda lib, m: lib.trace(m), np.arange(9).reshape(3, 3).astype(dt))


def test_split_pieces_are_views():
    x = engine.arange(6.0)
    a, b = x.split(3)
    b.add_(1)
    assert x.tolist() == [0, 1, 2, 4, 5, 6]
    assert x.unbind(0)[2]._base is x


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    check_op(lambda lib, a, b, c: lib.meshgrid(a, b, c, indexing=indexing), _x(2), _x(3), _x(4))
    check_op(lambda lib, a, b: lib.meshgrid([a, b], indexing=indexing), _x(2), _x(3))
    _both(lambda lib, a, b: lib.meshgrid(a, b, indexing=indexing), np.arange(2), np.arange(3))


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="indexing"):
        out = engine.meshgrid(engine.arange(2), engine.arange(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.meshgrid(torch.arange(2), torch.arange(3))
    _same(out, ref)


def test_repeat_interleave_of_counts():
    _both(lambda lib, r: lib.repeat_interleave(r), np.array([2, 0, 3]))


MOVEMENT_ERRORS = [
    lambda lib: lib.arange(5).narrow(0, 6, 1),
    lambda lib: lib.arange(5).narrow(0, 3, 3),
    lambda lib: lib.arange(5).narrow(1, 0, 1),
    lambda lib: lib.arange(5).chunk(0),
    lambda lib: lib.tensor(1).chunk(1),
    lambda lib: lib.arange(5).split([2, 2]),
    lambda lib: lib.arange(5).split(0),
    lambda lib: lib.ones(2, 3).repeat(2),
    lambda lib: lib.arange(5).tril(),
    lambda lib: lib.arange(5).triu(),
    lambda lib: lib.ones(2, 3, 4).diag(),
    lambda lib: lib.arange(5).trace(),
    lambda lib: lib.ones(2, 2, dtype=lib.bool).trace(),
    lambda lib: lib.arange(5).mT,
    lambda lib: lib.arange(5).roll(1, (0, 1)),
    lambda lib: lib.arange(5).flip(0, 0),
    lambda lib: lib.arange(5).flip(1),
    lambda lib: lib.arange(5).unbind(1),
    lambda lib: lib.meshgrid(lib.ones(2, 2), lib.ones(2), indexing="ij"),
    lambda lib: lib.meshgrid(lib.ones(2), lib.ones(2, dtype=lib.float64), indexing="ij"),
    lambda lib: lib.meshgrid(lib.ones(2), indexing="foo"),
    lambda lib: lib.repeat_interleave(lib.arange(5), lib.tensor([1, 2])),
    lambda lib: lib.repeat_interleave(lib.arange(5), -1),
]


@pytest.mark.parametrize("fn", MOVEMENT_ERRORS)
def test_movement_errors(fn):
    _same_error(fn)


# ----- einsum -----------------------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iij->ij", [(3, 3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (5, 3, 4)]),
    ("...ij->...ji", [(2, 3, 4)]),
    ("i...->...", [(3, 2, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ik,jk", [(2, 3), (4, 3)]),
    ("bA,Ab->", [(2, 3), (3, 2)]),
    ("i,jk->ijk", [(2,), (3, 1)]),
    ("ij,k->i", [(2, 3), (4,)]),
    (" i j , j k -> i k ", [(2, 3), (3, 2)]),
    ("iji->j", [(2, 4, 2)]),
    ("aab,bc->ac", [(2, 2, 3), (3, 4)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("ij,ij,ij->i", [(2, 3), (1, 3), (2, 1)]),
    ("abc,cd,de->abe", [(2, 2, 3), (3, 4), (4, 2)]),
    ("ab,ab->", [(1, 1), (2, 3)]),
    ("k,...->...k", [(3,), (2, 2)]),
]


@pytest.mark.parametrize(("eq", "shapes"), EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes):
    check_op(lambda lib, *ops: lib.einsum(eq, *ops), *[_x(*s) for s in shapes])


def test_einsum_list_and_ints():
    check_op(lambda lib, a, b: lib.einsum("ij,jk->ik", [a, b]), _x(2, 3), _x(3, 2))
    _both(
        lambda lib, a, b: lib.einsum("ij,jk", a, b),
        np.arange(6).reshape(2, 3),
        np.ones((3, 2), int),
    )


@pytest.mark.parametrize("eq", ["i->", "ij->ji", "ij->j", "i,i->i", "i,j->ij", "ii->i"])
def test_einsum_bools(eq):
    ops = [np.array([[True, False], [True, True]])] if "ii" in eq else []
    if not ops:
        ops = [np.array([True, False, True])] if "j" not in eq else [np.ones((2, 3), bool)]
    if "," in eq:
        ops = [np.array([True, False, True]), np.array([True, True, False])]
    _both(lambda lib, *t: lib.einsum(eq, *t), *ops)


EINSUM_ERRORS = [
    lambda lib: lib.einsum("ij,jk", lib.ones(2, 3), lib.ones(3, 4, dtype=lib.float64)),
    lambda lib: lib.einsum("ij,jk", lib.ones(2, 3), lib.ones(4, 4)),
    lambda lib: lib.einsum("ij,jk", lib.ones(2, 3)),
    lambda lib: lib.einsum("ij", lib.ones(2, 3), lib.ones(2)),
    lambda lib: lib.einsum("ij->k", lib.ones(2, 3)),
    lambda lib: lib.einsum("ij->ii", lib.ones(2, 3)),
    lambda lib: lib.einsum("ij", lib.ones(2, 3, 4)),
    lambda lib: lib.einsum("i1", lib.ones(2, 3)),
    lambda lib: lib.einsum("ii->i", lib.ones(2, 3)),
    lambda lib: lib.einsum("ij..k", lib.ones(2, 3, 4)),
    lambda lib: lib.einsum("i,i->", lib.ones(2, dtype=lib.bool), lib.ones(2, dtype=lib.bool)),
]


@pytest.mark.parametrize("fn", EINSUM_ERRORS)
def test_einsum_errors(fn):
    _same_error(fn)


# ----- bmm, dot, outer, mv, addmm ----------------------------------------------------------
def test_products_grads():
    check_op(lambda lib, a, b: lib.bmm(a, b), _x(2, 3, 4), _x(2, 4, 5))
    check_op(lambda lib, a, b: a.bmm(b), _x(1, 2, 2), _x(1, 2, 3))
    check_op(lambda lib, a, b: lib.dot(a, b), _x(4), _x(4))
    check_op(lambda lib, a, b: a.dot(b), _x(3), _x(3))
    check_op(lambda lib, a, b: lib.outer(a, b), _x(3), _x(4))
    check_op(lambda lib, a, b: a.outer(b), _x(2), _x(2))
    check_op(lambda lib, a, b: lib.mv(a, b), _x(3, 4), _x(4))
    check_op(lambda lib, a, b: a.mv(b), _x(2, 2), _x(2))


@pytest.mark.parametrize("shape", [(2, 5), (5,), (1, 5), (2, 1), ()])
@pytest.mark.parametrize(("beta", "alpha"), [(1, 1), (0.5, 2.0), (0, 1.5)])
def test_addmm(shape, beta, alpha):
    c = _x(*shape) if shape else np.asarray(_x(1)[0])
    check_op(lambda lib, c, a, b: lib.addmm(c, a, b, beta=beta, alpha=alpha), c, _x(2, 3), _x(3, 5))
    check_op(lambda lib, c, a, b: c.addmm(a, b, alpha=alpha), c, _x(2, 3), _x(3, 5))


def test_addmm_beta_zero_drops_nan():
    c = [[float("nan")] * 2] * 2
    _same(
        engine.addmm(engine.tensor(c), engine.eye(2), engine.eye(2), beta=0),
        torch.addmm(torch.tensor(c), torch.eye(2), torch.eye(2), beta=0),
    )


def test_products_ints_and_promotion():
    _both(lambda lib, a, b: lib.dot(a, b), np.arange(3), np.arange(3))
    _both(lambda lib, a, b: lib.outer(a, b), np.arange(3), np.ones(2))
    _both(lambda lib, a, b: lib.mv(a, b), np.arange(6).reshape(2, 3), np.arange(3))
    _both(lambda lib, a, b: lib.bmm(a, b), np.ones((2, 2, 3), int), np.ones((2, 3, 1), int))


PRODUCT_ERRORS = [
    lambda lib: lib.dot(lib.ones(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.dot(lib.ones(3), lib.ones(4)),
    lambda lib: lib.dot(lib.ones(2, 2), lib.ones(3)),
    lambda lib: lib.outer(lib.ones(2, 2), lib.ones(3)),
    lambda lib: lib.mv(lib.ones(2, 3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.mv(lib.ones(2, 3), lib.ones(2)),
    lambda lib: lib.bmm(lib.ones(2, 2, 3), lib.ones(3, 3, 3)),
    lambda lib: lib.bmm(lib.ones(2, 3), lib.ones(3, 3)),
    lambda lib: lib.bmm(lib.ones(2, 2, 3), lib.ones(2, 4, 3)),
    lambda lib: lib.bmm(lib.ones(2, 2, 3), lib.ones(2, 3, 3, dtype=lib.float64)),
    lambda lib: lib.bmm(lib.ones(1, 2, 2, dtype=lib.bool), lib.ones(1, 2, 2, dtype=lib.bool)),
    lambda lib: lib.addmm(lib.ones(2), lib.ones(2, 3), lib.ones(3, 3)),
    lambda lib: lib.addmm(lib.ones(3, dtype=lib.float64), lib.ones(2, 3), lib.ones(3, 3)),
    lambda lib: lib.addmm(lib.ones(3), lib.ones(2, 3), lib.ones(2, 3)),
    lambda lib: lib.addmm(lib.ones(3), lib.ones(3), lib.ones(3, 3)),
]


@pytest.mark.parametrize("fn", PRODUCT_ERRORS)
def test_product_errors(fn):
    _same_error(fn)


# ----- erf --------------------------------------------------------------------------------
def test_erf_accuracy_float64():
    xs = np.concatenate(
        [
            np.linspace(-7, 7, 20001),
            np.geomspace(1e-300, 1, 400),
            -np.geomspace(1e-300, 1, 40),
            [0.0, -0.0, 2.4999999, 2.5, 3.5, 5.0, 26.0, 1e300, np.inf, -np.inf, np.nan],
        ]
    )
    ours = engine.erf(engine.tensor(xs)).numpy()
    ref = torch.erf(torch.tensor(xs)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-15, atol=1e-300, equal_nan=True)
    exact = np.array([math.erf(v) for v in xs[:2000]])
    np.testing.assert_allclose(ours[:2000], exact, rtol=2e-15, atol=0)
    assert math.copysign(1.0, ours[-10]) == -1.0  # erf(-0.0) is -0.0


def test_erf_grads_and_dtypes():
    check_op(lambda lib, x: lib.erf(x), _x(3, 4) * 2)
    check_op(lambda lib, x: x.erf(), _x(5))
    _both(lambda lib, x: lib.erf(x), np.array([-2, 0, 1]))
    _both(lambda lib, x: lib.erf(x), np.array([True, False]))
    _both(lambda lib, x: x.float().erf(), np.linspace(-4, 4, 101))


# ----- bitwise ------------------------------------------------------------------------------
VALUES = {
    "int64": np.array([5, 3, -2, 0, 127]),
    "int32": np.array([1, -1, 7, 8, 9], dtype=np.int32),
    "uint8": np.array([200, 3, 1, 0, 255], dtype=np.uint8),
    "int8": np.array([-128, 3, 1, 0, 64], dtype=np.int8),
    "bool": np.array([True, False, True, False, True]),
}
BITWISE = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "lshift": lambda a, b: a << (b & 7),
    "rshift": lambda a, b: a >> (b & 7),
}


PAIRS = [
    (op, left, right)
    for op in sorted(BITWISE)
    for left in sorted(VALUES)
    for right in ["int64", "uint8", "bool", "int8"]
    if op in ("and", "or", "xor") or "bool" not in (left, right)  # shifts mask b with & 7
]


@pytest.mark.parametrize(("op", "left", "right"), PAIRS)
def test_bitwise_pairs(op, left, right):
    _both(lambda lib, a, b: BITWISE[op](a, b), VALUES[left], VALUES[right])


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, a: a & 3,
        lambda lib, a: 3 & a,
        lambda lib, a: a | True,
        lambda lib, a: 6 ^ a,
        lambda lib, a: a << 2,
        lambda lib, a: 2 << (a & 3),
        lambda lib, a: a >> 1,
        lambda lib, a: 100 >> (a & 3),
        lambda lib, a: ~a,
        lambda lib, a: lib.bitwise_not(a),
        lambda lib, a: lib.bitwise_and(a, 6),
        lambda lib, a: lib.bitwise_or(a, a),
        lambda lib, a: lib.bitwise_xor(a, -1),
        lambda lib, a: lib.bitwise_left_shift(a, 3),
        lambda lib, a: lib.bitwise_right_shift(a, 2),
        lambda lib, a: a.bitwise_and(1),
        lambda lib, a: a << 70,
        lambda lib, a: a << -1,
        lambda lib, a: a >> 70,
        lambda lib, a: a >> -3,
    ],
)
@pytest.mark.parametrize("dt", ["int64", "uint8", "int8", "bool"])
def test_bitwise_scalars(fn, dt):
    _both(fn, VALUES[dt])


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.tensor([1, 2]) & lib.tensor([1.0, 2.0]),
        lambda lib: lib.tensor([1.0]) & 1,
        lambda lib: lib.tensor([1]) & 1.5,
        lambda lib: lib.tensor([1.0]) | lib.tensor([1.0]),
        lambda lib: ~lib.tensor([1.0]),
        lambda lib: lib.bitwise_not(lib.tensor([1.0])),
        lambda lib: lib.tensor([1.0]) << 1,
        lambda lib: lib.tensor([1]) >> 1.5,
        lambda lib: lib.tensor([1.0]).bitwise_xor(lib.tensor([1.0])),
    ],
)
def test_bitwise_float_errors(fn):
    _same_error(fn)


def test_bitwise_in_place():
    for lib in (engine, torch):
        x = lib.tensor([5, 3, 12])
        x &= 6
        x |= 1
        x ^= lib.tensor([1, 1, 0])
        x <<= 2
        x >>= 1
        x.bitwise_not_()
        x.bitwise_and_(lib.tensor(-3))
        x.bitwise_or_(8)
        x.bitwise_xor_(1)
        x.bitwise_left_shift_(1)
        x.bitwise_right_shift_(1)
        if lib is engine:
            ours = x
        else:
            _same(ours, x)
    _same_error(lambda lib: lib.tensor([True]).__ior__(lib.tensor([3])))
    b = engine.tensor([True, False])
    b &= engine.tensor([True, True])
    assert b.tolist() == [True, False] and b.dtype == engine.bool


# ----- random draws -------------------------------------------------------------------------
def test_normal_forms():
    engine.manual_seed(3)
    a = engine.normal(engine.zeros(2, 3), engine.ones(2, 3))
    b = engine.normal(0.0, 1.0, (2, 3))
    c = engine.normal(engine.zeros(3, dtype=engine.float64), 2.0)
    d = engine.normal(1.0, engine.ones(4))
    e = engine.normal(engine.zeros(2, 1), engine.ones(3))
    engine.manual_seed(3)
    again = engine.normal(engine.zeros(2, 3), engine.ones(2, 3))
    assert a.tolist() == again.tolist()
    assert [t.dtype for t in (a, b, c, d)] == [engine.float32] * 2 + [
        engine.float64,
        engine.float32,
    ]
    assert [tuple(t.shape) for t in (a, b, c, d, e)] == [(2, 3), (2, 3), (3,), (4,), (2, 3)]
    big = engine.normal(2.0, 3.0, (20000,), dtype=engine.float64)
    assert abs(big.mean().item() - 2.0) < 0.1 and abs(big.std().item() - 3.0) < 0.1
    assert engine.normal(5.0, engine.zeros(3)).tolist() == [5.0, 5.0, 5.0]


def test_normal_and_bernoulli_grads_are_zero():
    for lib in (engine, torch):
        m = lib.zeros(3, requires_grad=True)
        s = lib.ones(3, requires_grad=True)
        lib.normal(m, s).sum().backward()
        p = lib.full((3,), 0.5, requires_grad=True)
        out = lib.bernoulli(p)
        assert out.requires_grad
        out.sum().backward()
        assert m.grad.tolist() == s.grad.tolist() == p.grad.tolist() == [0.0] * 3


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.normal(0.0, -1.0, (2,)),
        lambda lib: lib.normal(lib.zeros(3), -lib.ones(3)),
        lambda lib: lib.normal(lib.zeros(3, dtype=lib.int64), 1.0),
        lambda lib: lib.normal(lib.zeros(3), lib.ones(2)),
        lambda lib: lib.bernoulli(lib.tensor([2.0])),
        lambda lib: lib.bernoulli(lib.tensor([1, 0])),
        lambda lib: lib.zeros(3).bernoulli_(2.0),
        lambda lib: lib.multinomial(lib.tensor([1.0, -2.0]), 1),
        lambda lib: lib.multinomial(lib.tensor([1.0, 2.0]), 3),
        lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
        lambda lib: lib.multinomial(lib.zeros(2), 1),
        lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
        lambda lib: lib.multinomial(lib.ones(2), 0),
    ],
)
def test_draw_errors(fn):
    _same_error(fn)


def test_bernoulli():
    engine.manual_seed(0)
    probs = engine.tensor([0.0, 1.0, 0.0, 1.0])
    assert engine.bernoulli(probs).tolist() == [0.0, 1.0, 0.0, 1.0]
    assert probs.bernoulli().dtype == engine.float32
    many = engine.bernoulli(engine.full((20000,), 0.3, dtype=engine.float64))
    assert many.dtype == engine.float64 and abs(many.mean().item() - 0.3) < 0.02
    ints = engine.zeros(1000, dtype=engine.int64).bernoulli_(0.5)
    assert ints.dtype == engine.int64 and set(ints.tolist()) == {0, 1}
    x = engine.zeros(1000).bernoulli_(engine.full((1000,), 1.0))
    assert x.tolist() == [1.0] * 1000
    engine.manual_seed(5)
    a = engine.rand(50).bernoulli()
    engine.manual_seed(5)
    assert engine.rand(50).bernoulli().tolist() == a.tolist()


def test_multinomial():
    engine.manual_seed(1)
    w = engine.tensor([1.0, 2.0, 0.0, 3.0])
    no_rep = engine.multinomial(w, 3)
    assert sorted(no_rep.tolist()) == [0, 1, 3] and no_rep.dtype == engine.int64
    assert sorted(engine.multinomial(w, 4).tolist()) == [0, 1, 2, 3]
    assert engine.multinomial(w, 4).tolist()[-1] == 2  # zero weight comes last
    rep = w.multinomial(30000, replacement=True)
    counts = np.bincount(rep.numpy(), minlength=4) / 30000
    np.testing.assert_allclose(counts, [1 / 6, 2 / 6, 0, 3 / 6], atol=0.02)
    rows = engine.multinomial(engine.tensor([[0.0, 1.0], [1.0, 0.0]]), 1)
    assert rows.tolist() == [[1], [0]]
    engine.manual_seed(9)
    a = engine.multinomial(engine.ones(10), 5)
    engine.manual_seed(9)
    assert engine.multinomial(engine.ones(10), 5).tolist() == a.tolist()


def test_random_and_exponential_in_place():
    engine.manual_seed(2)
    x = engine.zeros(2000).random_(3, 7)
    assert set(x.tolist()) == {3.0, 4.0, 5.0, 6.0} and x.dtype == engine.float32
    y = engine.zeros(2000, dtype=engine.int64).random_(4)
    assert set(y.tolist()) == {0, 1, 2, 3}
    z = engine.zeros(20000, dtype=engine.float64).exponential_(2.0)
    assert z.min().item() >= 0 and abs(z.mean().item() - 0.5) < 0.03


# ----- comparisons --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.equal(lib.tensor([1]), lib.tensor([1.0])),
        lambda lib: lib.equal(lib.tensor([1]), lib.tensor([1, 1])),
        lambda lib: lib.equal(lib.tensor([float("nan")]), lib.tensor([float("nan")])),
        lambda lib: lib.tensor([[1, 2]]).equal(lib.tensor([[1, 2]])),
        lambda lib: lib.isclose(
            lib.tensor([1.0, float("nan"), float("inf"), -float("inf"), 1.0, 0.0]),
            lib.tensor([1.00001, float("nan"), float("inf"), float("inf"), 1.1, 1e-9]),
        ),
        lambda lib: lib.isclose(
            lib.tensor([1.0, float("nan")]), lib.tensor([1.0, float("nan")]), equal_nan=True
        ),
        lambda lib: lib.isclose(lib.tensor([1, 5]), lib.tensor([2, 5]), atol=1),
        lambda lib: lib.isclose(lib.tensor([1, 5]), lib.tensor([2, 5])),
        lambda lib: lib.tensor([1.0, 2.0]).isclose(lib.tensor([1.1, 2.0]), rtol=0.2),
        lambda lib: lib.isclose(lib.tensor([True, False]), lib.tensor([True, True])),
        lambda lib: lib.allclose(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.000001])),
        lambda lib: lib.allclose(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.1])),
        lambda lib: lib.tensor([1.0]).allclose(lib.tensor([1.0, 1.0])),
    ],
)
def test_comparisons(fn):
    _same(fn(engine), fn(torch))


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.isclose(lib.tensor([1.0]), lib.tensor([1.0], dtype=lib.float64)),
        lambda lib: lib.isclose(lib.tensor([1.0]), lib.tensor([2.0]), rtol=-1),
        lambda lib: lib.allclose(lib.tensor([1]), lib.tensor([1.0])),
        lambda lib: lib.allclose(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.0, 3.0])),
    ],
)
def test_comparison_errors(fn):
    _same_error(fn)


# ----- factories, default dtype, legacy constructors --------------------------------------
def test_like_factories_and_new_full():
    for lib_fn in (
        lambda lib: lib.empty_like(lib.zeros(2, 3, dtype=lib.int32)).shape,
        lambda lib: lib.empty_like(lib.zeros(2), dtype=lib.float64).dtype,
        lambda lib: lib.randint_like(lib.zeros(2, dtype=lib.float64), 5).dtype,
        lambda lib: lib.randint_like(lib.zeros(4), 3, 5).shape,
    ):
        assert str(lib_fn(engine)).split(".")[-1].replace("Size", "") == str(lib_fn(torch)).split(
            "."
        )[-1].replace("Size", "")
    engine.manual_seed(4)
    r = engine.randint_like(engine.zeros(1000), 3, 5)
    assert set(r.tolist()) == {3.0, 4.0}
    _same(engine.zeros(2).new_full((2, 3), 7), torch.zeros(2).new_full((2, 3), 7))
    _same(
        engine.zeros(2, dtype=engine.int64).new_full((2,), 7.5),
        torch.zeros(2, dtype=torch.int64).new_full((2,), 7.5),
    )
    _same(
        engine.zeros(1).new_full([3], 2, dtype=engine.float64),
        torch.zeros(1).new_full([3], 2, dtype=torch.float64),
    )
    assert engine.zeros(1).new_full((2,), 1.0, requires_grad=True).requires_grad


@pytest.fixture
def float64_default():
    engine.set_default_dtype(engine.float64)
    try:
        yield
    finally:
        engine.set_default_dtype(engine.float32)


def test_set_default_dtype(float64_default):
    assert engine.get_default_dtype() == engine.float64
    made = [
        engine.tensor([1.0]),
        engine.zeros(2),
        engine.ones(2),
        engine.empty(1),
        engine.full((2,), 1.5),
        engine.rand(2),
        engine.randn(2),
        engine.arange(0.0, 1.0, 0.5),
        engine.linspace(0, 1, 3),
        engine.eye(2),
        engine.tensor([1, 2]) / 2,
        engine.tensor([1, 2]) * 0.5,
        engine.tensor([1, 2]).exp(),
        engine.Tensor([1.0]),
        engine.nn.Linear(2, 3).weight,
        engine.nn.Conv2d(1, 1, 3).bias,
    ]
    assert all(t.dtype == engine.float64 for t in made), [t.dtype for t in made]
    assert engine.tensor([1.0], dtype=engine.float32).dtype == engine.float32
    assert engine.tensor([1]).dtype == engine.int64
    assert "dtype" not in repr(engine.tensor([1.0]))
    assert "dtype=engine.float32" in repr(engine.tensor([1.0], dtype=engine.float32))


def test_default_dtype_back_and_errors():
    assert engine.get_default_dtype() == engine.float32
    assert engine.tensor([1.0]).dtype == engine.float32
    _same_error(lambda lib: lib.set_default_dtype(lib.int64))
    _same_error(lambda lib: lib.set_default_dtype(lib.bool))
    assert engine.get_default_dtype() == engine.float32


def test_legacy_constructors():
    for name, args in [
        ("LongTensor", ([1, 2],)),
        ("FloatTensor", ([[1, 2]],)),
        ("FloatTensor", ()),
        ("DoubleTensor", ([1.5],)),
        ("ByteTensor", ([1, 2],)),
        ("BoolTensor", ([1, 0],)),
        ("IntTensor", ([3],)),
        ("LongTensor", ([1.7],)),
    ]:
        _same(getattr(engine, name)(*args), getattr(torch, name)(*args))
    for name, args in [("FloatTensor", (2, 3)), ("IntTensor", (3,)), ("FloatTensor", ((2, 3),))]:
        ours = getattr(engine, name)(*[engine.Size(a) if isinstance(a, tuple) else a for a in args])
        ref = getattr(torch, name)(*[torch.Size(a) if isinstance(a, tuple) else a for a in args])
        assert tuple(ours.shape) == tuple(ref.shape) and str(ours.dtype)[7:] == str(ref.dtype)[6:]
    _same_error(lambda lib: lib.FloatTensor(lib.tensor([1, 2])))
    _same_error(lambda lib: lib.FloatTensor(2, 3.0))
    assert isinstance(engine.zeros(2), engine.FloatTensor)
    assert not isinstance(engine.zeros(2, dtype=engine.int64), engine.FloatTensor)
    assert isinstance(engine.zeros(2, dtype=engine.int64), engine.LongTensor)
    assert isinstance(engine.FloatTensor([1.0]), engine.Tensor)
    assert engine.zeros(2).type(engine.LongTensor).dtype == engine.int64


# ----- in-place forms -------------------------------------------------------------------------
IN_PLACE = {
    "erf_": lambda x: x.erf_(),
    "tril_": lambda x: x.tril_(),
    "triu_": lambda x: x.triu_(1),
    "clip_": lambda x: x.clip_(-0.5, 0.5),
    "eq_": lambda x: x.eq_(0.0),
    "ne_": lambda x: x.ne_(x[0, 0].item()),
    "lt_": lambda x: x.lt_(0.0),
    "le_": lambda x: x.le_(0.1),
    "gt_": lambda x: x.gt_(0.0),
    "ge_": lambda x: x.ge_(-0.1),
    "addmm_": lambda x: x.addmm_(x.new_ones(3, 2), x.new_ones(2, 3), alpha=2.0),
    "mod": lambda x: x.__imod__(0.3),
    "floordiv": lambda x: x.__ifloordiv__(0.3),
    "ipow": lambda x: x.__ipow__(2),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place(name):
    arr = _x(3, 3)
    ours, ref = engine.tensor(arr), torch.tensor(arr)
    out = IN_PLACE[name](ours)
    IN_PLACE[name](ref)
    assert out is ours
    _same(ours, ref)


@pytest.mark.parametrize("name", ["erf_", "tril_", "triu_", "clip_", "addmm_", "eq_", "gt_"])
def test_in_place_grads(name):
    grads, arr = [], _x(3, 3)
    for lib in (engine, torch):
        leaf = lib.tensor(arr, requires_grad=True)
        y = leaf * 1.5
        IN_PLACE[name](y)
        (y * lib.arange(9.0, dtype=lib.float64).reshape(3, 3)).sum().backward()
        grads.append(leaf.grad)
    _same(grads[0], grads[1])


@pytest.mark.gpu
def test_on_cuda():
    """The ops without a gradient check run on cuda, give the CPU's values and stay there."""
    ints = engine.tensor([5, 3, -2, 0])
    cases = [
        lambda x: x & 3,
        lambda x: 6 | x,
        lambda x: x ^ x,
        lambda x: ~x,
        lambda x: x << 70,
        lambda x: x >> 1,
        lambda x: engine.isclose(x, x + 1, atol=1),
        lambda x: engine.repeat_interleave(x.abs()),
        lambda x: x.float().erf(),
        lambda x: x.flip(0).roll(1),
        lambda x: engine.einsum("i,j->ij", x, x),
    ]
    for fn in cases:
        on_gpu = fn(ints.cuda())
        assert on_gpu.is_cuda
        _same(on_gpu.cpu(), torch.tensor(fn(ints).tolist()))
    assert engine.equal(ints.cuda(), ints.cuda())
    for seed_draw in (
        lambda: engine.normal(engine.zeros(3).cuda(), 1.0),
        lambda: engine.bernoulli(engine.full((4,), 0.5).cuda()),
        lambda: engine.multinomial(engine.ones(4).cuda(), 2),
    ):
        engine.manual_seed(8)
        a = seed_draw()
        engine.manual_seed(8)
        assert a.is_cuda and a.cpu().tolist() == seed_draw().cpu().tolist()


VIEW_IN_PLACE = {
    "t_": lambda x: x.t_(),
    "transpose_": lambda x: x.transpose_(0, -1),
    "unsqueeze_": lambda x: x.unsqueeze_(1),
    "squeeze_": lambda x: x.unsqueeze_(0).squeeze_(0),
    "squeeze_all": lambda x: x.unsqueeze_(-1).squeeze_(),
}


@pytest.mark.parametrize("name", sorted(VIEW_IN_PLACE))
def test_view_in_place(name):
    arr = _x(2, 3)
    grads, results = [], []
    for lib in (engine, torch):
        leaf = lib.tensor(arr, requires_grad=True)
        y = leaf * 2
        out = VIEW_IN_PLACE[name](y)
        assert out is y
        results.append(y)
        (y * lib.arange(6.0, dtype=lib.float64).reshape(y.shape)).sum().backward()
        grads.append(leaf.grad)
        plain = lib.arange(6.0).reshape(2, 3)
        view = plain[0]
        VIEW_IN_PLACE[name](view)
        view.view(-1)[0:1] = 100.0
        results.append(plain)
    _same_error(lambda lib: VIEW_IN_PLACE[name](lib.ones(2, 3, requires_grad=True)))
    _same(results[0], results[2])
    _same(results[1], results[3])
    _same(grads[0], grads[1])
