"""Optimizers and lr schedulers: PyTorch parity, state_dict round trips and validation."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import engine
from engine.optim import SGD, Adam, AdamW, Optimizer, RMSprop, lr_scheduler

SHAPES = ((3, 4), (4,), (2, 2, 2))
STEPS = 20


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def start_values(dtype) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def quadratic_grad(w: np.ndarray, i: int, step: int) -> np.ndarray:
    """d/dw of a fixed per-element quadratic, plus a fixed step-dependent wiggle."""
    rng = np.random.default_rng(100 * i)
    curvature = rng.uniform(0.5, 2.0, w.shape)
    target = rng.standard_normal(w.shape)
    wiggle = 0.1 * np.cos(step + np.arange(w.size).reshape(w.shape))
    return (curvature * (w - target) + wiggle).astype(w.dtype)


def engine_params(dtype) -> list[engine.Tensor]:
    return [engine.tensor(v, requires_grad=True) for v in start_values(dtype)]


def run_engine(opt: Optimizer, params: list[engine.Tensor], steps: int, first: int = 0) -> None:
    for step in range(first, first + steps):
        for i, p in enumerate(params):
            p.grad = engine.tensor(quadratic_grad(p.detach().numpy(), i, step))
        opt.step()


def run_torch(torch, name: str, kwargs: dict, dtype, steps: int = STEPS) -> list[np.ndarray]:
    params = [torch.tensor(v, requires_grad=True) for v in start_values(dtype)]
    opt = getattr(torch.optim, name)(params, foreach=False, **kwargs)
    for step in range(steps):
        for i, p in enumerate(params):
            p.grad = torch.tensor(quadratic_grad(p.detach().numpy(), i, step))
        opt.step()
    return [p.detach().numpy() for p in params]


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.001, maximize=True)),
]
CASE_IDS = [
    f"{name}-{','.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES
]


# ----- parity with PyTorch ----------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_matches_torch_over_20_steps(torch, name, kwargs, dtype):
    params = engine_params(dtype)
    opt = getattr(engine.optim, name)(params, **kwargs)
    run_engine(opt, params, STEPS)
    expected = run_torch(torch, name, kwargs, dtype)
    rtol, atol = (1e-4, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    for p, want in zip(params, expected, strict=True):
        assert p._data.dtype == dtype
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=rtol, atol=atol)


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_state_dict_matches_torch_layout(torch, name, kwargs):
    params = engine_params(np.float64)
    opt = getattr(engine.optim, name)(params, **kwargs)
    run_engine(opt, params, 3)
    t_params = [torch.tensor(v, requires_grad=True) for v in start_values(np.float64)]
    t_opt = getattr(torch.optim, name)(t_params, foreach=False, **kwargs)
    for step in range(3):
        for i, p in enumerate(t_params):
            p.grad = torch.tensor(quadratic_grad(p.detach().numpy(), i, step))
        t_opt.step()
    ours, theirs = opt.state_dict(), t_opt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys()
    for index, state in ours["state"].items():
        assert state.keys() == theirs["state"][index].keys()
        for key, value in state.items():
            np.testing.assert_allclose(np.asarray(value), theirs["state"][index][key].numpy())
    for group, t_group in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert {k: t_group[k] for k in group} == group


@pytest.mark.torch
def test_param_groups_with_their_own_lr_match_torch(torch):
    values = start_values(np.float32)

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.2, "momentum": 0.5}]

    params = [engine.tensor(v, requires_grad=True) for v in values]
    opt = SGD(groups(params), lr=0.05, momentum=0.9)
    t_params = [torch.tensor(v, requires_grad=True) for v in values]
    t_opt = torch.optim.SGD(groups(t_params), lr=0.05, momentum=0.9, foreach=False)
    for step in range(10):
        for i, (p, tp) in enumerate(zip(params, t_params, strict=True)):
            p.grad = engine.tensor(quadratic_grad(p.detach().numpy(), i, step))
            tp.grad = torch.tensor(quadratic_grad(tp.detach().numpy(), i, step))
        opt.step()
        t_opt.step()
    for p, tp in zip(params, t_params, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-5)


VALIDATION = [
    (SGD, dict(lr=-1), "Invalid learning rate: -1"),
    (SGD, dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    (SGD, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (SGD, dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (SGD, dict(momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (Adam, dict(lr=-1), "Invalid learning rate: -1"),
    (Adam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (Adam, dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (Adam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (Adam, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (AdamW, dict(betas=(-0.1, 0.9)), "Invalid beta parameter at index 0: -0.1"),
    (RMSprop, dict(lr=-0.01), "Invalid learning rate: -0.01"),
    (RMSprop, dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    (RMSprop, dict(momentum=-1), "Invalid momentum value: -1"),
    (RMSprop, dict(eps=-1), "Invalid epsilon value: -1"),
    (RMSprop, dict(weight_decay=-2), "Invalid weight_decay value: -2"),
]


@pytest.mark.parametrize("cls, kwargs, message", VALIDATION)
def test_invalid_hyperparameters_are_rejected(cls, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(engine_params(np.float32), **kwargs)


@pytest.mark.torch
@pytest.mark.parametrize("cls, kwargs, message", VALIDATION)
def test_validation_messages_are_torchs(torch, cls, kwargs, message):
    with pytest.raises(ValueError) as ours:
        cls(engine_params(np.float32), **kwargs)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


# ----- behaviour without PyTorch -------------------------------------------------------------


def test_sgd_minimises_a_quadratic_with_closure():
    w = engine.tensor([0.0, 1.0, -2.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.5)

    def closure():
        opt.zero_grad()
        loss = ((w - 3.0) ** 2).sum()
        loss.backward()
        return loss

    losses = [float(opt.step(closure)) for _ in range(100)]
    assert losses[0] > 1.0 and losses[-1] < 1e-6
    np.testing.assert_allclose(w.detach().numpy(), [3.0, 3.0, 3.0], atol=1e-3)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
def test_float32_stays_float32(cls):
    params = engine_params(np.float32)
    opt = cls(params, lr=0.01, weight_decay=0.1, **({"momentum": 0.9} if cls is SGD else {}))
    run_engine(opt, params, 3)
    for p in params:
        assert p._data.dtype == np.float32
        for value in opt.state[p].values():
            if isinstance(value, engine.Tensor):
                assert value._data.dtype == np.float32
                assert value.shape == p.shape


def test_parameters_without_grad_are_skipped():
    a, b = engine_params(np.float32)[:2]
    before = b.detach().numpy().copy()
    opt = Adam([a, b], lr=0.1)
    a.grad = engine.ones_like(a)
    opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), before)
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_param_groups_take_their_own_options():
    a, b = (engine.tensor([1.0, 1.0], requires_grad=True) for _ in range(2))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0 and opt.param_groups[1]["params"] == [b]
    a.grad, b.grad = engine.ones_like(a), engine.ones_like(b)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.detach().numpy(), [0.5, 0.5])


def test_add_param_group():
    a, b = engine_params(np.float32)[:2]
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    params = engine_params(np.float32)
    opt = SGD(params, lr=0.1)
    for p in params:
        p.grad = engine.ones_like(p)
    opt.zero_grad(set_to_none=set_to_none)
    for p in params:
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad.shape == p.shape
            assert not p.grad.detach().numpy().any()


def test_rejects_bad_parameter_lists():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        SGD([], lr=0.1)
    leaf = engine.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        SGD([leaf * 2], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        SGD(leaf, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        SGD([leaf, 3.0], lr=0.1)


def test_repr_lists_each_group():
    opt = SGD(engine_params(np.float32), lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9" in text


ROUND_TRIP = [
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (Adam, dict(lr=0.05, amsgrad=True)),
    (AdamW, dict(lr=0.05)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
]


@pytest.mark.parametrize("cls, kwargs", ROUND_TRIP, ids=[c.__name__ for c, _ in ROUND_TRIP])
def test_state_dict_round_trip_resumes_exactly(cls, kwargs):
    straight = engine_params(np.float32)
    opt = cls(straight, **kwargs)
    run_engine(opt, straight, 10)

    first = engine_params(np.float32)
    opt = cls(first, **kwargs)
    run_engine(opt, first, 5)
    saved = opt.state_dict()
    resumed = [engine.tensor(p.detach().numpy(), requires_grad=True) for p in first]
    opt = cls(resumed, lr=123.0)  # options come back from the state dict
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == kwargs["lr"]
    run_engine(opt, resumed, 5, first=5)
    for p, want in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), want.detach().numpy())


def test_state_dict_layout_and_independence():
    params = engine_params(np.float32)
    opt = Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.1}])
    run_engine(opt, params, 2)
    saved = opt.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1, 2]]
    assert saved["param_groups"][1]["lr"] == 0.1
    assert set(saved["state"]) == {0, 1, 2}
    assert saved["state"][1]["step"] == 2
    assert isinstance(saved["state"][1]["exp_avg"], engine.Tensor)
    snapshot = saved["state"][1]["exp_avg"].numpy().copy()
    run_engine(opt, params, 1)  # training on does not change the saved snapshot
    np.testing.assert_array_equal(saved["state"][1]["exp_avg"].numpy(), snapshot)
    other = Adam([{"params": params[:1]}, {"params": params[1:]}])
    other.load_state_dict(saved)
    saved["state"][1]["exp_avg"]._data[...] = 0  # nor does editing it after loading
    np.testing.assert_array_equal(other.state[params[1]]["exp_avg"].numpy(), snapshot)


def test_load_state_dict_casts_state_to_the_parameter_dtype():
    source = engine_params(np.float64)
    opt = Adam(source, lr=0.1)
    run_engine(opt, source, 2)
    target = engine_params(np.float32)
    loaded = Adam(target, lr=0.1)
    loaded.load_state_dict(opt.state_dict())
    for p in target:
        assert loaded.state[p]["exp_avg"]._data.dtype == np.float32


def test_load_state_dict_names_what_differs():
    params = engine_params(np.float32)
    opt = SGD(params, lr=0.1, momentum=0.9)
    run_engine(opt, params, 1)
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="has 1 parameter groups, this optimizer has 2"):
        SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(
        ValueError, match="group 0 has 3 parameters, this optimizer's group 0 has 2"
    ):
        SGD(params[:2], lr=0.1).load_state_dict(saved)
    swapped = [params[1], params[0], params[2]]
    with pytest.raises(ValueError, match=r"'momentum_buffer' for parameter 0 has shape \(3, 4\)"):
        SGD(swapped, lr=0.1).load_state_dict(saved)


@pytest.mark.gpu
def test_adam_on_cuda_matches_cpu():
    cpu = engine_params(np.float32)
    gpu = [engine.tensor(p.detach().numpy(), device="cuda", requires_grad=True) for p in cpu]
    opt_cpu, opt_gpu = Adam(cpu, lr=0.05, amsgrad=True), Adam(gpu, lr=0.05, amsgrad=True)
    for step in range(5):
        for i, (c, g) in enumerate(zip(cpu, gpu, strict=True)):
            grad = quadratic_grad(c.detach().numpy(), i, step)
            c.grad = engine.tensor(grad)
            g.grad = engine.tensor(grad, device="cuda")
        opt_cpu.step()
        opt_gpu.step()
    for c, g in zip(cpu, gpu, strict=True):
        assert g.is_cuda and opt_gpu.state[g]["exp_avg"].is_cuda
        np.testing.assert_allclose(g.detach().cpu().numpy(), c.detach().numpy(), rtol=1e-5)
    moved = Adam(cpu, lr=0.05, amsgrad=True)
    moved.load_state_dict(opt_gpu.state_dict())  # state follows the parameters' device
    assert not moved.state[cpu[0]]["exp_avg"].is_cuda


# ----- lr schedulers ---------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 7, 7, 15], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
]
SCHEDULER_IDS = [f"{name}-{kw}" for name, kw in SCHEDULERS]


def engine_lrs(name: str, kwargs: dict, epochs: int = 30) -> list[list[float]]:
    a, b = engine_params(np.float32)[:2]
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    lrs = [sched.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
    return lrs


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=SCHEDULER_IDS)
def test_scheduler_matches_torch(torch, name, kwargs):
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    expected = [sched.get_last_lr()]
    for _ in range(30):
        opt.step()
        sched.step()
        expected.append(sched.get_last_lr())
    assert engine_lrs(name, kwargs) == expected


def test_scheduler_sets_initial_lr_and_known_values():
    lrs = engine_lrs("StepLR", dict(step_size=2, gamma=0.5), epochs=4)
    assert [lr[0] for lr in lrs] == [0.1, 0.1, 0.05, 0.05, 0.025]
    cosine = engine_lrs("CosineAnnealingLR", dict(T_max=4), epochs=8)
    assert cosine[4][0] == pytest.approx(0.0, abs=1e-12)
    assert cosine[8][0] == pytest.approx(0.1)  # past T_max it climbs back
    param = engine.tensor([1.0], requires_grad=True)
    opt = SGD([param], lr=0.2)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 0.2 and sched.base_lrs == [0.2]
    assert sched.last_epoch == 0


def test_scheduler_state_dict_round_trip():
    straight = engine_lrs("CosineAnnealingLR", dict(T_max=6, eta_min=0.001), epochs=12)
    params = engine_params(np.float32)[:2]
    opt = SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)
    for _ in range(5):
        sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched and saved_sched["last_epoch"] == 5

    opt = SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)
    opt.load_state_dict(saved_opt)
    sched.load_state_dict(saved_sched)
    resumed = [sched.get_last_lr()]
    for _ in range(7):
        sched.step()
        resumed.append(sched.get_last_lr())
    assert resumed == straight[5:]


def test_scheduler_validation():
    opt = SGD(engine_params(np.float32), lr=0.1)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive integer, got 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be positive, got 0"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(opt, gamma=0.9, last_epoch=3)
    with pytest.raises(ValueError, match=re.escape("Factor should be < 1.0.")):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="threshold mode log is unknown!"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="log")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0, 0.1])


METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.89999, 0.96, 0.97, 0.97, 0.8, 0.8, 0.81, 0.81, 0.81]
METRICS = METRICS + METRICS[::-1] + [0.5] * 10
PLATEAU = [
    dict(patience=2),
    dict(patience=1, cooldown=2, factor=0.5),
    dict(patience=0, min_lr=[0.02, 0.3], factor=0.5),
    dict(mode="max", patience=2, threshold=0.05),
    dict(mode="min", threshold_mode="abs", threshold=0.02, patience=1),
    dict(mode="max", threshold_mode="abs", threshold=0.0, patience=0, eps=0.01),
]


def plateau_lrs(make_optimizer, make_scheduler, kwargs) -> list[list[float]]:
    opt = make_optimizer()
    sched = make_scheduler(opt, **kwargs)
    lrs = []
    for metric in METRICS:
        sched.step(metric)
        lrs.append(sched.get_last_lr())
    return lrs


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau_matches_torch(torch, kwargs):
    a, b = engine_params(np.float32)[:2]
    ours = plateau_lrs(
        lambda: SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1),
        lr_scheduler.ReduceLROnPlateau,
        kwargs,
    )
    ta, tb = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    theirs = plateau_lrs(
        lambda: torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.5}], lr=0.1),
        torch.optim.lr_scheduler.ReduceLROnPlateau,
        kwargs,
    )
    assert ours == theirs


def test_reduce_lr_on_plateau_cuts_after_patience():
    opt = SGD(engine_params(np.float32), lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=2, factor=0.5, min_lr=0.2)
    seen = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]:
        sched.step(engine.tensor(metric))  # a 0-d tensor works as the metric
        seen.append(opt.param_groups[0]["lr"])
    assert seen == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]
    assert math.isclose(sched.best, 0.5) and sched.last_epoch == 14
