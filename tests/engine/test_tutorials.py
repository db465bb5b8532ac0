"""Tutorial-style programs run unchanged on the engine and on PyTorch, with the same results.

Each program is written once against a module named `torch`, the way tutorials and
courses write it, and returns what a reader would print: values, shapes, dtypes,
gradients, exception types. Weights are set from a fixed formula in both libraries
(their random generators differ), so every number can be compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine

torch_ref = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _fill(torch, module) -> None:
    """Give every parameter of `module` the same values in either library."""
    with torch.no_grad():
        for k, (_, p) in enumerate(sorted(module.named_parameters())):
            n = p.numel()
            values = np.sin(np.arange(n) * 0.37 + k) * (0.5 / math.sqrt(max(p.shape[-1], 1)))
            p.copy_(torch.tensor(values.reshape(tuple(p.shape)), dtype=p.dtype))


def _outcome(fn) -> str:
    try:
        fn()
    except Exception as exc:  # the builtin type it is, which is what a caller catches
        return next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
    return "no error"


def blitz_tensors(torch, tmp):
    x = torch.zeros(5, 3, dtype=torch.long)
    y = torch.tensor([5.5, 3])
    z = y.new_ones(5, 3, dtype=torch.double)
    w = torch.arange(12.0).view(-1, 4)
    a = torch.ones(5)
    b = a.numpy()
    a.add_(1)
    c = torch.from_numpy(np.arange(4.0))
    return {
        "x": x,
        "y": y,
        "z": z,
        "size": tuple(w.size()),
        "col": w[:, 1],
        "item": w[1, 2].item(),
        "shared": b.copy(),
        "c": c * 2,
        "sum": torch.add(w, 1).sum(),
        "t": w.t().contiguous().view(2, 6),
        "mT": w.mT,
        "lt": torch.LongTensor([1, 2, 3]),
        "type": [t.type().split(".")[-1] for t in (x, y, z)],
        "ft": torch.FloatTensor([[1, 2], [3, 4]]),
    }


def blitz_autograd(torch, tmp):
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()
    v = torch.tensor([0.1, 1.0, 0.0001])
    a = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    b = a * 2
    while b.data.norm() < 1000:
        b = b * 2
    b.backward(v)
    with torch.no_grad():
        frozen = (a**2).requires_grad
    return {
        "grad": x.grad,
        "y_fn": y.grad_fn.name(),
        "repr": repr(z).split("grad_fn=")[1],
        "b": b,
        "a_grad": a.grad,
        "frozen": frozen,
        "detached": a.detach().requires_grad,
    }


def blitz_net(torch, tmp):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    net = Net()
    _fill(torch, net)
    params = list(net.parameters())
    inp = torch.tensor(np.cos(np.arange(2 * 32 * 32)).reshape(2, 1, 32, 32), dtype=torch.float32)
    out = net(inp)
    target = torch.arange(20.0).view(2, -1) / 20
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    optimizer.zero_grad()
    loss = criterion(out, target)
    loss.backward()
    conv1_grad = net.conv1.bias.grad.clone()
    optimizer.step()
    return {
        "n_params": len(params),
        "shape0": tuple(params[0].size()),
        "out": out,
        "loss": loss,
        "conv1_grad": conv1_grad,
        "after": net(inp),
    }


def custom_function(torch, tmp):
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 200, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    for _ in range(50):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    return {"loss": loss, "coeffs": torch.stack([a, b, c, d]).detach()}


def module_loss_loader(torch, tmp):
    nn = torch.nn
    from_data = torch.utils.data

    class TwoLayer(nn.Module):
        def __init__(self, d_in, hidden, d_out):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, d_out))

        def forward(self, x):
            return self.net(x)

    def smooth_loss(pred, target):
        return torch.mean(torch.log(torch.cosh(pred - target)))

    xs = torch.tensor(np.linspace(-1, 1, 48).reshape(16, 3), dtype=torch.float32)
    ys = torch.sin(xs.sum(dim=1, keepdim=True))
    loader = from_data.DataLoader(from_data.TensorDataset(xs, ys), batch_size=5, shuffle=False)
    model = TwoLayer(3, 8, 1)
    _fill(torch, model)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    losses, lrs, sizes = [], [], []
    for _ in range(4):
        for xb, yb in loader:
            sizes.append(len(xb))
            opt.zero_grad()
            loss = smooth_loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    path = str(tmp / f"{torch.__name__}_model.pt")
    torch.save(model.state_dict(), path)
    again = TwoLayer(3, 8, 1)
    again.load_state_dict(torch.load(path))
    again.eval()
    return {
        "losses": np.array(losses),
        "lrs": np.array(lrs),
        "sizes": sizes,
        "keys": sorted(model.state_dict()),
        "reloaded": again(xs),
    }


def tensor_ops(torch, tmp):
    x = torch.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    idx = torch.tensor([[2, 0], [1, 1]])
    values, order = torch.sort(x, dim=1, descending=True)
    top = x.topk(2, dim=1)
    mask = x > 1
    return {
        "gather": torch.gather(x, 1, idx),
        "sorted": values,
        "order": order,
        "topk": top.values,
        "topk_i": top.indices,
        "masked": x.masked_fill(mask, 0.0),
        "selected": x[mask],
        "where": torch.where(mask, x, torch.zeros_like(x)),
        "argmax": x.argmax(dim=1),
        "cat": torch.cat([x, x * 2], dim=0).shape,
        "chunks": [c.shape for c in x.chunk(3, dim=1)],
        "einsum": torch.einsum("ij,kj->ik", x, x),
        "bmm": torch.bmm(x.unsqueeze(0), x.t().unsqueeze(0)),
        "cumsum": x.cumsum(dim=1),
        "norm": x.norm(),
        "clamp": x.clamp(min=0.5, max=3.0),
        "unique": torch.unique(torch.tensor([3, 1, 3, 2, 1])),
        "one_hot": torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), 3),
        "eq": (x == x.clone()).all().item(),
        "allclose": torch.allclose(x, x + 1e-9),
        "stack": torch.stack([x, x], dim=2).shape,
        "flip": x.flip(0),
        "repeat": x.repeat(2, 1).shape,
        "tril": torch.tril(torch.ones(3, 3)),
    }


def sequence_model(torch, tmp):
    nn = torch.nn

    class LM(nn.Module):
        def __init__(self, vocab, emb, hidden):
            super().__init__()
            self.embed = nn.Embedding(vocab, emb)
            self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, tokens, state=None):
            out, state = self.lstm(self.embed(tokens), state)
            return self.head(out), state

    model = LM(11, 6, 5)
    _fill(torch, model)
    tokens = torch.tensor([[1, 4, 2, 9, 3], [7, 7, 0, 10, 5]])
    logits, (h, c) = model(tokens[:, :-1])
    loss = nn.functional.cross_entropy(logits.reshape(-1, 11), tokens[:, 1:].reshape(-1))
    loss.backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    return {
        "logits": logits,
        "h": h,
        "c": c,
        "loss": loss,
        "total_norm": total,
        "clipped": model.lstm.weight_hh_l1.grad,
        "keys": sorted(model.state_dict()),
    }


def cnn_training(torch, tmp):
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.5),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 5),
    )
    _fill(torch, net)
    x = torch.tensor(
        np.sin(np.arange(6 * 3 * 8 * 8) * 0.1).reshape(6, 3, 8, 8), dtype=torch.float32
    )
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=6)
    lrs = []
    net.eval()  # dropout off: the two libraries draw different masks
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    with torch.no_grad():
        pred = net(x).argmax(dim=1)
    return {"loss": loss, "lrs": np.array(lrs), "pred": pred, "running": net[1].running_mean}


def gradient_penalty(torch, tmp):
    nn = torch.nn
    critic = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    _fill(torch, critic)
    x = torch.tensor(np.linspace(-1, 1, 12).reshape(4, 3), dtype=torch.float32, requires_grad=True)
    score = critic(x)
    (g,) = torch.autograd.grad(score.sum(), x, create_graph=True)
    penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    f = (w**3).sum()
    (gw,) = torch.autograd.grad(f, w, create_graph=True)
    (hv,) = torch.autograd.grad(gw, w, grad_outputs=torch.tensor([1.0, -1.0]))
    return {"penalty": penalty, "first_grad": critic[0].weight.grad, "hvp": hv}


def errors(torch, tmp):
    nn, F = torch.nn, torch.nn.functional
    x = torch.ones(4, 7)
    return {
        "linear": _outcome(lambda: nn.Linear(8, 2)(x)),
        "view": _outcome(lambda: x.view(-1, 5)),
        "relu_tuple": _outcome(lambda: F.relu(torch.max(x, 0))),
        "cat": _outcome(lambda: torch.cat([x, torch.ones(3, 6)])),
        "index": _outcome(lambda: x[4]),
        "mm": _outcome(lambda: torch.mm(x, x)),
        "ce_target": _outcome(lambda: F.cross_entropy(x, torch.tensor([0, 1, 2, 7]))),
        "backward_twice": _outcome(lambda: _backward_twice(torch)),
    }


def _backward_twice(torch):
    a = torch.ones(3, requires_grad=True)
    out = (a.exp() * 2).sum()
    out.backward()
    out.backward()


PROGRAMS = [
    blitz_tensors,
    blitz_autograd,
    blitz_net,
    custom_function,
    module_loss_loader,
    tensor_ops,
    sequence_model,
    cnn_training,
    gradient_penalty,
    errors,
]


def _plain(value):
    if isinstance(value, engine.Tensor | torch_ref.Tensor):
        return value.detach().numpy()
    if isinstance(value, torch_ref.Size):
        return tuple(value)
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_program_gives_pytorchs_results(program, tmp_path):
    ours = program(engine, tmp_path)
    theirs = program(torch_ref, tmp_path)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        a, b = _plain(ours[key]), _plain(theirs[key])
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray), key
            assert a.dtype == b.dtype, (key, a.dtype, b.dtype)
            assert a.shape == b.shape, (key, a.shape, b.shape)
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5, err_msg=key)
        elif isinstance(b, float):
            assert a == pytest.approx(b, rel=2e-4, abs=2e-5), key
        else:
            assert a == b, key
