"""The same ops on cuda and cpu agree (skipped without a CUDA GPU)."""

from __future__ import annotations

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.gpu

RNG = np.random.default_rng(7)


def pair(*shape: int) -> tuple[engine.Tensor, engine.Tensor]:
    """The same float32 values as a cpu and a cuda leaf tensor."""
    values = RNG.standard_normal(shape).astype(np.float32)
    return (
        engine.tensor(values, requires_grad=True),
        engine.tensor(values, device="cuda", requires_grad=True),
    )


def assert_same(gpu: engine.Tensor, cpu: engine.Tensor) -> None:
    assert str(gpu.device).startswith("cuda")
    np.testing.assert_allclose(
        gpu.detach().cpu().numpy(), cpu.detach().numpy(), rtol=1e-4, atol=1e-5
    )


def test_add_and_matmul_forward_and_backward():
    a_cpu, a_gpu = pair(5, 7)
    b_cpu, b_gpu = pair(7, 3)
    c_cpu, c_gpu = pair(3)
    out_cpu = ((a_cpu @ b_cpu) + c_cpu).tanh()
    out_gpu = ((a_gpu @ b_gpu) + c_gpu).tanh()
    assert_same(out_gpu, out_cpu)
    out_cpu.sum().backward()
    out_gpu.sum().backward()
    for gpu, cpu in ((a_gpu, a_cpu), (b_gpu, b_cpu), (c_gpu, c_cpu)):
        assert_same(gpu.grad, cpu.grad)


def test_conv2d_and_cross_entropy_backward():
    import engine.nn.functional as F

    x_cpu, x_gpu = pair(2, 4, 6, 6)
    w_cpu, w_gpu = pair(6, 2, 3, 3)
    labels = RNG.integers(0, 6, (2, 2, 2))  # 6x6, stride 2 -> 3x3, pool 2 -> 2x2
    losses = []
    for x, w, device in ((x_cpu, w_cpu, "cpu"), (x_gpu, w_gpu, "cuda")):
        y = F.conv2d(x, w, stride=2, padding=1, groups=2)
        y = F.max_pool2d(y, 2, stride=1)
        loss = F.cross_entropy(y, engine.tensor(labels, device=device))
        loss.backward()
        losses.append(loss)
    assert_same(losses[1], losses[0])
    assert_same(x_gpu.grad, x_cpu.grad)
    assert_same(w_gpu.grad, w_cpu.grad)


def test_to_moves_between_devices_with_grad():
    x_cpu, _ = pair(3)
    y = x_cpu.to("cuda")
    assert str(y.device).startswith("cuda")
    (y * y).sum().backward()
    assert str(x_cpu.grad.device) == "cpu"
    np.testing.assert_allclose(x_cpu.grad.numpy(), 2 * x_cpu.detach().numpy(), rtol=1e-6)


def test_mixing_devices_raises():
    with pytest.raises(RuntimeError, match="device"):
        engine.ones(2) + engine.ones(2, device="cuda")
