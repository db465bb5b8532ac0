"""Margin, ranking, embedding and likelihood losses (functional and modules) against PyTorch
and finite differences: values, gradients, reductions and errors."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.engine.gradcheck import Const, check_op

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

rng = np.random.default_rng(23)


def randn(*shape):
    return rng.standard_normal(shape)


def signs(*shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking(reduction):
    check_op(
        lambda lib, a, b, y: lib.nn.functional.margin_ranking_loss(
            a, b, y, margin=0.3, reduction=reduction
        ),
        randn(7), randn(7), Const(signs(7)),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding(reduction):
    check_op(
        lambda lib, x, y: lib.nn.functional.hinge_embedding_loss(
            x, y, margin=0.7, reduction=reduction
        ),
        randn(4, 5), Const(signs(4, 5)),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin(reduction):
    check_op(
        lambda lib, x, y: lib.nn.functional.soft_margin_loss(x, y, reduction=reduction),
        randn(4, 5), Const(signs(4, 5)),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin(reduction):
    check_op(
        lambda lib, x, y, w: lib.nn.functional.multilabel_soft_margin_loss(
            x, y, weight=w, reduction=reduction
        ),
        randn(4, 5), Const((signs(4, 5) + 1) / 2), Const(rng.uniform(0.5, 2, 5)),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 5), (5,)])
def test_cosine_embedding(reduction, shape):
    check_op(
        lambda lib, a, b, y: lib.nn.functional.cosine_embedding_loss(
            a, b, y, margin=0.1, reduction=reduction
        ),
        randn(*shape), randn(*shape), Const(signs(*shape[:-1])),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [1, 2])
def test_triplet_margin(reduction, swap, p):
    check_op(
        lambda lib, a, pos, neg: lib.nn.functional.triplet_margin_loss(
            a, pos, neg, margin=2.0, p=p, swap=swap, reduction=reduction
        ),
        randn(4, 3), randn(4, 3), randn(4, 3),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin(reduction, p, weighted):
    w = Const(rng.uniform(0.5, 2, 5)) if weighted else None
    check_op(
        lambda lib, x, t, w: lib.nn.functional.multi_margin_loss(
            x, t, p=p, margin=0.8, weight=w, reduction=reduction
        ),
        randn(4, 5), np.array([0, 4, 2, 2]), w,
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll(reduction, log_input, full):
    x = randn(4, 5) if log_input else rng.uniform(0.2, 3.0, (4, 5))
    check_op(
        lambda lib, x, t: lib.nn.functional.poisson_nll_loss(
            x, t, log_input=log_input, full=full, reduction=reduction
        ),
        x, Const(rng.integers(0, 5, (4, 5)).astype(float)),
    )  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", [(4, 5), (4,), (4, 1)])
def test_gaussian_nll(reduction, var_shape):
    check_op(
        lambda lib, x, t, v: lib.nn.functional.gaussian_nll_loss(
            x, t, v, full=True, reduction=reduction
        ),
        randn(4, 5), randn(4, 5), rng.uniform(0.2, 2.0, var_shape),
    )  # fmt: skip


def test_modules_match_functional_and_torch():
    x, y = rng.standard_normal((4, 5)).astype(np.float32), signs(4, 5).astype(np.float32)
    t = np.array([0, 4, 2, 2])

    def run(lib):
        nn, T = lib.nn, lib.tensor
        return [
            nn.MarginRankingLoss(0.2)(T(x[:, 0]), T(x[:, 1]), T(y[:, 0])),
            nn.HingeEmbeddingLoss()(T(x), T(y)),
            nn.SoftMarginLoss(reduction="sum")(T(x), T(y)),
            nn.MultiLabelSoftMarginLoss(weight=T(np.ones(5, np.float32)))(T(x), T((y + 1) / 2)),
            nn.CosineEmbeddingLoss(0.1)(T(x), T(x[::-1].copy()), T(y[:, 0])),
            nn.TripletMarginLoss(margin=1.0, swap=True)(T(x), T(y), T(x[::-1].copy())),
            nn.MultiMarginLoss(p=2)(T(x), T(t)),
            nn.PoissonNLLLoss()(T(x), T(np.abs(y))),
            nn.GaussianNLLLoss()(T(x), T(y), T(np.ones((4, 1), np.float32))),
        ]

    for ours, theirs in zip(run(engine), run(torch), strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_errors():
    F = engine.nn.functional
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(engine.zeros(3), engine.zeros(3), -engine.ones(3))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(engine.zeros(3, 2), engine.zeros(3, 2), engine.ones(2))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        engine.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        engine.nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(RuntimeError, match="same dimension"):
        F.margin_ranking_loss(engine.zeros(3), engine.zeros(3), engine.zeros(3, 1))
