"""engine.nn: the Module tree, state dicts, hooks, layers, and parity with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import engine
import engine.nn as nn
import engine.nn.functional as F
from engine.tensor import Tensor


def mlp(lib):
    return lib.nn.Sequential(
        lib.nn.Flatten(),
        lib.nn.Linear(64, 32),
        lib.nn.BatchNorm1d(32),
        lib.nn.ReLU(),
        lib.nn.Linear(32, 10),
    )


def lenet(lib):
    n = lib.nn
    return n.Sequential(
        n.Conv2d(1, 6, 5, padding=2),
        n.ReLU(),
        n.MaxPool2d(2),
        n.Conv2d(6, 16, 5),
        n.ReLU(),
        n.MaxPool2d(2),
        n.Flatten(),
        n.Linear(400, 120),
        n.ReLU(),
        n.Linear(120, 84),
        n.ReLU(),
        n.Linear(84, 10),
    )


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
        self.head = nn.Linear(4 * 6 * 6, 3)
        self.register_buffer("calls", engine.zeros(1))

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def test_tree_names_follow_pytorch():
    net = Net()
    assert [n for n, _ in net.named_modules()] == [
        "",
        "features",
        "features.0",
        "features.1",
        "head",
    ]
    assert [n for n, _ in net.named_parameters()] == [
        "features.0.weight",
        "features.0.bias",
        "head.weight",
        "head.bias",
    ]
    assert list(net.state_dict()) == [
        "calls",
        "features.0.weight",
        "features.0.bias",
        "head.weight",
        "head.bias",
    ]
    assert [type(c).__name__ for c in net.children()] == ["Sequential", "Linear"]
    assert len(list(net.buffers())) == 1


def test_train_eval_and_zero_grad_reach_every_module():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(engine.randn(2, 1, 8, 8)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_and_errors():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    x = engine.randn(2, 1, 8, 8)
    assert np.array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    sd = a.state_dict()
    sd["extra"] = engine.zeros(1)
    del sd["head.bias"]
    with pytest.raises(RuntimeError) as err:
        b.load_state_dict(sd)
    assert '"extra"' in str(err.value) and '"head.bias"' in str(err.value)
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["extra"]
    bad = a.state_dict()
    bad["head.weight"] = engine.zeros(2, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for head.weight"):
        b.load_state_dict(bad)


def test_hooks_see_inputs_and_outputs_and_can_be_removed():
    layer = nn.Linear(3, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, inp, out: seen.append((inp[0].shape, out.shape)))
    pre = layer.register_forward_pre_hook(lambda m, inp: (inp[0] * 0,))
    out = layer(engine.ones(4, 3))
    assert seen == [((4, 3), (4, 2))]
    assert np.allclose(out.detach().numpy(), layer.bias.detach().numpy())
    handle.remove()
    pre.remove()
    layer(engine.ones(4, 3))
    assert len(seen) == 1


def test_repr_reproduces_constructor_calls():
    assert repr(nn.Linear(4, 2, bias=False)) == "Linear(in_features=4, out_features=2, bias=False)"
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == (
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    )
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"
    assert "(0): Linear(in_features=2, out_features=2, bias=True)" in repr(
        nn.Sequential(nn.Linear(2, 2))
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: nn.Linear(0, 3), "in_features"),
        (lambda: nn.Conv2d(3, 4, 3, groups=2), "in_channels must be divisible by groups"),
        (lambda: nn.Conv2d(2, 4, -1), "kernel_size"),
        (lambda: nn.Dropout(1.5), "p"),
        (lambda: nn.BatchNorm2d(0), "num_features"),
        (lambda: nn.CrossEntropyLoss(reduction="avg"), "reduction"),
        (lambda: nn.GELU("fast"), "approximate"),
    ],
)
def test_invalid_arguments_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    holder = nn.Module()
    holder.layers = layers
    assert len(list(holder.parameters())) == 6
    res = nn.Residual(nn.Linear(4, 4))
    x = engine.randn(2, 4)
    assert np.allclose(res(x).detach().numpy(), (x + res.body(x)).detach().numpy())
    with pytest.raises(ValueError, match="Residual"):
        nn.Residual(nn.Linear(4, 3))(x)


def test_default_init_bounds_follow_pytorch():
    engine.manual_seed(0)
    layer = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    w = layer.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() > bound / 3
    conv = nn.Conv2d(3, 8, 3)
    assert np.abs(conv.bias.detach().numpy()).max() <= 1 / np.sqrt(27)


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(3)
    x = engine.randn(8, 3) * 4 + 2
    bn(x)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    out = bn(x).detach().numpy()
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()
    assert np.allclose(out, (x.numpy() - rm) / np.sqrt(rv + 1e-5), atol=1e-5)


def test_embedding_gathers_rows_and_accumulates_grads():
    emb = nn.Embedding(5, 2)
    out = emb(engine.tensor([[1, 1], [4, 0]]))
    assert out.shape == (2, 2, 2)
    out.sum().backward()
    assert emb.weight.grad.numpy()[1].tolist() == [2.0, 2.0]
    assert emb.weight.grad.numpy()[2].tolist() == [0.0, 0.0]


def test_module_to_float64_converts_parameters_in_place():
    net = mlp(engine)
    net.double()
    assert all(p.dtype == engine.float64 for p in net.parameters())
    assert net[2].num_batches_tracked.dtype == engine.int64


# ----- parity with PyTorch ---------------------------------------------------


def _copy_weights(src, dst, to_lib):
    dst.load_state_dict({k: to_lib.tensor(v.detach().numpy()) for k, v in src.state_dict().items()})


@pytest.mark.torch
@pytest.mark.parametrize("builder,shape", [(mlp, (16, 1, 8, 8)), (lenet, (8, 1, 28, 28))])
def test_same_loss_and_gradients_as_pytorch(builder, shape):
    import torch

    engine.manual_seed(0)
    ours = builder(engine)
    theirs = builder(torch)
    _copy_weights(ours, theirs, torch)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0])
    loss_e = F.cross_entropy(ours(engine.tensor(x)), engine.tensor(y))
    loss_t = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    loss_e.backward()
    loss_t.backward()
    assert abs(loss_e.item() - loss_t.item()) < 1e-5
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name
        )
    for (name, b), c in zip(ours.named_buffers(), theirs.buffers(), strict=True):
        np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.torch
def test_state_dict_moves_both_ways_with_pytorch():
    import torch

    theirs = lenet(torch)
    ours = lenet(engine)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_weights(theirs, ours, engine)
    for k, v in ours.state_dict().items():
        assert np.array_equal(v.numpy(), theirs.state_dict()[k].numpy()), k
    ours2 = lenet(engine)
    back = lenet(torch)
    _copy_weights(ours2, back, torch)
    for k, v in back.state_dict().items():
        assert np.array_equal(v.numpy(), ours2.state_dict()[k].numpy()), k


# what load_state_dict does with a value of the right shape but another kind: PyTorch
# casts integers and bools, drops a complex value's imaginary part with a warning, and
# refuses anything that is not a tensor (numpy arrays and lists included)
LOADED_VALUES = {
    "int": lambda lib: lib.tensor([[1, 2], [3, 4]]),
    "bool": lambda lib: lib.tensor([[True, False], [False, True]]),
    "float64": lambda lib: lib.tensor(np.full((2, 2), 0.25)),
    "numpy": lambda lib: np.ones((2, 2), np.float32),
    "numpy str": lambda lib: np.array([["a", "b"], ["c", "d"]]),
    "str": lambda lib: "weights",
    "int scalar": lambda lib: 3,
    "list": lambda lib: [[1.0, 2.0], [3.0, 4.0]],
    "0-d": lambda lib: lib.tensor(5.0),
}


def _load_weight(lib, value):
    """Linear(2, 2) after loading `value` as its weight: ('loaded', values) or ('error', type)."""
    layer = lib.nn.Linear(2, 2)
    try:
        layer.load_state_dict({"weight": value, "bias": lib.zeros(2)})
    except Exception as err:  # the type is what is compared
        return "error", type(err).__name__
    return "loaded", layer.weight.detach().numpy().tolist()


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(LOADED_VALUES))
def test_load_state_dict_takes_what_pytorch_takes(case):
    import torch

    ours = _load_weight(engine, LOADED_VALUES[case](engine))
    theirs = _load_weight(torch, LOADED_VALUES[case](torch))
    assert ours == theirs


@pytest.mark.torch
def test_load_state_dict_drops_the_imaginary_part_with_a_warning_as_pytorch_does():
    import torch

    layer, reference = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    values = np.array([[1 + 2j, 3], [4, 5j]], np.complex64)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        layer.load_state_dict(
            {"weight": Tensor._make(values, False, None), "bias": engine.zeros(2)}
        )
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        reference.load_state_dict({"weight": torch.tensor(values), "bias": torch.zeros(2)})
    assert layer.weight.detach().numpy().tolist() == reference.weight.detach().numpy().tolist()


def test_load_state_dict_refuses_a_tensor_of_strings_and_changes_nothing():
    layer = nn.Linear(2, 2)
    before = layer.weight.detach().numpy().copy()
    strings = Tensor._make(np.array([["1", "2"], ["3", "4"]]), False, None)
    with pytest.raises(RuntimeError, match=r'"weight", expected a Tensor of numbers.*<U1'):
        layer.load_state_dict({"weight": strings, "bias": engine.zeros(2)})
    with pytest.raises(RuntimeError, match=r"expected Tensor .* received <class 'numpy.ndarray'>"):
        layer.load_state_dict({"weight": np.ones((2, 2)), "bias": engine.zeros(2)})
    np.testing.assert_array_equal(layer.weight.detach().numpy(), before)


def test_load_state_dict_result_prints_as_torchs():
    torch = pytest.importorskip("torch")
    for lib in (engine, torch):
        m = lib.nn.Linear(2, 2)
        full = m.load_state_dict(m.state_dict())
        partial = m.load_state_dict({"weight": m.weight.detach(), "x": m.bias}, strict=False)
        assert repr(full) == str(full) == "<All keys matched successfully>"
        assert repr(partial) == ("_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['x'])")
        assert full == ([], []) and partial.missing_keys == ["bias"]
