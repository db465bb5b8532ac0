"""Group and instance norm, similarity, smooth-L1/Huber/KL losses, channel dropout, attention,
PReLU and the keyed containers, against PyTorch: values, gradients, state, reprs and errors."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest

import engine
from engine import nn
from tests.engine.gradcheck import check_op

try:
    import torch
except ImportError:  # test_check_op also runs on cuda (test_gpu_ops), where no torch is needed
    torch = None

pytestmark = [pytest.mark.torch, pytest.mark.skipif(torch is None, reason="needs PyTorch")]

rng = np.random.default_rng(7)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.1, 1.0, shape)


def away_from(points, *shape, gap=0.05):
    """Normal values kept `gap` away from each of `points` (kinks of the op)."""
    x = rng.standard_normal(shape)
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, gap, -gap) * 2
    return x


def F(lib):
    return lib.nn.functional


MASK = np.ones((4, 5), dtype=bool)
MASK[1] = False  # a query row with nothing to attend to
MASK[2, :3] = False

# name -> (fn(lib, *tensors), inputs): forward and gradients against finite differences in
# float64 and against PyTorch in float32
CASES = {
    "normalize": (lambda m, x: F(m).normalize(x), [randn(3, 4)]),
    "normalize_p1_dim0": (lambda m, x: F(m).normalize(x, p=1, dim=0), [away_from([0], 3, 4)]),
    "normalize_p3_last": (lambda m, x: F(m).normalize(x, 3.0, -1), [randn(2, 3, 4)]),
    "normalize_p_half": (lambda m, x: F(m).normalize(x, 0.5), [away_from([0], 2, 3)]),
    "normalize_inf": (lambda m, x: F(m).normalize(x, float("inf")), [randn(3, 4)]),
    "normalize_dims": (lambda m, x: F(m).normalize(x, dim=(1, 2)), [randn(2, 3, 4)]),
    "cosine": (lambda m, a, b: F(m).cosine_similarity(a, b), [randn(3, 4), randn(3, 4)]),
    "cosine_broadcast": (
        lambda m, a, b: F(m).cosine_similarity(a, b, dim=-1),
        [randn(2, 1, 3), randn(4, 3)],
    ),
    "torch_cosine": (lambda m, a, b: m.cosine_similarity(a, b, 0), [randn(5), randn(5)]),
    "pairwise": (lambda m, a, b: F(m).pairwise_distance(a, b), [randn(3, 4), randn(3, 4)]),
    "pairwise_p1_keepdim": (
        lambda m, a, b: F(m).pairwise_distance(a, b, 1.0, keepdim=True),
        [randn(3, 4), randn(3, 4)],
    ),
    "pairwise_p3_broadcast": (
        lambda m, a, b: F(m).pairwise_distance(a, b, p=3),
        [randn(2, 3, 4), randn(4)],
    ),
    "pairwise_vectors": (
        lambda m, a, b: m.pairwise_distance(a, b, 2.0, 0.1),
        [randn(5), randn(5)],
    ),
    "group_norm": (lambda m, x: F(m).group_norm(x, 2), [randn(3, 4, 5)]),
    "group_norm_affine": (
        lambda m, x, w, b: F(m).group_norm(x, 3, w, b, eps=1e-3),
        [randn(2, 6, 2, 3), randn(6), randn(6)],
    ),
    "group_norm_weight_only": (
        lambda m, x, w: F(m).group_norm(x, 1, w),
        [randn(2, 4, 3), randn(4)],
    ),
    "instance_norm": (lambda m, x: F(m).instance_norm(x), [randn(2, 3, 4, 5)]),
    "instance_norm_affine": (
        lambda m, x, w, b: F(m).instance_norm(x, weight=w, bias=b, eps=1e-3),
        [randn(2, 3, 6), randn(3), randn(3)],
    ),
    "instance_norm_running": (
        lambda m, x, w: F(m).instance_norm(
            x,
            m.tensor([0.1, -0.2, 0.3], dtype=x.dtype, device=x.device),
            m.tensor([1.5, 0.5, 2.0], dtype=x.dtype, device=x.device),
            w,
            use_input_stats=False,
        ),
        [randn(2, 3, 4), randn(3)],
    ),
    "smooth_l1": (lambda m, a, b: F(m).smooth_l1_loss(a, b), [randn(3, 4), randn(3, 4)]),
    "smooth_l1_sum_beta": (
        lambda m, a, b: F(m).smooth_l1_loss(a, b, reduction="sum", beta=0.5),
        [randn(3, 4), randn(3, 4)],
    ),
    "smooth_l1_none": (
        lambda m, a, b: F(m).smooth_l1_loss(a, b, reduction="none", beta=2.0),
        [randn(3, 4), randn(3, 4)],
    ),
    "smooth_l1_beta0": (
        lambda m, a, b: F(m).smooth_l1_loss(a, b, beta=0.0),
        [away_from([0], 3, 4), np.zeros((3, 4))],
    ),
    "huber": (lambda m, a, b: F(m).huber_loss(a, b), [randn(3, 4), randn(3, 4)]),
    "huber_delta_sum": (
        lambda m, a, b: F(m).huber_loss(a, b, "sum", 0.7),
        [randn(3, 4), randn(3, 4)],
    ),
    "huber_none": (
        lambda m, a, b: F(m).huber_loss(a, b, reduction="none", delta=2.0),
        [randn(2, 5), randn(2, 5)],
    ),
    "huber_weight": (
        lambda m, a, b, w: F(m).huber_loss(a, b, delta=0.5, weight=w),
        [randn(2, 5), randn(2, 5), positive(2, 5)],
    ),
    "kl_div_batchmean": (
        lambda m, x, t: F(m).kl_div(x, t, reduction="batchmean"),
        [randn(3, 4), positive(3, 4)],
    ),
    "kl_div_sum": (
        lambda m, x, t: F(m).kl_div(x, t, reduction="sum"),
        [randn(3, 4), positive(3, 4)],
    ),
    "kl_div_none": (
        lambda m, x, t: F(m).kl_div(x, t, reduction="none"),
        [randn(3, 4), positive(3, 4)],
    ),
    "kl_div_mean_log_target": (
        lambda m, x, t: F(m).kl_div(x, t, reduction="mean", log_target=True),
        [randn(3, 4), randn(3, 4)],
    ),
    "kl_div_batchmean_log_target": (
        lambda m, x, t: F(m).kl_div(x, t, reduction="batchmean", log_target=True),
        [randn(2, 3), randn(2, 3)],
    ),
    "prelu_shared": (lambda m, x, w: F(m).prelu(x, w), [away_from([0], 3, 4), np.array([0.3])]),
    "prelu_channels": (
        lambda m, x, w: F(m).prelu(x, w),
        [away_from([0], 2, 3, 2, 2), np.array([0.1, -0.5, 2.0])],
    ),
    "prelu_vector": (lambda m, x, w: m.prelu(x, w), [away_from([0], 5), np.array([0.2])]),
    "sdpa": (
        lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v),
        [randn(2, 3, 4, 8), randn(2, 3, 5, 8), randn(2, 3, 5, 6)],
    ),
    "sdpa_bool_mask": (
        lambda m, q, k, v, mask: F(m).scaled_dot_product_attention(q, k, v, attn_mask=mask),
        [randn(2, 4, 8), randn(2, 5, 8), randn(2, 5, 6), MASK],
    ),
    "sdpa_float_mask": (
        lambda m, q, k, v, mask: F(m).scaled_dot_product_attention(q, k, v, mask),
        [randn(4, 8), randn(5, 8), randn(5, 6), randn(4, 5)],
    ),
    "sdpa_causal_scale": (
        lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
        [randn(2, 4, 3), randn(2, 6, 3), randn(2, 6, 2)],
    ),
    "sdpa_broadcast_batch": (
        lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v),
        [randn(2, 3, 4, 8), randn(1, 3, 5, 8), randn(3, 5, 6)],
    ),
    "sdpa_gqa": (
        lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, enable_gqa=True),
        [randn(1, 4, 3, 2), randn(1, 2, 5, 2), randn(1, 2, 5, 3)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_op(name):
    fn, inputs = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning, from both libraries
        check_op(fn, *inputs)


def _both(fn):
    """fn(torch) and fn(engine): each the result, or the exception it raised."""
    out = []
    for lib in (torch, engine):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(fn(lib))
        except Exception as exc:  # the exception is what is compared
            out.append(exc)
    return out


def t(lib, *shape, dtype=None):
    return lib.ones(*shape, dtype=dtype if dtype is None else getattr(lib, dtype))


ERRORS = {
    "normalize_int": lambda m: F(m).normalize(t(m, 2, 3, dtype="int64")),
    "normalize_dim_range": lambda m: F(m).normalize(t(m, 3)),
    "cosine_int": lambda m: F(m).cosine_similarity(
        t(m, 2, 3, dtype="int64"), t(m, 2, 3, dtype="int64")
    ),
    "cosine_shapes": lambda m: F(m).cosine_similarity(t(m, 2, 3), t(m, 4, 3)),
    "cosine_dim_range": lambda m: F(m).cosine_similarity(t(m, 3), t(m, 3)),
    "pairwise_empty_inf": lambda m: F(m).pairwise_distance(t(m, 2, 0), t(m, 2, 0), float("inf")),
    "kl_div_int": lambda m: F(m).kl_div(t(m, 3), t(m, 3, dtype="int64")),
    "kl_div_reduction": lambda m: F(m).kl_div(t(m, 3), t(m, 3), reduction="bad"),
    "smooth_l1_int": lambda m: F(m).smooth_l1_loss(t(m, 3, dtype="int64"), t(m, 3, dtype="int64")),
    "smooth_l1_beta": lambda m: F(m).smooth_l1_loss(t(m, 3), t(m, 3), beta=-1.0),
    "smooth_l1_reduction": lambda m: F(m).smooth_l1_loss(t(m, 3), t(m, 3), reduction="avg"),
    "smooth_l1_shapes": lambda m: F(m).smooth_l1_loss(t(m, 3, 4), t(m, 5)),
    "huber_delta": lambda m: F(m).huber_loss(t(m, 3), t(m, 3), delta=0.0),
    "huber_int": lambda m: F(m).huber_loss(t(m, 3, dtype="int64"), t(m, 3, dtype="int64")),
    "huber_weight_shape": lambda m: F(m).huber_loss(t(m, 3), t(m, 3), weight=t(m, 1)),
    "huber_weight_reduction": lambda m: F(m).huber_loss(t(m, 3), t(m, 3), "x", weight=t(m, 3)),
    "huber_reduction": lambda m: F(m).huber_loss(t(m, 3), t(m, 3), "x"),
    "group_norm_1d": lambda m: F(m).group_norm(t(m, 4), 2),
    "group_norm_groups": lambda m: F(m).group_norm(t(m, 2, 6, 3), 4),
    "group_norm_zero_groups": lambda m: F(m).group_norm(t(m, 2, 6, 3), 0),
    "group_norm_one_value": lambda m: F(m).group_norm(t(m, 1, 2), 2),
    "group_norm_weight": lambda m: F(m).group_norm(t(m, 2, 6, 3), 3, t(m, 4)),
    "group_norm_int": lambda m: F(m).group_norm(t(m, 2, 4, 3, dtype="int64"), 2),
    "instance_norm_spatial": lambda m: F(m).instance_norm(t(m, 2, 3, 1)),
    "instance_norm_weight": lambda m: F(m).instance_norm(t(m, 2, 3, 4), weight=t(m, 4)),
    "instance_norm_no_stats": lambda m: F(m).instance_norm(t(m, 2, 3, 4), use_input_stats=False),
    "dropout2d_p": lambda m: F(m).dropout2d(t(m, 2, 3, 4, 4), 1.5),
    "dropout2d_int": lambda m: F(m).dropout2d(t(m, 2, 3, 4, 4, dtype="int64")),
    "dropout2d_1d": lambda m: F(m).dropout2d(t(m, 3)),
    "dropout2d_module_p": lambda m: m.nn.Dropout2d(-0.1),
    "prelu_int": lambda m: F(m).prelu(t(m, 2, 3, dtype="int64"), t(m, 1, dtype="int64")),
    "prelu_dtype": lambda m: F(m).prelu(t(m, 2, 3), t(m, 1, dtype="float64")),
    "prelu_channels": lambda m: F(m).prelu(t(m, 2, 3), t(m, 4)),
    "prelu_vector_channels": lambda m: F(m).prelu(t(m, 4), t(m, 4)),
    "prelu_scalar_input": lambda m: F(m).prelu(m.tensor(1.0), t(m, 4)),
    "prelu_weight_2d": lambda m: F(m).prelu(t(m, 2, 3), t(m, 3, 1)),
    "sdpa_1d": lambda m: F(m).scaled_dot_product_attention(t(m, 8), t(m, 8), t(m, 8)),
    "sdpa_dtypes": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8, dtype="float64"), t(m, 5, 8)
    ),
    "sdpa_mask_and_causal": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8), t(m, 5, 8), attn_mask=t(m, 4, 5, dtype="bool"), is_causal=True
    ),
    "sdpa_mask_dtype": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8), t(m, 5, 8), attn_mask=t(m, 4, 5, dtype="int64")
    ),
    "sdpa_mask_shape": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8), t(m, 5, 8), attn_mask=t(m, 3, 5, dtype="bool")
    ),
    "sdpa_scale_positional": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8), t(m, 5, 8), None, 0.0, False, 0.3
    ),
    "sdpa_dropout_range": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8), t(m, 5, 8), dropout_p=1.5
    ),
    "sdpa_key_size": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 7), t(m, 5, 8)
    ),
    "sdpa_heads": lambda m: F(m).scaled_dot_product_attention(
        t(m, 2, 6, 4, 8), t(m, 2, 3, 5, 8), t(m, 2, 3, 5, 8)
    ),
    "group_norm_module": lambda m: m.nn.GroupNorm(4, 6),
    "group_norm_module_channels": lambda m: m.nn.GroupNorm(2, 4)(t(m, 2, 6, 3)),
    "instance_norm_module_dims": lambda m: m.nn.InstanceNorm2d(3)(t(m, 2, 3, 4, 4, 4)),
    "instance_norm_module_channels": lambda m: m.nn.InstanceNorm2d(3, affine=True)(
        t(m, 2, 4, 4, 4)
    ),
    "unflatten_size_type": lambda m: m.nn.Unflatten(1, 6),
    "unflatten_element_type": lambda m: m.nn.Unflatten(1, (2.0, 3)),
    "unflatten_product": lambda m: m.nn.Unflatten(1, (2, 3))(t(m, 2, 7)),
    "unflatten_dim": lambda m: m.nn.Unflatten(3, (2, 3))(t(m, 2, 6)),
    "unflatten_two_inferred": lambda m: t(m, 2, 12).unflatten(1, (-1, -1)),
    "unflatten_dim_range": lambda m: m.unflatten(t(m, 2, 12), 2, (3, 4)),
    "normalize_out_needs_grad": lambda m: F(m).normalize(
        m.ones(2, 3, requires_grad=True), out=m.empty(2, 3)
    ),
    "huber_mixed_dtypes_backward": lambda m: (
        F(m).huber_loss(m.ones(3, dtype=m.float64, requires_grad=True), t(m, 3)).backward()
    ),
    "huber_int_target_backward": lambda m: (
        F(m).huber_loss(m.ones(3, requires_grad=True), t(m, 3, dtype="int64")).backward()
    ),
    "huber_target_grad_mixed": lambda m: (
        F(m).huber_loss(t(m, 3), m.ones(3, dtype=m.float64, requires_grad=True)).backward()
    ),
    "prelu_weight_changed_in_place": lambda m: _changed_after(m, "prelu"),
    "kl_div_target_changed_in_place": lambda m: _changed_after(m, "kl_div"),
    "group_norm_weight_changed_in_place": lambda m: _changed_after(m, "group_norm"),
    "kl_div_module_reduction": lambda m: m.nn.KLDivLoss(reduction="bad")(t(m, 3), t(m, 3)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    expected, got = _both(ERRORS[name])
    assert isinstance(expected, Exception), f"torch accepts it: {expected}"
    assert type(got) is type(expected) or isinstance(got, type(expected)), (
        f"engine: {got!r}, torch: {expected!r}"
    )


def _changed_after(m, op):
    """`op` on tensors of which one is then changed in place, then backward."""
    x = m.ones(2, 3, 4, requires_grad=True) * 1
    other = m.full((3,), 0.5, requires_grad=True) * 1
    if op == "prelu":
        out = F(m).prelu(x.detach(), other)
        other.mul_(2)
    elif op == "group_norm":
        out = F(m).group_norm(x.detach(), 3, other, m.zeros(3, requires_grad=True))
        other.mul_(2)
    else:
        target = m.full((2, 3, 4), 0.5, requires_grad=True) * 1
        out = F(m).kl_div(x, target, reduction="sum")
        target.mul_(2)
    out.sum().backward()
    return out


ACCEPTED = {
    "dropout2d_1d_eval": lambda m: F(m).dropout2d(t(m, 3), training=False),
    "dropout2d_p0": lambda m: F(m).dropout2d(t(m, 3), 0.0),
    "dropout2d_int_p1": lambda m: F(m).dropout2d(t(m, 2, 3, dtype="int64"), 1.0),
    "cosine_int_float": lambda m: F(m).cosine_similarity(t(m, 2, 3, dtype="int64"), t(m, 2, 3)),
    "pairwise_int": lambda m: F(m).pairwise_distance(
        t(m, 2, 3, dtype="int64"), t(m, 2, 3, dtype="int64")
    ),
    "pairwise_scalars": lambda m: F(m).pairwise_distance(m.tensor(1.0), m.tensor(3.0)),
    "pairwise_empty_rows_neg_p": lambda m: F(m).pairwise_distance(t(m, 0, 3), t(m, 0, 3), -1.0),
    "normalize_zeros": lambda m: F(m).normalize(m.zeros(2, 3)),
    "normalize_f64": lambda m: F(m).normalize(t(m, 2, 3, dtype="float64")),
    "smooth_l1_int_target": lambda m: F(m).smooth_l1_loss(t(m, 3) * 3, t(m, 3, dtype="int64")),
    "smooth_l1_f64_target": lambda m: F(m).smooth_l1_loss(t(m, 3) * 3, t(m, 3, dtype="float64")),
    "huber_f64_target": lambda m: F(m).huber_loss(t(m, 3) * 3, t(m, 3, dtype="float64")),
    "smooth_l1_empty": lambda m: F(m).smooth_l1_loss(m.zeros(0), m.zeros(0)),
    "kl_div_f64_target": lambda m: F(m).kl_div(
        t(m, 3), t(m, 3, dtype="float64") / 2, None, None, "sum"
    ),
    "kl_div_zero_target": lambda m: F(m).kl_div(t(m, 3), m.zeros(3), reduction="sum"),
    "kl_div_broadcast": lambda m: F(m).kl_div(t(m, 2, 3), t(m, 3) / 3, reduction="batchmean"),
    "kl_div_batchmean_scalar": lambda m: F(m).kl_div(
        m.tensor(0.5), m.tensor(0.2), reduction="batchmean"
    ),
    "kl_div_legacy_flags": lambda m: F(m).kl_div(t(m, 2, 3), t(m, 2, 3) / 3, size_average=False),
    "kl_div_legacy_none": lambda m: F(m).kl_div(t(m, 2, 3), t(m, 2, 3) / 3, reduce=False),
    "smooth_l1_legacy": lambda m: F(m).smooth_l1_loss(t(m, 2, 3), t(m, 2, 3) / 3, False),
    "prelu_scalar_input": lambda m: F(m).prelu(-m.tensor(2.0), t(m, 1) / 4),
    "prelu_scalar_weight": lambda m: F(m).prelu(-t(m, 2, 3), m.tensor(0.2)),
    "sdpa_dropout_one": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8), t(m, 5, 6), dropout_p=1.0
    ),
    "sdpa_float_mask_rows_inf": lambda m: F(m).scaled_dot_product_attention(
        t(m, 4, 8), t(m, 5, 8), t(m, 5, 6), attn_mask=m.zeros(5).log().expand(4, 5)
    ),
    "unflatten_infer": lambda m: m.nn.Unflatten(-1, (2, -1))(t(m, 3, 6)),
    "unflatten_list": lambda m: m.nn.Unflatten(0, [1, 3])(t(m, 3, 2)),
    "normalize_out": lambda m: F(m).normalize(t(m, 2, 3), out=m.zeros(2, 3)),
    "normalize_out_resized": lambda m: F(m).normalize(t(m, 2, 3), out=m.zeros(0)),
    "normalize_out_float64": lambda m: F(m).normalize(t(m, 2, 3), out=m.zeros(2, 3).double()),
    "kl_div_log_target_input_changed": lambda m: _log_target_changed(m),
    "cosine_float64_float32": lambda m: F(m).cosine_similarity(
        m.tensor([[-2.953125, 0.25, -0.5, -0.5]], dtype=m.float64),
        m.tensor([[-2.953125, 0.25, -0.5, -0.5]]),
    ),
    "group_norm_bias_changed_in_place": lambda m: _bias_changed(m),
    "tensor_unflatten": lambda m: m.arange(24.0).reshape(2, 12).unflatten(1, (3, -1)),
    "torch_unflatten": lambda m: m.unflatten(m.arange(24.0).reshape(2, 12), -1, [2, 2, 3]),
}


def _log_target_changed(m):
    """With log_target PyTorch keeps exp(target) and target - input, not the input itself."""
    x = m.full((2, 3), 0.5, requires_grad=True)
    y = x * 1
    target = m.full((2, 3), -1.0, requires_grad=True)
    out = F(m).kl_div(y, target, reduction="sum", log_target=True)
    y.mul_(3)
    out.backward()
    return m.stack([x.grad, target.grad])


def _bias_changed(m):
    """group_norm does not keep its bias for backward: changing it after is allowed."""
    x = m.ones(2, 3, 4, requires_grad=True)
    bias = m.zeros(3, requires_grad=True) * 1
    out = F(m).group_norm(x * m.arange(24.0).reshape(2, 3, 4), 3, m.ones(3), bias)
    bias.add_(1)
    out.sum().backward()
    return x.grad


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_values_match_torch(name):
    expected, got = _both(ACCEPTED[name])
    assert not isinstance(got, Exception), got
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)


def test_signatures_match_torch():
    import inspect

    for name in ("normalize", "kl_div", "smooth_l1_loss", "huber_loss", "group_norm",
                 "instance_norm", "dropout2d"):  # fmt: skip
        ours = inspect.signature(getattr(engine.nn.functional, name)).parameters
        theirs = inspect.signature(getattr(torch.nn.functional, name)).parameters
        assert [(p.name, p.default) for p in ours.values()] == [
            (p.name, p.default) for p in theirs.values()
        ], name
    for name in ("GroupNorm", "InstanceNorm2d", "Dropout2d", "Unflatten", "PReLU",
                 "SmoothL1Loss", "HuberLoss", "KLDivLoss"):  # fmt: skip
        ours = inspect.signature(getattr(nn, name).__init__).parameters
        theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
        assert [(p.name, p.default) for p in ours.values()] == [
            (p.name, p.default) for p in theirs.values()
        ], name


# ----- layers with state: copy PyTorch's state_dict in, compare outputs and every gradient ----
def _engine_tensor(x: torch.Tensor, requires_grad=False):
    out = engine.tensor(x.detach().numpy().copy())
    return out.requires_grad_() if requires_grad else out


def _compare_layer(ours, theirs, x, train=True, steps=2):
    ours.load_state_dict({k: _engine_tensor(v) for k, v in theirs.state_dict().items()})
    ours.train(train)
    theirs.train(train)
    for _ in range(steps):
        xt = x.clone().requires_grad_()
        xe = _engine_tensor(x, requires_grad=True)
        out_t, out_e = theirs(xt), ours(xe)
        w = torch.linspace(-1, 1, out_t.numel()).reshape(out_t.shape)
        (out_t * w).sum().backward()
        (out_e * _engine_tensor(w)).sum().backward()
        np.testing.assert_allclose(out_e.detach().numpy(), out_t.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-5)
    for (name, p_t), (name_e, p_e) in zip(
        theirs.named_parameters(), ours.named_parameters(), strict=True
    ):
        assert name == name_e
        np.testing.assert_allclose(p_e.grad.numpy(), p_t.grad.numpy(), atol=1e-4, err_msg=name)
    state_t, state_e = theirs.state_dict(), ours.state_dict()
    assert list(state_t) == list(state_e)
    for key in state_t:
        np.testing.assert_allclose(state_e[key].numpy(), state_t[key].numpy(), atol=1e-6)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda m: m.nn.GroupNorm(2, 6), (3, 6, 4, 2)),
        (lambda m: m.nn.GroupNorm(3, 3, eps=1e-3, affine=False), (2, 3, 5)),
        (lambda m: m.nn.GroupNorm(1, 4, bias=False), (2, 4, 3)),
        (lambda m: m.nn.InstanceNorm2d(3), (2, 3, 4, 5)),
        (lambda m: m.nn.InstanceNorm2d(3), (3, 4, 5)),
        (lambda m: m.nn.InstanceNorm2d(3, affine=True, track_running_stats=True), (2, 3, 4, 4)),
        (lambda m: m.nn.InstanceNorm2d(2, momentum=0.3, track_running_stats=True), (2, 3, 3)),
        (lambda m: m.nn.PReLU(), (4, 5)),
        (lambda m: m.nn.PReLU(3, init=-0.1), (2, 3, 4)),
        (lambda m: m.nn.Unflatten(1, (2, 3)), (4, 6)),
        (lambda m: m.nn.Dropout2d(0.4), (2, 3, 4, 4)),
    ],
    ids=[
        "group_norm",
        "group_norm_no_affine",
        "group_norm_no_bias",
        "instance_norm",
        "instance_norm_unbatched",
        "instance_norm_affine_running",
        "instance_norm_running_3d",
        "prelu",
        "prelu_channels",
        "unflatten",
        "dropout2d_eval",
    ],  # fmt: skip
)
def test_layers_match_torch(make, shape):
    theirs, ours = make(torch), make(engine)
    x = torch.randn(*shape) * 2 + 0.5
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape))
    train = not isinstance(theirs, torch.nn.Dropout2d)
    _compare_layer(ours, theirs, x, train=train)
    if any(True for _ in theirs.buffers()):
        _compare_layer(ours, theirs, x, train=False, steps=1)


def test_instance_norm_warns_on_channel_mismatch_without_affine():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm2d(3)(engine.ones(2, 4, 3, 3))


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.nn.SmoothL1Loss(),
        lambda m: m.nn.SmoothL1Loss(reduction="sum", beta=0.3),
        lambda m: m.nn.HuberLoss(delta=0.4),
        lambda m: m.nn.HuberLoss("none", 2.0),
        lambda m: m.nn.KLDivLoss(reduction="batchmean"),
        lambda m: m.nn.KLDivLoss(reduction="none", log_target=True),
        lambda m: m.nn.KLDivLoss(reduction="sum"),
    ],
    ids=[
        "smooth_l1",
        "smooth_l1_sum_beta",
        "huber",
        "huber_none",
        "kl_batchmean",
        "kl_none_log_target",
        "kl_sum",
    ],  # fmt: skip
)
def test_loss_modules_match_torch(make):
    x, target = torch.randn(3, 4), torch.rand(3, 4) + 0.1
    results = []
    for lib in (torch, engine):
        xi = lib.tensor(x.numpy().copy(), requires_grad=True)
        ti = lib.tensor(target.numpy().copy(), requires_grad=True)
        loss = make(lib)(xi, ti)
        loss.sum().backward()
        results.append([loss.detach().numpy(), xi.grad.numpy(), ti.grad.numpy()])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_kl_div_target_gradient_at_zero_is_nan_as_in_torch():
    grads = []
    for lib in (torch, engine):
        x = lib.tensor([0.5, -1.0], requires_grad=True)
        target = lib.tensor([0.0, 0.4], requires_grad=True)
        lib.nn.functional.kl_div(x, target, reduction="sum").backward()
        grads.append((x.grad.numpy(), target.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0])
    np.testing.assert_allclose(grads[1][1], grads[0][1], equal_nan=True)
    assert np.isnan(grads[1][1][0])


def test_cosine_similarity_clamps_the_norm_outside_the_graph_as_torch():
    """Below eps the norm is clamped without its gradient changing (PyTorch 2's rule), which
    finite differences would not give: compare with torch only."""
    a, b = randn(3, 2) * 1e-3, randn(3, 2)
    grads = []
    for lib in (torch, engine):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = lib.nn.functional.cosine_similarity(x, y, dim=0, eps=0.5)
        (out * lib.tensor([1.0, -2.0], dtype=out.dtype)).sum().backward()
        grads.append([out.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
    for got, want in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        engine.nn.functional.kl_div(engine.zeros(2), engine.ones(2))


def test_norm_gradient_at_zero_vector_is_zero():
    """A zero row divides by eps; its gradient is 0 / eps, not NaN."""
    for lib in (torch, engine):
        x = lib.zeros(2, 3)
        x[1] = 1.0
        x.requires_grad_()
        lib.nn.functional.normalize(x).sum().backward()
        assert np.all(np.isfinite(x.grad.numpy()))
    x = engine.zeros(2, 3, requires_grad=True)
    engine.nn.functional.cosine_similarity(x, engine.ones(2, 3)).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_instance_norm_running_stats_are_the_batch_mean():
    x = torch.randn(4, 3, 5)
    stats_t = [torch.zeros(3), torch.ones(3)]
    stats_e = [engine.zeros(3), engine.ones(3)]
    torch.nn.functional.instance_norm(x, *stats_t, momentum=0.2)
    engine.nn.functional.instance_norm(_engine_tensor(x), *stats_e, momentum=0.2)
    for got, want in zip(stats_e, stats_t, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


# ----- channel dropout ----------------------------------------------------------------------
def test_dropout2d_zeroes_whole_channels():
    engine.manual_seed(0)
    x = engine.ones(8, 16, 3, 3, requires_grad=True)
    out = engine.nn.functional.dropout2d(x, 0.25)
    values = out.detach().numpy().reshape(8, 16, -1)
    per_channel = values[..., :1]
    assert np.all(values == per_channel), "a channel is zeroed or kept as a whole"
    assert set(np.unique(values)) <= {0.0, np.float32(1 / 0.75)}
    dropped = np.mean(per_channel == 0)
    assert 0.1 < dropped < 0.4
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values.reshape(8, 16, 3, 3))
    layer = nn.Dropout2d(0.25)
    layer.eval()
    assert layer(x) is x


def test_dropout2d_reads_3d_input_as_batch_of_channels():
    engine.manual_seed(1)
    with pytest.warns(UserWarning, match="channel-wise 1D"):
        out = engine.nn.functional.dropout2d(engine.ones(4, 6, 5), 0.5)
    values = out.numpy()
    assert np.all(values == values[..., :1]), "each (sample, channel) row is kept or dropped"
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        engine.nn.functional.dropout2d(engine.ones(4, 6), 0.5)


def test_dropout2d_inplace():
    engine.manual_seed(2)
    x = engine.ones(2, 4, 2, 2)
    out = engine.nn.functional.dropout2d(x, 0.5, inplace=True)
    assert out is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


def test_sdpa_dropout_keeps_the_expected_fraction():
    engine.manual_seed(3)
    q = engine.zeros(1, 64, 4)
    v = engine.tensor(np.eye(64, dtype=np.float32)[None])
    out = engine.nn.functional.scaled_dot_product_attention(q, q, v, dropout_p=0.5).numpy()
    assert set(np.unique(np.round(out * 64, 4))) <= {0.0, 2.0}
    assert 0.4 < np.mean(out == 0) < 0.6


# ----- containers ---------------------------------------------------------------------------
def _tree(lib):
    """The same nested structure of containers, built from either library."""
    root = lib.nn.Module()
    root.blocks = lib.nn.ModuleDict(
        OrderedDict(
            [
                ("conv", lib.nn.Linear(3, 4)),
                ("norm", lib.nn.GroupNorm(2, 4)),
                ("act", lib.nn.PReLU()),
            ]
        )
    )
    root.heads = lib.nn.ModuleDict({"b": lib.nn.Linear(4, 2), "a": lib.nn.Linear(4, 1)})
    root.scales = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.zeros(3)])
    root.scales.append(lib.ones(1))
    root.scales.extend([lib.ones(2, 2)])
    root.table = lib.nn.ParameterDict({"w": lib.ones(2), "b": lib.nn.Parameter(lib.zeros(1))})
    root.table["z"] = lib.ones(3)
    root.table.update([("y", lib.ones(1)), ("x", lib.ones(1))])
    root.nested = lib.nn.ModuleList([lib.nn.ParameterDict({"k": lib.ones(1)})])
    return root


def test_container_state_dict_keys_match_torch():
    ours, theirs = _tree(engine), _tree(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert repr(ours.scales) == repr(theirs.scales).replace("torch.", "engine.")
    assert repr(ours.table) == repr(theirs.table).replace("torch.", "engine.")
    assert repr(ours.blocks) == repr(theirs.blocks)
    state = {k: _engine_tensor(v) for k, v in theirs.state_dict().items()}
    assert ours.load_state_dict(state) == ([], [])


def _container_ops(lib):
    """Indexing, iteration, membership, update and deletion, as a list of plain results."""
    out = []
    md = lib.nn.ModuleDict([("a", lib.nn.ReLU()), ("b", lib.nn.Tanh())])
    md["c"] = lib.nn.Sigmoid()
    md.update({"a": lib.nn.Identity(), "d": lib.nn.ReLU()})
    out += [len(md), list(md), list(md.keys()), "c" in md, "z" in md]
    out += [type(md["a"]).__name__, [type(v).__name__ for v in md.values()]]
    out += [[(k, type(v).__name__) for k, v in md.items()], type(md.pop("b")).__name__, list(md)]
    del md["c"]
    out.append(list(md))
    md.clear()
    out.append(len(md))
    pl = lib.nn.ParameterList([lib.ones(2), lib.zeros(3), "text"])
    pl += [lib.ones(1)]
    out += [len(pl), [type(p).__name__ for p in pl], tuple(pl[-1].shape), tuple(pl[1].shape)]
    out += [len(pl[1:3]), type(pl[1:3]).__name__, pl[2], len(list(pl.parameters()))]
    pl[0] = lib.full((4,), 2.0)
    out += [tuple(pl[0].shape), pl[0].requires_grad, list(pl.state_dict())]
    pd = lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.ones(2)})
    pd.update(OrderedDict([("d", lib.ones(3)), ("c", 5)]))
    out += [list(pd), len(pd), "a" in pd, pd.get("zz", 7), pd.get("c"), list(reversed(pd))]
    out += [pd.setdefault("e", lib.ones(4)).shape[0], list(pd.keys()), list(pd.state_dict())]
    out += [type(pd["a"]).__name__, tuple(pd.pop("a").shape), pd.popitem()[0], list(pd)]
    merged = pd | lib.nn.ParameterDict({"f": lib.ones(1)})
    out += [list(merged), list(pd.copy()), list(pd.fromkeys(["p", "q"]))]
    del pd["b"]
    out.append(list(pd.state_dict()))
    pd.clear()
    out.append(len(pd))
    return out


def test_container_operations_match_torch():
    assert _container_ops(engine) == _container_ops(torch)


def test_replacing_an_entry_keeps_its_place_as_in_torch():
    orders = []
    for lib in (torch, engine):
        seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh(), lib.nn.Sigmoid())
        seq[0] = lib.nn.Identity()
        model = lib.nn.Module()
        model.a, model.b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
        model.a = lib.nn.Linear(2, 3)
        model.p = lib.nn.Parameter(lib.ones(1))
        model.q = lib.nn.Parameter(lib.ones(1))
        model.p = lib.nn.Parameter(lib.zeros(1))
        orders.append(([type(m).__name__ for m in seq], list(model.state_dict())))
    assert orders[1] == orders[0]


CONTAINER_ERRORS = {
    "module_dict_missing": lambda m: m.nn.ModuleDict()["x"],
    "module_dict_not_module": lambda m: m.nn.ModuleDict({"a": 3}),
    "module_dict_int_key": lambda m: m.nn.ModuleDict().__setitem__(1, m.nn.ReLU()),
    "module_dict_not_iterable": lambda m: m.nn.ModuleDict(5),
    "module_dict_bad_pair": lambda m: m.nn.ModuleDict([("a", m.nn.ReLU(), 1)]),
    "module_dict_pair_not_iterable": lambda m: m.nn.ModuleDict([3]),
    "module_dict_dot": lambda m: m.nn.ModuleDict({"a.b": m.nn.ReLU()}),
    "param_list_range": lambda m: m.nn.ParameterList([m.ones(1)])[3],
    "param_list_extend_tensor": lambda m: m.nn.ParameterList().extend(m.ones(2)),
    "param_list_call": lambda m: m.nn.ParameterList()(1),
    "param_list_index_type": lambda m: m.nn.ParameterList([m.ones(1)])["0"],
    "param_list_replace_with_object": lambda m: m.nn.ParameterList([m.ones(1)]).__setitem__(0, 3),
    "param_dict_key_type": lambda m: m.nn.ParameterDict()[1],
    "param_dict_missing": lambda m: m.nn.ParameterDict()["x"],
    "param_dict_dot": lambda m: m.nn.ParameterDict({"a.b": m.ones(1)}),
    "param_dict_bad_pair": lambda m: m.nn.ParameterDict([("a",)]),
    "param_dict_not_iterable": lambda m: m.nn.ParameterDict(3),
    "param_dict_popitem_empty": lambda m: m.nn.ParameterDict().popitem(),
}


@pytest.mark.parametrize("name", sorted(CONTAINER_ERRORS))
def test_container_errors_match_torch(name):
    expected, got = _both(CONTAINER_ERRORS[name])
    assert isinstance(expected, Exception), f"torch accepts it: {expected}"
    assert isinstance(got, type(expected)), f"engine: {got!r}, torch: {expected!r}"


def test_parameter_containers_train_with_an_optimizer():
    model = nn.Module()
    model.weights = nn.ParameterList([engine.ones(3)])
    model.extra = nn.ParameterDict({"shift": engine.zeros(3)})
    opt = engine.optim.SGD(model.parameters(), lr=0.5)
    loss = (model.weights[0] * 2 + model.extra["shift"]).sum()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(model.weights[0].detach().numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(model.extra["shift"].detach().numpy(), [-0.5, -0.5, -0.5])


# ----- second order: a gradient penalty through each op, against PyTorch ---------------------
SECOND_ORDER = {
    "group_norm_affine": (
        lambda m, x, w, b: F(m).group_norm(x, 2, w, b),
        [randn(2, 4, 3), randn(4), randn(4)],
    ),
    "group_norm_plain": (lambda m, x: F(m).group_norm(x, 1), [randn(3, 2, 4)]),
    "normalize": (lambda m, x: F(m).normalize(x, dim=-1), [randn(3, 4)]),
    "normalize_p1": (lambda m, x: F(m).normalize(x, p=1), [away_from([0], 3, 4)]),
    "normalize_inf": (lambda m, x: F(m).normalize(x, float("inf"), 0), [randn(3, 4)]),
    "cosine": (lambda m, a, b: F(m).cosine_similarity(a, b), [randn(3, 4), randn(3, 4)]),
    "pairwise": (lambda m, a, b: F(m).pairwise_distance(a, b), [randn(3, 4), randn(3, 4)]),
    "vector_norm": (lambda m, x: m.linalg.vector_norm(x, 2, -1) ** 3, [randn(3, 4)]),
    "tensor_norm_all": (lambda m, x: x.norm() * x, [randn(3, 4)]),
    "smooth_l1": (
        lambda m, a, b: F(m).smooth_l1_loss(a, b, beta=0.8),
        [randn(3, 4), randn(3, 4)],
    ),
    "huber": (lambda m, a, b: F(m).huber_loss(a, b, delta=0.7), [randn(3, 4), randn(4)]),
    "kl_div": (
        lambda m, x, t: F(m).kl_div(x, t, reduction="batchmean"),
        [randn(3, 4), positive(3, 4)],
    ),
    "kl_div_log_target": (
        lambda m, x, t: F(m).kl_div(x, t, reduction="sum", log_target=True),
        [randn(3, 4), randn(3, 4)],
    ),
    "prelu": (lambda m, x, w: F(m).prelu(x, w), [away_from([0], 2, 3, 4), randn(3)]),
    "sdpa": (
        lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, is_causal=True),
        [randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 2)],
    ),
}


def _penalty(lib, fn, arrays):
    """d/dinputs of sum(grad(sum(out * w), inputs)²), with the first gradients as a graph."""
    xs = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    w = lib.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
    grads = lib.autograd.grad((out * w).sum(), xs, create_graph=True, allow_unused=True)
    penalty = sum((g * g).sum() for g in grads if g is not None)
    penalty.backward()
    return [x.grad.numpy() if x.grad is not None else np.zeros(x.shape) for x in xs]


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order_matches_torch(name):
    fn, arrays = SECOND_ORDER[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # huber's broadcast target, from both libraries
        results = [_penalty(lib, fn, arrays) for lib in (engine, torch)]
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_second_order_unsupported_names_the_op():
    x = engine.tensor(randn(2, 3, 4), requires_grad=True)
    out = engine.nn.functional.instance_norm(x)
    with pytest.raises(RuntimeError, match="batch_norm"):
        engine.autograd.grad(out.pow(3).sum(), x, create_graph=True)[0].sum().backward()
