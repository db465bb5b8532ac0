"""Idioms from PyTorch tutorials and d2l.ai against PyTorch: NumPy-style argument names,
out=, grad-mode decorators, print options and other tensor basics."""

from __future__ import annotations

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

A = np.arange(20, dtype=np.float32).reshape(5, 4)


def _same(a, b):
    if isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
        return
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: x.sum(axis=0),
        lambda m, x: x.sum(axis=1, keepdims=True),
        lambda m, x: x.sum(axis=[0, 1]),
        lambda m, x: x.mean(axis=0, keepdim=True),
        lambda m, x: m.sum(x, axis=0),
        lambda m, x: m.mean(x, axis=1, keepdims=True),
        lambda m, x: x.cumsum(axis=0),
        lambda m, x: m.cumsum(x, axis=1),
        lambda m, x: x.max(axis=0).values,
        lambda m, x: m.max(x, 1, keepdims=True)[1],
        lambda m, x: x.argmax(axis=1),
        lambda m, x: x.std(axis=0),
        lambda m, x: m.cat([x, x], axis=1),
        lambda m, x: m.stack([x, x], axis=2),
        lambda m, x: x.softmax(axis=1),
        lambda m, x: x.unsqueeze(axis=0),
    ],
)
def test_numpy_argument_names(call):
    _same(call(engine, engine.tensor(A)), call(torch, torch.tensor(A)))


def test_numpy_argument_names_refused_where_torch_refuses():
    for lib in (engine, torch):
        with pytest.raises(TypeError):
            lib.tensor(A).norm(axis=0)  # a Python-level function in PyTorch: no aliases
        with pytest.raises(TypeError):
            lib.tensor(A).sum(dim=0, axis=0)


def _grad_modes(lib):
    x = lib.ones(2, requires_grad=True)
    seen = []

    @lib.no_grad
    def bare(x):
        return x * 2

    @lib.inference_mode
    def bare_inference(x):
        return x * 2

    @lib.inference_mode()
    def called_inference(x):
        return (x * 2, lib.is_inference_mode_enabled())

    seen += [bare(x).requires_grad, bare_inference(x).requires_grad]
    seen += [called_inference(x)[0].requires_grad, called_inference(x)[1]]
    with lib.inference_mode():
        seen += [(x * 2).requires_grad, lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
    with lib.no_grad(), lib.inference_mode(False):
        seen += [(x * 2).requires_grad, lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
    with lib.inference_mode(mode=False):
        seen += [(x * 2).requires_grad]

    @lib.enable_grad
    def bare_enable(x):
        return x * 2

    with lib.no_grad():
        seen += [bare_enable(x).requires_grad]
    seen += [lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
    return seen


def test_grad_mode_decorators_and_inference_mode():
    assert _grad_modes(engine) == _grad_modes(torch)


@pytest.mark.parametrize("mode", ["floor", "trunc"])
@pytest.mark.parametrize(
    "a, b",
    [
        ([-7, 7, 5, -4], [2, -2, 5, 3]),
        ([-7, 7, 5, -4], 2),
        ([-7, 7, 5, -4], 2.5),
        ([-7.5, 7.5, 0.3, -4.0], [2.0, -2.0, 0.1, 3.0]),
    ],
)
def test_div_rounding_mode(mode, a, b):
    def run(lib):
        other = lib.tensor(b) if isinstance(b, list) else b
        return lib.div(lib.tensor(a), other, rounding_mode=mode)

    _same(run(engine), run(torch))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_rounding_mode_gradient_is_zero_and_in_place(mode):
    def run(lib):
        x = lib.tensor([-7.5, 7.5], requires_grad=True)
        y = lib.tensor([2.0, -2.0], requires_grad=True)
        r = lib.div(x, y, rounding_mode=mode)
        r.sum().backward()
        z = lib.tensor([-7, 7, 9])
        z.div_(2, rounding_mode=mode)
        return [r, x.grad, y.grad, z, x.div(2, rounding_mode=mode)]

    _same(run(engine), run(torch))
    for lib in (engine, torch):
        with pytest.raises(RuntimeError):
            lib.div(lib.tensor([1, 2]), 0, rounding_mode=mode)
        with pytest.raises(NotImplementedError):
            lib.div(lib.tensor([True]), True, rounding_mode=mode)
        with pytest.raises(RuntimeError):
            lib.div(lib.tensor([1.0]), 2, rounding_mode="round")


def test_true_divide():
    def run(lib):
        i = lib.tensor([1, 2, 3])
        return [lib.true_divide(i, 2), i.true_divide(lib.tensor([2, 4, 8]))]

    _same(run(engine), run(torch))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "mm", "matmul"])
def test_out_argument(op):
    def run(lib):
        x, y = lib.ones(2, 2), lib.full((2, 2), 3.0)
        same_shape = lib.empty(2, 2)
        got = getattr(lib, op)(x, y, out=same_shape)
        wider = lib.zeros(2, 2, dtype=lib.float64)
        if op in ("mm", "matmul"):  # matrix products take only their own dtype
            with pytest.raises(RuntimeError):
                getattr(lib, op)(x, y, out=wider)
        else:
            getattr(lib, op)(x, y, out=wider)
        empty = lib.empty(0)
        getattr(lib, op)(x, y, out=empty)
        return [got, same_shape, wider, empty, lib.tensor(got is same_shape)]

    _same(run(engine), run(torch))


def test_out_argument_refusals_and_resize_warning():
    for lib in (engine, torch):
        x, y = lib.ones(2, 2), lib.full((2, 2), 3.0)
        with pytest.raises(RuntimeError):  # no float into an integer out
            lib.add(x, y, out=lib.zeros(2, 2, dtype=lib.long))
        with pytest.raises(RuntimeError):  # autograd cannot follow out=
            lib.mul(lib.ones(2, 2, requires_grad=True), y, out=lib.empty(2, 2))
        with pytest.raises(TypeError):
            lib.add(x, y, out=[1])
        with lib.no_grad():
            assert not lib.mul(
                lib.ones(2, 2, requires_grad=True), y, out=lib.empty(2, 2)
            ).requires_grad
        with pytest.warns(UserWarning, match="resized"):
            out = lib.zeros(3)
            lib.add(x, y, alpha=2, out=out)
        np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 7.0, np.float32))


def _text(lib, values, **kwargs):
    return repr(lib.tensor(values, **kwargs)).replace("engine.", "torch.")


@pytest.mark.parametrize(
    "values",
    [
        [1.37, 2.74],
        [1.5, 2.0],
        [1.0, 2.0],
        [1e-8, 1.0],
        [123456789.0, 1.0],
        [-1.5, 2.25, float("nan")],
        [0.001, 1000.0],
        [[1.5, -2.0], [3.25, 4.0]],
        list(np.arange(2000.0)),
        list(np.arange(3000.0) / 7),
    ],
)
def test_float_tensors_print_as_pytorch_prints_them(values):
    assert _text(engine, values) == _text(torch, values)
    assert _text(engine, values, dtype=engine.float64) == _text(torch, values, dtype=torch.float64)


def test_empty_tensors_print_their_size_and_dtype_as_pytorch():
    for shape, dtype in [((0,), "float32"), ((2, 0), "float32"), ((0, 3), "int64")]:
        texts = [
            repr(lib.zeros(shape, dtype=getattr(lib, dtype))).replace("engine.", "torch.")
            for lib in (engine, torch)
        ]
        assert texts[0] == texts[1]


@pytest.mark.parametrize(
    "options",
    [
        {"precision": 2},
        {"sci_mode": True},
        {"sci_mode": False},
        {"threshold": 5},
        {"linewidth": 30},
        {"edgeitems": 1, "threshold": 3},
        {"profile": "short"},
        {"profile": "full", "precision": 6},
    ],
)
def test_set_printoptions(options):
    values = [[1.37, -2.74, 0.5], [1e-8, 1.0, 3.0], list(range(12)), [k / 3 for k in range(12)]]
    try:
        for lib in (engine, torch):
            lib.set_printoptions(**options)
        for v in values:
            assert _text(engine, v) == _text(torch, v)
    finally:
        for lib in (engine, torch):
            lib.set_printoptions(profile="default")
    assert _text(engine, [1.37, 2.74]) == "tensor([1.3700, 2.7400])"


def test_tensor_from_numpy_scalars_and_tensors_in_lists_keeps_their_dtypes():
    def dtypes(lib):
        made = [
            lib.tensor([np.float64(1.0), np.float64(2)]),
            lib.tensor(np.float64(1.0)),
            lib.tensor(np.int32(5)),
            lib.tensor([np.int32(1)]),
            lib.tensor([1.0, np.float64(2)]),
            lib.tensor([np.float16(1)]),
            lib.tensor([1, np.float32(2)]),
            lib.tensor([1.5, np.int32(2)]),
            lib.tensor([np.uint8(1), np.int8(2)]),
            lib.tensor([lib.tensor(1, dtype=lib.int32), lib.tensor(2, dtype=lib.int32)]),
            lib.tensor([True, np.int16(3)]),
            lib.tensor([lib.tensor(1.5), 2]),
            lib.tensor([np.bool_(True)]),
            lib.tensor([1.0, 2.0]),
        ]
        return [str(t.dtype).split(".")[-1] for t in made]

    assert dtypes(engine) == dtypes(torch)


def test_as_tensor_shares_memory_as_pytorch():
    def run(lib):
        n = np.arange(4.0)
        lib.as_tensor(n)[0] = 9  # shared
        lib.as_tensor(n, dtype=lib.float32)[1] = 7  # a converted copy
        lib.as_tensor(n, dtype=lib.float64)[2] = 5  # shared
        x = lib.ones(2, requires_grad=True)
        same = [lib.as_tensor(x) is x, lib.as_tensor(x, dtype=lib.float32) is x]
        return n, same, lib.as_tensor(x, dtype=lib.float64).requires_grad

    got, want = run(engine), run(torch)
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1:] == want[1:]


def test_where_with_two_numbers():
    def run(lib):
        c = lib.tensor([True, False])
        return [
            lib.where(c, 1.0, 0.0),
            lib.where(c, 1, 0),
            lib.where(c, 1, 0.5),
            lib.where(c, True, 2),
        ]

    _same(run(engine), run(torch))


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(accumulate):
    def run(lib):
        got = []
        z = lib.zeros(3, 4)
        z.index_put_((lib.tensor([0, 0, 2]), lib.tensor([1, 1, -1])), lib.tensor(5.0), accumulate)
        got.append(z)
        z = lib.zeros(3, 4)
        rows = lib.tensor([True, False, True])
        z.index_put_((rows,), lib.tensor([1.0, 2.0, 3.0, 4.0]), accumulate=accumulate)
        got.append(z)
        w = lib.arange(6.0).reshape(2, 3).requires_grad_()
        v = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        where = (lib.tensor([0, 1, 1]), lib.tensor([1, 2, 0]))
        out = w.index_put(where, v, accumulate=accumulate)
        (out * lib.arange(6.0).reshape(2, 3)).sum().backward()
        got += [out, w.grad, v.grad]
        got.append(
            lib.index_put(lib.zeros(4, dtype=lib.long), (lib.tensor([1, 2]),), lib.tensor([2, 3]))
        )
        return got

    _same(run(engine), run(torch))


def test_index_put_accumulates_repeated_indices_and_checks_bounds():
    def run(lib):
        y = lib.zeros(5)
        y.index_put_((lib.tensor([0, 0, 2]),), lib.tensor([1.0, 2.0, 3.0]), accumulate=True)
        return y

    _same(run(engine), run(torch))
    for lib in (engine, torch):
        with pytest.raises(IndexError):
            lib.zeros(3).index_put_((lib.tensor([5]),), lib.tensor(1.0), accumulate=True)
        with pytest.raises(TypeError):
            lib.zeros(3).index_put_((lib.tensor([0]),), 1.0)


def test_size_slices_and_sums_stay_sizes():
    for lib in (engine, torch):
        s = lib.zeros(2, 3, 4).shape
        for got in (s[1:], s[::-1], s + (5,), (1,) + s, s * 2, 2 * s):
            assert type(got) is lib.Size
        assert (s[1:], s + (5,), (1,) + s) == ((3, 4), (2, 3, 4, 5), (1, 2, 3, 4))
        assert isinstance(s[0], int)
        with pytest.raises(TypeError):
            s + [1]


def test_std_mean_var_mean_logspace_and_small_names():
    def run(lib):
        x = lib.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
        return [
            *lib.std_mean(x),
            *lib.std_mean(x, 1),
            *lib.std_mean(x, dim=0, keepdim=True),
            *lib.var_mean(x, 1, unbiased=False),
            *lib.std_mean(x, correction=0),
            lib.logspace(0, 2, 3),
            lib.logspace(-1, 1, 5, base=2),
            lib.logspace(0, 3, 4, dtype=lib.float64),
            lib.argwhere(x > 2),
            x.mH,
            lib.tensor([x.nelement(), x.ndimension(), lib.is_floating_point(x)]),
        ]

    _same(run(engine), run(torch))


def test_max_min_sort_topk_return_pytorchs_named_pairs():
    for lib in (engine, torch):
        x = lib.tensor([[1.0, 3.0], [4.0, 2.0]])
        results = [lib.max(x, 1), x.min(dim=0), lib.sort(x), lib.topk(x, 1), lib.median(x, 1)]
        results += [lib.mode(x, 1), lib.kthvalue(x, 1, 1), lib.cummax(x, 1), lib.cummin(x, 0)]
        results += [lib.nanmedian(x, 0), lib.aminmax(x)]
        names = ["max", "min", "sort", "topk", "median", "mode", "kthvalue", "cummax", "cummin"]
        assert [type(r).__name__ for r in results] == [*names, "nanmedian", "aminmax"]
        assert all(type(r) is getattr(lib.return_types, type(r).__name__) for r in results)
        values, indices = results[0]
        assert values is results[0].values and indices is results[0].indices
        text = repr(results[0]).replace("engine.", "torch.")
        want = "torch.return_types.max(\nvalues=tensor([3., 4.]),\nindices=tensor([1, 0]))"
        assert text == want


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_round_with_decimals(dtype):
    values = [1.2345, -2.5551, 1234.5678, 0.125, 2.675, 0.5, 1.5, -0.05]

    def run(lib):
        x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        got = [lib.round(x, decimals=d) for d in (3, 2, 1, -1, -2)]
        x.round(decimals=2).sum().backward()
        z = lib.tensor([1.26, 2.71])
        z.round_(decimals=1)
        return [*got, x.grad, z]

    _same(run(engine), run(torch))
    for lib in (engine, torch):
        with pytest.raises(NotImplementedError):
            lib.round(lib.tensor([15, 25]), decimals=-1)


def test_finfo_iinfo_storage_offset_and_data_ptr():
    def run(lib):
        infos = [lib.finfo(lib.float16), lib.finfo(lib.float32), lib.finfo()]
        infos.append(lib.finfo(lib.float64))
        got = [(f.bits, f.eps, f.max, f.min, f.tiny, f.resolution) for f in infos]
        ints = (lib.iinfo(lib.int8), lib.iinfo(lib.uint8))
        got += [(i.bits, i.max, i.min, i.dtype) for i in ints]
        got.append(repr(lib.finfo(lib.float32)))
        a = lib.arange(24).reshape(4, 6)
        views = (a, a[1], a[1:, 2:], a.t()[3], a.view(-1)[5:], a[:, 1])
        got.append([t.storage_offset() for t in views])
        got.append(a[1].data_ptr() - a.data_ptr())
        return got

    assert run(engine) == run(torch)
    for lib in (engine, torch):
        with pytest.raises(TypeError):
            lib.finfo(lib.int32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.float32)


def _device_program(lib, device):
    def t(values, **kwargs):
        return lib.tensor(values, device=device, **kwargs)

    x = t([-7.5, 7.5, 0.3, -4.0], requires_grad=True)
    got = [lib.div(x, 2, rounding_mode=m) for m in ("floor", "trunc")]
    got.append(lib.div(t([-7, 7]), t([2, -2]), rounding_mode="trunc"))
    got += [lib.round(x, decimals=d) for d in (1, -1)]
    got.append(lib.where(t([True, False]), 1.0, 0.0))
    got.append(x.sum(axis=0, keepdims=True))
    out = lib.empty(4, device=device)
    got.append(lib.add(x.detach(), 1, out=out))
    w = t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    v = t([1.0, 2.0, 3.0], requires_grad=True)
    placed = w.index_put((t([0, 0, 1]), t([1, 1, 2])), v, accumulate=True)
    (placed * placed).sum().backward()
    got += [placed, w.grad, v.grad]
    got.append(lib.autograd.functional.hessian(lambda a: (a**3).sum(), x.detach()))
    return got, repr(x.detach().cpu())


@pytest.mark.gpu
def test_tutorial_idioms_on_cuda():
    got, text = _device_program(engine, "cuda")
    want, want_text = _device_program(torch, "cpu")
    assert all(g.is_cuda for g in got)
    _same([g.cpu() for g in got], want)
    assert text == want_text


def test_composed_ops_forward_and_gradients():
    def run(lib):
        x = lib.arange(24.0).reshape(2, 3, 4).requires_grad_()
        outs = [
            lib.swapaxes(x, 0, 2),
            x.swapdims(1, 2),
            lib.movedim(x, (0, 1), (2, 0)),
            x.moveaxis(-1, 0),
            lib.select(x, 1, -1),
            lib.hstack([x[0], x[1]]),
            lib.vstack([x[0, 0], x[1, 1]]),
            lib.row_stack([x[0], x[1]]),
            lib.column_stack([x[0, 0], x[1, 1]]),
            lib.addcmul(x, x, x, value=0.5),
            x.addcdiv(x, x + 1, value=2),
            lib.diff(x, n=2, dim=1),
            lib.diff(x[0, 0], prepend=lib.tensor([-1.0]), append=lib.tensor([9.0, 10.0])),
            lib.take(x, lib.tensor([[0, 5], [23, -1]])),
            lib.take_along_dim(x, lib.tensor([[[0], [1], [2]]]), dim=2),
            lib.frac(x / 7 - 1),
            lib.rad2deg(x),
            lib.hypot(x, x + 1),
            lib.logaddexp(x, -x),
        ]
        sum((o * (k + 1)).sum() for k, o in enumerate(outs)).backward()
        counts = [lib.count_nonzero(x), lib.count_nonzero(x > 5, dim=1)]
        flags = [lib.diff(lib.tensor([True, True, False])), lib.diff(lib.tensor([1, 4, 9]))]
        return [*outs, x.grad, *counts, *flags]

    _same(run(engine), run(torch))
    for lib in (engine, torch):
        x = lib.zeros(2, 3)
        with pytest.raises(IndexError):
            lib.select(x, 1, 3)
        with pytest.raises(IndexError):
            lib.take(x, lib.tensor([6]))
        with pytest.raises(RuntimeError):
            lib.addcdiv(lib.ones(2), lib.tensor([1, 2]), lib.tensor([1, 2]))
        with pytest.raises(RuntimeError):
            lib.diff(lib.tensor(1.0))


def test_clamp_refuses_a_tensor_bound_with_a_number_bound():
    for lib in (engine, torch):
        x = lib.tensor([1.0, 5.0, 9.0])
        with pytest.raises(TypeError):
            lib.clamp(x, min=lib.tensor([2.0, 2.0, 2.0]), max=6.0)
        with pytest.raises(TypeError):
            x.clamp(min=2.0, max=lib.tensor([6.0, 6.0, 6.0]))
    _same(
        engine.clamp(engine.tensor([1.0, 5.0, 9.0]), min=engine.tensor(2.0)),
        torch.clamp(torch.tensor([1.0, 5.0, 9.0]), min=torch.tensor(2.0)),
    )


def test_memory_formats_for_clone_and_contiguous():
    def run(lib):
        x = lib.arange(12.0).reshape(3, 4).t()
        kept = lib.clone(x, memory_format=lib.preserve_format)
        row_major = x.clone(memory_format=lib.contiguous_format)
        made = x.contiguous(memory_format=lib.contiguous_format)
        layouts = [x.clone().is_contiguous(), row_major.is_contiguous(), kept.stride()]
        return layouts + [made.stride(), repr(lib.channels_last).split(".")[-1]]

    assert run(engine) == run(torch)
    image = engine.arange(24.0).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(
        image.contiguous(memory_format=engine.channels_last).numpy(), image.numpy()
    )
