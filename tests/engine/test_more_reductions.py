"""Order statistics, NaN-aware reductions, running extrema, differences, histograms and
searches against PyTorch: values, dtypes, shapes, gradients and bad input's exceptions."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.engine.gradcheck import Const, check_op

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

NAN = float("nan")
RNG = np.random.default_rng(23)
X = RNG.uniform(-2, 2, (3, 5))  # distinct values: the order statistics are smooth here
X4 = RNG.uniform(-2, 2, (3, 4))
X3 = RNG.uniform(-2, 2, (2, 3, 4))
V = RNG.uniform(-2, 2, 7)
WITH_NAN = np.array([[0.5, NAN, 1.5, -2.0, 0.3], [0.1, 1.2, 0.4, 0.8, -0.6], [NAN] * 5])
REPEATS = np.array([[1.0, 2, 2, 1, 3, 3], [4, 4, 1, 1, 1, 0], [5, 6, 7, 8, 9, 5]])
TIES = np.array([[1.0, 3, 3, 2, 0, 3], [2, 2, 1, 1, 4, 0]])


def _lib_args(lib, values):
    return [lib.tensor(v) if isinstance(v, np.ndarray) else v for v in values]


def _same(ours, ref) -> None:
    if isinstance(ref, tuple | list):
        assert isinstance(ours, tuple | list) and len(ours) == len(ref), (ours, ref)
        for o, r in zip(ours, ref, strict=True):
            _same(o, r)
        return
    if not isinstance(ref, torch.Tensor):
        assert ours == ref
        return
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], (ours, ref)
    assert tuple(ours.shape) == tuple(ref.shape), (ours.shape, ref.shape)
    np.testing.assert_allclose(
        ours.detach().numpy().astype(np.float64),
        ref.detach().numpy().astype(np.float64),
        rtol=1e-6,
        atol=1e-6,
        equal_nan=True,
    )


def _forward(fn, *values) -> None:
    _same(fn(engine, *_lib_args(engine, values)), fn(torch, *_lib_args(torch, values)))


def _raises_alike(fn, *values) -> None:
    with pytest.raises(Exception) as ref:
        fn(torch, *_lib_args(torch, values))
    with pytest.raises(type(ref.value)):
        fn(engine, *_lib_args(engine, values))


GRADIENTS = {
    "median_all": (lambda lib, x: lib.median(x), X),
    "median_dim": (lambda lib, x: tuple(lib.median(x, 1)), X),
    "median_dim0_keepdim": (lambda lib, x: tuple(x.median(0, keepdim=True)), X),
    "nanmedian_dim": (lambda lib, x: tuple(lib.nanmedian(x, -1)), X3),
    "kthvalue": (lambda lib, x: tuple(lib.kthvalue(x, 2, 1)), X),
    "kthvalue_keepdim": (lambda lib, x: tuple(x.kthvalue(3, 0, True)), X),
    "msort": (lambda lib, x: lib.msort(x), X),
    "quantile_all": (lambda lib, x: lib.quantile(x, 0.3), X),
    "quantile_dim": (lambda lib, x: x.quantile(0.7, dim=1, keepdim=True), X),
    "quantile_qs_dim": (
        lambda lib, x, q: lib.quantile(x, q, dim=0),
        X,
        Const(np.array([0.1, 0.5, 0.95])),
    ),
    "quantile_lower": (lambda lib, x: lib.quantile(x, 0.3, 1, interpolation="lower"), X),
    "quantile_higher": (lambda lib, x: lib.quantile(x, 0.3, 1, interpolation="higher"), X),
    "quantile_midpoint": (lambda lib, x: lib.quantile(x, 0.3, 1, interpolation="midpoint"), X),
    "quantile_nearest": (lambda lib, x: lib.quantile(x, 0.4, 1, interpolation="nearest"), X),
    "nanquantile": (lambda lib, x: lib.nanquantile(x, 0.6, dim=-1), X3),
    "nansum": (lambda lib, x: lib.nansum(x, 1), X),
    "nanmean": (lambda lib, x: x.nanmean(dim=(0, 2), keepdim=True), X3),
    "std_mean": (lambda lib, x: lib.std_mean(x, 1), X),
    "var_mean": (lambda lib, x: lib.var_mean(x, (0, 1), correction=0, keepdim=True), X3),
    "var_mean_all": (lambda lib, x: lib.var_mean(x, False), X),
    "cummax": (lambda lib, x: tuple(lib.cummax(x, 1)), X),
    "cummin": (lambda lib, x: tuple(x.cummin(0)), X3),
    "logcumsumexp": (lambda lib, x: lib.logcumsumexp(x, 1), X),
    "logcumsumexp_dim0": (lambda lib, x: x.logcumsumexp(0), X3),
    "diff": (lambda lib, x: lib.diff(x), X),
    "diff_n2_dim0": (lambda lib, x: x.diff(2, 0), X3),
    "diff_prepend_append": (lambda lib, x, p: lib.diff(x, 1, 0, p, p), X, X[:1]),
    "trapezoid": (lambda lib, y: lib.trapezoid(y), X),
    "trapezoid_dx": (lambda lib, y: lib.trapezoid(y, dx=0.5, dim=0), X),
    "trapezoid_x": (lambda lib, y, x: lib.trapezoid(y, x, dim=1), X, np.sort(V[:5])),
    "cumulative_trapezoid": (lambda lib, y: lib.cumulative_trapezoid(y, dx=0.3), X),
    "cumulative_trapezoid_x": (
        lambda lib, y, x: lib.cumulative_trapezoid(y, x, dim=0),
        X,
        np.sort(V[:3]),
    ),
    "trapz_x_nd": (lambda lib, y, x: lib.trapz(y, x), X, np.sort(X, axis=1)),
    "aminmax": (lambda lib, x: tuple(lib.aminmax(x, dim=1)), X),
    "aminmax_all": (lambda lib, x: tuple(x.aminmax()), X),
}


@pytest.mark.parametrize("name", list(GRADIENTS))
def test_gradients(name):
    fn, *inputs = GRADIENTS[name]
    check_op(fn, *inputs)


FORWARD = {
    "median_nan": (lambda lib, x: (lib.median(x), tuple(lib.median(x, 1))), WITH_NAN),
    "nanmedian_nan": (lambda lib, x: (lib.nanmedian(x), tuple(x.nanmedian(1)[:1])), WITH_NAN),
    "median_int": (lambda lib, x: (x.median(), x.median(0).values), REPEATS.astype(np.int64)),
    "median_0d": (lambda lib, x: tuple(lib.median(x, 0)), np.array(2.5)),
    "median_empty": (lambda lib, x: lib.median(x), np.zeros(0)),
    "mode": (lambda lib, x: tuple(lib.mode(x, 1)), REPEATS),
    "mode_nan": (
        lambda lib, x: (tuple(lib.mode(x)), tuple(lib.mode(x[2:]))),
        np.array([[1.0, 2, NAN, NAN], [NAN, 3, 3, NAN], [NAN, NAN, NAN, NAN]]),
    ),
    "mode_dim0": (lambda lib, x: tuple(x.mode(0, keepdim=True)), REPEATS.astype(np.int64)),
    "quantile_nan": (lambda lib, x: lib.quantile(x, 0.5, 1), WITH_NAN),
    "nanquantile_nan": (lambda lib, x: lib.nanquantile(x, 0.25, 1), WITH_NAN),
    "nanquantile_all": (lambda lib, x: lib.nanquantile(x, 0.5), WITH_NAN),
    "nansum_nan": (lambda lib, x: (lib.nansum(x), x.nansum(1)), WITH_NAN),
    "nansum_int": (lambda lib, x: lib.nansum(x), REPEATS.astype(np.int64)),
    "nanmean_nan": (lambda lib, x: (lib.nanmean(x), x.nanmean(1)), WITH_NAN),
    "cummax_ties_nan": (
        lambda lib, x: tuple(lib.cummax(x, 0)),
        np.array([1.0, 3, 3, 2, NAN, 5, NAN]),
    ),
    "cummin_ties": (lambda lib, x: tuple(lib.cummin(x, 1)), TIES),
    "cummax_int": (lambda lib, x: tuple(lib.cummax(x, 1)), REPEATS.astype(np.int64)),
    "logcumsumexp_far": (lambda lib, x: lib.logcumsumexp(x, 0), np.array([-1000.0, 0, 1000])),
    "diff_int": (lambda lib, x: lib.diff(x, 2), REPEATS.astype(np.int64)),
    "diff_bool": (lambda lib, x: lib.diff(x), np.array([True, False, False, True])),
    "diff_n_past_length": (lambda lib, x: lib.diff(x, 9), X),
    "trapezoid_int": (lambda lib, y: lib.trapezoid(y), np.array([1, 2, 4])),
    "histc": (lambda lib, x: lib.histc(x, 6, -1.5, 1.5), X),
    "histc_auto_range": (lambda lib, x: x.histc(bins=4), X),
    "histc_constant": (lambda lib, x: lib.histc(x, 4), np.full(3, 2.0, dtype=np.float32)),
    "bincount": (lambda lib, x: lib.bincount(x), np.array([0, 3, 3, 1, 7])),
    "bincount_minlength": (lambda lib, x: x.bincount(minlength=10), np.array([0, 3, 3, 1])),
    "bincount_weights": (
        lambda lib, x, w: (lib.bincount(x, w), lib.bincount(x, w.float()), x.bincount(x)),
        np.array([0, 3, 3, 1]),
        np.array([0.5, 1.0, 2.0, 4.0]),
    ),
    "bincount_empty": (lambda lib, x: lib.bincount(x), np.zeros(0, dtype=np.int64)),
    "bucketize": (
        lambda lib, x, b: (
            lib.bucketize(x, b),
            lib.bucketize(x, b, right=True),
            lib.bucketize(x, b, out_int32=True),
        ),
        np.array([[0.0, 1, 2.5], [3, 5, 9]]),
        np.array([1.0, 3, 5, 7]),
    ),
    "bucketize_scalar": (lambda lib, b: lib.bucketize(3, b), np.array([1, 3, 5, 7])),
    "searchsorted": (
        lambda lib, s, x: (
            lib.searchsorted(s, x),
            lib.searchsorted(s, x, right=True),
            lib.searchsorted(s, x, side="right", out_int32=True),
        ),
        np.array([1.0, 3, 5, 7]),
        np.array([[0.0, 3, 6], [7, 8, 1]]),
    ),
    "searchsorted_rows": (
        lambda lib, s, x: lib.searchsorted(s, x, right=True),
        np.array([[1.0, 3, 5, 7], [2, 4, 6, 8]]),
        np.array([[3.0, 6], [9, 1]]),
    ),
    "searchsorted_sorter": (
        lambda lib, s, x: lib.searchsorted(s, x, sorter=lib.argsort(s)),
        np.array([5.0, 1, 7, 3]),
        np.array([2.0, 6]),
    ),
    "unique_consecutive": (
        lambda lib, x: lib.unique_consecutive(x, return_inverse=True, return_counts=True),
        np.array([[1, 1, 2], [2, 3, 1]]),
    ),
    "unique_consecutive_plain": (lambda lib, x: x.unique_consecutive(), np.array([1.0, 1, 2, 1])),
    "unique_consecutive_dim": (
        lambda lib, x: lib.unique_consecutive(x, True, True, dim=0),
        np.array([[1, 2], [1, 2], [3, 4], [1, 2]]),
    ),
    "bool_mode_cummax_msort": (
        lambda lib, x: (tuple(lib.mode(x)), tuple(lib.cummax(x, 0)), lib.msort(x)),
        np.array([True, False, True]),
    ),
    "aminmax_keepdim": (lambda lib, x: tuple(lib.aminmax(x, keepdim=True)), X3),
    "aminmax_int": (lambda lib, x: tuple(lib.aminmax(x, dim=0)), REPEATS.astype(np.int64)),
}


@pytest.mark.parametrize("name", list(FORWARD))
def test_forward(name):
    fn, *values = FORWARD[name]
    _forward(fn, *values)


def test_named_results():
    x = engine.tensor(X)
    for name in ("median", "nanmedian", "mode", "cummax", "cummin"):
        out = getattr(engine, name)(x, 1)
        assert out.values is out[0] and out.indices is out[1]
    assert engine.kthvalue(x, 1).indices.dtype == engine.int64
    out = engine.aminmax(x)
    assert out.min is out[0] and out.max is out[1]


ERRORS = {
    "median_empty_dim": (lambda lib, x: lib.median(x, 1), np.zeros((2, 0))),
    "median_bad_dim": (lambda lib, x: lib.median(x, 2), X),
    "kthvalue_k_too_big": (lambda lib, x: lib.kthvalue(x, 6, 1), X),
    "kthvalue_k_zero": (lambda lib, x: lib.kthvalue(x, 0), X),
    "quantile_q_range": (lambda lib, x: lib.quantile(x, 1.5), X),
    "quantile_q_tensor_range": (lambda lib, x, q: lib.quantile(x, q), X, np.array([0.2, 1.2])),
    "quantile_q_2d": (lambda lib, x, q: lib.quantile(x, q), X, np.full((2, 2), 0.5)),
    "quantile_q_dtype": (lambda lib, x, q: lib.quantile(x.float(), q), X, np.array([0.5])),
    "quantile_int": (lambda lib, x: lib.quantile(x, 0.5), REPEATS.astype(np.int64)),
    "quantile_interpolation": (lambda lib, x: lib.quantile(x, 0.5, interpolation="cubic"), X),
    "quantile_empty": (lambda lib, x: lib.quantile(x, 0.5), np.zeros(0)),
    "median_bool": (lambda lib, x: lib.median(x > 0), X),
    "nanmedian_bool_dim": (lambda lib, x: lib.nanmedian(x > 0, 0), X),
    "kthvalue_bool": (lambda lib, x: lib.kthvalue(x > 0, 1), X),
    "logcumsumexp_int": (lambda lib, x: lib.logcumsumexp(x, 0), REPEATS.astype(np.int64)),
    "nanmean_int": (lambda lib, x: lib.nanmean(x), REPEATS.astype(np.int64)),
    "cummax_bad_dim": (lambda lib, x: lib.cummax(x, 3), X),
    "diff_0d": (lambda lib, x: lib.diff(x), np.array(1.0)),
    "diff_negative_n": (lambda lib, x: lib.diff(x, -1), X),
    "histc_int": (lambda lib, x: lib.histc(x), REPEATS.astype(np.int64)),
    "histc_min_above_max": (lambda lib, x: lib.histc(x, 4, 2, 1), X),
    "histc_no_bins": (lambda lib, x: lib.histc(x, 0), X),
    "bincount_negative": (lambda lib, x: lib.bincount(x), np.array([1, -1])),
    "bincount_2d": (lambda lib, x: lib.bincount(x), np.array([[1, 2]])),
    "bincount_float": (lambda lib, x: lib.bincount(x), np.array([1.0, 2.0])),
    "bincount_weights_length": (lambda lib, x, w: lib.bincount(x, w), np.array([1, 2]), V),
    "searchsorted_side": (
        lambda lib, s, x: lib.searchsorted(s, x, right=True, side="left"),
        V,
        V,
    ),
    "searchsorted_shapes": (lambda lib, s, x: lib.searchsorted(s, x), X, X3),
    "bucketize_2d": (lambda lib, x, b: lib.bucketize(x, b), V, X),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    fn, *values = ERRORS[name]
    _raises_alike(fn, *values)


def test_median_no_dim_picks_lower_of_even_count():
    x = engine.tensor([4.0, 1.0, 3.0, 2.0])
    assert engine.median(x).item() == 2.0
    assert x.median(0).indices.item() == 3


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x: lib.median(x),
        lambda lib, x: lib.nanmedian(x),
        lambda lib, x: lib.aminmax(x).max,
        lambda lib, x: lib.median(x.reshape(-1)[2:3], 0).values,
    ],
)
def test_tied_gradients_like_torch(fn):
    """Where values tie, the whole-tensor medians share the gradient evenly, as torch's."""
    grads = []
    for lib in (engine, torch):
        x = lib.tensor(TIES, requires_grad=True)
        fn(lib, x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


# ----- products and linear algebra -------------------------------------------------------

A3 = RNG.uniform(-1, 1, (3, 3)) + 3 * np.eye(3)  # well conditioned
B3 = RNG.uniform(-1, 1, (3, 2))
BATCH = RNG.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3)
P3 = RNG.uniform(-1, 1, (4, 3))
Q3 = RNG.uniform(-1, 1, (4, 3))
M23 = RNG.uniform(-1, 1, (2, 3))
M34 = RNG.uniform(-1, 1, (3, 4))
BA = RNG.uniform(-1, 1, (2, 2, 3))
BB = RNG.uniform(-1, 1, (2, 3, 4))
NEG_DET = np.array([[0.0, 2.0], [1.5, 0.3]])


def _spd(lib, a):
    return a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype, device=a.device)


LINALG_GRADIENTS = {
    "cross": (lambda lib, a, b: lib.cross(a, b, dim=1), P3, Q3),
    "cross_default_dim": (lambda lib, a, b: a.cross(b), P3.T.copy(), Q3.T.copy()),
    "linalg_cross": (lambda lib, a, b: lib.linalg.cross(a, b[:1]), P3, Q3),
    "kron": (lambda lib, a, b: lib.kron(a, b), M23, M34),
    "kron_ndim": (lambda lib, a, b: a.kron(b), M23[0], BA),
    "tensordot_int": (lambda lib, a, b: lib.tensordot(a, b, 1), M23, M34),
    "tensordot_lists": (lambda lib, a, b: lib.tensordot(a, b, ([1, 2], [1, 0])), BB, M34.T.copy()),
    "inner": (lambda lib, a, b: lib.inner(a, b), P3, M23),
    "ger": (lambda lib, a, b: lib.ger(a, b), V, P3[0]),
    "baddbmm": (lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0.5, alpha=2), BA @ BB, BA, BB),
    "baddbmm_broadcast": (lambda lib, c, a, b: c.baddbmm(a, b), M34[0], BA, BB),
    "addbmm": (lambda lib, c, a, b: lib.addbmm(c, a, b, alpha=-1.5), M23 @ M34, BA, BB),
    "addmv": (lambda lib, c, m, v: lib.addmv(c, m, v, beta=2), V[:3], A3, V[:3]),
    "multi_dot": (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), V[:2], M23, M34),
    "chain_matmul": (lambda lib, a, b, c: lib.chain_matmul(a, b, c), M23, M34, M34.T.copy()),
    "cdist": (lambda lib, a, b: lib.cdist(a, b), P3, Q3[:3]),
    "cdist_p1": (lambda lib, a, b: lib.cdist(a, b, p=1), P3, Q3[:3]),
    "cdist_p3_batched": (lambda lib, a, b: lib.cdist(a, b, 3.0), BA, BA[:, :1]),
    "dist": (lambda lib, a, b: lib.dist(a, b, 3), P3, Q3),
    "pdist": (lambda lib, a: lib.nn.functional.pdist(a), P3),
    "pdist_p1": (lambda lib, a: lib.pdist(a, 1.0), P3),
    "renorm": (lambda lib, a: lib.renorm(a, 2, 0, 1.0), P3),
    "renorm_dim1": (lambda lib, a: a.renorm(1, 1, 1.5), P3),
    "det": (lambda lib, a: lib.det(a), A3),
    "det_batch": (lambda lib, a: lib.linalg.det(a), BATCH),
    "inverse": (lambda lib, a: lib.inverse(a), A3),
    "linalg_inv": (lambda lib, a: lib.linalg.inv(a), BATCH),
    "slogdet": (lambda lib, a: tuple(lib.linalg.slogdet(a)), NEG_DET),
    "slogdet_batch": (lambda lib, a: tuple(lib.slogdet(a)), BATCH),
    "logdet": (lambda lib, a: lib.logdet(a), A3),
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b), A3, B3),
    "solve_vector": (lambda lib, a, b: lib.linalg.solve(a, b), A3, V[:3]),
    "solve_batch_broadcast": (lambda lib, a, b: lib.linalg.solve(a, b), BATCH, B3),
    "solve_right": (lambda lib, a, b: lib.linalg.solve(a, b, left=False), A3, B3.T.copy()),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(_spd(lib, a)), A3),
    "cholesky_upper": (lambda lib, a: lib.cholesky(_spd(lib, a), upper=True), BATCH),
    "svd_values": (lambda lib, a: lib.linalg.svdvals(a), P3),
    "svd_S": (lambda lib, a: lib.linalg.svd(a, full_matrices=False).S, M34),
    "eigh_values": (lambda lib, a: lib.linalg.eigh(_spd(lib, a)).eigenvalues, A3),
    "pinv": (lambda lib, a: lib.linalg.pinv(a), P3),
    "pinverse_wide": (lambda lib, a: lib.pinverse(a), M34),
    "matrix_power": (lambda lib, a: lib.matrix_power(a, 3), A3 / 3),
    "matrix_power_neg": (lambda lib, a: lib.linalg.matrix_power(a, -2), BATCH),
    "matrix_power_0": (lambda lib, a: a.matrix_power(0) + a, A3),
    "matrix_exp": (lambda lib, a: lib.matrix_exp(a), A3 / 2),
    "matrix_exp_big": (lambda lib, a: lib.linalg.matrix_exp(a), BATCH),
}


@pytest.mark.filterwarnings("ignore:.*deprecated")
@pytest.mark.parametrize("name", list(LINALG_GRADIENTS))
def test_linalg_gradients(name):
    fn, *inputs = LINALG_GRADIENTS[name]
    check_op(fn, *inputs)


def test_baddbmm_in_place_and_beta_zero():
    for lib in (engine, torch):
        c = lib.tensor(BA @ BB)
        c.baddbmm_(lib.tensor(BA), lib.tensor(BB), alpha=2)
        nan = lib.full((2, 2, 4), float("nan"), dtype=lib.float64)
        out = lib.baddbmm(nan, lib.tensor(BA), lib.tensor(BB), beta=0)
        if lib is engine:
            ours = (c.numpy(), out.numpy())
        else:
            np.testing.assert_allclose(ours[0], c.numpy())
            np.testing.assert_allclose(ours[1], out.numpy())


def test_decompositions_forward():
    """Values that are unique up to signs are compared up to signs, and rebuilt."""
    for fn in (
        lambda lib, a: lib.linalg.svd(a, full_matrices=False),
        lambda lib, a: lib.svd(a),
        lambda lib, a: lib.linalg.qr(a),
        lambda lib, a: lib.linalg.eigh(a @ a.mT),
    ):
        ours = fn(engine, engine.tensor(P3))
        ref = fn(torch, torch.tensor(P3))
        for o, r in zip(ours, ref, strict=True):
            assert tuple(o.shape) == tuple(r.shape) and str(o.dtype)[-7:] == str(r.dtype)[-7:]
            np.testing.assert_allclose(np.abs(o.numpy()), np.abs(r.numpy()), atol=1e-10)
    u, s, vh = engine.linalg.svd(engine.tensor(P3))
    assert tuple(u.shape) == (4, 4)
    np.testing.assert_allclose((u[:, :3] * s) @ vh, P3, atol=1e-12)
    q, r = engine.linalg.qr(engine.tensor(P3), mode="complete")
    np.testing.assert_allclose((q @ r).numpy(), P3, atol=1e-12)


def test_logdet_of_negative_and_singular():
    _forward(lambda lib, a: lib.logdet(a), NEG_DET)
    _forward(lambda lib, a: lib.logdet(a), np.zeros((2, 2)))
    _forward(lambda lib, a: lib.det(a), np.ones((3, 3)))


def test_unsupported_gradients_raise():
    x = engine.tensor(P3, requires_grad=True)
    with pytest.raises(NotImplementedError):
        engine.linalg.svd(x).U.sum().backward()
    with pytest.raises(NotImplementedError):
        engine.linalg.qr(x).R.sum().backward()


LINALG_ERRORS = {
    "det_not_square": (lambda lib, a: lib.det(a), M23),
    "det_1d": (lambda lib, a: lib.linalg.det(a), V),
    "det_int": (lambda lib, a: lib.det(a), np.eye(2, dtype=np.int64)),
    "solve_shapes": (lambda lib, a, b: lib.linalg.solve(a, b), A3, M34.T.copy()),
    "cross_not_3": (lambda lib, a, b: lib.linalg.cross(a, b), M34, M34),
    "cross_bad_dim": (lambda lib, a, b: lib.cross(a, b, dim=2), P3, Q3),
    "kron_int_float_ok_tensordot_mismatch": (
        lambda lib, a, b: lib.tensordot(a, b, 1),
        M23,
        M23,
    ),
    "inner_mismatch": (lambda lib, a, b: lib.inner(a, b), M23, M34),
    "cdist_columns": (lambda lib, a, b: lib.cdist(a, b), M23, M34),
    "cdist_1d": (lambda lib, a, b: lib.cdist(a, b), V, V),
    "pdist_3d": (lambda lib, a: lib.pdist(a), BA),
    "multi_dot_one": (lambda lib, a: lib.linalg.multi_dot([a]), M23),
    "matrix_power_not_square": (lambda lib, a: lib.matrix_power(a, 2), M23),
    "addbmm_broadcast_shapes": (lambda lib, c, a, b: lib.addbmm(c, a, b), M23, BA, BB),
    "baddbmm_shapes": (lambda lib, c, a, b: lib.baddbmm(c, a, b), M23, BA, BA),
    "addmv_dtypes": (lambda lib, c, m, v: lib.addmv(c, m.float(), v), V[:3], A3, V[:3]),
    "renorm_1d": (lambda lib, a: lib.renorm(a, 2, 0, 1.0), V),
    "cross_ndim": (lambda lib, a, b: lib.linalg.cross(a, b), P3, Q3[0]),
    "cross_dtypes": (lambda lib, a, b: lib.linalg.cross(a, b.float()), P3, Q3),
    "svd_int": (lambda lib, a: lib.linalg.svd(a), np.eye(2, dtype=np.int64)),
    "renorm_p_zero": (lambda lib, a: lib.renorm(a, 0, 0, 1.0), P3),
    "qr_mode": (lambda lib, a: lib.linalg.qr(a, mode="full"), P3),
}


@pytest.mark.parametrize("name", list(LINALG_ERRORS))
def test_linalg_errors(name):
    fn, *values = LINALG_ERRORS[name]
    _raises_alike(fn, *values)


LINALG_FAILURES = {
    "cholesky_not_pd": (lambda lib, a: lib.linalg.cholesky(a), -np.eye(3)),
    "solve_singular": (lambda lib, a, b: lib.linalg.solve(a, b), np.ones((3, 3)), B3),
    "inv_singular": (lambda lib, a: lib.linalg.inv(a), np.ones((3, 3))),
}


def test_linalg_error_is_a_runtime_error():
    assert issubclass(engine.linalg.LinAlgError, RuntimeError)
    with pytest.raises(engine.linalg.LinAlgError):
        engine.linalg.inv(engine.zeros(2, 2))


@pytest.mark.parametrize("name", list(LINALG_FAILURES))
def test_linalg_failures(name):
    """Where torch raises its LinAlgError (a RuntimeError), the engine raises its own."""
    fn, *values = LINALG_FAILURES[name]
    with pytest.raises(torch.linalg.LinAlgError):
        fn(torch, *_lib_args(torch, values))
    with pytest.raises(engine.linalg.LinAlgError):
        fn(engine, *_lib_args(engine, values))


def test_svd_without_vectors_and_solve_dtypes():
    _forward(lambda lib, a: tuple(lib.svd(a, compute_uv=False)), P3)
    _forward(lambda lib, a: tuple(lib.svd(a, some=False, compute_uv=False)), BA)
    _forward(lambda lib, a, b: lib.linalg.solve(a.float(), b.float()), A3, B3)
    _forward(lambda lib, a: (lib.linalg.inv(a.float()), lib.det(a.float())), A3)


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, c, a, b: c.baddbmm_(a, b, beta=0.5, alpha=2),
        lambda lib, c, a, b: c[0].addbmm_(a, b),
        lambda lib, c, a, b: c[0, :, 0].addmv_(a[0], b[0, :, 0] * 1, alpha=3),
        lambda lib, c, a, b: lib.addmv_(c[0, :, 0], a[0], b[0, :, 1]),
        lambda lib, c, a, b: c.renorm_(2, 1, 0.5),
    ],
)
def test_in_place_products(fn):
    """The in-place forms change the tensor and give torch's gradients through it."""
    results = []
    for lib in (engine, torch):
        c0, a, b = (lib.tensor(v, requires_grad=True) for v in (BA @ BB, BA, BB))
        c = c0 * 1
        out = fn(lib, c, a, b)
        (c * lib.tensor(np.arange(16.0).reshape(2, 2, 4))).sum().backward()
        results.append((out.detach().numpy(), c0.grad.numpy(), a.grad, b.grad))
    for ours, ref in zip(results[0], results[1], strict=True):
        if ref is None or ours is None:
            assert ours is None or not np.any(ours.numpy())
            assert ref is None or not np.any(ref.numpy())
        else:
            ours = ours.numpy() if hasattr(ours, "numpy") else ours
            ref = ref.numpy() if hasattr(ref, "numpy") else ref
            np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_legacy_qr():
    for some in (True, False):
        q, r = engine.qr(engine.tensor(P3), some=some)
        ref_q, ref_r = torch.qr(torch.tensor(P3), some=some)
        assert tuple(q.shape) == tuple(ref_q.shape) and tuple(r.shape) == tuple(ref_r.shape)
        np.testing.assert_allclose(np.abs(q.numpy()), np.abs(ref_q.numpy()), atol=1e-12)
        np.testing.assert_allclose(
            engine.tensor(P3).qr()[1].abs().numpy(), ref_r.abs()[:3], atol=1e-12
        )
