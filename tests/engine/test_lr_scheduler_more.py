"""Learning-rate schedulers against PyTorch's: the lr (and momentum) of every step."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import engine
from engine.optim import lr_scheduler

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

STEPS = 50


def make_optimizer(lib, kind: str):
    """Two parameter groups with different lrs, so per-group lists are exercised."""
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}]
    if kind == "adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def schedule(lib, build, kind="sgd", steps=STEPS, epochs=None):
    """Each step's lrs, momenta and get_last_lr(); `epochs` passes step(epoch) instead."""
    opt = make_optimizer(lib, kind)
    key = "betas" if kind == "adam" else "momentum"
    seen = []
    with warnings.catch_warnings():  # torch's reminders about the order of step() calls
        warnings.simplefilter("ignore")
        sched = build(lib.optim.lr_scheduler, opt)
        for i in range(steps):
            seen.append(
                (
                    [g["lr"] for g in opt.param_groups],
                    [g[key] for g in opt.param_groups],
                    list(sched.get_last_lr()),
                )
            )
            opt.step()
            if epochs is None:
                sched.step()
            else:
                sched.step(epochs[i])
    return seen, sched


def same_schedule(build, kind="sgd", steps=STEPS, epochs=None):
    ours, _ = schedule(engine, build, kind, steps, epochs)
    theirs, _ = schedule(torch, build, kind, steps, epochs)
    for step, (mine, want) in enumerate(zip(ours, theirs, strict=True)):
        for a, b in zip(mine, want, strict=True):
            np.testing.assert_allclose(
                np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12, atol=1e-15,
                err_msg=f"step {step}",
            )  # fmt: skip
    return ours


def scale(epoch):
    return 0.9**epoch if epoch < 20 else 0.5


CASES = {
    "lambda": lambda s, o: s.LambdaLR(o, lr_lambda=lambda e: 1 / (1 + e)),
    "lambda-per-group": lambda s, o: s.LambdaLR(o, [lambda e: 0.95**e, scale]),
    "multiplicative": lambda s, o: s.MultiplicativeLR(o, lr_lambda=lambda e: 0.97),
    "multiplicative-per-group": lambda s, o: s.MultiplicativeLR(o, [lambda e: 0.9, scale]),
    "constant": lambda s, o: s.ConstantLR(o),
    "constant-0.5-10": lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=10),
    "linear": lambda s, o: s.LinearLR(o),
    "linear-down": lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=30),
    "polynomial": lambda s, o: s.PolynomialLR(o),
    "polynomial-2-40": lambda s, o: s.PolynomialLR(o, total_iters=40, power=2.0),
    "warm-restarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=7),
    "warm-restarts-mult": lambda s, o: s.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001
    ),
    "cyclic": lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "cyclic-triangular2": lambda s, o: s.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=3, step_size_down=5, mode="triangular2"
    ),
    "cyclic-exp-range": lambda s, o: s.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97
    ),
    "cyclic-scale-fn": lambda s, o: s.CyclicLR(
        o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations"
    ),
    "cyclic-no-momentum": lambda s, o: s.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=6, cycle_momentum=False
    ),
    "one-cycle": lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=STEPS),
    "one-cycle-linear": lambda s, o: s.OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=10, anneal_strategy="linear"
    ),
    "one-cycle-three-phase": lambda s, o: s.OneCycleLR(
        o, max_lr=0.3, total_steps=STEPS, pct_start=0.25, three_phase=True, div_factor=10.0
    ),
    "one-cycle-no-momentum": lambda s, o: s.OneCycleLR(
        o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False, final_div_factor=100.0
    ),
    "sequential": lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=5), s.ExponentialLR(o, gamma=0.9)], [5]
    ),
    "sequential-three": lambda s, o: s.SequentialLR(
        o,
        [
            s.ConstantLR(o, factor=0.5, total_iters=4),
            s.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
            s.StepLR(o, step_size=5, gamma=0.5),
        ],
        milestones=[8, 25],
    ),
    "sequential-multistep": lambda s, o: s.SequentialLR(
        o, [s.MultiStepLR(o, [3, 6]), s.PolynomialLR(o, total_iters=20)], [10]
    ),
    "chained": lambda s, o: s.ChainedScheduler(
        [s.ConstantLR(o, factor=0.1, total_iters=2), s.ExponentialLR(o, gamma=0.9)]
    ),
    "chained-three": lambda s, o: s.ChainedScheduler(
        [s.LinearLR(o, total_iters=6), s.StepLR(o, 7, 0.5), s.MultiplicativeLR(o, lambda e: 0.99)],
        optimizer=o,
    ),
    "chained-in-sequential": lambda s, o: s.SequentialLR(
        o,
        [
            s.ChainedScheduler([s.ExponentialLR(o, 0.95), s.MultiStepLR(o, [5, 9], 0.5)]),
            s.LinearLR(o, start_factor=0.2, total_iters=4),
        ],
        [12],
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_lr_sequence_matches_torch(name):
    seen = same_schedule(CASES[name])
    assert len({tuple(lrs) for lrs, _, _ in seen}) > 1  # the schedule does change the lr


@pytest.mark.parametrize("name", ["cyclic", "one-cycle", "one-cycle-three-phase"])
def test_adam_beta1_cycles_as_torch(name):
    seen = same_schedule(CASES[name], kind="adam")
    assert len({betas[0][0] for _, betas, _ in seen}) > 1
    assert all(betas[0][1] == 0.999 for _, betas, _ in seen)


def test_warm_restarts_with_fractional_epochs_match_torch():
    epochs = [i * 0.3 for i in range(1, STEPS + 1)]
    build = CASES["warm-restarts-mult"]
    same_schedule(build, epochs=epochs)
    same_schedule(CASES["warm-restarts"], epochs=[i * 0.7 for i in range(1, STEPS + 1)])


@pytest.mark.parametrize("name", ["linear", "polynomial-2-40", "constant", "constant-0.5-10"])
def test_step_with_epoch_uses_the_closed_form_as_torch(name):
    same_schedule(CASES[name], epochs=[3, 1, 8, 8, 20, 2, 45, 0] * 3, steps=24)


def test_one_cycle_refuses_steps_past_total():
    opt = make_optimizer(engine, "sgd")
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


@pytest.mark.parametrize(
    "name", ["lambda", "cyclic", "one-cycle", "warm-restarts-mult", "sequential", "chained"]
)
def test_state_dict_round_trip_resumes_the_schedule(name):
    build = CASES[name]
    straight, _ = schedule(engine, build, steps=30)
    opt = make_optimizer(engine, "sgd")
    sched = build(lr_scheduler, opt)
    for _ in range(12):
        opt.step()
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    opt2 = make_optimizer(engine, "sgd")
    sched2 = build(lr_scheduler, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for step in range(12, 30):
        assert [g["lr"] for g in opt2.param_groups] == straight[step][0]
        opt2.step()
        sched2.step()


def test_state_dict_keys_match_torch():
    for name in ["constant", "linear", "polynomial", "one-cycle", "cyclic", "sequential"]:
        _, ours = schedule(engine, CASES[name], steps=3)
        _, theirs = schedule(torch, CASES[name], steps=3)
        keys = set(theirs.state_dict()) - {"_get_lr_called_within_step", "_scale_fn_ref"}
        assert keys <= set(ours.state_dict()), name


def test_lambda_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate**epoch

    opt = make_optimizer(engine, "sgd")
    sched = lr_scheduler.LambdaLR(opt, [Decay(0.5), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    other = lr_scheduler.LambdaLR(make_optimizer(engine, "sgd"), [Decay(0.9), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5


BAD = [
    (lambda s, o: s.ConstantLR(o, factor=1.5), ValueError),
    (lambda s, o: s.LinearLR(o, start_factor=0.0), ValueError),
    (lambda s, o: s.LinearLR(o, end_factor=1.5), ValueError),
    (lambda s, o: s.LambdaLR(o, [lambda e: 1.0]), ValueError),
    (lambda s, o: s.MultiplicativeLR(o, 0.5), TypeError),
    (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
    (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError),
    (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0), ValueError),
    (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5, eta_min="0"), ValueError),
    (lambda s, o: s.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError),
    (lambda s, o: s.CyclicLR(o, [0.01], 0.1), ValueError),
    (lambda s, o: s.OneCycleLR(o, max_lr=0.1), ValueError),
    (lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError),
    (lambda s, o: s.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3), ValueError),
    (lambda s, o: s.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-1), ValueError),
    (lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=9, pct_start=1.5), ValueError),
    (lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=9, pct_start=0), ValueError),
    (lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=9, anneal_strategy="x"), ValueError),
    (lambda s, o: s.SequentialLR(o, [], []), ValueError),
    (lambda s, o: s.SequentialLR(o, [s.ConstantLR(o), s.ConstantLR(o)], [1, 2]), ValueError),
    (lambda s, o: s.SequentialLR(o, [s.ReduceLROnPlateau(o)], []), ValueError),
    (lambda s, o: s.ChainedScheduler([]), ValueError),
    (lambda s, o: s.ChainedScheduler([s.ConstantLR(o), object()], optimizer=o), TypeError),
]


@pytest.mark.parametrize("build, error", BAD, ids=[str(i) for i in range(len(BAD))])
def test_invalid_arguments_raise_as_torch(build, error):
    with pytest.raises(error):
        build(torch.optim.lr_scheduler, make_optimizer(torch, "sgd"))
    with pytest.raises(error):
        build(lr_scheduler, make_optimizer(engine, "sgd"))


def test_cycle_momentum_needs_momentum_or_betas():
    opt = engine.optim.Adagrad([engine.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.CyclicLR(opt, 0.01, 0.1)
    lr_scheduler.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False)


def test_warm_restarts_rejects_a_negative_epoch():
    sched = lr_scheduler.CosineAnnealingWarmRestarts(make_optimizer(engine, "sgd"), T_0=3)
    with pytest.raises(ValueError, match="-1"):
        sched.step(-1)
    assert math.isclose(sched.get_last_lr()[0], 0.1)


def test_old_base_name_and_plateau_epoch_argument():
    class Halving(lr_scheduler._LRScheduler):
        def get_lr(self):
            return [base * 0.5**self.last_epoch for base in self.base_lrs]

    opt = make_optimizer(engine, "sgd")
    sched = Halving(opt)
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.025]
    plateau = lr_scheduler.ReduceLROnPlateau(make_optimizer(engine, "sgd"))
    with pytest.warns(UserWarning, match="deprecated"):
        plateau.step(1.0, epoch=7)
    assert plateau.last_epoch == 7


def _order_warnings(lib, optimizer_first: bool, resumed: bool = False) -> list[str]:
    opt = make_optimizer(lib, "sgd")
    if resumed:
        opt.load_state_dict(make_optimizer(lib, "sgd").state_dict())
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            if optimizer_first:
                opt.step()
            sched.step()
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("optimizer_first", [False, True])
def test_scheduler_stepped_before_its_optimizer_warns_as_torchs(optimizer_first):
    ours = _order_warnings(engine, optimizer_first)
    assert ours == _order_warnings(torch, optimizer_first)
    assert len(ours) == (0 if optimizer_first else 1)


def test_a_resumed_optimizer_needs_no_step_before_its_scheduler():
    assert _order_warnings(engine, False, resumed=True) == []


class _Plain(engine.optim.Optimizer):
    def __init__(self, params):
        super().__init__(params, {"lr": 0.1})

    def step(self, closure=None):
        return None


def test_a_custom_optimizer_counts_its_steps_too():
    opt = _Plain([engine.zeros(2, requires_grad=True)])
    sched = lr_scheduler.ExponentialLR(opt, 0.5)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert sched.get_last_lr() == [0.05]


def test_plateau_state_dict_has_torchs_keys_in_torchs_order():
    def keys(lib, mode):
        opt = make_optimizer(lib, "sgd")
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode)
        sched.step(1.0)
        return sched.state_dict()

    for mode in ("min", "max"):
        ours, theirs = keys(engine, mode), keys(torch, mode)
        assert list(ours) == list(theirs)
        assert ours["mode_worse"] == theirs["mode_worse"]
