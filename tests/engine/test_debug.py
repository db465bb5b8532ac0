"""The debugger: traces, the stepper, anomaly detection, stats, node gradient checks, Monitor."""

from __future__ import annotations

import math
import os
import threading
import time
import warnings

import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine import debug, nn
from engine.autograd import Function, OpError
from engine.optim import SGD

# ----- models and runs --------------------------------------------------------


class Swish(nn.Module):
    """x * sigmoid(x): a module that runs two ops, so finishing it skips one."""

    def forward(self, x):
        return x * F.sigmoid(x)


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))

    def forward(self, x):
        return self.classifier(self.features(x))


def make_mlp() -> nn.Module:
    engine.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), Swish(), nn.Residual(nn.Linear(8, 8), nn.ReLU()), nn.Linear(8, 3)
    )


def make_cnn() -> nn.Module:
    engine.manual_seed(0)
    return TinyCNN()


MODELS = {"mlp": make_mlp, "cnn": make_cnn}
MLP_OPS = [
    ("linear", "0", (5, 8)),
    ("sigmoid", "1", (5, 8)),
    ("mul", "1", (5, 8)),
    ("linear", "2.body.0", (5, 8)),
    ("relu", "2.body.1", (5, 8)),
    ("add", "2", (5, 8)),
    ("linear", "3", (5, 3)),
    ("log_softmax", "", (5, 3)),
    ("nll_loss", "", ()),
]


def batch(kind: str) -> tuple[engine.Tensor, engine.Tensor]:
    rng = np.random.default_rng(1)
    shape = (5, 4) if kind == "mlp" else (2, 1, 4, 4)
    x = engine.tensor(rng.standard_normal(shape).astype(np.float32))
    return x, engine.tensor([0, 1, 2, 0, 1][: shape[0]])


def training_step(model: nn.Module, kind: str, lr: float | None = None):
    """fn for trace/Stepper: forward, cross-entropy, backward and (with `lr`) an SGD step."""
    x, y = batch(kind)
    opt = SGD(model.parameters(), lr=lr) if lr is not None else None

    def fn():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if opt is not None:
            opt.step()
        return loss

    return fn


def host(t: engine.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def grads(model: nn.Module) -> dict[str, np.ndarray]:
    return {n: p.grad.numpy().copy() for n, p in model.named_parameters()}


def plain_grads(kind: str) -> dict[str, np.ndarray]:
    model = MODELS[kind]()
    training_step(model, kind)()
    return grads(model)


def assert_same_grads(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name], want[name]), name


def drain(stepper: debug.Stepper) -> debug.Event:
    event = stepper.resume()
    assert event.phase in ("done", "error")
    return event


def stops(stepper: debug.Stepper) -> list[debug.Event]:
    """Every event `resume()` stops at, the final one included."""
    out = [stepper.resume()]
    while out[-1].phase not in ("done", "error"):
        out.append(stepper.resume())
    return out


def key(event: debug.Event) -> tuple:
    return (event.phase, event.node.id if event.node is not None else None)


def new_threads(before: set, timeout: float = 2.0) -> list[threading.Thread]:
    """Threads started since `before` that are still alive after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.01)


def returns_within(call, timeout: float = 1.0) -> bool:
    """Whether `call()` returns (or raises) within `timeout`; a hang is left in a daemon thread."""
    finished = threading.Event()

    def target():
        try:
            call()
        except BaseException:  # only whether it came back matters
            pass
        finished.set()

    threading.Thread(target=target, name="test-watchdog", daemon=True).start()
    return finished.wait(timeout)


def source_of(marker: str) -> str:
    """file:line of the line in this file that carries `marker` in a comment."""
    with open(__file__) as f:
        for lineno, line in enumerate(f, 1):
            if line.rstrip().endswith(f"# {marker}"):
                return f"{os.path.abspath(__file__)}:{lineno}"
    raise AssertionError(f"no line marked {marker}")


def same_source(got: str, want: str) -> bool:
    got_path, _, got_line = got.rpartition(":")
    want_path, _, want_line = want.rpartition(":")
    return os.path.abspath(got_path) == want_path and got_line == want_line


# ----- module scope and trace ---------------------------------------------------


class TestTrace:
    def test_mlp_ops_in_execution_order_with_scopes_and_shapes(self):
        tr = debug.trace(training_step(make_mlp(), "mlp"))
        assert [(r.op, r.scope, r.shape) for r in tr.ops] == MLP_OPS
        assert [r.id for r in tr.nodes] == list(range(len(tr.nodes)))
        for r in tr.nodes:
            assert all(p < r.id for p in r.parents)
            assert r.dtype in ("float32", "int64")

    def test_scopes_are_qualified_module_names(self):
        model = make_cnn()
        tr = debug.trace(training_step(model, "cnn"))
        names = dict(model.named_modules())
        assert tr.find(op="conv2d")[0].scope == "features.0"
        assert tr.find(op="batch_norm")[0].scope == "features.1"
        assert tr.find(op="max_pool2d")[0].scope == "features.3"
        assert tr.find(op="linear")[0].scope == "classifier.1"
        assert all(r.scope in names for r in tr.ops)
        assert {r.op for r in tr.find(scope="features")} == {
            "conv2d",
            "batch_norm",
            "relu",
            "max_pool2d",
            "parameter",
        }

    def test_parameters_are_leaves_named_by_state_dict_name(self):
        model = make_cnn()
        tr = debug.trace(training_step(model, "cnn"))
        params = [r for r in tr.nodes if r.op == "parameter"]
        assert [r.name for r in params] == [n for n, _ in model.named_parameters()]
        assert all(r.scope == r.name and r.parents == [] and r.is_leaf for r in params)
        conv = tr.find(op="conv2d")[0]
        assert [tr.node(p).op for p in conv.parents] == ["input", "parameter", "parameter"]
        assert [tr.node(p).name for p in conv.parents[1:]] == [
            "features.0.weight",
            "features.0.bias",
        ]

    def test_in_scope_matches_dotted_prefixes_only(self):
        assert debug.in_scope("features.0", "features")
        assert debug.in_scope("features", "features")
        assert debug.in_scope("anything", "")
        assert not debug.in_scope("10", "1")
        assert not debug.in_scope("features0", "features")

    def test_level_graph_records_no_stats(self):
        tr = debug.trace(training_step(make_mlp(), "mlp"), level="graph")
        assert tr.level == "graph"
        assert all(r.value_stats is None and r.grad_stats is None for r in tr.nodes)
        assert all(r.value is None and r.grad is None for r in tr.nodes)
        assert tr.backward_order  # the walk is still recorded

    def test_level_stats_records_stats_but_no_values(self):
        model = make_mlp()
        tr = debug.trace(training_step(model, "mlp"), level="stats")
        assert all(r.value_stats is not None and r.value is None for r in tr.nodes)
        assert all(tr.node(i).grad_stats is not None for i in tr.backward_order)
        weight = tr.find(op="parameter", scope="0.weight")[0]
        assert weight.grad_stats.norm == pytest.approx(
            float(np.linalg.norm(model[0].weight.grad.numpy())), rel=1e-6
        )

    def test_level_values_records_arrays(self):
        model = make_mlp()
        x, _ = batch("mlp")
        tr = debug.trace(training_step(model, "mlp"), level="values")
        first = tr.find(op="linear")[0]
        w, b = host(model[0].weight), host(model[0].bias)
        np.testing.assert_allclose(first.value, x.numpy() @ w.T + b, rtol=1e-6, atol=1e-6)
        assert first.value_stats.mean == pytest.approx(float(first.value.mean()), abs=1e-6)
        for r in tr.nodes:
            if r.op == "parameter":
                assert np.array_equal(r.value, host(dict(model.named_parameters())[r.name]))
                assert np.array_equal(r.grad, dict(model.named_parameters())[r.name].grad.numpy())
        loss = tr.ops[-1]
        assert loss.grad.shape == () and float(loss.grad) == 1.0

    def test_unknown_level_is_rejected(self):
        with pytest.raises(ValueError, match="level"):
            debug.trace(lambda: None, level="everything")

    @pytest.mark.parametrize("kind", ["mlp", "cnn"])
    @pytest.mark.parametrize("level", ["graph", "stats", "values"])
    def test_parameter_grads_are_bitwise_those_of_a_plain_run(self, kind, level):
        model = MODELS[kind]()
        debug.trace(training_step(model, kind), level=level)
        assert_same_grads(grads(model), plain_grads(kind))

    def test_backward_order_visits_each_node_after_its_consumers(self):
        tr = debug.trace(training_step(make_mlp(), "mlp"))
        assert tr.backward_order[0] == tr.ops[-1].id  # the loss
        assert sorted(tr.backward_order) == [r.id for r in tr.ops]
        for pos, node_id in enumerate(tr.backward_order):
            assert tr.node(node_id).backward_index == pos
        for r in tr.ops:
            for p in r.parents:
                if not tr.node(p).is_leaf:
                    assert tr.node(p).backward_index > r.backward_index

    def test_value_cap_drops_the_oldest_values_first(self):
        cap = 1200
        tr = debug.trace(training_step(make_mlp(), "mlp"), level="values", value_cap=cap)
        assert tr.values_dropped
        assert 0 < tr.value_bytes <= cap
        dropped = [r.value_dropped for r in tr.nodes]
        assert dropped[0] and not dropped[-1]
        assert dropped == sorted(dropped, reverse=True)  # a prefix of the run, oldest first
        for r in tr.nodes:
            if r.value_dropped:
                assert r.value is None
            else:
                assert r.value is not None
        kept = sum(a.nbytes for r in tr.nodes for a in (r.value, r.grad) if a is not None)
        assert kept == tr.value_bytes

    def test_no_values_dropped_under_the_default_cap(self):
        tr = debug.trace(training_step(make_mlp(), "mlp"), level="values")
        assert not tr.values_dropped
        assert not any(r.value_dropped for r in tr.nodes)

    def test_shape_error_leaves_a_partial_graph_ending_at_the_failing_op(self):
        model = nn.Sequential(nn.ReLU(), nn.Linear(5, 3))
        x = engine.randn(2, 4)
        with pytest.raises(OpError, match="linear") as info:
            debug.trace(lambda: model(x).sum().backward())
        tr = info.value.trace
        assert tr.error is info.value
        assert [r.op for r in tr.ops] == ["relu", "linear"]
        last = tr.nodes[-1]
        assert last.op == "linear" and last.scope == "1"
        assert "linear" in last.error and "(2, 4)" in last.error
        assert [tr.node(p).op for p in last.parents] == ["relu", "parameter", "parameter"]


# ----- the stepper --------------------------------------------------------------


class TestStepperEvents:
    @pytest.mark.parametrize("kind", ["mlp", "cnn"])
    def test_forward_events_are_the_traced_ops_in_order(self, kind):
        ref = debug.trace(training_step(MODELS[kind](), kind), level="values")
        with debug.Stepper(training_step(MODELS[kind](), kind)) as s:
            assert drain(s).phase == "done"
        forward = [e for e in s.history if e.phase == "forward"]
        assert [(e.node.op, e.scope, e.node.shape) for e in forward] == [
            (r.op, r.scope, r.shape) for r in ref.ops
        ]
        for e in forward:
            r = ref.node(e.node.id)
            assert np.array_equal(e.output, r.value)
            assert [i.shape for i in e.inputs] == [ref.node(p).shape for p in r.parents]

    @pytest.mark.parametrize("kind", ["mlp", "cnn"])
    def test_backward_events_follow_forward_and_carry_the_traced_gradients(self, kind):
        ref = debug.trace(training_step(MODELS[kind](), kind), level="values")
        model = MODELS[kind]()
        with debug.Stepper(training_step(model, kind), level="values") as s:
            while s.step().phase not in ("done", "error"):
                pass
        assert s.last.phase == "done"
        phases = [e.phase for e in s.history]
        last_forward = max(i for i, p in enumerate(phases) if p == "forward")
        first_backward = phases.index("backward")
        assert first_backward > last_forward
        backward = [e for e in s.history if e.phase == "backward"]
        assert [e.node.id for e in backward] == ref.backward_order
        for e in backward:
            r = ref.node(e.node.id)
            assert e.node.op == r.op
            assert np.array_equal(e.grad_output, r.grad)
            assert np.array_equal(e.grad_output, s.trace.node(e.node.id).grad)
            assert len(e.grad_inputs) >= 1
        assert_same_grads(grads(model), plain_grads(kind))

    def test_history_holds_every_event_with_its_index(self):
        with debug.Stepper(training_step(make_mlp(), "mlp", lr=0.1)) as s:
            first = s.step()
            assert s.history == [first] and first.index == 0
            done = drain(s)
        assert [e.index for e in s.history] == list(range(len(s.history)))
        assert s.history[-1] is done and done.trace is s.trace
        counts = {p: sum(e.phase == p for e in s.history) for p in debug.stepper.PHASES}
        assert counts == {"forward": 9, "backward": 9, "update": 6, "done": 1, "error": 0}

    def test_step_after_done_keeps_returning_done(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            done = drain(s)
            n = len(s.history)
            assert s.step() is done
            assert s.step() is done
            assert s.step_over() is done and s.step_out() is done and s.resume() is done
            assert s.run_to(lambda e: True) is done
            assert len(s.history) == n
        assert isinstance(s.result, engine.Tensor) and s.result.shape == ()

    def test_update_events_show_lr_times_grad_and_the_update_ratio(self):
        lr = 0.1
        model = make_mlp()
        before = {n: host(p) for n, p in model.named_parameters()}
        want = plain_grads("mlp")
        with debug.Stepper(training_step(model, "mlp", lr=lr)) as s:
            assert drain(s).phase == "done"
        updates = [e for e in s.history if e.phase == "update"]
        assert [e.node.name for e in updates] == list(want)
        for e in updates:
            name = e.node.name
            assert e.node.op == "parameter" and e.lr == lr
            np.testing.assert_allclose(e.update, lr * want[name], rtol=1e-6, atol=0)
            assert np.array_equal(e.inputs[0], before[name])
            ratio = np.linalg.norm(e.update) / np.linalg.norm(before[name])
            assert e.update_ratio == pytest.approx(float(ratio), rel=1e-6)
            got = host(dict(model.named_parameters())[name])
            assert np.array_equal(got, before[name] - e.update)
        assert all(e.update_ratio is None for e in s.history if e.phase != "update")


class TestStepperNavigation:
    def test_step_over_finishes_the_current_module(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            ev = s.run_to(lambda e: e.scope == "1")
            assert (ev.node.op, ev.scope) == ("sigmoid", "1")
            ev = s.step_over()  # skips the mul that is also in Swish
            assert (ev.phase, ev.node.op, ev.scope) == ("forward", "linear", "2.body.0")
            ev = s.step_over()
            assert (ev.node.op, ev.scope) == ("relu", "2.body.1")

    def test_step_over_outside_any_module_is_a_step(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            ev = s.run_to(lambda e: e.node is not None and e.node.op == "log_softmax")
            ev = s.step_over()
            assert (ev.phase, ev.node.op) == ("forward", "nll_loss")
            ev = s.step_over()
            assert (ev.phase, ev.node.op) == ("backward", "nll_loss")

    def test_step_out_finishes_the_enclosing_module(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            ev = s.run_to(lambda e: e.scope == "2.body.0")
            ev = s.step_out()  # out of 2.body: past the relu, to the residual add
            assert (ev.node.op, ev.scope) == ("add", "2")
            ev = s.step_out()  # out of the top-level module: the rest of the forward
            assert (ev.phase, ev.node.op) == ("backward", "nll_loss")

    def test_step_out_in_backward_stays_in_backward(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            ev = s.run_to(lambda e: e.phase == "backward" and e.scope == "2.body.1")
            ev = s.step_out()  # past 2.body.0's linear
            assert (ev.phase, ev.node.op, ev.scope) == ("backward", "mul", "1")

    def test_run_to_stops_at_the_first_match_and_records_the_rest(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            ev = s.run_to(lambda e: e.phase == "backward")
            assert (ev.phase, ev.node.op) == ("backward", "nll_loss")
            assert [e.phase for e in s.history] == ["forward"] * 9 + ["backward"]

    def test_step_over_stops_at_a_breakpoint_inside_the_module(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            s.add_breakpoint(op="mul")
            s.run_to(lambda e: e.scope == "1")
            ev = s.step_over()
            assert (ev.node.op, ev.scope) == ("mul", "1")


class TestBreakpoints:
    def full_history(self, fn) -> list[debug.Event]:
        with debug.Stepper(fn) as s:
            drain(s)
        return s.history

    @pytest.mark.parametrize(
        ("spec", "matches"),
        [
            ({"op": "linear"}, lambda e: e.node.op == "linear"),
            ({"scope": "2"}, lambda e: e.scope.split(".")[0] == "2"),
            ({"scope": "2.body", "phase": "backward"}, lambda e: e.scope.startswith("2.body.")),
            ({"node": 4}, lambda e: e.node.id == 4),
            ({"phase": "update", "scope": "3"}, lambda e: e.scope.startswith("3.")),
            ({"op": "relu", "phase": "forward"}, lambda e: e.node.op == "relu"),
        ],
    )
    def test_resume_stops_exactly_at_matching_events(self, spec, matches):
        everything = self.full_history(training_step(make_mlp(), "mlp", lr=0.1))
        phase = spec.get("phase")
        want = [
            key(e)
            for e in everything
            if e.node is not None and (phase is None or e.phase == phase) and matches(e)
        ]
        assert want  # the case is not vacuous
        with debug.Stepper(training_step(make_mlp(), "mlp", lr=0.1)) as s:
            s.add_breakpoint(**spec)
            got = stops(s)
        assert [key(e) for e in got[:-1]] == want
        assert got[-1].phase == "done"

    def test_node_breakpoint_stops_in_forward_and_backward(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            s.add_breakpoint(node=9)  # the relu inside the residual
            got = stops(s)
        assert [(e.phase, e.node.op, e.scope) for e in got[:-1]] == [
            ("forward", "relu", "2.body.1"),
            ("backward", "relu", "2.body.1"),
        ]

    def test_has_nonfinite_stops_at_the_first_nonfinite_output(self):
        x = engine.tensor([-1.0, 0.5, 2.0], requires_grad=True)

        def fn():
            x.relu().log().sum().backward()

        with debug.Stepper(fn) as s:
            s.add_breakpoint(when=debug.has_nonfinite)
            ev = s.resume()
            assert (ev.phase, ev.node.op) == ("forward", "log")
            assert np.isneginf(ev.output[0])
            assert [e.node.op for e in s.history] == ["relu", "log"]
            ev = s.resume()  # the sum passes the -inf on
            assert (ev.phase, ev.node.op) == ("forward", "sum")

    def test_norm_above_stops_at_the_first_event_over_the_limit(self):
        everything = self.full_history(training_step(make_mlp(), "mlp"))

        def norm(e):
            arr = e.output if e.phase == "forward" else e.grad_output
            return float(np.linalg.norm(arr.astype(np.float64)))

        events = [e for e in everything if e.phase in ("forward", "backward")]
        limit = 0.9 * max(norm(e) for e in events[:4])  # something early, not the very first
        first = next(e for e in events if norm(e) > limit)
        assert norm(events[0]) <= limit
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            s.add_breakpoint(when=debug.norm_above(limit))
            ev = s.resume()
        assert key(ev) == key(first)
        assert all(norm(e) <= limit for e in s.history[:-1])

    def test_breakpoint_conditions_combine(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            s.add_breakpoint(op="linear", when=lambda e: e.node.shape == (5, 3))
            got = stops(s)
        assert [(e.phase, e.scope) for e in got[:-1]] == [("forward", "3"), ("backward", "3")]

    def test_remove_breakpoint(self):
        with debug.Stepper(training_step(make_mlp(), "mlp")) as s:
            relu = s.add_breakpoint(op="relu")
            add = s.add_breakpoint(op="add")
            assert relu != add
            s.remove_breakpoint(relu)
            assert set(s.breakpoints) == {add}
            got = stops(s)
            with pytest.raises(KeyError, match=str(relu)):
                s.remove_breakpoint(relu)
        assert [(e.phase, e.node.op) for e in got[:-1]] == [("forward", "add"), ("backward", "add")]

    def test_unknown_phase_is_rejected(self):
        with debug.Stepper(lambda: None) as s, pytest.raises(ValueError, match="phase"):
            s.add_breakpoint(phase="sideways")


class TestStepperLifecycle:
    def test_no_thread_left_after_done(self):
        before = set(threading.enumerate())
        s = debug.Stepper(training_step(make_mlp(), "mlp"))
        s.step()
        assert drain(s).phase == "done"
        assert new_threads(before) == []

    @pytest.mark.parametrize("phase", ["forward", "backward"])
    def test_close_mid_pass_ends_the_thread_and_leaves_the_model_usable(self, phase):
        before = set(threading.enumerate())
        model = make_mlp()
        s = debug.Stepper(training_step(model, "mlp"))
        ev = s.run_to(lambda e: e.phase == phase and e.scope == "2.body.1")
        assert ev.phase == phase
        s.close()
        s.close()  # twice is fine
        assert new_threads(before) == []
        assert engine.autograd.state.instrument is None
        model.zero_grad()
        training_step(model, "mlp")()
        assert_same_grads(grads(model), plain_grads("mlp"))

    def test_error_in_fn_gives_an_error_event_with_the_partial_trace(self):
        before = set(threading.enumerate())
        model = nn.Sequential(nn.ReLU(), nn.Linear(5, 3))
        x = engine.randn(2, 4)
        s = debug.Stepper(lambda: model(x).sum().backward())
        assert s.step().node.op == "relu"
        ev = s.step()
        assert ev.phase == "error"
        assert isinstance(ev.error, OpError) and "linear" in str(ev.error)
        assert ev.trace is s.trace and ev.trace.error is ev.error
        assert ev.node is ev.trace.nodes[-1]
        assert ev.node.op == "linear" and "linear" in ev.node.error
        assert s.step() is ev and s.resume() is ev
        assert new_threads(before) == []

    def test_error_after_the_graph_is_built_has_no_failing_node(self):
        def fn():
            make_mlp()(batch("mlp")[0]).sum()
            raise ValueError("boom")

        with debug.Stepper(fn) as s:
            ev = drain(s)
        assert ev.phase == "error" and str(ev.error) == "boom" and ev.node is None
        assert [r.op for r in ev.trace.ops] == [op for op, _, _ in MLP_OPS[:7]] + ["sum"]

    def test_ops_in_the_stepper_thread_warn_as_in_the_caller(self):
        # BUG (engine/backend.py): np.seterr(divide="ignore", ...) at import sets NumPy 2's
        # error state for the importing thread only; in the stepper's worker thread log(0)
        # warns, and with warnings as errors the stepped run fails where a plain run does not.
        x = engine.tensor([0.0, 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert np.isneginf(x.log().numpy()[0])  # the plain run
            with debug.Stepper(lambda: x.log()) as s:
                ev = drain(s)
        assert ev.phase == "done", ev.error

    def test_history_value_cap_drops_old_event_arrays(self):
        with debug.Stepper(training_step(make_mlp(), "mlp"), value_cap=2000) as s:
            drain(s)
        assert s.history_dropped
        dropped = [e.dropped for e in s.history]
        assert dropped[0] and not dropped[-2]
        assert all(e.output is None and e.inputs == [] for e in s.history if e.dropped)

    def test_base_exception_in_fn_does_not_hang(self):
        # BUG: Stepper._run catches Exception only; a SystemExit (or KeyboardInterrupt)
        # raised by fn ends the worker without an event, and resume() blocks forever.
        def fn():
            make_mlp()(batch("mlp")[0])
            raise SystemExit(3)

        s = debug.Stepper(fn)
        assert returns_within(s.resume)

    def test_step_after_close_does_not_hang(self):
        # BUG: close() mid-pass ends the worker but leaves `finished` false, so the next
        # step() releases a semaphore nobody waits on and blocks on the queue forever.
        s = debug.Stepper(training_step(make_mlp(), "mlp"))
        s.step()
        s.close()
        assert returns_within(s.step)


# ----- anomaly detection ---------------------------------------------------------


class TestAnomaly:
    def test_forward_blames_the_log_after_the_relu_not_the_sum(self):
        x = engine.tensor([-1.0, 0.5, 2.0], requires_grad=True)

        def fn():
            h = x.relu()
            y = h.log()  # anomaly-forward
            y.sum().backward()

        err = debug.find_anomaly(fn)
        assert isinstance(err, debug.AnomalyError)
        assert err.node.op == "log" and err.phase == "forward"
        assert same_source(err.source, source_of("anomaly-forward"))
        assert err.source_line == "y = h.log()  # anomaly-forward"
        (name, st), *rest = err.input_stats
        assert rest == [] and "relu" in name
        assert st.finite and st.zero_fraction == pytest.approx(1 / 3)
        assert "log" in str(err) and "1 Inf" in str(err)
        assert [r.op for r in err.trace.ops] == ["relu", "log"]

    def test_backward_blames_sqrt_of_zeros(self):
        x = engine.tensor([-1.0, 0.0, 4.0], requires_grad=True)

        def fn():
            y = x.relu().sqrt()  # anomaly-backward
            y.sum().backward()

        err = debug.find_anomaly(fn)
        assert err is not None
        assert err.node.op == "sqrt" and err.phase == "backward"
        assert same_source(err.source, source_of("anomaly-backward"))
        assert "sqrt" in err.source_line
        name, incoming = err.input_stats[0]
        assert name == "incoming gradient" and incoming.finite

    def test_detect_anomaly_context_manager_raises(self):
        x = engine.tensor([0.0, 1.0], requires_grad=True)
        with pytest.raises(debug.AnomalyError) as info, debug.detect_anomaly():
            (x.relu().log() * 2).sum()
        assert info.value.node.op == "log"
        assert engine.autograd.state.instrument is None

    def test_allow_whitelists_an_op(self):
        x = engine.tensor([-1.0, 0.5, 2.0], requires_grad=True)

        def fn():
            x.relu().log().sum().backward()

        assert debug.find_anomaly(fn, allow=("log",)) is None

    def test_check_inf_false_ignores_infinities(self):
        x = engine.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        assert debug.find_anomaly(lambda: x.relu().log().sum(), check_inf=False) is None
        err = debug.find_anomaly(lambda: (x.relu().log() * 0).sum(), check_inf=False)
        assert err.node.op == "mul"  # -inf * 0 is the first NaN

    def test_finite_run_finds_nothing(self):
        assert debug.find_anomaly(training_step(make_cnn(), "cnn")) is None

    def test_a_parameter_already_holding_nan_is_blamed(self):
        model = make_mlp()
        model[2].body[0].weight._data[1, 2] = np.nan
        err = debug.find_anomaly(training_step(model, "mlp"))
        assert err.node.op == "parameter" and err.node.name == "2.body.0.weight"
        assert err.phase == "forward"

    def test_an_overflowing_update_is_blamed_on_the_parameter(self):
        err = debug.find_anomaly(training_step(make_mlp(), "mlp", lr=1e39))
        assert err.phase == "update" and err.node.op == "parameter"
        assert err.node.name == "0.weight"


# ----- stats ---------------------------------------------------------------------


def no_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


@pytest.mark.usefixtures("fast_path")
class TestStats:
    def test_matches_numpy_as_plain_python_numbers(self):
        a = np.random.default_rng(0).standard_normal((7, 9)).astype(np.float32)
        a[0, :3] = 0
        st = debug.stats(a, bins=8)
        assert st.shape == (7, 9) and st.count == 63
        assert st.min == float(a.min()) and st.max == float(a.max())
        a64 = a.astype(np.float64)  # float32 sums: agreement to float32 precision
        assert st.mean == pytest.approx(float(a64.mean()), rel=1e-5)
        assert st.std == pytest.approx(float(a64.std()), rel=1e-5)
        assert st.norm == pytest.approx(float(np.linalg.norm(a64)), rel=1e-5)
        assert st.zero_fraction == pytest.approx(3 / 63)
        assert (st.nan_count, st.inf_count) == (0, 0) and st.finite
        counts, edges = np.histogram(a, bins=8, range=(st.min, st.max))
        assert st.hist_counts == counts.tolist()
        np.testing.assert_allclose(st.hist_edges, edges, rtol=1e-6)
        for v in (st.min, st.max, st.mean, st.std, st.norm, st.zero_fraction, *st.hist_edges):
            assert type(v) is float
        for v in (st.count, st.nan_count, st.inf_count, *st.hist_counts):
            assert type(v) is int

    def test_tensor_input(self):
        st = debug.stats(engine.tensor([[1.0, -2.0], [0.0, 3.0]]))
        assert (st.min, st.max, st.mean, st.zero_fraction) == (-2.0, 3.0, 0.5, 0.25)
        assert sum(st.hist_counts) == 4

    def test_nan_and_inf_are_counted_and_left_out(self):
        st = no_warnings(lambda: debug.stats(np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 0.0])))
        assert (st.nan_count, st.inf_count, st.nonfinite) == (1, 2, 3) and not st.finite
        assert (st.min, st.max, st.mean) == (0.0, 3.0, 4 / 3)
        assert st.zero_fraction == pytest.approx(1 / 6)
        assert sum(st.hist_counts) == 3

    def test_empty(self):
        st = no_warnings(lambda: debug.stats(np.zeros((0, 3), np.float32)))
        assert st.shape == (0, 3) and st.count == 0
        assert (st.nan_count, st.inf_count) == (0, 0)
        assert all(math.isnan(v) for v in (st.min, st.max, st.mean, st.std, st.norm))
        assert st.hist_edges == [] and st.hist_counts == []
        assert debug.describe(st) == "empty (0, 3)"

    def test_all_nan(self):
        st = no_warnings(lambda: debug.stats(np.full((2, 2), np.nan, np.float32)))
        assert st.count == 4 and st.nan_count == 4 and st.inf_count == 0
        assert all(math.isnan(v) for v in (st.min, st.max, st.mean, st.std, st.norm))
        assert st.zero_fraction == 0.0
        assert st.hist_counts == []
        assert "4 NaN" in no_warnings(lambda: debug.describe(st))

    @pytest.mark.parametrize("size", [4, 10_000])  # summarised when read / at once
    def test_all_nonfinite_and_mixed_at_both_sizes(self, size):
        a = np.full(size, np.inf, np.float32)
        a[::2] = np.nan
        st = no_warnings(lambda: debug.stats(a))
        assert (st.nan_count, st.inf_count, st.count) == (size // 2, size // 2, size)
        assert st.hist_counts == [] and math.isnan(st.mean)
        a[:3] = [0.0, 1.0, 2.0]
        st = no_warnings(lambda: debug.stats(a))
        assert (st.min, st.max, st.mean, st.nonfinite) == (0.0, 2.0, 1.0, size - 3)
        assert st.zero_fraction == 1 / size and sum(st.hist_counts) == 3

    def test_a_small_array_is_summarised_as_it_was_when_taken(self):
        a = np.arange(6, dtype=np.float32)
        st = debug.stats(a)
        a[:] = -1  # a parameter updated in place after its record was made
        assert (st.min, st.max, st.mean) == (0.0, 5.0, 2.5)

    def test_an_array_permuted_in_memory_is_summarised_like_its_copy(self):
        a = np.random.default_rng(1).standard_normal((6, 64, 28, 28)).astype(np.float32)
        a[a < 0] = 0
        permuted = a.transpose(1, 0, 2, 3)  # how a convolution's output lies in memory
        st, ref = debug.stats(permuted), debug.stats(np.ascontiguousarray(permuted))
        assert st.shape == (64, 6, 28, 28) and st.count == ref.count
        assert (st.min, st.max, st.zero_fraction) == (ref.min, ref.max, ref.zero_fraction)
        for name in ("mean", "std", "norm"):  # float32 sums, taken in another order
            assert getattr(st, name) == pytest.approx(getattr(ref, name), rel=1e-5)
        assert sum(st.hist_counts) == pytest.approx(st.count, rel=1e-3)

    def test_a_long_array_counts_its_tail(self):
        # past 65,536 values the sum is taken in rows of 256; 70,001 leaves a tail of 113
        a = np.random.default_rng(2).uniform(1, 2, 70_001).astype(np.float32)
        a[-1] = 1e4
        st = debug.stats(a)
        assert st.max == 1e4 and st.zero_fraction == 0.0
        a64 = a.astype(np.float64)
        assert st.mean == pytest.approx(float(a64.mean()), rel=1e-5)
        assert st.norm == pytest.approx(float(np.linalg.norm(a64)), rel=1e-5)
        a[-1] = 0.0  # zero is now the minimum: the zeros are counted
        st = debug.stats(a)
        assert st.min == 0.0 and st.zero_fraction == 1 / a.size

    def test_constant_integer_and_bool_arrays(self):
        st = debug.stats(np.full(5, 2.5, np.float32))
        assert st.std == 0.0 and st.hist_counts == [5]
        st = debug.stats(np.arange(6).reshape(2, 3), bins=3)
        assert (st.min, st.max, st.mean, st.zero_fraction) == (0.0, 5.0, 2.5, 1 / 6)
        assert st.hist_counts == [2, 2, 2]
        st = debug.stats(np.array([True, False, False, True]))
        assert (st.mean, st.zero_fraction) == (0.5, 0.5)

    def test_std_of_values_far_from_zero(self):
        # BUG: the variance is sum(x**2)/n - mean**2 with float32 sums, which cancels
        # catastrophically when the mean is large next to the spread (3x off here).
        a = (100 + 0.01 * np.random.default_rng(0).standard_normal(10_000)).astype(np.float32)
        assert debug.stats(a).std == pytest.approx(float(a.astype(np.float64).std()), rel=1e-2)

    def test_float32_range_wider_than_float32_does_not_crash(self):
        # BUG: the histogram computes (x - min) in the array's dtype; for float32 values
        # near +-3e38 that overflows to inf, the bin index becomes INT32_MIN and
        # bincount raises "ValueError: 'list' argument must have no negative elements".
        st = no_warnings(lambda: debug.stats(np.array([-3e38, 0.0, 3e38], np.float32), bins=4))
        assert st.finite and st.count == 3
        assert sum(st.hist_counts) == 3


# ----- checking one node's gradient -------------------------------------------------


class BrokenSquare(Function):
    """a * a with a backward that forgets the factor 2."""

    op = "broken_square"

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        return (g * self.a,)


class TestCheckNodeGrad:
    @pytest.mark.parametrize("op", ["conv2d", "batch_norm", "relu", "linear", "log_softmax"])
    def test_correct_ops_agree_with_finite_differences(self, op):
        tr = debug.trace(training_step(make_cnn(), "cnn"), level="values")
        (node,) = tr.find(op=op)
        result = debug.check_node_grad(tr, node.id)
        assert result.node == node.id and result.inputs
        assert result.max_abs_error < 1e-6
        assert result.passed()

    def test_checks_linear_inputs_weight_and_bias(self):
        tr = debug.trace(training_step(make_mlp(), "mlp"), level="values")
        node = tr.find(op="linear", scope="3")[0]
        result = debug.check_node_grad(tr, node.id)
        assert [c.parent for c in result.inputs] == node.parents
        assert result.max_abs_error < 1e-6

    def test_a_broken_backward_is_caught(self):
        model = make_mlp()
        x, _ = batch("mlp")

        def fn():
            BrokenSquare.apply(model(x)).sum().backward()

        tr = debug.trace(fn, level="values")
        node = tr.find(op="broken_square")[0]
        result = debug.check_node_grad(tr, node.id)
        assert result.max_abs_error > 0.1
        assert not result.passed()
        (check,) = result.inputs
        np.testing.assert_allclose(check.numeric, 2 * check.analytic, rtol=1e-4, atol=1e-6)

    def test_needs_recorded_values(self):
        tr = debug.trace(training_step(make_mlp(), "mlp"), level="stats")
        with pytest.raises(ValueError, match="values"):
            debug.check_node_grad(tr, tr.ops[0].id)
        with pytest.raises(ValueError, match="not an op"):
            debug.check_node_grad(tr, 0)


# ----- Monitor ---------------------------------------------------------------------


class TestMonitor:
    def test_reports_every_n_steps(self):
        engine.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        with engine.no_grad():
            model[0].bias._data[:2] = -100.0  # two units that never fire
        acts = {}
        model[1].register_forward_hook(lambda m, i, o: acts.__setitem__("relu", host(o)))
        x, y = batch("mlp")
        opt = SGD(model.parameters(), lr=0.1)
        monitor = debug.Monitor(model, every=2)
        reports = []
        for _ in range(4):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            grad_norms = {
                n: float(np.linalg.norm(p.grad.numpy())) for n, p in model.named_parameters()
            }
            before = {n: host(p) for n, p in model.named_parameters()}
            opt.step()
            report = monitor.step()
            reports.append(report)
            if report is None:
                continue
            assert [(l.name, l.kind) for l in report.layers] == [
                ("0", "Linear"),
                ("1", "ReLU"),
                ("2", "Linear"),
            ]
            relu = report.layers[1]
            assert relu.act_mean == pytest.approx(float(acts["relu"].mean()), rel=1e-5)
            assert relu.act_std == pytest.approx(float(acts["relu"].std()), rel=1e-5)
            dead = 1.0 - (acts["relu"] != 0).any(axis=0).mean()
            assert relu.dead_fraction == pytest.approx(dead) and relu.dead_fraction >= 2 / 8
            assert report.layers[0].dead_fraction is None
            assert [p.name for p in report.params] == list(grad_norms)
            for p in report.params:
                w = host(dict(model.named_parameters())[p.name])
                assert p.grad_norm == pytest.approx(grad_norms[p.name], rel=1e-5)
                assert p.weight_norm == pytest.approx(float(np.linalg.norm(w)), rel=1e-5)
                delta = np.linalg.norm(w - before[p.name])
                ratio = delta / np.linalg.norm(before[p.name])
                assert p.update_ratio == pytest.approx(ratio, rel=1e-4)
                assert p.update_ratio > 0
        assert [r is not None for r in reports] == [True, False, True, False]
        assert [r.step for r in monitor.reports] == [0, 2]
        monitor.close()
        model(x)
        assert monitor.steps == 4 and len(monitor.reports) == 2

    def test_every_must_be_positive(self):
        with pytest.raises(ValueError, match="every"):
            debug.Monitor(make_mlp(), every=0)
