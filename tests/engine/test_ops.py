"""Every engine op against finite differences and, when installed, PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.engine.gradcheck import Const, check_op

SEED = 20240601
RNG = np.random.default_rng(SEED)


@pytest.fixture(autouse=True)
def reseed_inputs():
    """Inputs made inside a test are the same whether it runs alone or with the others."""
    RNG.bit_generator.state = np.random.default_rng(SEED).bit_generator.state


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def positive(*shape: int) -> np.ndarray:
    return RNG.uniform(0.5, 2.0, shape)


def avoiding(points: tuple[float, ...], *shape: int, gap: float = 0.1) -> np.ndarray:
    """Uniform values in [-1.5, 1.5] at least `gap` away from each of `points` (kinks)."""
    x = RNG.uniform(-1.5, 1.5, shape)
    while True:
        near = np.zeros(x.shape, dtype=bool)
        for p in points:
            near |= np.abs(x - p) < gap
        if not near.any():
            return x
        x[near] = RNG.uniform(-1.5, 1.5, int(near.sum()))


def nonzero(*shape: int) -> np.ndarray:
    return avoiding((0.0,), *shape, gap=0.3)


def labels(classes: int, *shape: int) -> np.ndarray:
    return RNG.integers(0, classes, shape)


def cases(*params) -> pytest.MarkDecorator:
    """Parametrize over (id, fn, *inputs) tuples."""
    return pytest.mark.parametrize(
        "fn, inputs", [pytest.param(fn, inputs, id=name) for name, fn, *inputs in params]
    )


# --- elementwise binary, with broadcasting ---------------------------------------------------

BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((), (3,)),
    ((2, 3), ()),
    ((1,), (2, 1, 3)),
    ((2, 1, 3), (4, 1)),
]

BINARY_OPS = {
    "add": (lambda m, a, b: a + b, randn, randn),
    "sub": (lambda m, a, b: a - b, randn, randn),
    "mul": (lambda m, a, b: a * b, randn, randn),
    "div": (lambda m, a, b: a / b, randn, nonzero),
    "pow": (lambda m, a, b: a**b, positive, randn),
    "add_fn": (lambda m, a, b: m.add(a, b), randn, randn),
    "sub_fn": (lambda m, a, b: m.sub(a, b), randn, randn),
    "mul_fn": (lambda m, a, b: m.mul(a, b), randn, randn),
    "div_fn": (lambda m, a, b: m.div(a, b), randn, nonzero),
    "pow_fn": (lambda m, a, b: m.pow(a, b), positive, randn),
    "add_method": (lambda m, a, b: a.add(b), randn, randn),
    "mul_method": (lambda m, a, b: a.mul(b), randn, randn),
    "maximum": (lambda m, a, b: m.maximum(a, b), randn, randn),
    "minimum": (lambda m, a, b: m.minimum(a, b), randn, randn),
    "where_cmp": (lambda m, a, b: m.where(a > b, a * 2, b), randn, randn),
}


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY_OPS)
def test_binary(name, shapes):
    fn, make_a, make_b = BINARY_OPS[name]
    check_op(fn, make_a(*shapes[0]), make_b(*shapes[1]))


@cases(
    ("radd", lambda m, a: 2.5 + a, randn(3, 4)),
    ("rsub", lambda m, a: 2.5 - a, randn(3, 4)),
    ("rmul", lambda m, a: 2.5 * a, randn(3, 4)),
    ("rdiv", lambda m, a: 2.5 / a, nonzero(3, 4)),
    ("rpow", lambda m, a: 2.0**a, randn(3, 4)),
    ("add_scalar", lambda m, a: a + 2, randn(3, 4)),
    ("sub_scalar", lambda m, a: a - 1.5, randn(3, 4)),
    ("div_scalar", lambda m, a: a / 3.0, randn(3, 4)),
    ("pow_2", lambda m, a: a**2, randn(3, 4)),
    ("pow_3_int", lambda m, a: a**3, randn(5)),
    ("pow_half", lambda m, a: a**0.5, positive(3, 4)),
    ("pow_neg", lambda m, a: a**-1.5, positive(3, 4)),
    ("same_tensor_twice", lambda m, a: a * a + a, randn(3, 4)),
    ("scalar_tensor", lambda m, a: a * 3.0 - 1.0, randn()),
    ("times_int_tensor", lambda m, a, k: a * k - k, randn(3, 4), RNG.integers(-3, 4, (4,))),
    ("int_tensor_over", lambda m, a, k: k / a, nonzero(2, 3), RNG.integers(1, 4, (2, 1))),
    ("reused_intermediate", lambda m, a, b: (a * b).exp() * (a * b), randn(3), randn(2, 1)),
)
def test_scalar_operands(fn, inputs):
    check_op(fn, *inputs)


@cases(
    (
        "where_mask",
        lambda m, c, x, y: m.where(c, x, y),
        RNG.random((3, 4)) > 0.5,
        randn(3, 4),
        randn(3, 4),
    ),
    (
        "where_broadcast",
        lambda m, c, x, y: m.where(c, x, y),
        RNG.random((3, 1)) > 0.5,
        randn(1, 4),
        randn(4),
    ),
    (
        "where_method",
        lambda m, c, x, y: x.where(c, y),
        RNG.random((2, 3)) > 0.5,
        randn(2, 3),
        randn(2, 3),
    ),
    ("where_scalar", lambda m, c, x: m.where(c, x, 0.0), RNG.random(5) > 0.5, randn(5)),
)
def test_where(fn, inputs):
    check_op(fn, *inputs)


# --- elementwise unary -------------------------------------------------------------------------

UNARY_SHAPES = [(), (5,), (2, 3, 4), (1, 3, 1)]

UNARY_OPS = {
    "neg": randn,
    "abs": nonzero,
    "exp": randn,
    "log": positive,
    "sqrt": positive,
    "sin": randn,
    "cos": randn,
    "tanh": randn,
    "sigmoid": randn,
    "relu": nonzero,
}


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("form", ["method", "function"])
@pytest.mark.parametrize("name", UNARY_OPS)
def test_unary(name, form, shape):
    # x.exp() and engine.exp(x) are both part of the API.
    if form == "method":
        fn = lambda m, a: getattr(a, name)()  # noqa: E731
    else:
        fn = lambda m, a: getattr(m, name)(a)  # noqa: E731
    check_op(fn, UNARY_OPS[name](*shape))


@cases(
    ("neg_operator", lambda m, a: -a, randn(2, 3)),
    ("clamp_both", lambda m, a: a.clamp(-0.5, 0.5), avoiding((-0.5, 0.5), 4, 5)),
    ("clamp_kw", lambda m, a: a.clamp(min=-0.5, max=0.5), avoiding((-0.5, 0.5), 4, 5)),
    ("clamp_min", lambda m, a: a.clamp(min=-0.5), avoiding((-0.5,), 4, 5)),
    ("clamp_max", lambda m, a: m.clamp(a, max=0.3), avoiding((0.3,), 4, 5)),
    ("clamp_scalar_tensor", lambda m, a: a.clamp(-0.5, 0.5), avoiding((-0.5, 0.5))),
)
def test_unary_extra(fn, inputs):
    check_op(fn, *inputs)


# --- reductions ------------------------------------------------------------------------------

X3 = randn(2, 3, 4)


@cases(
    ("sum_all", lambda m, x: x.sum(), X3),
    ("sum_fn", lambda m, x: m.sum(x), X3),
    ("sum_dim0", lambda m, x: x.sum(0), X3),
    ("sum_dim_neg", lambda m, x: x.sum(dim=-1), X3),
    ("sum_dims", lambda m, x: x.sum(dim=(0, 2)), X3),
    ("sum_dims_neg_keepdim", lambda m, x: x.sum(dim=(-1, 0), keepdim=True), X3),
    ("sum_keepdim", lambda m, x: m.sum(x, 1, keepdim=True), X3),
    ("sum_0d", lambda m, x: x.sum(), randn()),
    ("sum_size1", lambda m, x: x.sum(1), randn(3, 1)),
    ("mean_all", lambda m, x: x.mean(), X3),
    ("mean_fn", lambda m, x: m.mean(x, dim=1), X3),
    ("mean_dim_neg", lambda m, x: x.mean(-2), X3),
    ("mean_dims_keepdim", lambda m, x: x.mean(dim=(0, -1), keepdim=True), X3),
    ("max_all", lambda m, x: x.max(), X3),
    ("max_fn", lambda m, x: m.max(x), X3),
    ("max_dim", lambda m, x: x.max(dim=1), X3),
    ("max_dim_values", lambda m, x: x.max(1).values, X3),
    ("max_dim_indices", lambda m, x: x.max(1).indices, X3),
    ("max_dim_neg_keepdim", lambda m, x: x.max(dim=-1, keepdim=True), X3),
    ("max_fn_dim", lambda m, x: m.max(x, 0), X3),
    ("min_all", lambda m, x: x.min(), X3),
    ("min_dim", lambda m, x: x.min(2), X3),
    ("min_fn_dim_keepdim", lambda m, x: m.min(x, dim=0, keepdim=True), X3),
    ("argmax_all", lambda m, x: x.argmax(), X3),
    ("argmax_dim", lambda m, x: x.argmax(dim=1), X3),
    ("argmax_fn_neg_keepdim", lambda m, x: m.argmax(x, dim=-1, keepdim=True), X3),
)
def test_reductions(fn, inputs):
    check_op(fn, *inputs)


@cases(
    ("var_all", lambda m, x: x.var(), X3),
    ("var_dim", lambda m, x: x.var(1), X3),
    ("var_dims_keepdim", lambda m, x: x.var(dim=(0, 2), keepdim=True), X3),
    ("var_biased", lambda m, x: x.var(unbiased=False), X3),
    ("var_dim_biased", lambda m, x: x.var(dim=-1, unbiased=False), X3),
    ("var_correction0", lambda m, x: x.var(dim=1, correction=0), X3),
    ("var_fn", lambda m, x: m.var(x, dim=0), X3),
    ("std_all", lambda m, x: x.std(), X3),
    ("std_dim", lambda m, x: x.std(dim=2), X3),
    ("std_dims_keepdim", lambda m, x: x.std(dim=(-1, 1), keepdim=True), X3),
    ("std_biased", lambda m, x: x.std(1, unbiased=False), X3),
    ("std_correction0", lambda m, x: x.std(correction=0), X3),
    ("std_fn", lambda m, x: m.std(x, dim=-1, keepdim=True), X3),
)
def test_var_std(fn, inputs):
    check_op(fn, *inputs)


@cases(
    ("sum_empty", lambda m, x: x.sum(), np.zeros((0,))),
    ("mean_empty", lambda m, x: x.mean(), np.zeros((0,))),
    ("sum_empty_dim", lambda m, x: x.sum(dim=0), np.zeros((0, 3))),
    ("sum_over_empty_dim", lambda m, x: x.sum(dim=1), np.zeros((3, 0))),
    ("mean_empty_dim", lambda m, x: x.mean(dim=0), np.zeros((0, 3))),
    ("matmul_empty", lambda m, a, b: a @ b, np.zeros((0, 3)), np.ones((3, 2))),
    ("matmul_empty_inner", lambda m, a, b: a @ b, np.zeros((2, 0)), np.zeros((0, 3))),
    ("cat_empty", lambda m, a, b: m.cat([a, b]), np.zeros((0, 3)), np.ones((2, 3))),
)
def test_empty_reductions_forward(fn, inputs):
    check_op(fn, *inputs, backward=False)


def test_mlp_end_to_end():
    def mlp(m, x, w1, b1, w2, b2, t):
        F = m.nn.functional
        hidden = F.layer_norm(F.gelu(F.linear(x, w1, b1)), (5,))
        return F.cross_entropy(F.linear(F.dropout(hidden, 0.5, training=False), w2, b2), t)

    x, t = randn(4, 3), labels(2, 4)
    check_op(mlp, x, randn(5, 3), randn(5), randn(2, 5), randn(2), t)


def test_empty_reduction_values():
    assert engine.zeros(0).sum().item() == 0.0
    assert np.isnan(engine.zeros(0).mean().item())
    np.testing.assert_array_equal(engine.zeros(0, 3).sum(0).numpy(), np.zeros(3))


# --- shapes --------------------------------------------------------------------------------


@cases(
    ("reshape", lambda m, x: x.reshape(6, 4), X3),
    ("reshape_tuple", lambda m, x: x.reshape((4, -1, 2)), X3),
    ("reshape_flat", lambda m, x: x.reshape(-1), X3),
    ("reshape_fn", lambda m, x: m.reshape(x, (3, 8)), X3),
    ("reshape_noncontiguous", lambda m, x: x.transpose(0, 2).reshape(-1), X3),
    ("view", lambda m, x: x.view(3, 8), X3),
    ("view_infer", lambda m, x: x.view(-1, 4), X3),
    ("view_scalar", lambda m, x: x.view(1, 1), randn()),
    ("flatten", lambda m, x: x.flatten(), X3),
    ("flatten_start", lambda m, x: x.flatten(1), X3),
    ("flatten_range", lambda m, x: x.flatten(0, 1), X3),
    ("flatten_fn", lambda m, x: m.flatten(x, start_dim=1), X3),
    ("transpose", lambda m, x: x.transpose(0, 2), X3),
    ("transpose_neg", lambda m, x: x.transpose(-1, -2), X3),
    ("transpose_fn", lambda m, x: m.transpose(x, 0, 1), X3),
    ("permute", lambda m, x: x.permute(2, 0, 1), X3),
    ("permute_tuple", lambda m, x: x.permute((1, 2, 0)), X3),
    ("permute_fn", lambda m, x: m.permute(x, (2, 1, 0)), X3),
    ("T", lambda m, x: x.T * 2, randn(3, 4)),
    ("unsqueeze0", lambda m, x: x.unsqueeze(0), X3),
    ("unsqueeze_neg", lambda m, x: x.unsqueeze(-1), X3),
    ("unsqueeze_fn", lambda m, x: m.unsqueeze(x, 1), X3),
    ("squeeze_all", lambda m, x: x.squeeze(), randn(1, 3, 1)),
    ("squeeze_dim", lambda m, x: x.squeeze(0), randn(1, 3, 1)),
    ("squeeze_neg", lambda m, x: x.squeeze(-1), randn(1, 3, 1)),
    ("squeeze_noop", lambda m, x: x.squeeze(1), randn(1, 3, 1)),
    ("squeeze_fn", lambda m, x: m.squeeze(x, 2), randn(1, 3, 1)),
    ("expand", lambda m, x: x.expand(3, 4), randn(3, 1)),
    ("expand_new_dims", lambda m, x: x.expand(2, 3, 4), randn(3, 1)),
    ("expand_keep", lambda m, x: x.expand(-1, 4), randn(3, 1)),
    ("expand_scalar", lambda m, x: x.expand(2, 2), randn()),
)
def test_shape_ops(fn, inputs):
    check_op(fn, *inputs)


X2 = randn(4, 6)


@cases(
    ("int", lambda m, x: x[1], X2),
    ("int_neg", lambda m, x: x[-1], X2),
    ("two_ints", lambda m, x: x[1, 2], X2),
    ("slice", lambda m, x: x[1:3], X2),
    ("slice_step", lambda m, x: x[:, 1:5:2], X2),
    ("slice_steps_both", lambda m, x: x[::2, ::3], X2),
    ("none_ellipsis", lambda m, x: x[None, ..., 0], X2),
    ("ellipsis_none", lambda m, x: x[..., None], X2),
    ("int_slice_3d", lambda m, x: x[0, :, 1:3], X3),
    ("list_repeated", lambda m, x: x[[0, 2, 2]], X2),
    ("array_index", lambda m, x, i: x[i], X2, np.array([3, 0, 3, 1])),
    ("array_index_dim1", lambda m, x: x[:, [0, 2, 2]], X3),
    ("array_pairs", lambda m, x: x[[0, 1, 1], [2, 3, 3]], X2),
    ("bool_mask", lambda m, x, mask: x[mask], X2, RNG.random((4, 6)) > 0.5),
    ("bool_mask_rows", lambda m, x, mask: x[mask], X2, np.array([True, False, True, True])),
    ("compare_mask", lambda m, x: x[x > 0], X2),
    ("list_negative", lambda m, x: x[[-1, 0, -1]], X2),
    ("array_index_2d", lambda m, x, i: x[i], X2, np.array([[0, 1], [3, 3]])),
    ("empty_mask", lambda m, x, mask: x[mask], X2, np.zeros((4, 6), dtype=bool)),
    ("slice_of_slice", lambda m, x: x[1:][:, ::2][0], X2),
    ("array_and_slice", lambda m, x, i: x[i, 1:3], X2, np.array([2, 0])),
)
def test_indexing(fn, inputs):
    check_op(fn, *inputs)


@cases(
    ("cat0", lambda m, a, b: m.cat([a, b]), randn(2, 3), randn(4, 3)),
    ("cat1", lambda m, a, b: m.cat([a, b], dim=1), randn(2, 3), randn(2, 5)),
    ("cat_neg", lambda m, a, b: m.cat((a, b), -1), randn(2, 3), randn(2, 1)),
    (
        "cat_three",
        lambda m, a, b, c: m.cat([a, b, c], 1),
        randn(2, 1, 3),
        randn(2, 2, 3),
        randn(2, 1, 3),
    ),
    ("cat_same_twice", lambda m, a: m.cat([a, a * 2], 0), randn(2, 3)),
    ("stack0", lambda m, a, b: m.stack([a, b]), randn(2, 3), randn(2, 3)),
    ("stack1", lambda m, a, b: m.stack([a, b], dim=1), randn(2, 3), randn(2, 3)),
    ("stack_last", lambda m, a, b: m.stack((a, b), dim=2), randn(2, 3), randn(2, 3)),
    ("stack_neg", lambda m, a, b, c: m.stack([a, b, c], -1), randn(2, 3), randn(2, 3), randn(2, 3)),
    ("stack_scalars", lambda m, a, b: m.stack([a, b]), randn(), randn()),
)
def test_cat_stack(fn, inputs):
    check_op(fn, *inputs)


INTS_A = RNG.integers(0, 3, (3, 1)).astype(np.float64)
INTS_B = RNG.integers(0, 3, (1, 4)).astype(np.float64)


@cases(
    ("eq", lambda m, a, b: a == b, INTS_A, INTS_B),
    ("ne", lambda m, a, b: a != b, INTS_A, INTS_B),
    ("lt", lambda m, a, b: a < b, INTS_A, INTS_B),
    ("le", lambda m, a, b: a <= b, INTS_A, INTS_B),
    ("gt", lambda m, a, b: a > b, INTS_A, INTS_B),
    ("ge", lambda m, a, b: a >= b, INTS_A, INTS_B),
    ("gt_scalar", lambda m, a, b: a > 1, INTS_A, INTS_B),
    ("eq_scalar_reflected", lambda m, a, b: 1.0 == b, INTS_A, INTS_B),
    ("lt_int_tensor", lambda m, a, k: a < k, INTS_A, np.array([[0, 1, 2]])),
)
def test_comparisons(fn, inputs):
    check_op(fn, *inputs)


@cases(
    ("mat_mat", lambda m, a, b: a @ b, randn(5, 7), randn(7, 3)),
    ("vec_vec", lambda m, a, b: a @ b, randn(4), randn(4)),
    ("vec_mat", lambda m, a, b: a @ b, randn(4), randn(4, 3)),
    ("mat_vec", lambda m, a, b: a @ b, randn(3, 4), randn(4)),
    ("batched_broadcast", lambda m, a, b: a @ b, randn(2, 1, 3, 4), randn(5, 4, 2)),
    ("batched_mat", lambda m, a, b: a @ b, randn(2, 3, 4), randn(4, 2)),
    ("vec_batched", lambda m, a, b: a @ b, randn(4), randn(2, 4, 3)),
    ("batched_vec", lambda m, a, b: a @ b, randn(2, 3, 4), randn(4)),
    ("matmul_fn", lambda m, a, b: m.matmul(a, b), randn(2, 3), randn(3, 2)),
    ("matmul_method", lambda m, a, b: a.matmul(b), randn(2, 3), randn(3, 2)),
    ("rmatmul_chain", lambda m, a, b: (a @ b) @ b.T, randn(2, 3), randn(3, 3)),
)
def test_matmul(fn, inputs):
    check_op(fn, *inputs)


# --- nn.functional -------------------------------------------------------------------------


@cases(
    (
        "linear",
        lambda m, x, w, b: m.nn.functional.linear(x, w, b),
        randn(4, 3),
        randn(5, 3),
        randn(5),
    ),
    ("linear_no_bias", lambda m, x, w: m.nn.functional.linear(x, w), randn(4, 3), randn(5, 3)),
    (
        "linear_3d",
        lambda m, x, w, b: m.nn.functional.linear(x, w, b),
        randn(2, 4, 3),
        randn(5, 3),
        randn(5),
    ),
    (
        "linear_1d",
        lambda m, x, w, b: m.nn.functional.linear(x, w, b),
        randn(3),
        randn(2, 3),
        randn(2),
    ),
    ("relu", lambda m, x: m.nn.functional.relu(x), nonzero(3, 4)),
    ("leaky_relu", lambda m, x: m.nn.functional.leaky_relu(x), nonzero(3, 4)),
    ("leaky_relu_slope", lambda m, x: m.nn.functional.leaky_relu(x, 0.2), nonzero(3, 4)),
    (
        "leaky_relu_kw",
        lambda m, x: m.nn.functional.leaky_relu(x, negative_slope=0.3),
        nonzero(3, 4),
    ),
    ("gelu", lambda m, x: m.nn.functional.gelu(x), randn(3, 4) * 2),
    ("gelu_tanh", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), randn(3, 4) * 2),
    ("sigmoid", lambda m, x: m.nn.functional.sigmoid(x), randn(3, 4)),
    ("tanh", lambda m, x: m.nn.functional.tanh(x), randn(3, 4)),
    ("softmax_dim1", lambda m, x: m.nn.functional.softmax(x, dim=1), randn(3, 4, 2)),
    ("softmax_last", lambda m, x: m.nn.functional.softmax(x, -1), randn(3, 4)),
    ("softmax_1d", lambda m, x: m.nn.functional.softmax(x, dim=0), randn(5)),
    ("log_softmax_dim1", lambda m, x: m.nn.functional.log_softmax(x, dim=1), randn(3, 4, 2)),
    ("log_softmax_last", lambda m, x: m.nn.functional.log_softmax(x, dim=-1), randn(3, 4)),
)
def test_activations(fn, inputs):
    check_op(fn, *inputs)


LARGE = 1000.0 + RNG.uniform(-5, 5, (3, 4))
MASKED = np.where(np.arange(4) < 2, randn(3, 4), -np.inf)  # an attention-style mask


@cases(
    ("softmax", lambda m, x: m.nn.functional.softmax(x, dim=-1), LARGE),
    ("softmax_neg", lambda m, x: m.nn.functional.softmax(x, dim=1), -LARGE),
    ("log_softmax", lambda m, x: m.nn.functional.log_softmax(x, dim=1), LARGE),
    ("log_softmax_neg", lambda m, x: m.nn.functional.log_softmax(x, dim=-1), -LARGE),
    ("cross_entropy", lambda m, x, t: m.nn.functional.cross_entropy(x, t), LARGE, labels(4, 3)),
    ("softmax_neg_inf", lambda m, x: m.nn.functional.softmax(x, dim=-1), MASKED),
    ("log_softmax_neg_inf", lambda m, x: m.nn.functional.log_softmax(x, dim=-1)[:, :2], MASKED),
)
def test_large_inputs_stable(fn, inputs):
    # x - max(x) is exact for inputs near 1000 but rounding x itself is ~6e-5 in float32,
    # so the torch comparison gets an absolute tolerance of that order.
    check_op(fn, *inputs, torch_atol=2e-4)


def _conv(**kwargs):
    return lambda m, x, w, *b: m.nn.functional.conv2d(x, w, *b, **kwargs)


@cases(
    ("plain", _conv(), randn(2, 3, 5, 5), randn(4, 3, 3, 3), randn(4)),
    ("stride2", _conv(stride=2), randn(1, 2, 6, 6), randn(3, 2, 3, 3), randn(3)),
    ("padding1", _conv(padding=1), randn(1, 2, 4, 4), randn(3, 2, 3, 3), randn(3)),
    ("dilation2", _conv(dilation=2), randn(1, 2, 6, 6), randn(2, 2, 2, 2), randn(2)),
    ("groups2", _conv(groups=2), randn(1, 4, 4, 4), randn(4, 2, 2, 2), randn(4)),
    ("no_bias", _conv(), randn(2, 2, 4, 4), randn(3, 2, 2, 2)),
    (
        "bias_none_kw",
        lambda m, x, w: m.nn.functional.conv2d(x, w, bias=None, padding=1),
        randn(1, 2, 3, 3),
        randn(2, 2, 3, 3),
    ),
    (
        "all",
        _conv(stride=2, padding=1, dilation=2, groups=2),
        randn(1, 4, 6, 6),
        randn(4, 2, 2, 2),
        randn(4),
    ),
    (
        "tuple_args",
        _conv(stride=(2, 1), padding=(1, 0)),
        randn(1, 2, 5, 4),
        randn(2, 2, 3, 2),
        randn(2),
    ),
    ("kernel_1x1", _conv(), randn(2, 3, 3, 3), randn(2, 3, 1, 1), randn(2)),
    ("padding_same", _conv(padding="same"), randn(1, 2, 4, 4), randn(2, 2, 3, 3), randn(2)),
    ("padding_valid", _conv(padding="valid"), randn(1, 2, 4, 4), randn(2, 2, 3, 3)),
)
def test_conv2d(fn, inputs):
    check_op(fn, *inputs)


POOL_X = randn(2, 2, 6, 6)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=2),
        dict(kernel_size=3),
        dict(kernel_size=2, stride=1),
        dict(kernel_size=3, stride=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=2, stride=2, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2)),
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()),
)
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pool2d(pool, kwargs):
    check_op(lambda m, x: getattr(m.nn.functional, pool)(x, **kwargs), POOL_X)


def test_pool2d_positional_args():
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1), POOL_X)
    check_op(lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1), POOL_X)


def _ce(**kwargs):
    return lambda m, x, t: m.nn.functional.cross_entropy(x, t, **kwargs)


TARGETS_IGNORED = np.array([0, 2, -100, 1, 3])
TARGETS_IGNORE_1 = np.array([1, 2, 1, 0, 3])


@cases(
    ("mean", _ce(), randn(5, 4), labels(4, 5)),
    ("sum", _ce(reduction="sum"), randn(5, 4), labels(4, 5)),
    ("none", _ce(reduction="none"), randn(5, 4), labels(4, 5)),
    ("ignore_default", _ce(), randn(5, 4), TARGETS_IGNORED),
    ("ignore_index", _ce(ignore_index=1), randn(5, 4), TARGETS_IGNORE_1),
    ("ignore_index_sum", _ce(ignore_index=1, reduction="sum"), randn(5, 4), TARGETS_IGNORE_1),
    ("ignore_index_none", _ce(ignore_index=1, reduction="none"), randn(5, 4), TARGETS_IGNORE_1),
    ("label_smoothing", _ce(label_smoothing=0.1), randn(5, 4), labels(4, 5)),
    ("label_smoothing_none", _ce(label_smoothing=0.1, reduction="none"), randn(5, 4), labels(4, 5)),
    (
        "label_smoothing_ignore",
        _ce(label_smoothing=0.1, ignore_index=1),
        randn(5, 4),
        TARGETS_IGNORE_1,
    ),
    ("spatial", _ce(), randn(3, 4, 5), labels(4, 3, 5)),
    ("spatial_none", _ce(reduction="none"), randn(3, 4, 5), labels(4, 3, 5)),
    ("spatial_2d", _ce(), randn(2, 3, 2, 2), labels(3, 2, 2, 2)),
    ("single_sample", _ce(), randn(1, 3), labels(3, 1)),
    (
        "class_weights",
        lambda m, x, t, w: m.nn.functional.cross_entropy(x, t, w),
        randn(5, 4),
        labels(4, 5),
        Const(positive(4)),
    ),
    (
        "class_weights_ignore_smoothing",
        lambda m, x, t, w: m.nn.functional.cross_entropy(
            x, t, weight=w, ignore_index=1, label_smoothing=0.1
        ),
        randn(5, 4),
        TARGETS_IGNORE_1,
        Const(positive(4)),
    ),
)
def test_cross_entropy(fn, inputs):
    check_op(fn, *inputs)


def _nll(**kwargs):
    return lambda m, x, t: m.nn.functional.nll_loss(x, t, **kwargs)


@cases(
    ("mean", _nll(), randn(5, 4), labels(4, 5)),
    ("sum", _nll(reduction="sum"), randn(5, 4), labels(4, 5)),
    ("none", _nll(reduction="none"), randn(5, 4), labels(4, 5)),
    ("ignore_index", _nll(ignore_index=1), randn(5, 4), TARGETS_IGNORE_1),
    ("spatial", _nll(), randn(3, 4, 5), labels(4, 3, 5)),
    (
        "class_weights",
        lambda m, x, t, w: m.nn.functional.nll_loss(x, t, weight=w),
        randn(5, 4),
        labels(4, 5),
        Const(positive(4)),
    ),
    (
        "of_log_softmax",
        lambda m, x, t: m.nn.functional.nll_loss(m.nn.functional.log_softmax(x, dim=1), t),
        randn(5, 4),
        labels(4, 5),
    ),
)
def test_nll_loss(fn, inputs):
    check_op(fn, *inputs)


TARGET = randn(3, 4)


@cases(
    ("mse", lambda m, x, t: m.nn.functional.mse_loss(x, t), randn(3, 4), randn(3, 4)),
    (
        "mse_sum",
        lambda m, x, t: m.nn.functional.mse_loss(x, t, reduction="sum"),
        randn(3, 4),
        Const(randn(3, 4)),
    ),
    (
        "mse_none",
        lambda m, x, t: m.nn.functional.mse_loss(x, t, reduction="none"),
        randn(3, 4),
        randn(3, 4),
    ),
    ("l1", lambda m, x, t: m.nn.functional.l1_loss(x, t), TARGET + nonzero(3, 4), Const(TARGET)),
    ("l1_both", lambda m, x, t: m.nn.functional.l1_loss(x, t), TARGET + nonzero(3, 4), TARGET),
    (
        "l1_sum",
        lambda m, x, t: m.nn.functional.l1_loss(x, t, reduction="sum"),
        TARGET + nonzero(3, 4),
        Const(TARGET),
    ),
    (
        "l1_none",
        lambda m, x, t: m.nn.functional.l1_loss(x, t, reduction="none"),
        TARGET + nonzero(3, 4),
        Const(TARGET),
    ),
    (
        "bce",
        lambda m, p, t: m.nn.functional.binary_cross_entropy(p, t),
        RNG.uniform(0.1, 0.9, (3, 4)),
        Const(RNG.uniform(0, 1, (3, 4))),
    ),
    (
        "bce_hard_targets",
        lambda m, p, t: m.nn.functional.binary_cross_entropy(p, t),
        RNG.uniform(0.1, 0.9, (6,)),
        Const(RNG.integers(0, 2, (6,)).astype(float)),
    ),
    (
        "bce_sum",
        lambda m, p, t: m.nn.functional.binary_cross_entropy(p, t, reduction="sum"),
        RNG.uniform(0.1, 0.9, (3, 4)),
        Const(RNG.uniform(0, 1, (3, 4))),
    ),
    (
        "bce_none",
        lambda m, p, t: m.nn.functional.binary_cross_entropy(p, t, reduction="none"),
        RNG.uniform(0.1, 0.9, (3, 4)),
        Const(RNG.uniform(0, 1, (3, 4))),
    ),
    (
        "bce_logits",
        lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(x, t),
        randn(3, 4) * 3,
        Const(RNG.uniform(0, 1, (3, 4))),
    ),
    (
        "bce_logits_large",
        lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(x, t),
        np.array([-120.0, -30.0, 30.0, 120.0]),
        Const(np.array([1.0, 0.0, 1.0, 0.0])),
    ),
    (
        "bce_logits_none",
        lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none"),
        randn(3, 4),
        Const(RNG.uniform(0, 1, (3, 4))),
    ),
)
def test_losses(fn, inputs):
    check_op(fn, *inputs)


def _bn(training, **kwargs):
    def fn(m, x, rm, rv, *affine):
        return m.nn.functional.batch_norm(x, rm, rv, *affine, training=training, **kwargs)

    return fn


RUNNING_MEAN = Const(randn(3) * 0.1)
RUNNING_VAR = Const(positive(3))


@cases(
    ("train_2d", _bn(True), randn(4, 3), RUNNING_MEAN, RUNNING_VAR, randn(3), randn(3)),
    ("train_4d", _bn(True), randn(2, 3, 2, 3), RUNNING_MEAN, RUNNING_VAR, randn(3), randn(3)),
    ("train_3d", _bn(True), randn(2, 3, 4), RUNNING_MEAN, RUNNING_VAR, randn(3), randn(3)),
    ("train_no_affine", _bn(True), randn(5, 3), RUNNING_MEAN, RUNNING_VAR),
    ("train_no_running", _bn(True), randn(5, 3), None, None, randn(3), randn(3)),
    (
        "train_eps_momentum",
        _bn(True, momentum=0.3, eps=1e-3),
        randn(5, 3),
        RUNNING_MEAN,
        RUNNING_VAR,
        randn(3),
        randn(3),
    ),
    ("eval", _bn(False), randn(4, 3), RUNNING_MEAN, RUNNING_VAR, randn(3), randn(3)),
    ("eval_4d", _bn(False), randn(2, 3, 2, 2), RUNNING_MEAN, RUNNING_VAR, randn(3), randn(3)),
)
def test_batch_norm(fn, inputs):
    check_op(fn, *inputs)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)], ids=str)
def test_batch_norm_updates_running_stats(shape):
    import engine.nn.functional as F

    x = randn(*shape)
    mean0, var0 = randn(3), positive(3)
    running_mean = engine.tensor(mean0.copy(), dtype=engine.float64)
    running_var = engine.tensor(var0.copy(), dtype=engine.float64)
    F.batch_norm(
        engine.tensor(x, dtype=engine.float64),
        running_mean,
        running_var,
        training=True,
        momentum=0.2,
    )
    axes = tuple(i for i in range(len(shape)) if i != 1)
    batch_var = x.var(axis=axes, ddof=1)  # torch keeps the unbiased variance
    np.testing.assert_allclose(running_mean.numpy(), 0.8 * mean0 + 0.2 * x.mean(axis=axes))
    np.testing.assert_allclose(running_var.numpy(), 0.8 * var0 + 0.2 * batch_var)


@pytest.mark.torch
def test_batch_norm_running_stats_match_torch():
    import torch

    import engine.nn.functional as F

    x = randn(6, 3, 2).astype(np.float32)
    stats = []
    for lib, functional in ((engine, F), (torch, torch.nn.functional)):
        rm, rv = lib.zeros(3), lib.ones(3)
        for _ in range(2):
            functional.batch_norm(lib.tensor(x), rm, rv, training=True)
        functional.batch_norm(lib.tensor(x), rm, rv, training=False)  # eval leaves them alone
        stats.append((rm.numpy(), rv.numpy()))
    for ours, ref in zip(*stats, strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def _ln(shape, **kwargs):
    return lambda m, x, *wb: m.nn.functional.layer_norm(x, shape, *wb, **kwargs)


@cases(
    ("last_dim", _ln((5,)), randn(4, 5)),
    ("last_dim_affine", _ln((5,)), randn(4, 5), randn(5), randn(5)),
    ("two_dims_affine", _ln((3, 4)), randn(2, 3, 4), randn(3, 4), randn(3, 4)),
    ("list_shape_eps", _ln([4], eps=1e-3), randn(2, 3, 4), randn(4), randn(4)),
    (
        "kw_affine",
        lambda m, x, w, b: m.nn.functional.layer_norm(x, (4,), weight=w, bias=b),
        randn(3, 4),
        randn(4),
        randn(4),
    ),
)
def test_layer_norm(fn, inputs):
    check_op(fn, *inputs)


# --- dropout (random, so compared with its own mask rather than torch) ---------------------------


def test_dropout_p0_and_eval_are_identity():
    import engine.nn.functional as F

    x = engine.randn(4, 5, requires_grad=True)
    for out in (
        F.dropout(x, p=0.0),
        F.dropout(x, 0.5, training=False),
        F.dropout(x, p=0.5, training=False),
    ):
        np.testing.assert_array_equal(out.detach().numpy(), x.detach().numpy())
    F.dropout(x, p=0.5, training=False).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 5), dtype=np.float32))


def test_dropout_default_is_training():
    import engine.nn.functional as F

    engine.manual_seed(0)
    out = F.dropout(engine.ones(1000)).numpy()
    assert 0.4 < (out == 0).mean() < 0.6


def test_dropout_half_zeros_and_scales():
    import engine.nn.functional as F

    engine.manual_seed(0)
    x = engine.tensor(RNG.uniform(1.0, 2.0, (50, 40)), dtype=engine.float32, requires_grad=True)
    out = F.dropout(x, p=0.5, training=True)
    y, xv = out.detach().numpy(), x.detach().numpy()
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(y[kept], 2 * xv[kept], rtol=1e-6)
    weights = RNG.uniform(0.5, 1.5, (50, 40))
    (out * engine.tensor(weights, dtype=engine.float32)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept * 2 * weights, rtol=1e-6)


def test_dropout_p1_zeros_everything():
    import engine.nn.functional as F

    out = F.dropout(engine.randn(3, 4), p=1.0)
    np.testing.assert_array_equal(out.numpy(), np.zeros((3, 4)))


# --- gradients at kinks follow PyTorch's conventions ------------------------------------------

KINK_X = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.0], dtype=np.float32)


@pytest.mark.torch
@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: x.relu(),
        lambda m, x: x.abs(),
        lambda m, x: x.clamp(-0.5, 0.5),
        lambda m, x: m.maximum(x, m.zeros(6)),
        lambda m, x: m.minimum(x, m.zeros(6)),
        lambda m, x: x.max(),
        lambda m, x: x.max(dim=0).values,
        lambda m, x: x.reshape(2, 3).max(dim=1).values,
        lambda m, x: m.nn.functional.leaky_relu(x, 0.1),
        lambda m, x: m.nn.functional.max_pool2d(x.reshape(1, 1, 2, 3), 2, stride=1),
    ],
    ids=[
        "relu",
        "abs",
        "clamp",
        "maximum",
        "minimum",
        "max",
        "max_dim",
        "max_rows",
        "leaky_relu",
        "max_pool2d",
    ],
)
def test_kink_gradients_match_torch(fn):
    import torch

    grads = []
    for lib in (engine, torch):
        x = lib.tensor(KINK_X, requires_grad=True)
        fn(lib, x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-6)
