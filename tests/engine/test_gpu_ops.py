"""Every op that test_ops and test_conv_pool check, again on cuda: the CPU's dtypes, values and
gradients, with every output and gradient on the device."""

from __future__ import annotations

import pytest

from tests.engine import gradcheck
from tests.engine.test_conv_pool import test_conv2d_configs, test_pool_configs  # noqa: F401
from tests.engine.test_conv_resample import (  # noqa: F401
    test_conv1d,
    test_conv_transpose2d,
    test_interpolate,
    test_pad,
    test_pool,
    test_unfold_fold,
)
from tests.engine.test_indexing_reductions import test_forward_only, test_gradients  # noqa: F401
from tests.engine.test_more_reductions import (  # noqa: F401
    test_gradients as test_more_reductions_gradients,
)
from tests.engine.test_more_reductions import (  # noqa: F401
    test_linalg_gradients as test_more_linalg_gradients,
)
from tests.engine.test_norms_losses import test_check_op as test_norms_losses_ops  # noqa: F401
from tests.engine.test_ops import (  # noqa: F401 (collected again here, on cuda)
    test_activations,
    test_batch_norm,
    test_binary,
    test_cat_stack,
    test_comparisons,
    test_conv2d,
    test_cross_entropy,
    test_empty_reductions_forward,
    test_indexing,
    test_large_inputs_stable,
    test_layer_norm,
    test_losses,
    test_matmul,
    test_mlp_end_to_end,
    test_nll_loss,
    test_pool2d,
    test_pool2d_positional_args,
    test_reductions,
    test_scalar_operands,
    test_shape_ops,
    test_unary,
    test_unary_extra,
    test_var_std,
    test_where,
)
from tests.engine.test_rnn_gradcheck import (  # noqa: F401
    test_packed_recurrent_gradcheck,
    test_recurrent_gradcheck,
)

try:  # collected again here, on cuda; the module skips itself without PyTorch
    from tests.engine.test_shape_linalg import (  # noqa: F401
        test_addmm,
        test_diag_of_matrix_and_trace,
        test_diag_of_vector,
        test_einsum,
        test_erf_grads_and_dtypes,
        test_meshgrid,
        test_movement_grads,
        test_products_grads,
    )
except pytest.skip.Exception:
    pass

try:  # collected again here, on cuda; the module skips itself without PyTorch
    from tests.engine.test_more_layers import test_check_op as test_more_layers_ops  # noqa: F401
except pytest.skip.Exception:
    pass

try:  # collected again here, on cuda; the modules skip themselves without PyTorch
    from tests.engine.test_margin_losses import (  # noqa: F401
        test_cosine_embedding,
        test_gaussian_nll,
        test_hinge_embedding,
        test_margin_ranking,
        test_multi_margin,
        test_multilabel_soft_margin,
        test_poisson_nll,
        test_soft_margin,
        test_triplet_margin,
    )
    from tests.engine.test_tutorial_models import (  # noqa: F401
        test_embedding_bag_check_op,
    )
except pytest.skip.Exception:
    pass

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _on_cuda(monkeypatch):
    monkeypatch.setattr(gradcheck, "ON_CUDA", True)


try:  # collected again here, on cuda; the module skips itself without PyTorch
    from tests.engine.test_more_pointwise import (  # noqa: F401
        test_aliases_match_torch_with_gradients,
        test_binary_math_gradients,
        test_indexing_ops_with_gradients,
        test_unary_math_gradients,
    )
except pytest.skip.Exception:
    pass
