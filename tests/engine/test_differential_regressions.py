"""Mismatches the differential fuzzer found, each as its shrunk program, engine against PyTorch.

The xfail tests are classes not fixed yet; each is strict, so it fails once fixed: then drop
its xfail and its entry in `differential.KNOWN`, and the fuzzer checks that class again.
"""

from __future__ import annotations

import pytest

from tests.engine.differential import assert_same

pytestmark = pytest.mark.torch


# ----- fixed on this branch -----------------------------------------------------------


def test_clamp_of_int_with_float_bound_is_float32():
    assert_same("""
        v0 = torch.tensor([3, -2], dtype=torch.int32)
        v1 = v0.clamp(min=2.0, max=-1.5)
        v2 = torch.tensor([1, 250], dtype=torch.uint8).clamp(min=-1)
        v3 = torch.tensor([True, False]).clamp(min=0)
    """)


def test_cat_and_stack_promote_like_torch():
    assert_same("""
        v0 = torch.zeros((0, 0), dtype=torch.float32, requires_grad=True)
        v1 = torch.zeros((0, 0), dtype=torch.int32)
        v2 = torch.stack([v1, v0], 1)
        v3 = torch.cat([torch.tensor([1, 2]), torch.tensor([1.5])])
        v4 = torch.cat([torch.tensor([True]), torch.tensor([250], dtype=torch.uint8)])
    """)


def test_alpha_applies_after_promotion_and_is_checked():
    assert_same("""
        v0 = torch.tensor([0.1, 0.2], dtype=torch.float64)
        v1 = torch.tensor([3, 7], dtype=torch.int32)
        v2 = torch.add(v0, v1, alpha=0.1)
        v3 = torch.sub(v0, 2, alpha=0.5)
    """)
    assert_same("v0 = torch.add(torch.tensor([1, 2]), torch.tensor([1, 2]), alpha=1.5)")
    assert_same("v0 = torch.add(torch.tensor([1.0]), torch.tensor([2.0]), alpha=True)")


def test_python_ints_wrap_into_the_tensor_dtype():
    assert_same("""
        v0 = torch.tensor([1, 250], dtype=torch.uint8)
        v1 = v0 + 300
        v2 = v0 * 300
        v3 = torch.tensor([3, -2], dtype=torch.int32) + 1099511627776
    """)


def test_int_and_bool_sums_are_int64():
    assert_same("""
        v0 = torch.tensor([1, 250], dtype=torch.uint8)
        v1 = v0.sum()
        v2 = torch.tensor([True, True]).sum(0)
        v3 = v0.sum(dtype=torch.uint8)
    """)


def test_keepdim_without_dim_is_a_type_error():
    assert_same("v0 = torch.ones((2, 3)).sum(keepdim=True)")
    assert_same("v0 = torch.ones((2, 3)).max(keepdim=True)")
    assert_same("v0 = torch.ones((2, 3)).sum(None, True)")


def test_argmax_keepdim_and_empty_and_bool():
    assert_same("""
        v0 = torch.tensor([[-3.3, 0.25], [-3.0, -4.5]], dtype=torch.float32)
        v1 = v0.argmin(keepdim=True)
        v2 = torch.tensor(2.0).argmax(0, keepdim=True)
        v3 = torch.zeros((3, 3, 0)).argmax(0)
    """)
    assert_same("v0 = torch.zeros((2, 0)).argmax()")
    assert_same("v0 = torch.zeros((2, 0)).max(1)")
    assert_same("v0 = torch.tensor([True, False]).argmax()")


def test_bool_refused_by_minus_neg_abs_relu_pow():
    for line in (
        "v0 = torch.tensor([True]) - torch.tensor([False])",
        "v0 = torch.tensor([2.0]) - False",
        "v0 = -torch.tensor([True])",
        "v0 = torch.tensor([True]).abs()",
        "v0 = torch.tensor([True]).relu()",
        "v0 = torch.tensor([True]) ** torch.tensor([True])",
    ):
        assert_same(line)


def test_float_only_ops_refuse_ints():
    for line in (
        "v0 = torch.tensor([1, 2], dtype=torch.int32).var()",
        "v0 = torch.tensor([1, 2]).std(0)",
        "v0 = F.gelu(torch.zeros((0, 3), dtype=torch.int32))",
        "v0 = F.leaky_relu(torch.tensor([1, 2]))",
        "v0 = F.softmax(torch.tensor([1, 2]), 0)",
        "v0 = F.log_softmax(torch.zeros((0,), dtype=torch.int64), 0)",
    ):
        assert_same(line)


def test_mm_and_matmul_rules():
    assert_same("v0 = torch.tensor([1.5, -2.0]).mm(torch.tensor([1.5, -2.0]))")
    assert_same("v0 = torch.ones((2, 2)) @ torch.ones((2, 2), dtype=torch.float64)")
    assert_same("v0 = torch.tensor([True]) @ torch.tensor([True])")
    assert_same("v0 = torch.mm(torch.ones((2, 3)), torch.ones((3, 1)))")


def test_views_torch_rejects_or_makes():
    for line in (
        "v0 = torch.tensor([1.0, 2.0])[::-1]",
        "v0 = torch.tensor([1.0, 2.0]).reshape()",
        "v0 = torch.ones(4).view(-1, -1)",
        "v0 = torch.ones(2)[[]]",
    ):
        assert_same(line)
    assert_same("""
        v0 = torch.tensor(-3.5, requires_grad=True)
        v1 = v0.t()
        v2 = v0.transpose(0, -1)
        v3 = v0.float()
        v4 = torch.tensor([-1.0, 4.0], requires_grad=True).flatten()
    """)


def test_softmax_of_empty_and_out_of_range_dim():
    assert_same("v0 = F.softmax(torch.zeros((2, 0)), -1)")
    assert_same("v0 = F.log_softmax(torch.zeros((2, 0)), 0)")
    assert_same("v0 = F.softmax(torch.tensor(0.0), 5)")


def test_non_tensor_argument_is_a_type_error():
    for line in (
        "v0 = torch.relu((1, 2))",
        "v0 = torch.exp(torch.ones((2, 2)).max(1))",
        "v0 = torch.maximum(torch.ones(2), 1)",
    ):
        assert_same(line)


def test_inplace_results_must_fit_the_dtype():
    for line in (
        "v0 = torch.ones(2, dtype=torch.int32).div_(2)",
        "v0 = torch.ones(2, dtype=torch.int32).add_(torch.ones(2))",
        "v0 = torch.ones(2, dtype=torch.bool).add_(1)",
        "v0 = torch.ones(2, dtype=torch.int32).clamp_(min=0.5)",
        "v0 = torch.ones(2, dtype=torch.int32).fill_(2.7)",
        "v0 = torch.ones((1, 2)).copy_(torch.ones(3))",
    ):
        assert_same(line)


def test_loss_argument_errors():
    assert_same("v0 = F.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([2.0]))")
    assert_same("v0 = F.nll_loss(torch.tensor([-0.5, 4.0]), torch.tensor(9))")


def test_pooling_padding_over_half_kernel_is_runtime_error():
    assert_same("v0 = F.avg_pool2d(torch.ones((1, 1, 3, 3)), 1, padding=1)")


def test_index_with_two_ellipses():
    assert_same("v0 = torch.ones((2, 3))[..., ...]")
    assert_same("v0 = torch.ones((2, 3, 4), requires_grad=True)[..., None, ...]")
    assert_same("v0 = torch.ones((2, 3, 4), requires_grad=True)[0, ..., [0, 1], ...]")
    assert_same("v0 = torch.ones((2, 3, 4))[..., ..., 0]")
    assert_same("v0 = torch.ones(5)[1:, ..., ..., None]")


def test_ints_select_before_arrays_index():
    assert_same("v0 = torch.ones((2, 3, 4), requires_grad=True)[0, :, [0, 1]]")
    assert_same("v0 = torch.ones((2, 3, 4), requires_grad=True)[:, [0, 1], ..., [0, 1]]")


def test_int_pow_with_negative_tensor_exponent():
    assert_same("v0 = torch.pow(torch.tensor([2, -1, 1]), torch.tensor([-1, -1, -3]))")
    assert_same("v0 = 2 ** torch.tensor([-1, 2])")
    assert_same("v0 = torch.tensor([2], dtype=torch.uint8) ** -1")


def test_pow_with_bools():
    assert_same("v0 = torch.tensor([True, False]) ** False")
    assert_same("v0 = torch.tensor([2.5, 3.0], requires_grad=True) ** torch.tensor([True, False])")


def test_scalars_that_do_not_fit_the_dtype_are_refused():
    for line in (
        "v0 = torch.tensor([7, 1], dtype=torch.uint8).clamp(min=300)",
        "v0 = torch.tensor([7, 1], dtype=torch.uint8).clamp(min=-7)",
        "v0 = torch.tensor([7, 1], dtype=torch.uint8).clamp_(min=-7)",
        "v0 = torch.tensor([7, 1], dtype=torch.int32).clamp(max=2**40)",
        "v0 = torch.tensor([7.0, 1.0]).clamp(min=1e300)",
        "v0 = torch.tensor([1, 2], dtype=torch.uint8).fill_(-0.5)",
        "v0 = torch.tensor([1.0, 2.0]).fill_(1e300)",
    ):
        assert_same(line)


def test_matmul_of_empty_tensors_of_two_dtypes():
    assert_same("v0 = torch.zeros((4, 0), dtype=torch.uint8) @ torch.zeros((4, 0, 4))")
    assert_same("v0 = torch.zeros((2, 3, 0)) @ torch.zeros((0, 4), dtype=torch.float64)")
    assert_same("""
        v0 = torch.zeros((2, 0, 3), dtype=torch.float64, requires_grad=True)
        v1 = v0 @ torch.zeros((2, 3, 4))
    """)


def test_setitem_inf_into_int_is_runtime_error():
    assert_same("""
        v0 = torch.tensor([7, -2, 2, 0], dtype=torch.int64)
        v0[-2] = inf
    """)
    assert_same("""
        v0 = torch.tensor([7, 2], dtype=torch.uint8)
        v0[0] = -7
    """)


def test_bce_with_logits_of_two_float_dtypes():
    assert_same("""
        v0 = torch.tensor(1.5, dtype=torch.float64)
        v1 = torch.tensor(0.5, dtype=torch.float32)
        v2 = F.binary_cross_entropy_with_logits(v0, v1)
    """)
    assert_same("v0 = F.binary_cross_entropy_with_logits(torch.tensor([1.5]), torch.tensor([1]))")


def test_cat_skips_empty_vectors():
    assert_same("""
        v0 = torch.zeros((0,), dtype=torch.uint8)
        v1 = torch.cat([v0, torch.zeros((0,), dtype=torch.int64)], 1)
    """)
    assert_same("""
        v0 = torch.zeros((0,), requires_grad=True)
        v1 = torch.ones((2, 3), requires_grad=True)
        v2 = torch.cat([v0, v1, v0], 1)
    """)


def test_compare_ints_in_the_promoted_dtype():
    for line in (
        "v0 = torch.tensor([1, 2], dtype=torch.uint8) < -7",
        "v0 = torch.tensor([1, 2], dtype=torch.int32) < 1099511627776",
        "v0 = torch.tensor(-2) <= torch.tensor([2, 7], dtype=torch.uint8)",
        "v0 = -9223372036854775808 != torch.tensor(0, dtype=torch.int32)",
    ):
        assert_same(line)


def test_bool_add_takes_alpha_as_bool():
    assert_same("v0 = torch.add(torch.tensor([True, False]), torch.tensor([True, True]), alpha=-1)")
    assert_same("v0 = torch.tensor([True, False]).add(torch.tensor([True, True]), alpha=0)")


def test_max_along_dim_of_0d_is_a_copy():
    assert_same("""
        v0 = torch.tensor(1.0)
        v1 = v0.max(dim=0)[0]
        v0[...] = 5.0
    """)


def test_permute_and_var_errors_in_torch_order():
    assert_same("v0 = torch.tensor(0.5, requires_grad=True).permute((1,))")
    assert_same("v0 = torch.tensor([1.5]).permute((1, 0))")
    assert_same("v0 = torch.tensor([[0], [7]]).var(2, unbiased=True)")


def test_gelu_overflows_as_torch():
    assert_same("v0 = F.gelu(torch.tensor([[2.015625, 3e38]], requires_grad=True))")


def test_index_errors_in_torch_order():
    for line in (
        "v0 = torch.zeros((5, 0, 1), dtype=torch.uint8)[-2, 0, ::-1]",
        "v0 = torch.ones((4, 1))[4, ::-1]",
        "v0 = torch.zeros((3, 0), requires_grad=True)[torch.tensor([1, 2, -2]), []]",
        "v0 = torch.zeros((0, 2, 1), requires_grad=True)[..., [1, 0, -2]]",
        "v0 = torch.zeros((3, 0))[:, [0]]",
    ):
        assert_same(line)


def test_empty_bool_matmul():
    assert_same(
        "v0 = torch.zeros((0, 0), dtype=torch.bool).mm(torch.zeros((0, 0), dtype=torch.bool))"
    )
    assert_same(
        "v0 = torch.zeros((2, 0), dtype=torch.bool) @ torch.zeros((0, 3), dtype=torch.bool)"
    )
    assert_same("v0 = torch.tensor([True]) ** -1")


def test_bce_of_two_dtypes_is_refused():
    assert_same(
        "v0 = F.binary_cross_entropy(torch.tensor(0.5), torch.tensor(0.5, dtype=torch.float64))"
    )


def test_layers_refuse_inputs_of_another_dtype():
    for line in (
        "v0 = torch.nn.Linear(3, 2)(torch.ones((4, 3), dtype=torch.float64))",
        "v0 = torch.nn.Linear(3, 2)(torch.ones((4, 3), dtype=torch.int64))",
        "v0 = F.linear(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, dtype=torch.float64))",
        "v0 = torch.nn.Conv2d(1, 2, 3)(torch.ones((1, 1, 5, 5), dtype=torch.float64))",
        "v0 = torch.nn.BatchNorm2d(1)(torch.ones((2, 1, 3, 3), dtype=torch.float64))",
        "v0 = torch.nn.BatchNorm1d(3)(torch.ones((2, 3), dtype=torch.int64))",
        "v0 = torch.nn.LayerNorm(3)(torch.ones((2, 3), dtype=torch.float64))",
        "v0 = torch.nn.Embedding(5, 3)(torch.ones(2, dtype=torch.float64))",
        "v0 = torch.nn.Embedding(5, 3)(torch.ones(2, dtype=torch.uint8))",
        "v0 = F.dropout(torch.ones((2, 3), dtype=torch.int64), 0.5)",
        "v0 = F.adaptive_avg_pool2d(torch.ones((1, 1, 4, 4), dtype=torch.int64), 1)",
        "v0 = F.avg_pool2d(torch.ones((1, 1, 4, 4), dtype=torch.int32), 2)",
    ):
        assert_same(line)
    assert_same("""
        v0 = torch.tensor([[[[1, 2, -3, 4], [5, -6, 7, 8], [1, 1, 1, 2], [0, 0, 0, -1]]]])
        v1 = F.avg_pool2d(v0, 2, padding=1)
    """)


def test_view_follows_torch_stride_rule():
    assert_same("v0 = torch.ones((2, 3)).t().view(6)")
    assert_same("v0 = torch.ones((2, 3), requires_grad=True).t().contiguous().view(6)")
    assert_same("v0 = torch.ones((2, 3, 4)).permute(0, 2, 1).view(2, -1)")
    assert_same("v0 = torch.ones((2, 3, 4)).transpose(1, 2)[:, :1].view(2, 3)")
    assert_same("v0 = torch.ones((2, 1, 3)).expand(2, 4, 3)[:, :1].view(6)")
    assert_same("""
        v0 = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]], [[[5.0, 6.0], [7.0, 8.0]]]])
        v1 = F.conv2d(v0, torch.ones((3, 1, 1, 1), requires_grad=True), padding=1)
        v2 = F.max_pool2d(v1, 2)
        v3 = v2.view(v2.size(0), -1)
        v4 = v1.view(2, -1)
    """)
    assert_same("""
        v0 = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        v1 = v0.T.mean(0)
        v2 = torch.stack([v0.t(), v0.t()], -1).view(-1)
        v3 = F.softmax(v0.t(), 1).view(6)
    """)


def test_div_gradient_in_torch_order():
    assert_same("""
        v0 = torch.tensor([[[-3.0]], [[1.25]], [[3e38]]], requires_grad=True)
        v1 = torch.div(v0, v0)
    """)


def test_where_refuses_numbers_its_dtype_cannot_hold():
    assert_same("v0 = torch.where(torch.tensor([True]), torch.tensor([2], dtype=torch.uint8), 300)")
    assert_same("v0 = torch.where(torch.tensor([False]), torch.tensor([2], dtype=torch.uint8), -7)")
    assert_same("v0 = torch.zeros((0,), dtype=torch.bool) @ torch.zeros((0,), dtype=torch.bool)")
    assert_same("v0 = (torch.ones((1, 2, 4, 2)) > 0)[1:4, None, torch.tensor([2])]")
    assert_same("v0 = F.gelu(torch.tensor(3e38))")


def test_pow_of_an_int_base_past_int64_has_a_nan_exponent_gradient():
    # PyTorch's backward takes the log of the base wrapped to a negative int64
    assert_same("""
        v0 = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float32, requires_grad=True)
        v1 = 9223372036854775808 ** v0
        v2 = 4611686018427387904 ** v0
    """)


def test_pow_by_a_python_number_takes_the_power_below_it_in_float64():
    # (-3) ** (2 ** 40 - 1) overflows to -inf; in float32 2 ** 40 - 1 rounds to even 2 ** 40
    assert_same("""
        v0 = torch.tensor([-3.0, 3.0, 0.0, -2.5, 1.5], dtype=torch.float32, requires_grad=True)
        v1 = torch.pow(v0, 1099511627776)
        v2 = v0 ** 2.5
        v3 = v0 ** 3
    """)


# ----- fixes in flight elsewhere ------------------------------------------------------


def test_int_cast_of_graph_tensor_does_not_require_grad():
    assert_same("""
        v0 = torch.zeros((0, 1), dtype=torch.float32, requires_grad=True)
        v1 = v0.long()
    """)


def test_inplace_op_on_graph_tensor_is_recorded():
    assert_same("""
        v0 = torch.tensor([[-0.5, -1.0], [4.0, 2.0]], dtype=torch.float64, requires_grad=True)
        v1 = F.softmax(v0, -1)
        v1[1] = -1
    """)


def test_backward_after_saved_tensor_modified_raises():
    assert_same("""
        v0 = torch.tensor([1.0, 2.0], requires_grad=True)
        v1 = v0.exp()
        v2 = v1 * 1
        v1.mul_(2)
    """)


def test_bce_with_logits_target_gradient():
    assert_same("""
        v0 = torch.tensor([[-2.0, 4.5], [-3.875, 0.0]], requires_grad=True)
        v1 = F.binary_cross_entropy_with_logits(v0, v0, reduction='sum')
    """)


def test_nan_through_min_gives_torch_gradient():
    assert_same("""
        v0 = torch.tensor(nan, dtype=torch.float32, requires_grad=True)
        v1 = v0.min()
    """)


def test_adaptive_avg_pool2d_keeps_inf_in_its_window():
    assert_same("""
        v0 = torch.tensor([[[[inf, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]]]])
        v1 = F.adaptive_avg_pool2d(v0, 2)
    """)


def test_softmax_of_a_0d_tensor_is_one():
    assert_same("""
        v0 = torch.tensor(0.0, dtype=torch.float32)
        v1 = F.softmax(v0, 0)
        v2 = F.log_softmax(v0, -1)
    """)


def test_setitem_checks_ints_before_refusing_a_leaf():
    assert_same("""
        v0 = torch.zeros((0, 2), dtype=torch.float32, requires_grad=True)
        v0[0] = 1.0
    """)
    assert_same("""
        v0 = torch.zeros((0, 2), dtype=torch.float32, requires_grad=True)
        v0[0, [0]] = 1.0
    """)
    assert_same("""
        v0 = torch.zeros((3, 2), dtype=torch.float32, requires_grad=True)
        v0[..., 5] = 1.0
    """)


def test_copy_of_a_grad_tensor_into_ints_records_nothing():
    assert_same("""
        v0 = torch.tensor(-0.5, dtype=torch.float32, requires_grad=True)
        v1 = v0 > 300
        v2 = v1.copy_(v0)
        v3 = v0.argmin()
        v3[...] = v0
    """)


def test_index_put_backward_of_a_0d_tensor():
    assert_same("""
        v0 = torch.tensor(0.5, dtype=torch.float32, requires_grad=True)
        v1 = v0.clamp(min=3)
        v1[...] = 0.0
    """)
    assert_same("""
        v0 = torch.tensor(1e30, dtype=torch.float32, requires_grad=True)
        v1 = F.gelu(v0)
        v1[...] = v1
    """)


def test_reshape_of_an_empty_tensor_is_a_view():
    assert_same("""
        v0 = torch.zeros((4, 4, 0), dtype=torch.float32, requires_grad=True)
        v1 = v0.reshape(-1)
        v2 = v1.copy_(v1)
    """)
    assert_same("""
        v0 = torch.zeros((2, 0, 0), dtype=torch.float32, requires_grad=True)
        v1 = v0.transpose(1, -1).squeeze(-3)
        v2 = v1.clamp_(min=0.0)
    """)


def test_a_promoted_operand_is_saved_as_itself():
    assert_same("""
        v0 = torch.tensor(3.0, dtype=torch.float32, requires_grad=True)
        v1 = torch.tensor(True, dtype=torch.bool)
        v2 = torch.pow(v1, v0)
        v1.copy_(torch.tensor(False))
    """)
    assert_same("""
        v0 = torch.tensor([1.0, 2.0], dtype=torch.float32, requires_grad=True)
        v1 = torch.tensor([3, 4], dtype=torch.int64)
        v2 = v0 * v1
        v1 += 1
    """)


def test_std_saves_its_input_and_output():
    assert_same("""
        v0 = torch.tensor([[-2.375], [-88.5], [3.0]], dtype=torch.float32, requires_grad=True)
        v1 = v0.std(dim=1, unbiased=False)
        v2 = v1.add_(v1)
    """)


def test_float32_variance_is_accumulated_in_float64():
    assert_same("""
        v0 = torch.tensor([-2.0, -1e+30, -4.65625, 0.5], dtype=torch.float32, requires_grad=True)
        v1 = v0.std(dim=0)
        v2 = torch.std(v0)
        v3 = v0.var()
        v4 = torch.tensor([[1.0, 0.5], [3e+38, -3.625]], dtype=torch.float32).std(dim=0)
    """)


def test_std_refuses_ints_before_checking_dims():
    assert_same("""
        v0 = torch.zeros((0,), dtype=torch.int32)
        v1 = v0.std(5)
    """)


def test_softmax_of_an_empty_float_tensor_is_a_node():
    assert_same("""
        v0 = torch.zeros((0,), dtype=torch.float32, requires_grad=True)
        v1 = F.log_softmax(v0 / 3, -1)
        v2 = F.softmax(v0 / 3, -1)
        v3 = v1.mul_(v0)
        v4 = v2.mul_(v0)
    """)


def test_mse_loss_saves_its_input_and_target():
    assert_same("""
        v0 = torch.tensor([[0.5, 2.0], [-1.0, 3.0]], dtype=torch.float32, requires_grad=True)
        v1 = v0 * 2
        v2 = F.mse_loss(v1, v1)
        v1[0] = 0.0
    """)
    assert_same("""
        v0 = torch.tensor([1.0, 2.0, -3.0], requires_grad=True)
        v1 = torch.tensor([[0.5], [2.0]], dtype=torch.float64, requires_grad=True)
        v2 = F.mse_loss(v0, v1, reduction='none')
        v3 = F.mse_loss(v0, v1)
    """)


def test_a_number_written_is_checked_before_the_index():
    assert_same("""
        v0 = torch.zeros((0, 2), dtype=torch.int64)
        v0[0] = nan
    """)


def test_writes_refused_only_where_memory_is_shared_as_torch_says():
    # an expand that repeats nothing, or a write to a part of it that repeats nothing,
    # or fill_, which checks nothing, or copy_ of the very same elements: all allowed
    assert_same("""
        v0 = torch.tensor([-2.0, 3.0, 0.25], dtype=torch.float32)
        v1 = v0.expand((-1,))
        v1[-3] = 1
        v2 = torch.tensor([[[0.25, -2.0], [-0.5, 2.0]]], dtype=torch.float32)
        v3 = v2.expand((3, 2, -1))
        v3[2] = 2.0
        v4 = v3.fill_(3)
        v5 = v3.copy_(v3)
        v6 = torch.tensor(0.5, dtype=torch.float32).expand(())
        v7 = v6.clamp_(min=0.75)
        v8 = torch.zeros((0,), dtype=torch.float32).expand((2, 0))
        v8[1] = 3
        v9 = v8.copy_(v8)
    """)
    # an expanded tensor written where it repeats: refused
    assert_same("""
        v0 = torch.tensor([[1.0, 2.0]], dtype=torch.float32)
        v1 = v0.expand((2, 2))
        v2 = v1.clamp_(min=0.0)
    """)


def test_an_input_partly_overlapping_the_written_tensor_is_refused():
    assert_same("""
        v0 = torch.tensor([True, True, False, False, True], dtype=torch.bool)
        v1 = v0[:1:1]
        v2 = v0.mul_(v1)
    """)
    assert_same("""
        v0 = torch.tensor([[-1.0, -0.5], [-3.0, -0.25], [1.0, 4.0]], dtype=torch.float32)
        v1 = v0[-2]
        v2 = v0.copy_(v1)
    """)
    assert_same("""
        v0 = torch.tensor([3.5, -0.5, -3.5, 1.5], dtype=torch.float32)
        v1 = v0.permute((0,))
        v2 = v1.copy_(v0[1])
    """)


def test_abs_gradient_at_nan_is_zero():
    # PyTorch's sign of NaN is 0: l1_loss of inf against itself has a finite gradient
    assert_same("""
        v0 = torch.tensor([1.0, 2.5, -1e+30, inf], dtype=torch.float32, requires_grad=True)
        v1 = v0.expand((2, 4))
        v2 = F.l1_loss(v1, v1, reduction='none')
        v3 = F.l1_loss(v0, v0)
    """)


def test_python_bool_to_a_bool_tensor_is_refused():
    assert_same("""
        v0 = torch.tensor([[False, True, False]], dtype=torch.bool)
        v1 = v0 ** True
        v2 = True ** v0
    """)


def test_bce_refuses_a_nan_input():
    assert_same("""
        v0 = torch.zeros((0,), dtype=torch.float32, requires_grad=True)
        v1 = torch.mean(v0, dim=-1)
        v2 = F.binary_cross_entropy(v1.sigmoid(), torch.tensor(0.5))
    """)


def test_bce_with_logits_of_float32_input_and_float64_target():
    assert_same("""
        v0 = torch.tensor([2.0, 0.5, 4.0], dtype=torch.float32, requires_grad=True)
        v1 = F.binary_cross_entropy_with_logits(v0, v0.double())
    """)


def test_conv2d_gradients_ignore_the_columns_of_no_output_pixel():
    assert_same("""
        v0 = torch.tensor([[[[3.0, inf, 2.0], [-1.0, 2.0, -0.5], [3.0, 3.0, 1e-30]]]]).double()
        v1 = torch.tensor([[[[-3.0, -1.75, 1.5], [-1.0, inf, 2.0], [1e-30, 3.0, 0.5]]]]).double()
        v2 = v0.requires_grad_()
        v3 = v1.requires_grad_()
        v4 = F.conv2d(v0, v1, padding=0)
    """)
    assert_same("""
        v0 = torch.tensor([[[[0.5, 0.0, 4.625, -3.0, nan], [2.0, -1.0, 100.0, 2.5, -0.5]]]])
        v1 = torch.tensor([[[[-1.75, 4.0], [1.0, 1.125]]], [[[2.0, -0.0], [1.5, 2.5]]]])
        v2 = v1.requires_grad_()
        v3 = F.conv2d(v0, v1, stride=1, padding=0)
    """)


def test_pow_exponent_gradient_at_a_zero_base_and_nan_exponent_is_nan():
    assert_same("""
        v0 = torch.tensor(nan, dtype=torch.float32, requires_grad=True)
        v1 = v0 == v0
        v2 = v1 ** v0
    """)


def test_adaptive_avg_pool2d_sums_each_window_in_float32_before_dividing():
    assert_same("""
        v0 = torch.tensor([[[[3e+38, -1.0, 0.5], [3.0, 3e+38, 2.0], [1.0, 0.25, -0.5]]]])
        v1 = F.adaptive_avg_pool2d(v0, 2)
        v2 = F.adaptive_avg_pool2d(v0, 1)
        v3 = F.adaptive_avg_pool2d(v0.requires_grad_(), (2, 3))
    """)


def test_max_pool2d_window_of_only_minus_inf_and_padding_picks_its_first_input():
    assert_same("""
        v0 = torch.tensor([[[[0.25, 3.0], [-inf, -3.5]], [[-0.25, -inf], [4.0, 0.0]]]]).double()
        v1 = v0.requires_grad_()
        v2 = F.max_pool2d(v1, 2, stride=1, padding=1)
    """)
    assert_same("""
        v0 = torch.tensor([[[-inf]], [[2.0]], [[-inf]]], requires_grad=True)
        v1 = F.max_pool2d(v0, 2, padding=1)
        v2 = F.max_pool2d(v0, 3, stride=2, padding=1, dilation=2, ceil_mode=True)
    """)


def test_number_over_tensor_is_reciprocal_times_number():
    assert_same("""
        v0 = torch.tensor([1e-30, 2.0, 0.0, 3.0, -inf, 1e-39], requires_grad=True)
        v1 = 0.0 / v0
        v2 = 3 / v0
        v3 = 2 / torch.tensor([3, 0, -7])
        v4 = torch.reciprocal(v0)
        v5 = v0.double().reciprocal()
    """)


def test_matmul_of_3d_by_one_batch_3d_that_requires_grad_goes_through_mm():
    assert_same("""
        v0 = torch.zeros((4, 1, 0), dtype=torch.uint8)
        v1 = torch.zeros((1, 0, 1), dtype=torch.float32, requires_grad=True)
        v2 = v0.expand((4, 3, 0))
        v3 = v2 @ v1
    """)
    assert_same("""
        v0 = torch.zeros((1, 3, 0), dtype=torch.uint8)
        v1 = torch.zeros((1, 0, 1), dtype=torch.float32, requires_grad=True)
        v2 = v0 @ v1
        v3 = torch.zeros((2, 4, 3, 0), dtype=torch.uint8) @ v1
    """)


def test_conv2d_of_inf_weights_multiplies_the_padding_zeros_as_pytorch_own_kernel():
    # one float32 image and float64 batches go through PyTorch's own kernel, which
    # multiplies the padding's zeros (inf * 0 is NaN); float32 batches of more than one
    # go to oneDNN, which skips them: the fuzzer leaves that case out
    assert_same("""
        v0 = torch.tensor([[[[1.0, inf], [2.0, -1.0]]]])
        v1 = torch.tensor([[[[1.0, 0.5, -2.0], [3.0, 1.5, 0.25], [-1.0, 2.0, 4.0]]]])
        v2 = F.conv2d(v1, v0, padding=1)
        v3 = F.conv2d(v1[0], v0, padding=1)
        v4 = F.conv2d(v1.expand((2, 1, 3, 3)).double(), v0.double(), padding=1)
        v5 = F.conv2d(v1, torch.tensor([[[[nan]]]]), padding=1)
    """)


def test_gelu_of_inf_in_a_contiguous_float32_tensor_is_nan():
    assert_same("""
        v0 = torch.tensor([[0.25, inf], [3.0, 2.0]], dtype=torch.float32)
        v1 = F.gelu(v0)
        v2 = F.gelu(v0.t())
        v3 = F.gelu(v0.double())
    """)


def test_max_indices_of_a_zero_dim_tensor_can_be_written():
    assert_same("""
        v0 = torch.tensor(1.5, dtype=torch.float32, requires_grad=True)
        v1 = v0.max(-1, keepdim=False).indices
        v1[...] = -7
        v2 = v0.min(0, keepdim=True).indices
        v2 += 3
    """)


def test_a_power_by_a_tensor_saves_its_result():
    # PyTorch's pow(Tensor, Tensor) keeps its output for backward even when the exponent
    # needs no gradient: changing the output in place makes backward fail there too
    assert_same("""
        v0 = torch.tensor([1.0, -2.0, 0.25], dtype=torch.float32, requires_grad=True)
        v1 = torch.tensor([2.0, 1.0, 3.0], dtype=torch.float32)
        v2 = v0 ** v1
        v2 *= v0
        v3 = v0 ** 2.0
        v3 *= v0
    """)


def test_gradients_meet_in_pytorchs_order():
    # the node recorded last runs first, so a/a's two huge contributions cancel after the
    # small ones arrived, and float32 rounds the total to 0 as PyTorch's does
    assert_same("""
        v0 = torch.tensor(1e-30, dtype=torch.float32, requires_grad=True)
        v2 = v0 / v0
        v3 = v0 + v0
    """)


def test_an_integer_power_must_fit_the_dtype():
    assert_same("""
        v0 = torch.tensor([[0, 1], [2, 0]], dtype=torch.uint8)
        v1 = v0 ** 255
        v2 = v0 ** 300
    """)
    assert_same("v0 = torch.tensor([1, 2]) ** (2 ** 63)")


def test_an_integer_changed_in_place_takes_any_integer_result():
    # PyTorch casts any integer result into any integer tensor (int64 into uint8 wraps);
    # NumPy's "same_kind" refused signed into unsigned
    assert_same("""
        v0 = torch.tensor(4, dtype=torch.uint8)
        v1 = torch.argmax(v0, 0, keepdim=True)
        v0 += v1
        v2 = torch.tensor([4, 9], dtype=torch.uint8)
        v2 += torch.tensor([300, -20])
        v3 = torch.tensor([4, 9], dtype=torch.int8)
        v3 += torch.tensor([0.5, 2.0])
    """)


def test_a_slice_from_zero_past_the_last_dimension_does_nothing():
    # after two `...`, PyTorch returns a slice starting at 0 by step 1 unchanged, whatever
    # its stop; any other slice there is out of range
    assert_same("""
        v0 = torch.zeros((0, 1, 0), dtype=torch.int32)
        v1 = v0[..., ..., 0:]
        v2 = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float32)
        v3 = v2[..., ..., 0:0]
        v4 = v2[..., ..., :7:1]
        v5 = v2[..., ..., 1:]
        v6 = v2[..., ..., ::2]
    """)


def test_an_integer_tensor_divided_by_a_negative_int_is_not_wrapped():
    # true division takes the Python int as a float: uint8 / -1 is -x, not x / 255
    assert_same("""
        v0 = torch.tensor([[[2, 1], [1, 0], [3, 4]]], dtype=torch.uint8)
        v1 = torch.div(v0.permute((1, 0, 2)), -1)
        v2 = v0 / 300
        v3 = -3 / v0
        v4 = torch.tensor([5, -7], dtype=torch.int8) / -2
    """)


def test_conv2d_of_an_inf_weight_beside_an_overflowing_product_in_float64():
    # in float32 the answer depends on the kernel's order and fused multiply-adds (the
    # fuzzer runs such a conv in float64); in float64 nothing overflows and both give inf
    assert_same("""
        v0 = torch.tensor([[[0.25, 1.0], [-2.90625, -3.0]]], dtype=torch.float32)
        v1 = torch.tensor([[[[inf, 4.0], [3e+38, 0.25]]]], dtype=torch.float32)
        v2 = F.conv2d(v0.double(), v1.double(), padding=1)
    """)


def test_avg_pool2d_of_negative_zeros_is_positive_zero():
    # PyTorch's window sum starts at +0, so log of the average is -inf, not NaN, and the
    # gradient 1 / +0 is +inf
    assert_same("""
        v0 = torch.tensor([[[[-0.0, 1.0], [-0.0, -0.0]]]], dtype=torch.float64, requires_grad=True)
        v1 = F.avg_pool2d(v0, 1, padding=0)
        v2 = torch.log(v1)
        v3 = F.avg_pool2d(v0[0], 1)
        v4 = torch.log(v3)
        v5 = torch.log(F.avg_pool2d(v0[..., 1:, :], (1, 2)))
    """)


def test_an_integer_to_a_power_its_dtype_cannot_hold_is_refused():
    # PyTorch converts the exponent to the tensor's dtype first, even for an empty tensor
    assert_same("""
        v0 = torch.zeros((3, 0, 1), dtype=torch.uint8)
        v1 = v0.pow(300)
        v2 = torch.tensor([0, 2], dtype=torch.uint8) ** 256
        v3 = torch.tensor([1, 2], dtype=torch.int8) ** 255
        v4 = torch.tensor([1, 2], dtype=torch.uint8) ** 255
    """)


def test_the_gradient_of_a_power_by_a_python_false_is_not_zeroed():
    # a Python bool fails PyTorch's "exponent == 0" test, so x ** False gets g * 0 * x ** -1:
    # NaN where x is 0 or the gradient is NaN (x ** 0 gets zeros)
    assert_same("""
        v0 = torch.tensor([0.0, 0.25, -2.0, inf, nan], dtype=torch.float32, requires_grad=True)
        v1 = v0 ** False
        v2 = v0 ** True
        v3 = v0 ** 0
        v4 = torch.tensor(0.25, dtype=torch.float32, requires_grad=True)
        v5 = (v4 ** False).var(-1, keepdim=False)
    """)


def test_the_gradient_of_a_variance_with_no_degrees_of_freedom():
    # PyTorch: of a 0-d tensor or all dims, g * (NaN where x == its mean, else inf), so a
    # NaN x gets inf; over a dim, 2 / (n - correction), negative past n
    assert_same("""
        v0 = torch.tensor(nan, dtype=torch.float32, requires_grad=True)
        v1 = torch.var(v0, dim=0)
        v2 = v1.var(0, keepdim=True)
        v3 = torch.tensor([nan], dtype=torch.float64, requires_grad=True)
        v4 = v3.var()
        v5 = torch.tensor([0.25], dtype=torch.float32, requires_grad=True)
        v6 = torch.var(v5, dim=0, correction=2)
        v7 = torch.var(v5, correction=2)
    """)


def test_an_empty_batched_matmul_of_other_dtypes_saves_its_first_operand():
    # PyTorch's batched path returns before it checks dtypes and saves a (expanded) for
    # b's gradient: changing a in place afterwards makes backward fail
    assert_same("""
        v0 = torch.zeros((4, 0, 4), dtype=torch.float32, requires_grad=True)
        v1 = torch.zeros((0,), dtype=torch.bool)
        v2 = v1.unsqueeze(-2)
        v3 = torch.matmul(v2, v0)
        v4 = v1.copy_(torch.zeros((0,), dtype=torch.bool))
    """)


def test_an_index_tensor_changed_in_place_fails_backward_but_a_zero_dim_mask_does_not():
    # PyTorch saves index tensors and masks for backward; a 0-d bool is read as a Python
    # bool at indexing time, so changing it later changes nothing
    assert_same("""
        v0 = torch.tensor(0.0, dtype=torch.float32, requires_grad=True)
        v1 = v0 <= v0
        v2 = v0[v1]
        v1[...] = v0
        v3 = v0.clamp(max=0.5)
    """)
    assert_same("""
        v0 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32, requires_grad=True)
        v1 = torch.tensor([True, False, True])
        v2 = v0[v1]
        v1[...] = False
    """)
    assert_same("""
        v0 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32, requires_grad=True)
        v1 = torch.tensor([0, 2])
        v2 = v0[v1]
        v1 += 1
    """)


def test_the_norm_of_one_element_is_its_magnitude_even_where_its_square_overflows():
    assert_same("""
        v0 = torch.tensor(1e30, dtype=torch.float32, requires_grad=True)
        v1 = v0.norm(2)
        v6 = v0.norm(2, 0)
        v7 = torch.linalg.vector_norm(v0, dim=())
        v2 = torch.tensor([[1e30, -2e30]], requires_grad=True)
        v3 = v2.norm(dim=0)
        v4 = v2.norm(3, dim=0)
        v5 = v2.norm(dim=1)
    """)


def test_sort_flip_and_clone_keep_their_inputs_layout_and_roll_does_not():
    # the layout decides whether .view() works; PyTorch's sort, argsort, flip and clone
    # lay their output out as the input, roll and topk row-major
    for op in ("sort(1)[0]", "sort(0)[1]", "argsort(2)", "flip(1)", "clone()", "roll(1, 1)"):
        assert_same(f"""
            v0 = torch.tensor([[[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]]] * 2).permute(0, 2, 1)
            v1 = v0.{op}
            v2 = v1.is_contiguous()
            v3 = v1.view(12)
        """)


def test_the_gradient_of_a_power_by_one_and_a_half_or_a_half_takes_roots_as_pytorch():
    # PyTorch's x ** (n - 1) for n = 0.5 and 1.5 is rsqrt and sqrt: NaN at -inf
    assert_same("""
        v0 = torch.tensor([-inf, -0.0, 0.0, 4.0, inf, -2.0], requires_grad=True)
        v1 = torch.pow(v0, 0.5)
        v2 = v0 ** 1.5
        v3 = torch.tensor([-inf, -0.0, 4.0], dtype=torch.float64, requires_grad=True) ** -0.5
    """)


def test_gather_saves_its_input_so_a_change_in_place_fails_backward():
    assert_same("""
        v0 = torch.tensor([-2.0, 0.5, 3.0], requires_grad=True)
        v1 = v0.cos()
        v2 = v1.gather(0, torch.tensor([1, 1]))
        v1 += 1
        loss = v2.sum()
        loss.backward()
    """)
