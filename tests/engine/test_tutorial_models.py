"""Pieces of tutorial models (DCGAN, VAE, taggers, transformers, ResNet/U-Net blocks, transfer
learning) that differed from PyTorch, each run on both libraries with the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

rng = np.random.default_rng(17)


def arr(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach().numpy())


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"bias": False}, {"affine": False}, {"affine": False, "bias": False}],
)
def test_batchnorm_bias_keyword(kwargs):
    ours = engine.nn.BatchNorm2d(3, **kwargs)
    theirs = torch.nn.BatchNorm2d(3, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(
        arr(ours(engine.tensor(x))), arr(theirs(torch.tensor(x))), rtol=1e-5, atol=1e-6
    )


def test_steplr_takes_a_float_step_size():
    def lrs(lib):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=5.0)
        sched = lib.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.95)
        out = []
        for _ in range(3):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        return out

    np.testing.assert_allclose(lrs(engine), lrs(torch))


@pytest.mark.parametrize(
    "kwargs", [{}, {"bias": False}, {"elementwise_affine": False}, {"normalized_shape": [2, 3]}]
)
def test_layernorm_repr_shows_bias(kwargs):
    kwargs = {"normalized_shape": 3, **kwargs}
    assert repr(engine.nn.LayerNorm(**kwargs)) == repr(torch.nn.LayerNorm(**kwargs))
