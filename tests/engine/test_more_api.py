"""More PyTorch API: LBFGS, Rprop, ASGD, autograd extras, data utilities, weight norms."""

from __future__ import annotations

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


def _pair(shapes=((3, 4), (4,)), seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [engine.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    return ours, theirs


def _loss(lib, params, target):
    """A smooth non-quadratic objective over a weight matrix and a bias."""
    w, b = params
    dtype = w.detach().numpy().dtype
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3).astype(dtype))
    out = lib.tanh(x @ w + b)
    return ((out - lib.tensor(target.astype(dtype))) ** 2).sum() + 0.1 * (w**4).sum()


# ----- optim -----------------------------------------------------------------
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("history_size", [100, 3])
def test_lbfgs_matches_torch(line_search_fn, history_size):
    ours, theirs = _pair()
    target = np.random.default_rng(1).uniform(-0.5, 0.5, (4, 4))
    kw = dict(lr=0.5 if line_search_fn is None else 1, history_size=history_size, max_iter=4)
    opt_e = engine.optim.LBFGS(ours, line_search_fn=line_search_fn, **kw)
    opt_t = torch.optim.LBFGS(theirs, line_search_fn=line_search_fn, **kw)

    def closure_for(lib, opt, params):
        def closure():
            opt.zero_grad()
            loss = _loss(lib, params, target)
            loss.backward()
            return loss

        return closure

    for _ in range(3):
        le = opt_e.step(closure_for(engine, opt_e, ours))
        lt = opt_t.step(closure_for(torch, opt_t, theirs))
        assert float(le) == pytest.approx(float(lt.detach()), rel=1e-9, abs=1e-12)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-9)
    se, st = opt_e.state[ours[0]], opt_t.state[theirs[0]]
    assert se["func_evals"] == st["func_evals"] and se["n_iter"] == st["n_iter"]


def _style_transfer_run(lib, start, goal, num_steps=10, steps=None):
    img = lib.tensor(start).requires_grad_(True)
    opt = lib.optim.LBFGS([img])
    run = [0]

    def closure():
        with lib.no_grad():
            img.clamp_(0, 1)
        opt.zero_grad()
        loss = ((img - lib.tensor(goal)) ** 2).mean() + (img**3).abs().mean() * 0.01
        loss.backward()
        run[0] += 1
        return loss

    if steps is None:
        while run[0] <= num_steps:
            opt.step(closure)
    else:
        for _ in range(steps):
            opt.step(closure)
    with lib.no_grad():
        img.clamp_(0, 1)
    return img.detach().numpy(), run[0]


def test_lbfgs_style_transfer_usage():
    """The neural-style-transfer tutorial's loop: an image tensor optimised in place."""
    rng = np.random.default_rng(5)
    start, goal = rng.uniform(0, 1, (1, 3, 4, 4)), rng.uniform(0, 1, (1, 3, 4, 4))
    ours, ours_runs = _style_transfer_run(engine, start, goal)
    theirs, their_runs = _style_transfer_run(torch, start, goal)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert ours_runs == their_runs
    ours, ours_runs = _style_transfer_run(engine, start, goal, steps=10)
    theirs, their_runs = _style_transfer_run(torch, start, goal, steps=10)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert ours_runs == their_runs


def test_lbfgs_errors_and_defaults():
    p = engine.zeros(2, requires_grad=True)
    opt = engine.optim.LBFGS([p], max_iter=8)
    topt = torch.optim.LBFGS([torch.zeros(2, requires_grad=True)], max_iter=8)
    assert opt.defaults == topt.defaults
    with pytest.raises(ValueError):
        engine.optim.LBFGS([p], lr=-1)
    with pytest.raises(ValueError):
        engine.optim.LBFGS([{"params": [p]}, {"params": [engine.zeros(1, requires_grad=True)]}])
    with pytest.raises(TypeError):
        opt.step()
    bad = engine.optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        bad.zero_grad()
        loss = ((p - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="strong_wolfe"):
        bad.step(closure)


def _run_optim(name, kwargs, steps=15, dtype=np.float64):
    ours, theirs = _pair(seed=3, dtype=dtype)
    target = np.random.default_rng(4).uniform(-0.5, 0.5, (4, 4))
    opt_e = getattr(engine.optim, name)(ours, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(steps):
        for lib, opt, params in ((engine, opt_e, ours), (torch, opt_t, theirs)):
            opt.zero_grad()
            _loss(lib, params, target.astype(dtype)).backward()
            opt.step()
    return ours, theirs, opt_e, opt_t


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("Rprop", {}),
        ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
        ("Rprop", {"maximize": True}),
        ("ASGD", {}),
        ("ASGD", {"lr": 0.05, "lambd": 1e-2, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}),
        ("ASGD", {"t0": 3, "maximize": True}),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rprop_asgd_match_torch(name, kwargs, dtype):
    ours, theirs, opt_e, opt_t = _run_optim(name, kwargs, dtype=dtype)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == engine.float64 if dtype == np.float64 else engine.float32
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)
    se, st = opt_e.state_dict(), opt_t.state_dict()
    assert se["param_groups"][0].keys() == st["param_groups"][0].keys()
    for i in range(2):
        assert se["state"][i].keys() == st["state"][i].keys()
        for k, v in st["state"][i].items():
            mine = se["state"][i][k]
            mine = mine.numpy() if isinstance(mine, engine.Tensor) else mine
            np.testing.assert_allclose(
                mine,
                v.numpy(),
                rtol=tol,
                atol=tol,
            )


def test_rprop_asgd_state_dict_round_trip():
    ours, _, opt_e, _ = _run_optim("ASGD", {"t0": 2}, steps=4)
    saved = opt_e.state_dict()
    fresh = engine.optim.ASGD(ours, t0=2)
    fresh.load_state_dict(saved)
    assert fresh.state[ours[0]]["step"] == 4
    np.testing.assert_array_equal(
        fresh.state[ours[0]]["ax"].numpy(), opt_e.state[ours[0]]["ax"].numpy()
    )


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("Rprop", {"lr": -1}),
        ("Rprop", {"etas": (1.5, 1.2)}),
        ("Rprop", {"etas": (0.5, 0.9)}),
        ("ASGD", {"lr": -0.1}),
        ("ASGD", {"weight_decay": -1}),
    ],
)
def test_rprop_asgd_errors(name, kwargs):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError):
        getattr(engine.optim, name)([engine.zeros(1, requires_grad=True)], **kwargs)


# ----- autograd --------------------------------------------------------------------
def test_variable():
    from engine.autograd import Variable

    base = engine.tensor([1.0, 2.0])
    v = Variable(base, requires_grad=True)
    tv = torch.autograd.Variable(torch.tensor([1.0, 2.0]), requires_grad=True)
    assert type(v) is engine.Tensor and v.requires_grad and v.is_leaf and tv.is_leaf
    assert isinstance(base, Variable) and isinstance(v, Variable)
    assert not isinstance(base.numpy(), Variable)
    v.data[0] = 5.0  # shares the data, as torch's does
    assert base[0].item() == 5.0
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [10.0, 4.0])
    inner = engine.ones(2, requires_grad=True) * 2
    assert Variable(inner).grad_fn is None and not Variable(inner).requires_grad
    assert tuple(Variable().shape) == tuple(torch.autograd.Variable().shape) == (0,)
    with pytest.raises(TypeError):
        torch.autograd.Variable([1.0])
    with pytest.raises(TypeError):
        Variable([1.0])
    with pytest.raises(RuntimeError):
        torch.autograd.Variable(torch.ones(2, dtype=torch.long), requires_grad=True)
    with pytest.raises(RuntimeError):
        Variable(engine.ones(2, dtype=engine.long), requires_grad=True)


def _nan_backward(lib):
    x = lib.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0).sum().backward()
    return x.grad


@pytest.mark.filterwarnings("ignore:Anomaly Detection")
def test_detect_anomaly_names_the_backward_node():
    for lib in (engine, torch):
        assert np.isnan(_nan_backward(lib).numpy()[0])  # off: NaN passes silently
        with pytest.raises(RuntimeError) as info:
            with lib.autograd.detect_anomaly():
                _nan_backward(lib)
        assert str(info.value) == "Function 'SqrtBackward0' returned nan values in its 0th output."
        with lib.autograd.detect_anomaly(check_nan=False):
            assert np.isnan(_nan_backward(lib).numpy()[0])
        with lib.autograd.set_detect_anomaly(True):
            with pytest.raises(RuntimeError, match="SqrtBackward0"):
                _nan_backward(lib)
        assert np.isnan(_nan_backward(lib).numpy()[0])  # restored on exit
    with pytest.raises(RuntimeError, match="DivBackward0"):
        with engine.autograd.detect_anomaly():
            x = engine.tensor([0.0], requires_grad=True)
            engine.autograd.grad((x / x).sum(), x)


def test_detect_anomaly_warns_as_torch():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        engine.autograd.detect_anomaly()


def test_set_detect_anomaly_global():
    try:
        engine.autograd.set_detect_anomaly(True)
        assert engine.autograd.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="SqrtBackward0"):
            _nan_backward(engine)
    finally:
        engine.autograd.set_detect_anomaly(False)
    assert not engine.autograd.is_anomaly_enabled()
    assert np.isnan(_nan_backward(engine).numpy()[0])


def _assert_close_nested(ours, theirs):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _assert_close_nested(a, b)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12
    )


def _f_single(lib):
    return lambda x: (x**3).sin() * x.sum()


def _f_pair(lib):
    return lambda x, y: (x * y.exp(), (x**2).sum() * y[:2])


def _f_scalar(lib):
    return lambda x: (x.sin() * x).sum() + (x**2).sum() ** 2


def _f_scalar_pair(lib):
    return lambda x, y: (x.sin() * y).sum() + (x**2).sum() * y[0]


RNG = np.random.default_rng(7)
A, B = RNG.standard_normal(3), RNG.standard_normal(3)


@pytest.mark.parametrize("create_graph", [False, True])
def test_functional_jacobian_hessian(create_graph):
    for make, args in ((_f_single, (A,)), (_f_pair, (A, B))):
        single = len(args) == 1
        ours = engine.autograd.functional.jacobian(
            make(engine),
            engine.tensor(A) if single else tuple(engine.tensor(a) for a in args),
            create_graph=create_graph,
        )
        theirs = torch.autograd.functional.jacobian(
            make(torch),
            torch.tensor(A) if single else tuple(torch.tensor(a) for a in args),
            create_graph=create_graph,
        )
        _assert_close_nested(ours, theirs)
    for make, args in ((_f_scalar, (A,)), (_f_scalar_pair, (A, B))):
        single = len(args) == 1
        ours = engine.autograd.functional.hessian(
            make(engine), engine.tensor(A) if single else tuple(engine.tensor(a) for a in args)
        )
        theirs = torch.autograd.functional.hessian(
            make(torch), torch.tensor(A) if single else tuple(torch.tensor(a) for a in args)
        )
        _assert_close_nested(ours, theirs)


def test_functional_products():
    import engine.autograd.functional as EF
    import torch.autograd.functional as TF

    pairs = []
    for lib, F in ((engine, EF), (torch, TF)):
        x, y = lib.tensor(A), lib.tensor(B)
        pairs.append(
            [
                F.vjp(_f_single(lib), x, y),
                F.vjp(_f_pair(lib), (x, y), (y, x[:2])),
                F.jvp(_f_single(lib), x, y),
                F.jvp(_f_pair(lib), (x, y), (y, x)),
                F.vhp(_f_scalar(lib), x, y),
                F.hvp(_f_scalar(lib), x, y),
                F.hvp(_f_scalar_pair(lib), (x, y), (y, x)),
                F.vjp(lambda t: (t**2).sum(), x),
                F.jvp(lambda t: t.exp() * 2, lib.tensor([0.5])),
            ]
        )
    _assert_close_nested(tuple(pairs[0]), tuple(pairs[1]))


def test_functional_create_graph_and_strict():
    x = engine.tensor(A, requires_grad=True)
    _, g = engine.autograd.functional.vjp(lambda t: (t**3).sum(), x, create_graph=True)
    assert g.requires_grad
    (gx,) = engine.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gx.numpy(), 6 * A)
    _, g = engine.autograd.functional.vjp(lambda t: (t**3).sum(), x)
    assert not g.requires_grad
    for lib in (engine, torch):
        F = lib.autograd.functional
        x, y = lib.tensor(A), lib.tensor(B)
        out = F.jacobian(lambda a, b: a * 2, (x, y))
        assert float(out[1].abs().sum()) == 0.0
        with pytest.raises(RuntimeError):
            F.jacobian(lambda a, b: a * 2, (x, y), strict=True)
        with pytest.raises(RuntimeError):
            F.vjp(lambda a, b: a * 2, (x, y), x, strict=True)
        with pytest.raises(RuntimeError):
            F.vjp(lambda a: a * 2, x)  # v needed for a non-scalar output
        with pytest.raises(RuntimeError):
            F.vjp(lambda a: a * 2, x, y[:2])  # v of the wrong shape
        with pytest.raises(RuntimeError):
            F.hvp(lambda a: a * 2, x, y)  # not a scalar function
        with pytest.raises(RuntimeError):
            F.hessian(lambda a: (a, a), x)
        with pytest.raises(TypeError):
            F.vjp(lambda a: a.detach().numpy(), x, y)
        with pytest.raises(TypeError):
            F.jacobian(lambda a: a, [1.0, 2.0])


# ----- utils.data ------------------------------------------------------------------
def _stream_class(lib, n=5, with_len=False):
    base = lib.utils.data.IterableDataset

    class Stream(base):
        def __iter__(self):
            assert lib.utils.data.get_worker_info() is None
            return iter(lib.arange(n) * 10)

    if with_len:
        Stream.__len__ = lambda self: n
    return Stream()


def _plain(batch):
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return [_plain(v) for v in batch]
    return batch.tolist() if hasattr(batch, "tolist") else batch


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"batch_size": 2},
        {"batch_size": 2, "drop_last": True},
        {"batch_size": None},
        {"batch_size": 3, "shuffle": False},
        {"batch_size": 2, "num_workers": 0},
    ],
)
def test_iterable_dataset_loader(kwargs):
    ours = [_plain(b) for b in engine.utils.data.DataLoader(_stream_class(engine), **kwargs)]
    theirs = [_plain(b) for b in torch.utils.data.DataLoader(_stream_class(torch), **kwargs)]
    assert ours == theirs
    n_ours = len(engine.utils.data.DataLoader(_stream_class(engine, 5, True), **kwargs))
    n_theirs = len(torch.utils.data.DataLoader(_stream_class(torch, 5, True), **kwargs))
    assert n_ours == n_theirs
    with pytest.raises(TypeError):
        len(engine.utils.data.DataLoader(_stream_class(engine), **kwargs))


def test_iterable_dataset_in_process_workers():
    loader = engine.utils.data.DataLoader(_stream_class(engine), batch_size=2, num_workers=2)
    assert [_plain(b) for b in loader] == [[0, 10], [20, 30], [40]]


@pytest.mark.parametrize(
    "kwargs", [{"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0, 1]]}]
)
def test_iterable_dataset_loader_errors(kwargs):
    with pytest.raises(ValueError, match="IterableDataset"):
        torch.utils.data.DataLoader(_stream_class(torch), **kwargs)
    with pytest.raises(ValueError, match="IterableDataset"):
        engine.utils.data.DataLoader(_stream_class(engine), **kwargs)


def test_chain_and_stack_datasets():
    for lib in (engine, torch):
        data = lib.utils.data
        chain = data.ChainDataset([_stream_class(lib, 2), _stream_class(lib, 3)])
        assert [int(x) for x in chain] == [0, 10, 0, 10, 20]
        assert [int(x) for x in _stream_class(lib, 2) + _stream_class(lib, 1)] == [0, 10, 0]
        assert len(data.ChainDataset([_stream_class(lib, 2, True)] * 2)) == 4
        with pytest.raises(TypeError):
            len(chain)
        with pytest.raises(AssertionError):
            list(data.ChainDataset([data.TensorDataset(lib.arange(2))]))
        pair = data.StackDataset(lib.arange(3), lib.arange(3) * 2)
        assert len(pair) == 3 and _plain(pair[1]) == [1, 2]
        named = data.StackDataset(a=lib.arange(3), b=[4, 5, 6])
        assert _plain(named[2]) == {"a": 2, "b": 6}
        assert _plain(named.__getitems__([0, 2])) == [{"a": 0, "b": 4}, {"a": 2, "b": 6}]
        batches = [_plain(b) for b in data.DataLoader(named, batch_size=2)]
        assert batches == [{"a": [0, 1], "b": [4, 5]}, {"a": [2], "b": [6]}]
        assert [_plain(b) for b in data.DataLoader(pair, batch_size=2)] == [
            [[0, 1], [0, 2]],
            [[2], [4]],
        ]
        with pytest.raises(ValueError):
            data.StackDataset(lib.arange(3), [1])
        with pytest.raises(ValueError):
            data.StackDataset(lib.arange(3), b=[1])
        with pytest.raises(ValueError):
            data.StackDataset()
        assert data.get_worker_info() is None


def test_generator_objects():
    g = engine.Generator().manual_seed(42)
    assert isinstance(g, engine.Generator) and g.initial_seed() == 42
    state = g.get_state()
    draws = [
        engine.randn(3, generator=g),
        engine.rand(3, generator=g),
        engine.randint(0, 9, (3,), generator=g),
        engine.randperm(5, generator=g),
        engine.empty(3).normal_(generator=g),
        engine.empty(3).uniform_(-1, 1, generator=g),
    ]
    g.set_state(state)
    again = [
        engine.randn(3, generator=g),
        engine.rand(3, generator=g),
        engine.randint(0, 9, (3,), generator=g),
        engine.randperm(5, generator=g),
        engine.empty(3).normal_(generator=g),
        engine.empty(3).uniform_(-1, 1, generator=g),
    ]
    for a, b in zip(draws, again, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # a private generator leaves the global stream alone
    engine.manual_seed(3)
    expected = engine.rand(4)
    engine.manual_seed(3)
    engine.empty(100).normal_(generator=engine.Generator().manual_seed(1))
    np.testing.assert_array_equal(engine.rand(4).numpy(), expected.numpy())
    s = g.seed()
    assert g.initial_seed() == s


def test_generator_in_data_utilities():
    data = engine.utils.data
    orders = []
    for _ in range(2):
        g = engine.Generator().manual_seed(7)
        split = data.random_split(range(10), [6, 4], generator=g)
        sampler = list(data.RandomSampler(range(10), generator=g))
        loader = [
            b.tolist() for b in data.DataLoader(engine.arange(6), 2, shuffle=True, generator=g)
        ]
        orders.append((list(split[0].indices), sampler, loader))
    assert orders[0] == orders[1]
    assert sorted(orders[0][1]) == list(range(10))


def test_global_rng_functions():
    state = engine.get_rng_state()
    a = engine.rand(3)
    engine.set_rng_state(state)
    np.testing.assert_array_equal(engine.rand(3).numpy(), a.numpy())
    s = engine.seed()
    assert engine.initial_seed() == s
    engine.manual_seed(5)
    assert engine.initial_seed() == 5


# ----- nn.utils weight reparametrisations --------------------------------------------
def _twin_modules(make_engine, make_torch, seed=0):
    """An engine module and a torch module holding the same float64 parameters."""
    ours, theirs = make_engine().double(), make_torch().double()
    rng = np.random.default_rng(seed)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        value = rng.standard_normal(tuple(q.shape))
        with engine.no_grad():
            p.copy_(engine.tensor(value))
        with torch.no_grad():
            q.copy_(torch.tensor(value))
    return ours, theirs


def _grads_match(ours, theirs, x):
    out_e = ours(engine.tensor(x))
    out_t = theirs(torch.tensor(x))
    np.testing.assert_allclose(out_e.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)
    (out_e**2).sum().backward()
    (out_t**2).sum().backward()
    named_e, named_t = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(named_e) == list(named_t)
    for name, p in named_t.items():
        np.testing.assert_allclose(named_e[name].grad.numpy(), p.grad.numpy(), rtol=1e-9)


@pytest.mark.filterwarnings("ignore:.*weight_norm. is deprecated")
@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm_old_api(dim):
    ours, theirs = _twin_modules(
        lambda: engine.nn.Conv2d(2, 3, 2), lambda: torch.nn.Conv2d(2, 3, 2)
    )
    engine.nn.utils.weight_norm(ours, dim=dim)
    torch.nn.utils.weight_norm(theirs, dim=dim)
    assert tuple(ours.weight_g.shape) == tuple(theirs.weight_g.shape)
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    _grads_match(ours, theirs, x)
    with engine.no_grad():  # the weight follows g and v before each forward
        ours.weight_g.mul_(2)
    with torch.no_grad():
        theirs.weight_g.mul_(2)
    _grads_match(ours, theirs, x)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        engine.nn.utils.weight_norm(ours, dim=dim)
    engine.nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        engine.nn.utils.remove_weight_norm(ours)


def test_weight_norm_warns():
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        engine.nn.utils.weight_norm(engine.nn.Linear(2, 2))


@pytest.mark.parametrize(
    "make,kwargs",
    [("Linear", {}), ("Conv2d", {"n_power_iterations": 3}), ("ConvTranspose2d", {"eps": 1e-6})],
)
def test_spectral_norm_old_api(make, kwargs):
    args = (3, 4) if make == "Linear" else (2, 3, 2)
    ours, theirs = _twin_modules(
        lambda: getattr(engine.nn, make)(*args), lambda: getattr(torch.nn, make)(*args)
    )
    engine.nn.utils.spectral_norm(ours, **kwargs)
    torch.nn.utils.spectral_norm(theirs, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert tuple(ours.weight_u.shape) == tuple(theirs.weight_u.shape)
    for key in ("weight_u", "weight_v"):  # start the power iteration from the same vectors
        with engine.no_grad():
            getattr(ours, key).copy_(engine.tensor(getattr(theirs, key).numpy()))
    shape = (2, 3) if make == "Linear" else (1, 2, 4, 4)
    x = np.random.default_rng(2).standard_normal(shape)
    for _ in range(3):  # training: u, v move one step per forward
        for m in (ours, theirs):
            m.zero_grad()
        _grads_match(ours, theirs, x)
        np.testing.assert_allclose(ours.weight_u.numpy(), theirs.weight_u.numpy(), rtol=1e-9)
    ours.eval()
    theirs.eval()
    u = ours.weight_u.numpy().copy()
    for m in (ours, theirs):
        m.zero_grad()
    _grads_match(ours, theirs, x)
    np.testing.assert_array_equal(ours.weight_u.numpy(), u)  # eval: no power iteration
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        engine.nn.utils.spectral_norm(ours)
    engine.nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    np.testing.assert_allclose(
        ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-10
    )
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        engine.nn.utils.remove_spectral_norm(ours)


def test_anomaly_switches_at_top_level():
    for lib in (engine, torch):
        assert not lib.is_anomaly_enabled()
        lib.set_anomaly_enabled(True, check_nan=False)
        try:
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
            assert np.isnan(_nan_backward(lib).numpy()[0])
        finally:
            lib.set_anomaly_enabled(False)
        assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()


def _param_modules(lib):
    import importlib

    return (
        importlib.import_module(lib.__name__ + ".nn.utils.parametrize"),
        importlib.import_module(lib.__name__ + ".nn.utils.parametrizations"),
    )


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrizations_weight_norm(dim):
    ours, theirs = _twin_modules(
        lambda: engine.nn.Conv2d(2, 3, 2), lambda: torch.nn.Conv2d(2, 3, 2)
    )
    _param_modules(engine)[1].weight_norm(ours, dim=dim)
    _param_modules(torch)[1].weight_norm(theirs, dim=dim)
    assert type(ours).__name__ == type(theirs).__name__ == "ParametrizedConv2d"
    assert list(ours.state_dict()) == list(theirs.state_dict())
    g_e, g_t = ours.parametrizations.weight.original0, theirs.parametrizations.weight.original0
    assert tuple(g_e.shape) == tuple(g_t.shape)
    x = np.random.default_rng(3).standard_normal((1, 2, 3, 3))
    _grads_match(ours, theirs, x)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


@pytest.mark.parametrize("make", ["Linear", "ConvTranspose2d"])
def test_parametrizations_spectral_norm(make):
    args = (3, 4) if make == "Linear" else (2, 3, 2)
    ours, theirs = _twin_modules(
        lambda: getattr(engine.nn, make)(*args), lambda: getattr(torch.nn, make)(*args)
    )
    _param_modules(engine)[1].spectral_norm(ours)
    _param_modules(torch)[1].spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    sn_e, sn_t = ours.parametrizations.weight[0], theirs.parametrizations.weight[0]
    for key in ("_u", "_v"):
        assert tuple(getattr(sn_e, key).shape) == tuple(getattr(sn_t, key).shape)
        with engine.no_grad():
            getattr(sn_e, key).copy_(engine.tensor(getattr(sn_t, key).numpy()))
    shape = (2, 3) if make == "Linear" else (1, 2, 4, 4)
    x = np.random.default_rng(4).standard_normal(shape)
    for _ in range(2):
        for m in (ours, theirs):
            m.zero_grad()
        _grads_match(ours, theirs, x)
    np.testing.assert_allclose(sn_e._u.numpy(), sn_t._u.numpy(), rtol=1e-9)
    # after many power steps sigma is the largest singular value
    for _ in range(30):
        ours(engine.tensor(x))
    top = np.linalg.svd(
        ours.weight.detach().numpy().reshape(ours.weight.shape[0], -1)
        if make == "Linear"
        else np.moveaxis(ours.weight.detach().numpy(), 1, 0).reshape(3, -1),
        compute_uv=False,
    )[0]
    assert top == pytest.approx(1.0, rel=1e-6)


def test_register_parametrization_and_remove():
    for lib in (engine, torch):
        parametrize, _ = _param_modules(lib)

        class Symmetric(lib.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(0, 1)

        class Scale(lib.nn.Module):
            def forward(self, X):
                return X * 2

            def right_inverse(self, X):
                return X / 2

        layer = lib.nn.Linear(3, 3)
        parametrize.register_parametrization(layer, "weight", Symmetric())
        assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
        assert not parametrize.is_parametrized(layer, "bias")
        assert parametrize.type_before_parametrizations(layer) is lib.nn.Linear
        w = layer.weight.detach().numpy()
        np.testing.assert_array_equal(w, w.T)
        assert sorted(n for n, _ in layer.named_parameters()) == [
            "bias",
            "parametrizations.weight.original",
        ]
        parametrize.register_parametrization(layer, "weight", Scale())  # chained
        np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * w)
        with pytest.raises(RuntimeError, match="right_inverse"):
            layer.weight = lib.eye(3)  # Symmetric has no right inverse

        class SymmetricInv(Symmetric):
            def right_inverse(self, X):
                return X

        layer = lib.nn.Linear(3, 3)
        parametrize.register_parametrization(layer, "weight", SymmetricInv())
        parametrize.register_parametrization(layer, "weight", Scale())
        layer.weight = lib.eye(3)  # through the right inverses
        np.testing.assert_allclose(layer.weight.detach().numpy(), np.eye(3), atol=1e-7)
        with parametrize.cached():
            assert layer.weight is layer.weight
        assert layer.weight is not layer.weight
        layer(lib.ones(1, 3)).sum().backward()
        assert layer.parametrizations.weight.original.grad is not None
        with pytest.raises(ValueError):
            parametrize.register_parametrization(layer, "weight", _Row(lib)())
        with pytest.raises(ValueError):
            parametrize.register_parametrization(layer, "nothing", Symmetric())
        parametrize.remove_parametrizations(layer, "weight")
        assert type(layer) is lib.nn.Linear and not parametrize.is_parametrized(layer)
        assert sorted(n for n, _ in layer.named_parameters()) == ["bias", "weight"]
        np.testing.assert_allclose(layer.weight.detach().numpy(), np.eye(3), atol=1e-7)
        with pytest.raises(ValueError):
            parametrize.remove_parametrizations(layer, "weight")
        plain = lib.nn.Linear(2, 2)
        before = plain.weight.detach().numpy().copy()
        parametrize.register_parametrization(plain, "weight", Symmetric())
        parametrize.remove_parametrizations(plain, "weight", leave_parametrized=False)
        np.testing.assert_array_equal(plain.weight.detach().numpy(), before)


def _Row(lib):
    class Row(lib.nn.Module):
        def forward(self, X):
            return X[0]

    return Row


def test_sparse_adam_refuses_dense_gradients():
    for lib in (engine, torch):
        p = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SparseAdam([p], lr=0.1)
        assert opt.defaults == {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "maximize": False}
        assert opt.step() is None  # no gradient yet: nothing to refuse
        (p * 2).sum().backward()
        with pytest.raises(RuntimeError, match="does not support dense gradients"):
            opt.step()
        for kwargs in ({"lr": 0}, {"eps": 0}, {"betas": (1.0, 0.9)}, {"betas": (0.9, -0.1)}):
            with pytest.raises(ValueError):
                lib.optim.SparseAdam([p], **kwargs)


def test_lbfgs_state_dict_resumes():
    target = np.random.default_rng(1).uniform(-0.5, 0.5, (4, 4))
    runs = []
    for reload in (False, True):
        params, _ = _pair()
        opt = engine.optim.LBFGS(params, lr=0.5, max_iter=3, history_size=4)

        def closure(opt=opt, params=params):
            opt.zero_grad()
            loss = _loss(engine, params, target)
            loss.backward()
            return loss

        opt.step(closure)
        if reload:
            saved = opt.state_dict()
            assert isinstance(saved["state"][0]["d"], engine.Tensor)
            assert all(isinstance(v, engine.Tensor) for v in saved["state"][0]["old_dirs"])
            opt = engine.optim.LBFGS(params, lr=0.5, max_iter=3, history_size=4)
            opt.load_state_dict(saved)
        for _ in range(2):
            opt.step(lambda opt=opt, params=params: closure(opt, params))
        runs.append(params[0].detach().numpy())
    np.testing.assert_array_equal(runs[0], runs[1])


def _device_pair(values, device):
    return [engine.tensor(v, device=device, requires_grad=True) for v in values]


@pytest.mark.gpu
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("LBFGS", {"lr": 0.5, "max_iter": 3}),
        ("LBFGS", {"max_iter": 3, "line_search_fn": "strong_wolfe"}),
        ("Rprop", {}),
        ("ASGD", {"t0": 2}),
    ],
)
def test_optimizers_on_cuda_match_cpu(name, kwargs):
    rng = np.random.default_rng(9)
    values = [
        rng.standard_normal((3, 4)).astype(np.float32),
        rng.standard_normal(4).astype(np.float32),
    ]
    target = rng.uniform(-0.5, 0.5, (4, 4)).astype(np.float32)
    results = []
    for device in ("cpu", "cuda"):
        params = _device_pair(values, device)
        opt = getattr(engine.optim, name)(params, **kwargs)
        goal = engine.tensor(target, device=device)
        x = engine.tensor(np.linspace(-1, 1, 12).reshape(4, 3).astype(np.float32), device=device)

        def closure(opt=opt, params=params, goal=goal, x=x):
            opt.zero_grad()
            loss = ((engine.tanh(x @ params[0] + params[1]) - goal) ** 2).sum()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        assert str(params[0].device).startswith(device)
        results.append([p.detach().cpu().numpy() for p in params])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_weight_norms_on_cuda():
    import importlib

    parametrizations = importlib.import_module("engine.nn.utils.parametrizations")
    for apply in (
        engine.nn.utils.spectral_norm,
        parametrizations.spectral_norm,
        parametrizations.weight_norm,
    ):
        m = apply(engine.nn.Linear(3, 4).to("cuda"))
        for _ in range(20):  # power iteration steps, in training mode
            out = m(engine.ones(2, 3, device="cuda"))
        out.sum().backward()
        assert str(out.device).startswith("cuda")
        w = m.weight.detach().cpu().numpy()
        if apply is not parametrizations.weight_norm:
            assert np.linalg.svd(w, compute_uv=False)[0] <= 1.0 + 1e-4


def test_functional_argument_forms():
    for lib in (engine, torch):
        F = lib.autograd.functional
        with pytest.raises(TypeError):
            F.jacobian(lambda a: a, [lib.ones(2)])  # a list is not a tuple of inputs
        with pytest.raises(TypeError):
            F.vjp(lambda a: [a], lib.ones(2), lib.ones(2))
        x = lib.ones(2, requires_grad=True)
        h = F.hessian(lambda a: (a**3).sum(), x, create_graph=True)
        assert h.requires_grad
        np.testing.assert_allclose(h.detach().numpy(), np.diag([6.0, 6.0]))
        j = F.jacobian(lambda a: a.sum(), lib.ones(2), vectorize=True, strategy="forward-mode")
        np.testing.assert_allclose(j.numpy(), [1.0, 1.0])
        with pytest.raises(AssertionError):
            F.jacobian(lambda a: a, lib.ones(2), strategy="sideways")
        with pytest.raises(NotImplementedError, match="vectorize=True"):
            F.jacobian(lambda a: a, lib.ones(2), strategy="forward-mode")
