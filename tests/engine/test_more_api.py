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
