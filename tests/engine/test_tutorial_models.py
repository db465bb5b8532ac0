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


def copy_weights(theirs, ours):
    ours.load_state_dict(
        {k: engine.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )


def test_generate_square_subsequent_mask():
    for sz in (1, 4):
        ours = engine.nn.Transformer.generate_square_subsequent_mask(sz)
        theirs = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch", "engine")
        np.testing.assert_array_equal(arr(ours), arr(theirs))
    ours = engine.nn.Transformer.generate_square_subsequent_mask(3, dtype=engine.float64)
    assert ours.dtype == engine.float64


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(batch_first, norm_first):
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16)
    kw.update(dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(**kw)
    ours = engine.nn.Transformer(**kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    copy_weights(theirs, ours)
    src = rng.standard_normal((5, 3, 8) if not batch_first else (3, 5, 8)).astype(np.float32)
    tgt = rng.standard_normal((4, 3, 8) if not batch_first else (3, 4, 8)).astype(np.float32)
    pad = np.zeros((3, 5), dtype=bool)
    pad[1, 3:] = True
    outs, grads = [], []
    for lib, model in ((torch, theirs), (engine, ours)):
        s, t = lib.tensor(src, requires_grad=True), lib.tensor(tgt)
        mask = lib.nn.Transformer.generate_square_subsequent_mask(4)
        out = model(s, t, tgt_mask=mask, src_key_padding_mask=lib.tensor(pad),
                    memory_key_padding_mask=lib.tensor(pad))  # fmt: skip
        (out * out).sum().backward()
        outs.append(arr(out))
        grads.append((arr(s.grad), arr(model.decoder.layers[0].multihead_attn.in_proj_weight.grad)))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-4, atol=1e-5)
    for a, b in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_transformer_errors():
    ours = engine.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1)
    with pytest.raises(RuntimeError, match="batch number"):
        ours(engine.zeros(5, 3, 8), engine.zeros(4, 2, 8))
    with pytest.raises(RuntimeError, match="feature number"):
        ours(engine.zeros(5, 3, 6), engine.zeros(4, 3, 6))


def test_modulelist_repr_groups_repeated_children():
    def build(lib):
        nn = lib.nn
        same = [nn.Linear(2, 2) for _ in range(3)]
        return nn.ModuleList([*same, nn.ReLU(), nn.Sequential(nn.ReLU()), nn.Sequential(nn.ReLU())])

    assert repr(build(engine)) == repr(build(torch))
    assert repr(engine.nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_sequential_and_modulelist_editing():
    from collections import OrderedDict

    def run(lib):
        nn = lib.nn
        out = []

        def named():
            layers = [("conv1", nn.Conv2d(1, 2, 3)), ("relu1", nn.ReLU()), ("fc", nn.Linear(2, 2))]
            return nn.Sequential(OrderedDict(layers))

        s = named()
        del s[0]
        out.append([n for n, _ in s.named_children()])
        s = named()
        del s[0:2]
        out.append(repr(s))
        s = named()
        out += [type(s.pop(1)).__name__, list(s.state_dict())]
        s = nn.Sequential(nn.ReLU(), nn.Tanh())
        s.insert(1, nn.Sigmoid())
        s.insert(-1, nn.ELU())
        s.extend([nn.Identity()])
        out.append(repr(s))
        out.append(repr(nn.Sequential(nn.ReLU()) + nn.Sequential(nn.Tanh())))
        s = nn.Sequential(nn.ReLU())
        s += nn.Sequential(nn.Tanh(), nn.ReLU())
        out.append(repr(s))
        ml = nn.ModuleList([nn.Linear(2, 2), nn.ReLU(), nn.Tanh(), nn.Sigmoid()])
        del ml[1]
        out += [repr(ml), type(ml.pop(0)).__name__, repr(ml + [nn.ReLU()])]
        ml += [nn.ELU()]
        del ml[0:2]
        out.append(repr(ml))
        return out

    assert run(engine) == run(torch)
    with pytest.raises(IndexError):
        engine.nn.Sequential(engine.nn.ReLU()).insert(5, engine.nn.ReLU())
    with pytest.raises(ValueError, match="only objects of Sequential"):
        engine.nn.Sequential(engine.nn.ReLU()) + [engine.nn.ReLU()]


def test_load_state_dict_result_and_old_checkpoints():
    def run(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        net[1].num_batches_tracked.fill_(3)
        partial = net.load_state_dict({"0.weight": net[0].weight.detach()}, strict=False)
        old = {k: v for k, v in net.state_dict().items() if "num_batches" not in k}
        full = net.load_state_dict(old)
        extra = net.load_state_dict({**old, "x.w": lib.zeros(1)}, strict=False)
        return [partial.missing_keys, repr(full), str(full), repr(extra).lstrip("_"),
                net[1].num_batches_tracked.item()]  # fmt: skip

    assert run(engine) == run(torch)


def test_module_half_and_get_submodule():
    def run(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        out = [str(net.half()[0].weight.dtype).split(".")[1]]
        out += [type(net.get_submodule("1")).__name__, net.get_submodule("") is net]
        out += [
            tuple(net.get_parameter("0.bias").shape),
            tuple(net.get_buffer("1.running_var").shape),
        ]
        bad = [(net.get_submodule, "2"), (net.get_parameter, "1.running_mean")]
        bad += [(net.get_buffer, "1.weight"), (net.get_parameter, "0.nope")]
        for call, target in bad:
            with pytest.raises(AttributeError) as err:
                call(target)
            out.append(str(err.value))
        return out

    assert run(engine) == run(torch)


@pytest.mark.parametrize("smoothing", [-0.1, 0.0, 0.2])
@pytest.mark.parametrize("soft", [False, True])
def test_cross_entropy_label_smoothing_range(smoothing, soft):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    t = rng.integers(0, 4, 6)
    p = rng.dirichlet(np.ones(4), 6).astype(np.float32)
    w = np.array([1.0, 2.0, 0.5, 3.0], np.float32)

    def run(lib):
        target = lib.tensor(p) if soft else lib.tensor(t)
        loss = lib.nn.CrossEntropyLoss(weight=lib.tensor(w), label_smoothing=smoothing)
        return arr(loss(lib.tensor(x), target))

    np.testing.assert_allclose(run(engine), run(torch), rtol=1e-5)


def test_cross_entropy_errors_as_torch():
    x = engine.zeros(6, 4)
    loss = engine.nn.CrossEntropyLoss(label_smoothing=1.5)  # checked when called, as PyTorch
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        loss(x, engine.zeros(6, dtype=engine.long))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
        engine.nn.functional.cross_entropy(x, engine.ones(6))


def test_embedding_options_and_from_pretrained():
    w = rng.standard_normal((6, 3)).astype(np.float32) * 2
    idx = np.array([[1, 2, 1], [5, 0, 2]])

    def run(lib):
        nn = lib.nn
        out = [repr(nn.Embedding(6, 3, padding_idx=-1, max_norm=1.0, norm_type=1.0,
                                 scale_grad_by_freq=True, sparse=True))]  # fmt: skip
        pre = nn.Embedding.from_pretrained(lib.tensor(w))
        out += [pre.weight.requires_grad, repr(pre)]
        emb = nn.Embedding.from_pretrained(
            lib.tensor(w), freeze=False, padding_idx=0, max_norm=1.5, scale_grad_by_freq=True
        )
        y = emb(lib.tensor(idx))
        (y * y).sum().backward()
        out += [arr(y), arr(emb.weight), arr(emb.weight.grad)]
        with pytest.raises(AssertionError):
            nn.Embedding(6, 3, padding_idx=6)
        return out

    ours, theirs = run(engine), run(torch)
    assert ours[:3] == theirs[:3]
    for a, b in zip(ours[3:], theirs[3:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_matches_torch(mode, padding_idx):
    w = rng.standard_normal((10, 3)).astype(np.float32)
    text = np.array([1, 2, 4, 5, 4, 2, 2, 9, 7])
    psw = rng.uniform(0.5, 2.0, 9).astype(np.float32)
    results = []
    for lib in (engine, torch):
        bag = lib.nn.EmbeddingBag(10, 3, mode=mode, padding_idx=padding_idx)
        bag.load_state_dict({"weight": lib.tensor(w)})
        weights = lib.tensor(psw, requires_grad=True) if mode == "sum" else None
        outs = [bag(lib.tensor(text), lib.tensor([0, 4, 4, 6]), per_sample_weights=weights)]
        outs.append(bag(lib.tensor(text[:8].reshape(2, 4))))
        last = lib.nn.EmbeddingBag(10, 3, mode=mode, include_last_offset=True)
        last.load_state_dict({"weight": lib.tensor(w)})
        outs.append(last(lib.tensor(text), lib.tensor([0, 3, 9])))
        sum((o * o).sum() for o in outs).backward()
        grads = [bag.weight.grad, last.weight.grad] + ([weights.grad] if mode == "sum" else [])
        results.append([arr(t) for t in outs + grads] + [repr(bag)])
    ours, theirs = results
    assert ours[-1] == theirs[-1]
    for a, b in zip(ours[:-1], theirs[:-1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_embedding_bag_errors():
    bag = engine.nn.EmbeddingBag(5, 2)
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        bag(engine.tensor([1, 2]))
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        bag(engine.tensor([[1, 2]]), engine.tensor([0]))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        bag(engine.tensor([1, 2]), engine.tensor([1]))
    with pytest.raises(RuntimeError, match="not in the valid range"):
        bag(engine.tensor([1, 7]), engine.tensor([0]))
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        bag(engine.tensor([1, 2]), engine.tensor([0]), per_sample_weights=engine.ones(2))
    with pytest.raises(RuntimeError, match="indices"):
        bag(engine.tensor([1.0, 2.0]), engine.tensor([0]))


def test_hook_options_and_remove_duplicate():
    x = rng.standard_normal((2, 4)).astype(np.float32)

    def run(lib):
        nn = lib.nn
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
        model.add_module("again", model[0])  # the same Linear under a second name
        out = [[n for n, _ in model.named_parameters(remove_duplicate=False)]]
        out.append([n for n, _ in model.named_modules(remove_duplicate=False)])
        out.append([n for n, _ in model.named_parameters()])
        seen, order = {}, []

        def with_kwargs(mod, args, kwargs, output):
            seen["hook"] = (len(args), sorted(kwargs))

        def zero_input(mod, args, kwargs):
            return (), {"input": kwargs["input"] * 0}

        lin = nn.Linear(4, 3)
        hooks = [lin.register_forward_hook(with_kwargs, with_kwargs=True)]
        hooks.append(lin.register_forward_pre_hook(zero_input, with_kwargs=True))
        hooks.append(lin.register_forward_hook(lambda *a: order.append("a")))
        hooks.append(lin.register_forward_hook(lambda *a: order.append("b"), prepend=True))
        y = lin(input=lib.tensor(x))
        out += [seen["hook"], order, np.allclose(arr(y), arr(lin.bias.expand(2, 3)))]
        for h in hooks:
            h.remove()
        lin(lib.tensor(x))
        out.append(order)
        return out

    assert run(engine) == run(torch)


def test_format_spec_of_a_scalar_tensor():
    def run(lib):
        out = [f"{lib.tensor(0.123456):.4f}", f"{lib.tensor(3)}", f"{lib.tensor(7):03d}"]
        out.append(f"{lib.tensor(2.5, requires_grad=True):.2f}")
        out.append(f"{lib.tensor(1.5, dtype=lib.float64):>8.3f}")
        for bad in (lib.tensor([1.0]), lib.nn.Parameter(lib.tensor(1.5))):
            with pytest.raises(TypeError):
                f"{bad:.2f}"
        return out

    assert run(engine) == run(torch)


def test_losses_take_the_legacy_flags_in_pytorchs_positions():
    import warnings

    x = rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
    y = rng.uniform(0.0, 1.0, (4, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, (4, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 2])

    def run(lib):
        F, nn, T = lib.nn.functional, lib.nn, lib.tensor
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [arr(v) for v in (
                F.nll_loss(T(x), T(t), size_average=False),
                F.nll_loss(T(x), T(t), None, None, 2),  # ignore_index, fourth as in PyTorch
                F.cross_entropy(T(x), T(t), reduce=False),
                F.mse_loss(T(x), T(y), size_average=False),
                F.mse_loss(T(x), T(y), weight=T(w)),
                F.l1_loss(T(x), T(y), reduction="none", weight=T(w)),
                F.binary_cross_entropy(T(x), T(y), None, False),
                F.binary_cross_entropy_with_logits(T(x), T(y), None, None, None, "sum", T(w[0])),
                nn.MSELoss(size_average=False)(T(x), T(y)),
                nn.L1Loss(None, False)(T(x), T(y)),
                nn.CrossEntropyLoss(None, None, 1)(T(x), T(t)),
                nn.NLLLoss(reduce=False)(T(x), T(t)),
                nn.BCELoss(size_average=False)(T(x), T(y)),
                nn.BCEWithLogitsLoss(None, None, None, "sum", T(w[0]))(T(x), T(y)),
            )]  # fmt: skip

    for a, b in zip(run(engine), run(torch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "shape"),
    [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 5)), ("InstanceNorm3d", (2, 3, 2, 3, 4)),
     ("InstanceNorm3d", (3, 2, 3, 4)), ("BatchNorm3d", (2, 3, 2, 3, 4))],
)  # fmt: skip
def test_more_norm_ranks_train_and_eval(name, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    kw = {"affine": True, "track_running_stats": True} if "Instance" in name else {}
    results = []
    for lib in (engine, torch):
        layer = getattr(lib.nn, name)(3, **kw)
        t = lib.tensor(x, requires_grad=True)
        train_out = layer(t)
        (train_out * train_out).sum().backward()
        layer(lib.tensor(x * 2))
        layer.eval()
        state = [arr(v) for v in layer.state_dict().values()]
        results.append([arr(train_out), arr(t.grad), arr(layer(t)), *state, repr(layer)])
    ours, theirs = results
    assert ours[-1] == theirs[-1]
    for a, b in zip(ours[:-1], theirs[:-1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        getattr(engine.nn, name)(3)(engine.zeros(*(1,) * (len(shape) + 1)))


def test_class_target_checks_as_torch():
    def outcome(lib, input_shape, target, dtype="int64", weight=None):
        F = lib.nn.functional
        x = lib.zeros(*input_shape)
        t = lib.tensor(np.asarray(target), dtype=getattr(lib, dtype))
        w = None if weight is None else lib.ones(*weight)
        try:
            return arr(F.nll_loss(x, t, weight=w)).item()
        except Exception as err:  # the type is what must match
            return type(err).__name__

    cases = [
        ((4, 3), [0, 1, 2, 1], "int32"),
        ((4, 3), [0, 1, 2, 1], "uint8"),
        ((4, 3), [0, 1, 2, 1], "bool"),
        ((2, 3, 4), np.zeros((2, 4), int), "uint8"),
        ((4, 3), [0, 1, 2]),
        ((4, 3), np.zeros((4, 1), int)),
        ((2, 3, 4), np.zeros((3, 4), int)),
        ((2, 3, 4, 5), np.zeros((2, 3, 5), int)),
        ((4, 3), [0, 1, 2, 1], "int64", (4,)),
        ((4, 3), [0, 1, 2, 1], "int64", (3, 1)),
        ((2, 3, 4), np.zeros((2, 4), int), "int64", (2,)),
    ]
    for case in cases:
        assert outcome(engine, *case) == outcome(torch, *case), case


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_check_op(mode):
    from tests.engine.gradcheck import check_op

    psw = rng.uniform(0.5, 2.0, 7) if mode == "sum" else None
    check_op(
        lambda lib, w, text, offsets, psw: lib.nn.functional.embedding_bag(
            text, w, offsets, mode=mode, per_sample_weights=psw, padding_idx=3
        ),
        rng.standard_normal((6, 4)), np.array([1, 3, 0, 5, 5, 2, 4]), np.array([0, 3, 3, 5]), psw,
    )  # fmt: skip


def test_norm_layer_errors_as_torch():
    def outcome(lib, call):
        try:
            call(lib)
            return "ok"
        except Exception as err:
            return "RuntimeError" if isinstance(err, RuntimeError) else type(err).__name__

    calls = [
        lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3)),
        lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3, 1)),
        lambda lib: lib.nn.BatchNorm1d(3).eval()(lib.ones(1, 3)),
        lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 4, 2, 2)),
        lambda lib: lib.nn.functional.batch_norm(lib.ones(2, 4), lib.zeros(3), lib.ones(3)),
        lambda lib: lib.nn.functional.batch_norm(
            lib.ones(2, 3), lib.zeros(3), lib.ones(3), weight=lib.ones(4)
        ),
        lambda lib: lib.nn.LayerNorm(4)(lib.ones(2, 3)),
    ]
    for call in calls:
        assert outcome(engine, call) == outcome(torch, call)
