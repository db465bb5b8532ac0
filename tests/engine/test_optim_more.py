"""Adagrad, Adadelta, Adamax, NAdam and RAdam against PyTorch: updates, state and errors."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.optim import Adadelta, Adagrad, Adamax, NAdam, RAdam

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

SHAPES = ((3, 4), (5,), (2, 2, 3))
STEPS = 20


def start_values() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.standard_normal(shape) for shape in SHAPES]


def gradient(w: np.ndarray, i: int, step: int) -> np.ndarray:
    """A quadratic's gradient plus a step-dependent wiggle, with some exact zeros."""
    rng = np.random.default_rng(7 * i + 1)
    curvature = rng.uniform(0.5, 2.0, w.shape)
    target = rng.standard_normal(w.shape)
    g = curvature * (w - target) + 0.2 * np.sin(step + np.arange(w.size).reshape(w.shape))
    if step % 5 == 3:
        g.flat[0] = 0.0
    return g


def run_both(name: str, kwargs: dict, steps: int = STEPS, dtype=np.float64):
    ours = [engine.tensor(v.astype(dtype), requires_grad=True) for v in start_values()]
    theirs = [torch.tensor(v.astype(dtype), requires_grad=True) for v in start_values()]
    opt = getattr(engine.optim, name)(ours, **kwargs)
    t_opt = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    for step in range(steps):
        for i, (p, tp) in enumerate(zip(ours, theirs, strict=True)):
            g = gradient(tp.detach().numpy().astype(np.float64), i, step).astype(dtype)
            p.grad = engine.tensor(g)
            tp.grad = torch.tensor(g)
        opt.step()
        t_opt.step()
    return opt, t_opt, ours, theirs


CASES = [
    ("Adagrad", {}),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.3)),
    ("Adagrad", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("Adadelta", {}),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adamax", {}),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("NAdam", {}),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, maximize=True)),
    ("RAdam", {}),
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.6), weight_decay=0.1)),  # never rectified
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.99))),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.8), weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, maximize=True)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_parameters_follow_torch_for_20_steps(name, kwargs):
    _, _, ours, theirs = run_both(name, kwargs)
    for p, tp in zip(ours, theirs, strict=True):
        assert p.dtype == engine.float64
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_float32_parameters_follow_torch(name, kwargs):
    _, _, ours, theirs = run_both(name, kwargs, dtype=np.float32)
    for p, tp in zip(ours, theirs, strict=True):
        assert p._data.dtype == np.float32
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=0, atol=5e-6)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_state_dict_matches_torch(name, kwargs):
    opt, t_opt, _, _ = run_both(name, kwargs, steps=4)
    ours, theirs = opt.state_dict(), t_opt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys()
    for index, state in ours["state"].items():
        assert state.keys() == theirs["state"][index].keys()
        for key, value in state.items():
            want = theirs["state"][index][key]
            np.testing.assert_allclose(np.asarray(value), want.numpy(), rtol=1e-6, atol=1e-9)
    for group, t_group in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert group == {k: t_group[k] for k in group}


@pytest.mark.parametrize("name, kwargs", CASES[::3], ids=IDS[::3])
def test_state_dict_round_trip_resumes_exactly(name, kwargs):
    def params():
        return [engine.tensor(v, requires_grad=True) for v in start_values()]

    def run(opt, ps, first, steps):
        for step in range(first, first + steps):
            for i, p in enumerate(ps):
                p.grad = engine.tensor(gradient(p.detach().numpy(), i, step))
            opt.step()

    straight = params()
    run(getattr(engine.optim, name)(straight, **kwargs), straight, 0, 8)
    first = params()
    opt = getattr(engine.optim, name)(first, **kwargs)
    run(opt, first, 0, 4)
    saved = opt.state_dict()
    resumed = [engine.tensor(p.detach().numpy(), requires_grad=True) for p in first]
    opt = getattr(engine.optim, name)(resumed, lr=123.0)
    opt.load_state_dict(saved)
    run(opt, resumed, 4, 4)
    for p, want in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), want.detach().numpy())


def test_adagrad_makes_its_state_up_front_as_torch():
    p = engine.zeros(3, requires_grad=True)
    opt = Adagrad([p], initial_accumulator_value=0.5)
    t_opt = torch.optim.Adagrad([torch.zeros(3, requires_grad=True)], initial_accumulator_value=0.5)
    state = opt.state_dict()["state"]
    assert state.keys() == t_opt.state_dict()["state"].keys()
    np.testing.assert_array_equal(np.asarray(state[0]["sum"]), [0.5, 0.5, 0.5])


BAD = [
    (Adagrad, dict(lr=-1.0)),
    (Adagrad, dict(lr_decay=-0.1)),
    (Adagrad, dict(weight_decay=-0.1)),
    (Adagrad, dict(initial_accumulator_value=-0.5)),
    (Adagrad, dict(eps=-1e-3)),
    (Adadelta, dict(lr=-0.5)),
    (Adadelta, dict(rho=1.5)),
    (Adadelta, dict(eps=-1.0)),
    (Adadelta, dict(weight_decay=-2.0)),
    (Adamax, dict(betas=(1.0, 0.9))),
    (Adamax, dict(betas=(0.9, -0.1))),
    (Adamax, dict(eps=-1.0)),
    (NAdam, dict(momentum_decay=-0.25)),
    (NAdam, dict(lr=-0.25)),
    (NAdam, dict(weight_decay=-0.25)),
    (RAdam, dict(betas=(0.9, 1.0))),
    (RAdam, dict(weight_decay=-0.75)),
]


@pytest.mark.parametrize(
    "cls, kwargs", BAD, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(BAD)]
)
def test_invalid_options_raise_torchs_value_error(cls, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        cls([engine.zeros(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_defaults_are_torchs():
    for cls in (Adagrad, Adadelta, Adamax, NAdam, RAdam):
        opt = cls([engine.zeros(2, requires_grad=True)])
        t_opt = getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)])
        group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
        assert group == {k: t_opt.param_groups[0][k] for k in group}, cls.__name__


def test_float32_parameters_stay_float32():
    for cls in (Adagrad, Adadelta, Adamax, NAdam, RAdam):
        p = engine.ones(4, requires_grad=True)
        p.grad = engine.full((4,), 0.5)
        cls([p]).step()
        assert p.dtype == engine.float32
        assert p._data.dtype == np.float32


@pytest.mark.gpu
@pytest.mark.parametrize("name, kwargs", CASES[::2], ids=IDS[::2])
def test_on_cuda_matches_cpu(name, kwargs):
    cpu = [engine.tensor(v.astype(np.float32), requires_grad=True) for v in start_values()]
    gpu = [engine.tensor(p.detach().numpy(), device="cuda", requires_grad=True) for p in cpu]
    opt_cpu = getattr(engine.optim, name)(cpu, **kwargs)
    opt_gpu = getattr(engine.optim, name)(gpu, **kwargs)
    for step in range(5):
        for i, (c, g) in enumerate(zip(cpu, gpu, strict=True)):
            grad = gradient(c.detach().numpy(), i, step).astype(np.float32)
            c.grad, g.grad = engine.tensor(grad), engine.tensor(grad, device="cuda")
        opt_cpu.step()
        opt_gpu.step()
    for c, g in zip(cpu, gpu, strict=True):
        assert g.is_cuda
        np.testing.assert_allclose(g.detach().cpu().numpy(), c.detach().numpy(), rtol=1e-5)


@pytest.mark.gpu
def test_clip_grad_norm_on_cuda_matches_cpu():
    from engine.nn.utils import clip_grad_norm_, clip_grad_value_

    values = start_values()
    cpu = [engine.tensor(v, requires_grad=True) for v in values]
    gpu = [engine.tensor(v, device="cuda", requires_grad=True) for v in values]
    for c, g, v in zip(cpu, gpu, values, strict=True):
        c.grad, g.grad = engine.tensor(3 * v), engine.tensor(3 * v, device="cuda")
    total = clip_grad_norm_(gpu, 1.0, norm_type=3.0)
    assert total.is_cuda
    np.testing.assert_allclose(total.cpu().item(), clip_grad_norm_(cpu, 1.0, 3.0).item())
    clip_grad_value_(gpu, 0.1)
    clip_grad_value_(cpu, 0.1)
    for c, g in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(g.grad.cpu().numpy(), c.grad.numpy(), rtol=1e-12)


def test_nadam_loads_a_state_dict_with_0d_tensors_for_step_and_mu_product():
    opt, _, ours, _ = run_both("NAdam", {}, steps=3)
    saved = opt.state_dict()
    for state in saved["state"].values():
        state["step"] = engine.tensor(float(state["step"]))
        state["mu_product"] = engine.tensor(state["mu_product"])
    fresh = NAdam([engine.tensor(p.detach().numpy(), requires_grad=True) for p in ours])
    fresh.load_state_dict(saved)
    state = fresh.state_dict()["state"][0]
    assert state["step"] == 3 and isinstance(state["mu_product"], float)


def test_defaults_hold_torchs_options_in_torchs_order():
    names = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam")
    internal = {"foreach", "fused", "capturable", "differentiable"}
    for name in names:
        opt = getattr(engine.optim, name)([engine.zeros(2, requires_grad=True)], lr=0.1)
        t_opt = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], lr=0.1)
        assert list(opt.defaults) == [k for k in t_opt.defaults if k not in internal], name
        assert opt.defaults == {k: t_opt.defaults[k] for k in opt.defaults}, name


def test_adam_with_decoupled_weight_decay_is_adamw():
    start = np.linspace(-1.0, 1.0, 6)
    runs = (
        (engine, lambda p: engine.optim.Adam(p, 0.1, weight_decay=0.5, decoupled_weight_decay=1)),
        (engine, lambda p: engine.optim.AdamW(p, 0.1, weight_decay=0.5)),
        (torch, lambda p: torch.optim.Adam(p, 0.1, weight_decay=0.5, decoupled_weight_decay=True)),
    )
    results = []
    for lib, make in runs:
        w = lib.tensor(start, requires_grad=True)
        opt = make([w])
        for _ in range(5):
            opt.zero_grad()
            ((w - 0.3) ** 2).sum().backward()
            opt.step()
        results.append(w.detach().numpy())
    np.testing.assert_allclose(results[0], results[2], rtol=1e-12)
    np.testing.assert_array_equal(results[0], results[1])


OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_torchs_implementation_options_are_accepted_and_change_nothing(name):
    import inspect

    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    ours = inspect.signature(getattr(engine.optim, name).__init__).parameters
    assert set(ours) == set(theirs)
    options = {k: theirs[k].default for k in ("foreach", "fused", "capturable") if k in theirs}
    options["foreach"] = False
    results = []
    for kwargs in ({}, options):
        w = engine.tensor([1.0, -2.0, 3.0], requires_grad=True)
        opt = getattr(engine.optim, name)([w], lr=0.1, **kwargs)
        for _ in range(3):
            opt.zero_grad()
            (w**2).sum().backward()
            opt.step()
        results.append(w.tolist())
    assert results[0] == results[1]
    with pytest.raises(NotImplementedError, match="differentiable"):
        getattr(engine.optim, name)([w], lr=0.1, differentiable=True)


def _named_groups(lib):
    """An optimizer over model.named_parameters(): its groups, state_dict and errors."""
    model = lib.nn.Linear(2, 2)
    opt = lib.optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9)
    model(lib.ones(1, 2)).sum().backward()
    opt.step()
    internal = {"foreach", "fused", "differentiable", "capturable"}
    saved = opt.state_dict()
    pairs = lib.optim.SGD(
        [{"params": [("w", model.weight)]}, {"params": [("b", model.bias)], "lr": 1.0}], lr=0.1
    )
    plain = lib.optim.SGD([model.weight], lr=0.1)
    resumed = lib.optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9)
    resumed.load_state_dict(saved)
    errors = []
    for bad in (
        lambda: lib.optim.SGD([("w", model.weight), model.bias], lr=0.1),
        lambda: pairs.add_param_group({"params": [lib.ones(1, requires_grad=True)]}),
        lambda: plain.add_param_group({"params": [("b", model.bias)]}),
    ):
        with pytest.raises(ValueError) as info:
            bad()
        errors.append(str(info.value))
    return {
        "keys": [k for k in opt.param_groups[0] if k not in internal],
        "saved": [{k: v for k, v in g.items() if k not in internal} for g in saved["param_groups"]],
        "state": sorted(saved["state"]),
        "pairs": [g["param_names"] for g in pairs.param_groups],
        "resumed": resumed.param_groups[0]["param_names"],
        "errors": errors,
    }


def test_optimizer_over_named_parameters_as_torchs():
    assert _named_groups(engine) == _named_groups(torch)
