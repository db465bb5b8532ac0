"""Reductions, scans, norms, sorting and index/mask ops against PyTorch: values, dtypes,
shapes, gradients and the exception types of bad input."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.engine.gradcheck import check_op

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

NAN, INF = float("nan"), float("inf")
RNG = np.random.default_rng(17)
X = RNG.uniform(-2, 2, (3, 4))  # distinct values: sort, amax and norms are smooth here
X3 = RNG.uniform(0.5, 1.5, (2, 3, 4))
WITH_ZEROS = np.array([[0.5, 0.0, 1.5, -2.0], [0.0, 1.2, 0.0, 0.8], [1.1, -0.7, 0.9, 1.3]])
IDX = np.array([[0, 3], [2, 2], [1, 0]])  # gather/scatter along dim 1 of a (3, 4)
VEC_IDX = np.array([2, 0, 2, 3])
MASK = X > 0


def _lib_args(lib, values):
    return [lib.tensor(v) if isinstance(v, np.ndarray) else v for v in values]


def _same(ours, ref) -> None:
    if isinstance(ref, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(ref)
        for o, r in zip(ours, ref, strict=True):
            _same(o, r)
        return
    if ref is None or ours is None:  # an undefined gradient
        assert ours is None and ref is None, (ours, ref)
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
    """fn(lib, *tensors) gives PyTorch's values, dtypes and shapes."""
    _same(fn(engine, *_lib_args(engine, values)), fn(torch, *_lib_args(torch, values)))


def _raises_alike(fn, *values) -> None:
    """fn(lib, *tensors) raises, in the engine, an exception of PyTorch's type."""
    with pytest.raises(Exception) as ref:
        fn(torch, *_lib_args(torch, values))
    with pytest.raises(type(ref.value)):
        fn(engine, *_lib_args(engine, values))


# ----- gradients: finite differences in float64 and PyTorch in float32 -----------------

GRADIENTS = {
    "softmax": (lambda lib, x: lib.softmax(x, 1), X),
    "log_softmax": (lambda lib, x: x.log_softmax(0), X),
    "amax": (lambda lib, x: lib.amax(x, 1), X),
    "amin_dims_keepdim": (lambda lib, x: x.amin((0, 2), keepdim=True), X3),
    "amax_all": (lambda lib, x: x.amax(), X),
    "prod_all": (lambda lib, x: x.prod(), X3),
    "prod_dim": (lambda lib, x: lib.prod(x, 1, keepdim=True), X),
    "prod_zeros_dim": (lambda lib, x: x.prod(1), WITH_ZEROS),
    "prod_zeros_dim0": (lambda lib, x: x.prod(0), WITH_ZEROS),
    "prod_zeros_all": (lambda lib, x: x[0].prod(), WITH_ZEROS),
    "prod_two_zeros_all": (lambda lib, x: x.prod(), WITH_ZEROS),
    "cumsum": (lambda lib, x: lib.cumsum(x, 1), X),
    "cumsum_dim0": (lambda lib, x: x.cumsum(-3), X3),
    "cumprod": (lambda lib, x: lib.cumprod(x, 1), X),
    "cumprod_zeros": (lambda lib, x: x.cumprod(1), WITH_ZEROS),
    "cumprod_zeros_dim0": (lambda lib, x: x.cumprod(0), WITH_ZEROS),
    "logsumexp": (lambda lib, x: lib.logsumexp(x, 1), X),
    "logsumexp_dims": (lambda lib, x: x.logsumexp((0, 2), keepdim=True), X3),
    "norm": (lambda lib, x: x.norm(), X),
    "norm_p1_dim": (lambda lib, x: lib.norm(x, 1, dim=1), X),
    "norm_inf": (lambda lib, x: x.norm(INF, dim=0, keepdim=True), X),
    "norm_p3": (lambda lib, x: x.norm(3, dim=(0, 1)), X),
    "norm_fro_dims": (lambda lib, x: x.norm("fro", dim=(1, 2)), X3),
    "vector_norm": (lambda lib, x: lib.linalg.vector_norm(x, 0.5, dim=1), X),
    "vector_norm_neg_inf": (lambda lib, x: lib.linalg.vector_norm(x, -INF), X),
    "linalg_norm": (lambda lib, x: lib.linalg.norm(x), X3),
    "linalg_norm_matrix_1": (lambda lib, x: lib.linalg.norm(x, 1), X),
    "linalg_norm_matrix_inf": (lambda lib, x: lib.linalg.norm(x, -INF, keepdim=True), X),
    "sort": (lambda lib, x: tuple(lib.sort(x)), X),
    "sort_desc_dim0": (lambda lib, x: tuple(x.sort(0, descending=True)), X),
    "topk": (lambda lib, x: tuple(lib.topk(x, 2)), X),
    "topk_smallest_dim0": (lambda lib, x: tuple(x.topk(2, 0, largest=False)), X),
    "gather": (lambda lib, x, i: lib.gather(x, 1, i), X, IDX),
    "gather_smaller_index": (lambda lib, x, i: x.gather(0, i[:2, :1]), X, IDX),
    "scatter": (lambda lib, x, s, i: lib.scatter(x, 1, i[:, :1], s), X, X[:, :1] * 3, IDX),
    "scatter_value": (lambda lib, x, i: x.scatter(1, i[:, 1:], 2.5), X, IDX),
    "scatter_add": (lambda lib, x, s, i: lib.scatter_add(x, 1, i, s), X, X[:, :2] * 2, IDX),
    "index_select": (lambda lib, x, i: lib.index_select(x, 1, i), X, VEC_IDX),
    "index_add": (lambda lib, x, s, i: x.index_add(1, i, s, alpha=2), X, X3[0], VEC_IDX),
    "masked_fill": (lambda lib, x, m: x.masked_fill(m, -1.0), X, MASK),
    "masked_fill_broadcast": (lambda lib, x, m: lib.masked_fill(x[0], m, 0.5), X, MASK),
    "masked_fill_tensor_value": (
        lambda lib, x, v, m: x.masked_fill(m, v.sum()),
        X,
        np.array([0.5, 1.5]),
        MASK,
    ),
    "masked_select": (lambda lib, x, m: lib.masked_select(x, m), X, MASK),
    "masked_select_broadcast": (lambda lib, x, m: x[1].masked_select(m), X, MASK),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients(name):
    fn, *inputs = GRADIENTS[name]
    check_op(fn, *inputs)


ROWS = np.array([[3, 1, 2], [1, 5, 0], [3, 1, 2], [1, 4, 9]])
FORWARD_ONLY = {
    "unique": (lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True), ROWS),
    "unique_dim": (lambda lib, x: x.unique(dim=0, return_inverse=True, return_counts=True), ROWS),
    "nonzero": (lambda lib, x: (lib.nonzero(x), *x.nonzero(as_tuple=True)), ROWS),
    "where_condition": (lambda lib, x: lib.where(x > 2), ROWS),
    "all_any": (lambda lib, x: (x.all(), lib.any(x, 1), x.all(0, keepdim=True)), ROWS),
    "argsort_ties": (lambda lib, x: lib.argsort(x, 0, descending=True), ROWS),
    "cumsum_prod_int": (lambda lib, x: (x.cumsum(1), lib.prod(x, 0), x.cumprod(0)), ROWS),
    "index_ops_int": (
        lambda lib, x, i: (x.gather(1, i), x.index_select(0, i[:, 0]), x.scatter(1, i, 7)),
        ROWS,
        IDX[:, :2] % 3,
    ),
}


@pytest.mark.parametrize("name", sorted(FORWARD_ONLY))
def test_forward_only(name):
    fn, *inputs = FORWARD_ONLY[name]
    check_op(fn, *inputs, backward=False)


# ----- values and dtypes where gradients do not apply or the input is unusual ---------

A = np.array([[3.0, NAN, 1.0, 3.0], [2.0, 2.0, -1.0, NAN], [0.0, -0.0, INF, -INF]])
INTS = np.array([[3, -1, 3, 0], [2, 2, 7, 5]])
BOOLS = np.array([[True, False, True], [False, False, True]])


@pytest.mark.parametrize("values", [A, INTS, BOOLS], ids=["floats", "ints", "bools"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [-1, 0])
def test_sort_is_stable_with_nan_last_ascending(values, descending, dim):
    _forward(lambda lib, x: tuple(lib.sort(x, dim, descending)), values)
    _forward(lambda lib, x: x.argsort(dim=dim, descending=descending), values)
    _forward(lambda lib, x: lib.argsort(x, dim=dim, descending=descending, stable=True), values)


def test_sort_result_is_values_indices_pair_like_max():
    out = engine.tensor(X).sort()
    values, indices = out
    assert out.values is values and out.indices is indices
    assert type(out) is engine.return_types.sort  # its own pair type, as torch.return_types
    assert type(out)._fields == type(engine.tensor(X).max(1))._fields
    assert indices.dtype == engine.int64
    _forward(lambda lib, x: tuple(lib.sort(x)), np.array(2.5))


def test_topk_values_with_nan_and_ties():
    # NaN counts as the largest; among ties PyTorch's choice of index is unspecified
    for largest in (True, False):
        for values in (A, INTS):
            ours = engine.tensor(values).topk(2, largest=largest)
            ref = torch.tensor(values).topk(2, largest=largest)
            _same(ours.values, ref.values)
            picked = np.take_along_axis(values, ours.indices.numpy(), axis=-1)
            np.testing.assert_array_equal(picked, ours.values.numpy())
    _forward(lambda lib, x: tuple(lib.topk(x, 3, 0, sorted=True)), X)


@pytest.mark.parametrize("values", [A, INTS, X3])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin_all_any_values(values, dim, keepdim):
    args = () if dim is None else (dim,)
    for name in ("amax", "amin", "all", "any"):
        if name in ("all", "any") or dim is not None:
            _forward(lambda lib, x, n=name: getattr(x, n)(*args, keepdim=keepdim), values)
        _forward(lambda lib, x, n=name: getattr(lib, n)(x, *args, keepdim=keepdim), values)


def test_amax_gradient_splits_ties_and_nan_as_torch():
    values = np.array([[1.0, 3.0, 3.0, 0.0], [NAN, 2.0, NAN, 1.0], [2.0, 2.0, 2.0, 2.0]])
    for name, args in (("amax", (1,)), ("amin", (1,)), ("amax", ())):
        grads = []
        for lib in (engine, torch):
            x = lib.tensor(values, requires_grad=True)
            getattr(x, name)(*args).sum().backward()
            grads.append(x.grad)
        _same(*grads)


def test_all_any_dtypes():
    _forward(lambda lib, x: (x.all(), x.any(0)), np.array([1, 0, 3], dtype=np.uint8))
    _forward(lambda lib, x: (lib.all(x), lib.any(x)), np.zeros((0, 2)))
    _forward(lambda lib, x: x.all(keepdim=True), A)


@pytest.mark.parametrize("values", [INTS, BOOLS, INTS.astype(np.int32), A])
def test_prod_cumsum_cumprod_dtypes(values):
    _forward(lambda lib, x: (x.prod(), lib.prod(x, 1), x.prod(0, keepdim=True)), values)
    _forward(lambda lib, x: (x.cumsum(0), lib.cumsum(x, -1), x.cumprod(1)), values)
    _forward(lambda lib, x: lib.cumsum(x, 0, dtype=lib.float64), values)
    _forward(lambda lib, x: x.cumprod(1, dtype=lib.float32), values)
    _forward(lambda lib, x: x.prod(dtype=lib.float64), values)


def test_float32_scans_accumulate_in_float64_as_torch():
    _forward(lambda lib, x: x.float().cumsum(0), np.array([1e8, 1.0, 1.0, 1.0, -1e8]))
    _forward(lambda lib, x: x.float().cumprod(0), np.array([3e38, 10.0, 0.1]))


def test_integer_dtype_refused_for_a_tensor_that_requires_grad():
    for lib in (engine, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError):
            x.prod(dtype=lib.int64)
        with pytest.raises(RuntimeError):
            x.cumsum(0, dtype=lib.int64)
        with pytest.raises(RuntimeError):
            lib.cumprod(x, 0, dtype=lib.int32)
        with lib.no_grad():
            assert x.prod(dtype=lib.int64).dtype == lib.int64


def test_empty_index_is_not_checked():
    empty = np.zeros((5, 0, 9), dtype=np.int64)
    _forward(lambda lib, x, i: x.gather(1, i), X, empty)
    _forward(lambda lib, x, i: x.gather(1, i.float()), X, np.zeros(0, dtype=np.int64))
    _forward(lambda lib, x, i: (x.scatter(1, i, 1.0), x.int().scatter(1, i, 1e30)), X, empty)
    _forward(lambda lib, x, i: lib.scatter_add(x, 0, i, x), X, empty)
    out = engine.tensor(X, requires_grad=True).gather(1, engine.tensor(empty))
    assert out._base is None  # a new tensor, which may be changed in place


def test_prod_and_scans_edge_values():
    _forward(lambda lib, x: (x.prod(), x.cumsum(0), x.cumprod(0)), np.array(2.5))
    _forward(lambda lib, x: (x.prod(1), x.cumsum(1), x.cumprod(1)), np.zeros((2, 0)))
    _forward(lambda lib, x: lib.prod(x, dtype=lib.uint8), np.array([200, 3], dtype=np.uint8))


def test_logsumexp_values_and_gradients_at_infinities():
    _forward(lambda lib, x: lib.logsumexp(x, 1), np.array([[INF, 1.0], [-INF, -INF], [NAN, 1]]))
    _forward(lambda lib, x: lib.logsumexp(x, 0), np.zeros((0, 3)))
    _forward(lambda lib, x: lib.logsumexp(x, 1), INTS)
    _forward(lambda lib, x: x.logsumexp(0, keepdim=True), BOOLS)
    values = np.array([[INF, 1.0], [-INF, -INF], [1e30, 2.0]], dtype=np.float32)
    grads = []
    for lib in (engine, torch):
        x = lib.tensor(values, requires_grad=True)
        lib.logsumexp(x, 1).sum().backward()
        grads.append(x.grad)
    _same(*grads)


@pytest.mark.parametrize("p", [2, 1, INF, -INF, 3, 0.5, 0])
def test_norm_gradients_at_zero_nan_and_inf(p):
    rows = [[0.0, 0.0, 0.0], [NAN, 2.0, 0.0], [INF, 1.0, 0.0], [3.0, -3.0, 0.0]]
    grads = []
    for lib in (engine, torch):
        x = lib.tensor(rows, requires_grad=True)
        n = lib.linalg.vector_norm(x, p, dim=1)
        n.sum().backward()
        grads.append((n, x.grad))
    _same(*grads)


def test_norm_forms():
    _forward(lambda lib, x: (x.norm(), x.norm(p="fro"), lib.norm(x, None)), X3)
    _forward(lambda lib, x: (x.norm(0), x.norm(keepdim=True), x.norm(dtype=lib.float64)), X)
    _forward(lambda lib, x: lib.linalg.norm(x, dim=1, keepdim=True), X3)
    _forward(lambda lib, x: lib.linalg.norm(x, INF), X)
    _forward(lambda lib, x: lib.linalg.norm(x, "fro", dim=(0, 2)), X3)
    _forward(lambda lib, x: lib.linalg.vector_norm(x, 2), np.zeros((0, 3)))


def test_softmax_functions_and_methods():
    _forward(lambda lib, x: (lib.softmax(x, 0), x.softmax(-1), lib.log_softmax(x, 1)), X)
    _forward(lambda lib, x: (x.softmax(0, lib.float64), lib.log_softmax(x, 0, lib.float32)), INTS)


def test_unique():
    values = np.array([[3.0, 1.0, NAN], [3.0, 2.0, NAN]])
    for v in (values, INTS, BOOLS, np.array(4), np.zeros((0,), dtype=np.int64)):
        _forward(lambda lib, x: lib.unique(x), v)
        _forward(lambda lib, x: x.unique(return_inverse=True, return_counts=True), v)
        _forward(lambda lib, x: lib.unique(x, sorted=True, return_counts=True), v)
    x = engine.tensor([2.0, 1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError):
        engine.unique(x).sum().backward()


def test_unique_along_a_dim():
    rows = np.array([[3, 1, 2], [1, 5, 0], [3, 1, 2], [1, 4, 9]])
    floats = np.array([[2.5, 1.0], [INF, 1.0], [-0.0, 1.0], [0.0, 1.0]])
    for v in (rows, floats, BOOLS, X3.round(0), np.zeros((0, 3)), np.array([3, 1, 3])):
        for dim in range(-v.ndim, v.ndim):
            if v.size == 0 and v.shape[dim] != 0:  # a size-0 dim not selected
                _raises_alike(lambda lib, x, d=dim: lib.unique(x, dim=d), v)
                continue
            _forward(lambda lib, x, d=dim: lib.unique(x, dim=d), v)
            _forward(
                lambda lib, x, d=dim: x.unique(return_inverse=True, return_counts=True, dim=d), v
            )
    _raises_alike(lambda lib, x: lib.unique(x, dim=0), np.array(3))
    _raises_alike(lambda lib, x: lib.unique(x, dim=2), rows)
    _raises_alike(lambda lib, x: lib.unique(x, dim=0), np.zeros((0, 0)))


def test_gather_scatter_index_values_for_other_dtypes():
    _forward(lambda lib, x, i: lib.gather(x, 1, i), INTS, IDX[:2])
    _forward(lambda lib, x, i: lib.gather(x, 1, i.int()), INTS, IDX[:2])
    _forward(lambda lib, x, i: x.gather(0, i), np.array(5.0), np.array([0, 0]))
    _forward(lambda lib, x, i: x.gather(1, i), X, np.zeros((3, 0), dtype=np.int64))
    _forward(lambda lib, x, i: x.scatter(1, i, 7.5), INTS, IDX[:2])
    _forward(lambda lib, x, i: x.scatter(1, i, x * 2), INTS, IDX[:2, :1])
    _forward(lambda lib, x, i: lib.scatter_add(x, 1, i, x), INTS, np.array([[0, 0], [1, 1]]))
    _forward(lambda lib, x, i: x.index_select(0, i), BOOLS, np.array([1, 1, 0]))
    _forward(lambda lib, x, i: x.index_select(1, i), X, np.array(2))
    _forward(lambda lib, x, i: x.index_add(1, i, x[:, :2], alpha=2.5), INTS, np.array([0, 0]))
    _forward(lambda lib, x, i: lib.index_add(x, 0, i.int(), x), X, np.array([2, 0, 0]))


def test_zero_dim_inputs():
    s, i = np.array(4.0), np.array([0])
    _forward(lambda lib, x, i: (lib.index_select(x, 0, i), x.index_select(0, i[0])), s, i)
    _forward(lambda lib, x, i: x.index_add(0, i, x * 2), s, i)
    _forward(lambda lib, x, i: (x.scatter(0, i[0], x * 2), x.scatter_add(0, i, x[None])), s, i)
    _forward(lambda lib, x, i: (x.masked_fill(x > 1, 2.0), x.masked_select(x > 1)), s, i)
    _forward(lambda lib, x, i: (x.sort(descending=True).values, x.topk(1).indices), s, i)
    _forward(lambda lib, x, i: (x.amax(), x.prod(0), x.logsumexp(0), x.norm(1)), s, i)


def test_masks_and_nonzero():
    _forward(lambda lib, x, m: x.masked_fill(m[:2, :3], 1.7), INTS[:, :3], MASK)
    _forward(lambda lib, x, m: x.masked_fill(m[:2, :3], True), INTS[:, :3], MASK)
    _forward(lambda lib, x, m: x.masked_fill(m, lib.tensor(1.0, dtype=lib.float64)), X, MASK)
    _forward(lambda lib, x, m: lib.masked_select(x, m[:2, :3]), BOOLS, MASK)
    for v in (A, INTS, BOOLS, np.array(3.0), np.array(0.0), np.zeros((2, 0))):
        _forward(lambda lib, x: (lib.nonzero(x), x.nonzero(as_tuple=True)), v)
        _forward(lambda lib, x: lib.where(x != 0), v)
        if v.ndim > 1 and v.size > 1:  # laid out as PyTorch's, which cannot be viewed flat
            _raises_alike(lambda lib, x: x.nonzero().view(-1), np.ones_like(v))
            assert engine.tensor(v).nonzero().stride() == torch.tensor(v).nonzero().stride()


# ----- in place ----------------------------------------------------------------------


IN_PLACE = {
    "scatter_": lambda x, s, i: x.scatter_(1, i, s),
    "scatter_value": lambda x, s, i: x.scatter_(1, i, value=-1.0),
    "scatter_add_": lambda x, s, i: x.scatter_add_(1, i, s),
    "index_add_": lambda x, s, i: x.index_add_(1, i[0], s, alpha=-2),
    "masked_fill_": lambda x, s, i: x.masked_fill_(x > 0, 0.25),
    "masked_fill_tensor": lambda x, s, i: x.masked_fill_(x > 0, s[0, 1]),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_versions_and_gradients(name):
    change = IN_PLACE[name]
    results = []
    for lib in (engine, torch):
        leaf = lib.tensor(X, requires_grad=True)
        src = lib.tensor(X[:, :2] * 3, requires_grad=True)
        index = lib.tensor(IDX[:, :2])
        y = leaf * 2
        version = y._version
        out = change(y, src, index)
        assert out is y and y._version == version + 1
        (y * lib.tensor(X)).sum().backward()
        results.append((y, leaf.grad, src.grad if src.grad is not None else lib.zeros(3, 2)))
        with pytest.raises(RuntimeError):  # a leaf that requires grad is not changed in place
            change(lib.tensor(X, requires_grad=True), src, index)
    _same(tuple(results[0]), tuple(results[1]))


def test_in_place_on_a_view_reaches_the_base():
    grads = []
    for lib in (engine, torch):
        leaf = lib.tensor(X, requires_grad=True)
        base = leaf * 1
        base[1:].scatter_(1, lib.tensor([[3], [0]]), lib.tensor([[5.0], [6.0]], dtype=base.dtype))
        base[0].masked_fill_(lib.tensor([True, False, True, False]), 0.0)
        (base * lib.tensor(X)).sum().backward()
        grads.append((base, leaf.grad))
    _same(grads[0], grads[1])


def test_in_place_saved_tensor_changed_raises():
    for lib in (engine, torch):
        x = lib.tensor(X, requires_grad=True)
        y = x.exp()
        y.masked_fill_(y > 1, 0.0)
        with pytest.raises(RuntimeError):
            y.sum().backward()


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, x, i, m: x.gather(1, i),
        lambda lib, x, i, m: x.scatter(1, i, 0.0),
        lambda lib, x, i, m: x.scatter_add(1, i, x),
        lambda lib, x, i, m: x.index_select(1, i[0]),
        lambda lib, x, i, m: x.index_add(1, i[0], x[:, :2]),
        lambda lib, x, i, m: x.masked_fill(m, 0.0),
        lambda lib, x, i, m: x.masked_select(m),
    ],
)
def test_index_or_mask_changed_in_place_fails_backward(op):
    for lib in (engine, torch):
        x = lib.tensor(X, requires_grad=True)
        index, mask = lib.tensor(IDX[:, :2]), lib.tensor(MASK)
        out = op(lib, x * 1, index, mask)
        index.zero_()
        mask.logical_not_()
        with pytest.raises(RuntimeError):
            out.sum().backward()


def test_sort_indices_changed_in_place_fail_backward():
    for lib in (engine, torch):
        for values, indices in (
            lib.tensor(X, requires_grad=True).sort(),
            lib.topk(lib.tensor(X, requires_grad=True), 2),
        ):
            indices.zero_()
            with pytest.raises(RuntimeError):
                values.sum().backward()


def test_in_place_outside_graph_and_shape_checks():
    _forward(lambda lib, x: x.clone().masked_fill_(x > 0, 0.5), X)
    _forward(lambda lib, x: x.clone().index_add_(0, lib.tensor([1, 1]), x[:2]), INTS)
    _raises_alike(lambda lib, x: x.clone().masked_fill_(lib.tensor([[True], [False]]), 0), X[0])


# ----- errors ------------------------------------------------------------------------

I = IDX
ERRORS = {
    "gather_out_of_range": (lambda lib, x, i: x.gather(1, i + 2), X, I),
    "gather_negative": (lambda lib, x, i: x.gather(1, i - 1), X, I),
    "gather_float_index": (lambda lib, x, i: x.gather(1, i.float()), X, I),
    "gather_index_ndim": (lambda lib, x, i: x.gather(1, i[0]), X, I),
    "gather_index_too_big": (lambda lib, x, i: x.gather(1, lib.zeros(5, 1).long()), X, I),
    "gather_dim": (lambda lib, x, i: x.gather(2, i), X, I),
    "scatter_out_of_range": (lambda lib, x, i: x.scatter(1, i * 3, 0.0), X, I),
    "scatter_float_index": (lambda lib, x, i: x.scatter(1, i.double(), x), X, I),
    "scatter_dtype": (lambda lib, x, i: x.scatter(1, i, x.float()), X, I),
    "scatter_src_small": (lambda lib, x, i: x.scatter(1, i, x[:1]), X, I),
    "scatter_add_number": (lambda lib, x, i: x.scatter_add(1, i, 1.0), X, I),
    "index_select_out_of_range": (lambda lib, x, i: x.index_select(1, i[0] + 4), X, I),
    "index_select_float": (lambda lib, x, i: x.index_select(1, i[0].float()), X, I),
    "index_select_matrix": (lambda lib, x, i: x.index_select(1, i), X, I),
    "index_add_out_of_range": (lambda lib, x, i: x.index_add(1, i[1] * 2, x[:, :2]), X, I),
    "index_add_source_dims": (lambda lib, x, i: x[0].index_add(0, i[0, :1], x[0, 0]), X, I),
    "index_add_dim_past_source": (lambda lib, x, i: x.index_add(1, i[0, :1], x[:, 0]), X, I),
    "index_select_scalar_out_of_range": (lambda lib, x, i: x[0, 0].index_select(0, i[1, :1]), X, I),
    "index_add_count": (lambda lib, x, i: x.index_add(1, i[1], x), X, I),
    "index_add_dtype": (lambda lib, x, i: x.index_add(1, i[1], x[:, :2].float()), X, I),
    "index_add_float_index": (lambda lib, x, i: x.index_add_(1, i[1].float(), x[:, :2]), X, I),
    "masked_fill_uint8_mask": (lambda lib, x, i: x.masked_fill(x.gt(0).to(lib.uint8), 0.0), X, I),
    "masked_fill_vector_value": (lambda lib, x, i: x.masked_fill(x > 0, x[0]), X, I),
    "masked_fill_overflow": (lambda lib, x, i: i.masked_fill(i > 0, INF), X, I),
    "masked_select_uint8": (lambda lib, x, i: x.masked_select(x.gt(0).to(lib.uint8)), X, I),
    "sort_dim": (lambda lib, x, i: x.sort(2), X, I),
    "sort_positional_dim_with_stable": (lambda lib, x, i: x.sort(0, stable=True), X, I),
    "argsort_positional_with_stable": (
        lambda lib, x, i: lib.argsort(x, 0, True, stable=True),
        X,
        I,
    ),
    "topk_k_too_big": (lambda lib, x, i: x.topk(5), X, I),
    "topk_k_negative": (lambda lib, x, i: x.topk(-1), X, I),
    "topk_bool": (lambda lib, x, i: (x > 0).topk(1), X, I),
    "amax_empty": (lambda lib, x, i: x[:0].amax(0), X, I),
    "amax_empty_all": (lambda lib, x, i: x[:0].amax(), X, I),
    "amax_dim": (lambda lib, x, i: x.amax(3), X, I),
    "all_dim": (lambda lib, x, i: x.all(3), X, I),
    "prod_tuple_dim": (lambda lib, x, i: x.prod((0, 1)), X, I),
    "prod_keepdim_alone": (lambda lib, x, i: x.prod(keepdim=True), X, I),
    "cumsum_no_dim": (lambda lib, x, i: x.cumsum(), X, I),
    "cumsum_dim": (lambda lib, x, i: lib.cumsum(x, 2), X, I),
    "logsumexp_no_dim": (lambda lib, x, i: lib.logsumexp(x), X, I),
    "norm_int": (lambda lib, x, i: i.norm(), X, I),
    "vector_norm_int": (lambda lib, x, i: lib.linalg.vector_norm(i), X, I),
    "vector_norm_str": (lambda lib, x, i: lib.linalg.vector_norm(x, "fro"), X, I),
    "vector_norm_inf_empty": (lambda lib, x, i: lib.linalg.vector_norm(x[:0], INF), X, I),
    "norm_fro_three_dims": (lambda lib, x, i: x[None].norm("fro", dim=(0, 1, 2)), X, I),
    "linalg_norm_3d_ord": (lambda lib, x, i: lib.linalg.norm(x[None], 1), X, I),
    "linalg_norm_1d_fro": (lambda lib, x, i: lib.linalg.norm(x[0], "fro"), X, I),
    "softmax_no_dim": (lambda lib, x, i: lib.softmax(x), X, I),
    "softmax_none": (lambda lib, x, i: x.softmax(None), X, I),
    "softmax_int": (lambda lib, x, i: lib.softmax(i, 0), X, I),
    "log_softmax_no_dim": (lambda lib, x, i: x.log_softmax(), X, I),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn, *values = ERRORS[name]
    _raises_alike(fn, *values)
