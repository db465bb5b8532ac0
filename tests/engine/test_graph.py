"""Graph semantics: accumulation, retain_graph, grad modes, leaves, dtypes and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import engine


def leaf(*values: float) -> engine.Tensor:
    return engine.tensor(list(values), requires_grad=True)


class TestBackward:
    def test_grads_accumulate_across_backward_calls(self):
        x = leaf(1.0, 2.0, 3.0)
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0, 5.0])

    def test_retain_graph_allows_second_backward(self):
        x = leaf(1.0, 2.0)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])

    def test_second_backward_without_retain_graph_raises(self):
        x = leaf(1.0, 2.0)
        y = (x.exp() * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="retain_graph"):
            y.backward()

    def test_non_scalar_backward_needs_gradient(self):
        x = leaf(1.0, 2.0)
        with pytest.raises(RuntimeError, match="scalar"):
            (x * 2).backward()

    def test_backward_with_explicit_gradient(self):
        x = engine.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        g = engine.tensor([[1.0, 0.5, 0.0], [2.0, -1.0, 3.0]])
        (x * 3).backward(g)
        np.testing.assert_allclose(x.grad.numpy(), 3 * g.numpy())
        x.grad = None
        (x * x).backward(gradient=g)
        np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() * g.numpy())

    def test_shared_subexpression_accumulates(self):
        x = leaf(2.0)
        y = x * 3
        z = y * y + y  # dz/dx = (2y + 1) * 3
        z.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [39.0])

    def test_leaf_and_non_leaf_grad(self):
        x = leaf(1.0, 2.0)
        y = x * 2
        z = x * 3
        z.retain_grad()
        (y * z).sum().backward()
        assert x.is_leaf and not y.is_leaf and not z.is_leaf
        assert y.grad is None
        np.testing.assert_allclose(z.grad.numpy(), y.detach().numpy())
        np.testing.assert_allclose(x.grad.numpy(), 12 * x.detach().numpy())

    def test_tensors_without_grad_are_leaves(self):
        assert engine.ones(3).is_leaf
        assert engine.ones(3, requires_grad=True).is_leaf
        assert (leaf(1.0) * 2).detach().is_leaf

    def test_grad_does_not_flow_into_constants(self):
        x = leaf(1.0, 2.0)
        c = engine.tensor([3.0, 4.0])
        (x * c).sum().backward()
        assert c.grad is None
        assert not c.requires_grad

    def test_backward_without_grad_raises(self):
        with pytest.raises(RuntimeError, match="grad"):
            (engine.ones(2) * 2).sum().backward()

    def test_deep_graph_does_not_hit_recursion_limit(self):
        x = leaf(1.0)
        y = x
        for _ in range(5000):
            y = y * 1.0001
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [1.0001**5000], rtol=1e-4)

    def test_grads_keep_each_input_dtype(self):
        a = engine.tensor([1.0, 2.0], requires_grad=True)
        b = engine.tensor([3.0, 4.0], dtype=engine.float64, requires_grad=True)
        out = a * b
        assert out.dtype == engine.float64
        out.sum().backward()
        assert a.grad.dtype == engine.float32 and b.grad.dtype == engine.float64
        np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])

    def test_to_dtype_is_differentiable(self):
        x = leaf(1.0, 2.0)
        y = x.to(engine.float64)
        assert y.dtype == engine.float64 and y.requires_grad
        (y * y).sum().backward()
        assert x.grad.dtype == engine.float32
        np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


class TestGradMode:
    def test_no_grad_context(self):
        x = leaf(1.0)
        assert engine.is_grad_enabled()
        with engine.no_grad():
            assert not engine.is_grad_enabled()
            y = x * 2
        assert engine.is_grad_enabled()
        assert not y.requires_grad

    def test_no_grad_restored_after_exception(self):
        with pytest.raises(KeyError), engine.no_grad():
            raise KeyError("boom")
        assert engine.is_grad_enabled()

    def test_no_grad_decorator(self):
        @engine.no_grad()
        def double(t):
            assert not engine.is_grad_enabled()
            return t * 2

        assert not double(leaf(1.0)).requires_grad
        assert engine.is_grad_enabled()

    def test_enable_grad_inside_no_grad(self):
        x = leaf(1.0)
        with engine.no_grad():
            with engine.enable_grad():
                assert engine.is_grad_enabled()
                y = x * 2
            assert not engine.is_grad_enabled()
        assert y.requires_grad
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [2.0])


class TestStorage:
    def test_detach_shares_storage_without_grad(self):
        x = leaf(1.0, 2.0)
        d = x.detach()
        assert not d.requires_grad and d.grad is None
        d.numpy()[0] = 7.0
        assert x.detach().numpy()[0] == 7.0

    def test_data_is_detached_and_shared(self):
        x = leaf(1.0, 2.0)
        assert not x.data.requires_grad
        x.data.numpy()[1] = 5.0
        np.testing.assert_array_equal(x.detach().numpy(), [1.0, 5.0])

    def test_in_place_update_through_data(self):
        # The update an optimizer makes: p.data -= lr * p.grad.
        x = leaf(1.0, 2.0)
        (x * x).sum().backward()
        x.data -= 0.5 * x.grad
        np.testing.assert_allclose(x.detach().numpy(), [0.0, 0.0])
        assert x.requires_grad and x.is_leaf

    def test_from_numpy_shares_memory(self):
        a = np.arange(3.0)
        t = engine.from_numpy(a)
        a[0] = 9.0
        assert t.dtype == engine.float64
        assert t[0].item() == 9.0


class TestDtypes:
    def test_defaults(self):
        assert engine.tensor([1.0]).dtype == engine.float32
        assert engine.tensor([1, 2]).dtype == engine.int64
        assert engine.tensor([True, False]).dtype == engine.bool
        assert engine.tensor(np.array([1.0])).dtype == engine.float64
        for t in (
            engine.zeros(2),
            engine.ones(2),
            engine.randn(2),
            engine.rand(2),
            engine.eye(2),
            engine.full((2,), 1.5),
            engine.arange(0, 1, 0.25),
        ):
            assert t.dtype == engine.float32
        assert engine.arange(5).dtype == engine.int64
        assert engine.randint(0, 10, (5,)).dtype == engine.int64
        assert engine.zeros_like(engine.tensor([1, 2])).dtype == engine.int64
        assert engine.ones_like(engine.zeros(2, dtype=engine.float64)).dtype == engine.float64

    def test_randint_range(self):
        r = engine.randint(3, 7, (200,)).numpy()
        assert r.min() >= 3 and r.max() <= 6

    def test_float64_end_to_end(self):
        x = engine.tensor([1.0, 2.0], dtype=engine.float64, requires_grad=True)
        y = (x * 2.5).exp().sum()
        assert y.dtype == engine.float64
        y.backward()
        assert x.grad.dtype == engine.float64

    @pytest.mark.parametrize(
        "make, expected",
        [
            (lambda: engine.tensor([1, 2]) + 0.5, "float32"),
            (lambda: engine.tensor([1, 2]) + 1, "int64"),
            (lambda: engine.tensor([1, 2]) / engine.tensor([2, 4]), "float32"),
            (lambda: engine.tensor([3, 4]) / 2, "float32"),
            (lambda: engine.tensor([1, 2]) * engine.tensor([0.5, 1.5]), "float32"),
            (lambda: engine.tensor([1.0]) * 0.1, "float32"),
            (lambda: engine.tensor([1.0]) + engine.tensor([1.0], dtype=engine.float64), "float64"),
            (lambda: engine.tensor([1, 2]).sum(), "int64"),
            (lambda: engine.tensor([1, 2]).float(), "float32"),
            (lambda: engine.tensor([1.5, 2.5]).long(), "int64"),
        ],
        ids=[
            "int+float",
            "int+int",
            "int/int",
            "int/scalar",
            "int*float",
            "float*scalar",
            "f32+f64",
            "int_sum",
            "float()",
            "long()",
        ],
    )
    def test_promotion(self, make, expected):
        assert make().dtype == getattr(engine, expected)

    def test_accuracy_idiom(self):
        logits = engine.tensor([[1.0, 2.0], [3.0, 1.0], [0.0, 5.0]])
        correct = logits.argmax(dim=1) == engine.tensor([1, 0, 0])
        assert correct.sum().dtype == engine.int64 and correct.sum().item() == 2
        assert abs(correct.float().mean().item() - 2 / 3) < 1e-6

    def test_comparisons_are_bool_without_grad(self):
        x = leaf(1.0, -2.0)
        for c in (x > 0, x < 0, x >= 0, x <= 0, x == 1.0, x != 1.0):
            assert c.dtype == engine.bool
            assert not c.requires_grad

    def test_manual_seed_reproducible(self):
        engine.manual_seed(0)
        a = (engine.randn(5), engine.rand(3), engine.randint(0, 100, (4,)))
        engine.manual_seed(0)
        b = (engine.randn(5), engine.rand(3), engine.randint(0, 100, (4,)))
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u.numpy(), v.numpy())
        engine.manual_seed(1)
        assert not np.array_equal(engine.randn(5).numpy(), a[0].numpy())


class TestAttributes:
    def test_shape_size_numel(self):
        x = engine.zeros(2, 3, 4)
        assert tuple(x.shape) == (2, 3, 4) and x.shape == (2, 3, 4)
        assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
        assert x.ndim == 3 and x.numel() == 24
        assert str(x.device) == "cpu"

    def test_item_tolist_numpy(self):
        x = engine.tensor([[1.0, 2.0], [3.0, 4.0]])
        assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
        assert x[1, 0].item() == 3.0 and isinstance(x.sum().item(), float)
        assert isinstance(engine.tensor([3]).sum().item(), int)
        assert isinstance(x.numpy(), np.ndarray)

    def test_python_conversions(self):
        assert float(engine.tensor([2.5])) == 2.5 and int(engine.tensor(3)) == 3
        assert bool(engine.tensor([1])) and len(engine.zeros(4, 2)) == 4
        assert [tuple(row.shape) for row in engine.zeros(2, 3)] == [(3,), (3,)]

    def test_to_and_cpu(self):
        x = engine.tensor([1.0])
        assert x.cpu().device == x.device
        assert x.to("cpu").dtype == engine.float32
        assert x.to(engine.float64).dtype == engine.float64
        assert x.to("cpu", engine.float64).dtype == engine.float64

    def test_cuda_without_gpu_raises(self):
        if engine.cuda.is_available():
            pytest.skip("a GPU is present")
        with pytest.raises(RuntimeError, match="cuda"):
            engine.ones(2).cuda()
        with pytest.raises(RuntimeError, match="cuda"):
            engine.ones(2, device="cuda")


class TestErrors:
    def test_matmul_shape_error_names_op_and_shapes(self):
        with pytest.raises((RuntimeError, ValueError)) as info:
            engine.randn(5, 7) @ engine.randn(8, 3)
        message = str(info.value)
        assert "matmul" in message and "(5, 7)" in message and "(8, 3)" in message

    def test_broadcast_error_names_op_and_shapes(self):
        with pytest.raises((RuntimeError, ValueError)) as info:
            engine.zeros(2, 3) + engine.zeros(4)
        message = str(info.value)
        assert "add" in message and "(2, 3)" in message and "(4,)" in message

    def test_numpy_of_tensor_requiring_grad_raises(self):
        with pytest.raises(RuntimeError, match="detach"):
            leaf(1.0).numpy()

    def test_max_of_empty_raises(self):
        with pytest.raises(RuntimeError, match="max"):
            engine.zeros(0).max()

    def test_item_of_many_elements_raises(self):
        with pytest.raises((RuntimeError, ValueError)):
            engine.zeros(3).item()

    def test_reshape_error(self):
        with pytest.raises((RuntimeError, ValueError), match=r"\(2, 3\)"):
            engine.zeros(2, 3).reshape(4, 2)

    def test_cat_shape_mismatch(self):
        with pytest.raises((RuntimeError, ValueError)):
            engine.cat([engine.zeros(2, 3), engine.zeros(2, 4)], dim=0)


@pytest.mark.gpu
def test_mixing_devices_raises():
    with pytest.raises(RuntimeError, match="device"):
        engine.ones(2) + engine.ones(2, device="cuda")
