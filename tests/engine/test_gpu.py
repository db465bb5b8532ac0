"""The engine on cuda: ops, device errors, the debugger, files and data agree with the CPU."""

from __future__ import annotations

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.gpu

RNG = np.random.default_rng(7)


def pair(*shape: int) -> tuple[engine.Tensor, engine.Tensor]:
    """The same float32 values as a cpu and a cuda leaf tensor."""
    values = RNG.standard_normal(shape).astype(np.float32)
    return (
        engine.tensor(values, requires_grad=True),
        engine.tensor(values, device="cuda", requires_grad=True),
    )


def assert_same(gpu: engine.Tensor, cpu: engine.Tensor) -> None:
    assert str(gpu.device).startswith("cuda")
    np.testing.assert_allclose(
        gpu.detach().cpu().numpy(), cpu.detach().numpy(), rtol=1e-4, atol=1e-5
    )


def test_add_and_matmul_forward_and_backward():
    a_cpu, a_gpu = pair(5, 7)
    b_cpu, b_gpu = pair(7, 3)
    c_cpu, c_gpu = pair(3)
    out_cpu = ((a_cpu @ b_cpu) + c_cpu).tanh()
    out_gpu = ((a_gpu @ b_gpu) + c_gpu).tanh()
    assert_same(out_gpu, out_cpu)
    out_cpu.sum().backward()
    out_gpu.sum().backward()
    for gpu, cpu in ((a_gpu, a_cpu), (b_gpu, b_cpu), (c_gpu, c_cpu)):
        assert_same(gpu.grad, cpu.grad)


def test_conv2d_and_cross_entropy_backward():
    import engine.nn.functional as F

    x_cpu, x_gpu = pair(2, 4, 6, 6)
    w_cpu, w_gpu = pair(6, 2, 3, 3)
    labels = RNG.integers(0, 6, (2, 2, 2))  # 6x6, stride 2 -> 3x3, pool 2 -> 2x2
    losses = []
    for x, w, device in ((x_cpu, w_cpu, "cpu"), (x_gpu, w_gpu, "cuda")):
        y = F.conv2d(x, w, stride=2, padding=1, groups=2)
        y = F.max_pool2d(y, 2, stride=1)
        loss = F.cross_entropy(y, engine.tensor(labels, device=device))
        loss.backward()
        losses.append(loss)
    assert_same(losses[1], losses[0])
    assert_same(x_gpu.grad, x_cpu.grad)
    assert_same(w_gpu.grad, w_cpu.grad)


def test_to_moves_between_devices_with_grad():
    x_cpu, _ = pair(3)
    y = x_cpu.to("cuda")
    assert str(y.device).startswith("cuda")
    (y * y).sum().backward()
    assert str(x_cpu.grad.device) == "cpu"
    np.testing.assert_allclose(x_cpu.grad.numpy(), 2 * x_cpu.detach().numpy(), rtol=1e-6)


def test_mixing_devices_raises():
    with pytest.raises(RuntimeError, match="device"):
        engine.ones(2) + engine.ones(2, device="cuda")


def _mixes():
    import engine.nn.functional as F

    cpu, gpu = engine.ones(2, 3), engine.ones(2, 3, device="cuda")
    labels = engine.tensor([0, 2])
    return {
        "add": lambda: cpu + gpu,
        "matmul": lambda: cpu @ gpu.T,
        "cat": lambda: engine.cat([cpu, gpu]),
        "where": lambda: engine.where(cpu > 0, cpu, gpu),
        "linear": lambda: F.linear(gpu, engine.ones(4, 3)),
        "cross_entropy": lambda: F.cross_entropy(gpu, labels),
        "nll_loss_weight": lambda: F.nll_loss(gpu, labels.cuda(), weight=engine.ones(3)),
        "bce_with_logits": lambda: F.binary_cross_entropy_with_logits(gpu, cpu),
        "bce": lambda: F.binary_cross_entropy(gpu.sigmoid(), cpu),
        "mse_loss": lambda: F.mse_loss(gpu, cpu),
        "lt": lambda: cpu < gpu,
        "eq": lambda: gpu == cpu,
        "add_": lambda: gpu.add_(cpu),
        "mul_": lambda: cpu.mul_(gpu),
        "index_cpu_by_cuda": lambda: cpu[labels.cuda()],
    }


MIXES = "add matmul cat where linear cross_entropy nll_loss_weight bce_with_logits bce mse_loss"
MIXES += " lt eq add_ mul_ index_cpu_by_cuda"


@pytest.mark.parametrize("op", MIXES.split())
def test_each_kind_of_op_refuses_mixed_devices_as_torch_does(op):
    with pytest.raises(RuntimeError, match="same device"):
        _mixes()[op]()


def test_what_torch_allows_across_devices():
    gpu = engine.zeros(2, 3, device="cuda")
    assert gpu[engine.tensor([1, 0])].is_cuda  # cpu indices into a cuda tensor
    assert gpu[engine.ones(2, 3) > 0].is_cuda
    gpu[0] = engine.ones(3)  # assignment and copy_ move the values
    gpu[1].copy_(engine.full((3,), 2.0))
    np.testing.assert_array_equal(gpu.cpu().numpy(), [[1, 1, 1], [2, 2, 2]])
    for scalar in (np.float32(2), np.float64(0.5), np.int64(3), np.array(2.0)):
        for out in (gpu * scalar, scalar + gpu, gpu**scalar, gpu / scalar, gpu > scalar):
            assert out.is_cuda
    cpu = engine.zeros(2, 3)
    np.testing.assert_array_equal((gpu * np.float32(2)).cpu().numpy(), (cpu.copy_(gpu) * 2).numpy())


# ----- the debugger on the device ------------------------------------------------------


def cuda_mlp() -> tuple[engine.nn.Module, engine.nn.Module]:
    """The same small MLP, once on cpu and once on cuda."""
    from engine import nn

    engine.manual_seed(0)
    cpu = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    engine.manual_seed(0)
    return cpu, nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to("cuda")


def step_fn(model, device: str, lr: float = 0.1):
    """Forward, cross-entropy, backward and an SGD step on one fixed batch."""
    import engine.nn.functional as F
    from engine.optim import SGD

    x = engine.tensor(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    y = engine.tensor([0, 1, 2, 0, 1])
    x, y, opt = x.to(device), y.to(device), SGD(model.parameters(), lr=lr)

    def fn():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return fn


def test_stats_of_a_device_array_are_plain_numbers():
    from engine import debug

    values = RNG.standard_normal((300, 70)).astype(np.float32)  # over the histogram sample
    values[0, :5] = 0
    values[1, 0], values[1, 1] = np.nan, np.inf
    for size in (slice(None), slice(0, 3)):  # summarised at once / when first read
        want, got = (
            debug.stats(values[size]),
            debug.stats(engine.tensor(values[size], device="cuda")),
        )
        assert got.summary() == pytest.approx(want.summary(), rel=1e-5, nan_ok=True)
        assert (got.nan_count, got.inf_count) == (want.nan_count, want.inf_count)
        assert got.hist_counts == want.hist_counts
        for v in (got.min, got.max, got.mean, got.std, got.norm, got.zero_fraction):
            assert type(v) is float
        assert debug.describe(got) == debug.describe(want)


@pytest.mark.parametrize("level", ["stats", "values"])
def test_trace_of_a_device_step_matches_the_cpu_trace(level):
    from engine import debug

    traces = []
    for model, device in zip(cuda_mlp(), ("cpu", "cuda"), strict=True):
        step = step_fn(model, device)  # the batch moves to the device before the trace
        with debug.Tracer(level=level) as tracer:
            step()
        traces.append(tracer.trace)
    cpu, gpu = traces
    assert [(r.op, r.scope, r.shape) for r in gpu.nodes] == [
        (r.op, r.scope, r.shape) for r in cpu.nodes
    ]
    assert sum(r.value_stats is not None for r in gpu.nodes) == len(gpu.nodes)
    assert sum(r.grad_stats is not None for r in gpu.nodes) > 5
    for c, g in zip(cpu.nodes, gpu.nodes, strict=True):
        for attr in ("value_stats", "grad_stats"):
            assert (getattr(g, attr) is None) == (getattr(c, attr) is None), (c.label, attr)
            if getattr(c, attr) is not None:
                want, got = getattr(c, attr).summary(), getattr(g, attr).summary()
                assert got == pytest.approx(want, rel=1e-4, abs=1e-6), (c.label, attr)
        for attr in ("value", "grad") if level == "values" else ():
            assert (getattr(g, attr) is None) == (getattr(c, attr) is None), (c.label, attr)
            if getattr(c, attr) is not None:
                assert type(getattr(g, attr)) is np.ndarray, (c.label, attr)
                np.testing.assert_allclose(getattr(g, attr), getattr(c, attr), rtol=1e-5, atol=1e-6)


def test_stepper_steps_through_a_device_pass():
    from engine import debug

    model = cuda_mlp()[1]
    stepper = debug.Stepper(step_fn(model, "cuda"))
    try:
        events = [stepper.step()]
        while events[-1].phase not in ("done", "error"):
            events.append(stepper.step())
    finally:
        stepper.close()
    assert events[-1].phase == "done", events[-1]
    assert {"forward", "backward"} <= {e.phase for e in events}
    assert model[0].weight.is_cuda and model[0].weight.grad.is_cuda


def test_anomaly_on_the_device_names_the_producer():
    from engine import debug

    x = engine.tensor([-1.0, 0.5, 2.0], device="cuda", requires_grad=True)
    err = debug.find_anomaly(lambda: x.relu().log().sum().backward())
    assert err is not None and err.node.op == "log" and err.phase == "forward"
    assert "1 Inf" in str(err)
    model = cuda_mlp()[1]
    assert debug.find_anomaly(step_fn(model, "cuda")) is None
    err = debug.find_anomaly(step_fn(model, "cuda", lr=1e39))
    assert err is not None and err.phase == "update" and err.node.op == "parameter"


def test_monitor_reports_device_layers_and_parameters():
    from engine import debug

    cpu_model, gpu_model = cuda_mlp()
    reports = []
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        monitor = debug.Monitor(model, every=1)
        fn = step_fn(model, device)
        fn()
        reports.append(monitor.step())
        monitor.close()
    cpu, gpu = reports
    assert gpu is not None and len(gpu.layers) == len(cpu.layers) == 3
    assert [p.name for p in gpu.params] == [p.name for p in cpu.params]
    for got, want in zip(gpu.layers + gpu.params, cpu.layers + cpu.params, strict=True):
        for field, value in vars(want).items():
            if isinstance(value, float):
                assert type(getattr(got, field)) is float
                assert getattr(got, field) == pytest.approx(value, rel=1e-5), (want.name, field)


@pytest.mark.parametrize("op", ["conv2d", "batch_norm", "linear"])
def test_node_gradient_check_of_a_device_trace(op):
    from engine import debug, nn

    engine.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3)
    ).to("cuda")
    x = engine.tensor(RNG.standard_normal((2, 1, 4, 4)).astype(np.float32), device="cuda")
    y = engine.tensor([0, 2], device="cuda")
    running_mean = model[1].running_mean.cpu().numpy()
    trace = debug.trace(
        lambda: engine.nn.functional.cross_entropy(model(x), y).backward(), "values"
    )
    after_trace = model[1].running_mean.cpu().numpy()
    (node,) = trace.find(op=op)
    result = debug.check_node_grad(trace, node.id)
    assert result.inputs and result.passed() and result.max_abs_error < 1e-6
    assert not np.array_equal(after_trace, running_mean)  # the traced pass updated it, once
    np.testing.assert_array_equal(model[1].running_mean.cpu().numpy(), after_trace)


# ----- files and data on the device ------------------------------------------------------


def test_save_and_load_device_tensors_and_optimizer_state(tmp_path):
    from engine import nn
    from engine.optim import Adam

    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to("cuda")
    opt = Adam(model.parameters(), lr=0.1)
    x = engine.tensor(RNG.standard_normal((5, 4)).astype(np.float32), device="cuda")
    model(x).pow(2).sum().backward()
    opt.step()
    path = tmp_path / "run.npz"
    engine.save({"model": model.state_dict(), "optim": opt.state_dict(), "x": x}, path)

    for where, on_cuda in ((None, False), ("cpu", False), ("cuda", True)):
        loaded = engine.load(path, map_location=where)
        assert loaded["x"].is_cuda == on_cuda
        np.testing.assert_array_equal(loaded["x"].cpu().numpy(), x.cpu().numpy())
        for key, value in model.state_dict().items():
            assert loaded["model"][key].is_cuda == on_cuda
            np.testing.assert_array_equal(loaded["model"][key].cpu().numpy(), value.cpu().numpy())
    host = engine.load(path)
    engine.manual_seed(1)
    again = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to("cuda")
    again.load_state_dict(host["model"])  # cpu values into cuda parameters: they stay on cuda
    assert all(t.is_cuda for t in again.state_dict().values())
    opt_again = Adam(again.parameters(), lr=0.1)
    opt_again.load_state_dict(host["optim"])
    assert opt_again.state[again[0].weight]["exp_avg"].is_cuda
    with engine.no_grad():
        np.testing.assert_array_equal(again(x).cpu().numpy(), model(x).cpu().numpy())


def test_a_data_loader_over_device_tensors_gives_device_batches():
    from engine.utils.data import DataLoader, TensorDataset, random_split

    xs = engine.tensor(RNG.standard_normal((10, 3)).astype(np.float32), device="cuda")
    ys = engine.arange(10, device="cuda")
    train, _ = random_split(
        TensorDataset(xs, ys), [7, 3], generator=engine.Generator().manual_seed(0)
    )
    loader = DataLoader(
        train, batch_size=4, shuffle=True, generator=engine.Generator().manual_seed(1)
    )
    seen = []
    for x, y in loader:
        assert x.is_cuda and y.is_cuda
        np.testing.assert_array_equal(x.cpu().numpy(), xs.cpu().numpy()[y.cpu().numpy()])
        seen += y.tolist()
    assert len(seen) == 7 == len(set(seen))
