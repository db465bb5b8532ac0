"""`stepgrad run --explain-nan SCRIPT.py`: the first op that makes a NaN or an Inf, reported."""

from __future__ import annotations

import textwrap

import engine
from app.sessions import nan_watch
from app.sessions.nan_watch import NanWatch, NonFiniteFound
from tests.app.cli_process import stepgrad

LOG_OF_ZERO = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class ConfidenceLoss(nn.Module):
        def forward(self, probs, target):
            picked = (probs * target).sum(dim=1)
            return -torch.log(picked).mean()


    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1))
    criterion = ConfidenceLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(6, 4)
    target = F.one_hot(torch.tensor([0, 1, 2, 0, 1, 2]), 3).float()
    for step in range(5):
        if step == 2:
            target = target * 0  # the bug: no class picked, a probability of 0
        opt.zero_grad()
        loss = criterion(model(x), target)
        loss.backward()
        opt.step()
        print("step", step)
"""

SQRT_AT_ZERO = """
    import torch


    def norm(v):
        return torch.sqrt(v).sum()


    w = torch.ones(3, requires_grad=True)
    for step in range(3):
        scale = torch.full((3,), 1.0 - step)
        loss = norm(w * scale)
        loss.backward()
"""

EXP_OVERFLOW = """
    import torch
    import torch.nn as nn


    class Scorer(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(2, 2)

        def forward(self, x):
            return torch.exp(self.proj(x).abs() * 100)


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(2, 2)
            self.head = Scorer()

        def forward(self, x):
            return self.head(self.body(x))


    torch.manual_seed(0)
    net = Net()
    net(torch.ones(1, 2) * 50).sum().backward()
"""

CLEAN = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = nn.Linear(4, 4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    mask = torch.tensor([[True, True, False, False]] * 3)
    for step in range(3):
        opt.zero_grad()
        scores = model(torch.randn(3, 4)).masked_fill(~mask, float("-inf"))  # on purpose
        loss = -F.log_softmax(scores, dim=1)[:, 0].mean()
        loss.backward()
        opt.step()
    print("trained", round(loss.item(), 2) > 0)
"""

OVERFLOWING_STEP = """
    import torch
    import torch.nn as nn

    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1e38)
    for step in range(3):
        opt.zero_grad()
        loss = (model(torch.ones(4, 3)) - 100).pow(2).mean()
        loss.backward()
        opt.step()
"""


def _script(tmp_path, text: str):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(text))
    return path


def _line(path, text: str) -> int:
    """The number of the line of `path` that holds `text`."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _field(stderr: str, name: str) -> str:
    """The value on the report's `name` line (e.g. "iteration")."""
    return next(
        line.strip()[len(name) :].strip()
        for line in stderr.splitlines()
        if line.strip().startswith(name + " ")
    )


def test_log_of_zero_in_a_custom_loss_is_reported_at_its_line_and_iteration(tmp_path):
    path = _script(tmp_path, LOG_OF_ZERO)
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    where = _line(path, "return -torch.log(picked).mean()")
    assert lines[0] == f"script.py:{where}: log: produced Inf from finite inputs"
    assert lines[1].strip() == "return -torch.log(picked).mean()"
    assert _field(done.stderr, "input 0").startswith("(6,) float32  min 0, max 0, zeros 6/6")
    assert _field(done.stderr, "module") == "ConfidenceLoss"
    assert _field(done.stderr, "iteration") == "3 (after 2 backward() calls)"
    assert "the log of 0 is -Inf" in done.stderr
    caller = _line(path, "loss = criterion(model(x), target)")
    assert f"called from script.py:{caller} in <module>" in done.stderr
    assert done.stdout.split() == ["step", "0", "step", "1"]  # stopped in the third pass
    assert "Traceback" not in done.stderr


def test_an_infinite_gradient_names_the_forward_op_and_its_line(tmp_path):
    path = _script(tmp_path, SQRT_AT_ZERO)
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    where = _line(path, "return torch.sqrt(v).sum()")
    assert lines[0] == f"script.py:{where}: sqrt (backward): produced Inf from finite inputs"
    assert lines[1].strip() == "return torch.sqrt(v).sum()"
    assert _field(done.stderr, "saved out").endswith("zeros 3/3")
    assert _field(done.stderr, "iteration") == "2 (in backward() call 2)"
    backward = _line(path, "loss.backward()")
    assert f"called from script.py:{backward} in <module>: loss.backward()" in done.stderr
    assert "the gradient of sqrt at 0 is infinite" in done.stderr


def test_a_gradient_made_inside_a_library_module_is_placed_at_the_users_line(tmp_path):
    path = _script(
        tmp_path,
        """
        import torch
        import torch.nn as nn

        layer = nn.Linear(2, 2)
        with torch.no_grad():
            layer.weight.fill_(1e30)
        x = torch.zeros(1, 2, requires_grad=True)
        y = layer(x)
        (y.sum() * 1e10).backward()
        """,
    )
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    where = _line(path, "y = layer(x)")
    assert done.stderr.startswith(
        f"script.py:{where}: linear (backward): produced Inf from finite inputs\n    y = layer(x)\n"
    )


def test_an_exp_overflow_inside_a_module_names_the_module_path(tmp_path):
    path = _script(tmp_path, EXP_OVERFLOW)
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    where = _line(path, "return torch.exp(")
    assert done.stderr.startswith(f"script.py:{where}: exp: produced Inf from finite inputs\n")
    assert _field(done.stderr, "module") == "head (Scorer)"
    assert _field(done.stderr, "iteration") == "1 (after 0 backward() calls)"
    assert "exp overflows past 88.72 in float32" in done.stderr
    caller = _line(path, "return self.head(self.body(x))")
    assert f"called from script.py:{caller} in forward" in done.stderr


def test_a_step_that_overflows_a_weight_is_reported_at_the_step(tmp_path):
    path = _script(tmp_path, OVERFLOWING_STEP)
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    where = _line(path, "opt.step()")
    assert done.stderr.startswith(
        f"script.py:{where}: SGD.step: made parameter 'weight' Inf from finite inputs\n"
    )
    assert _field(done.stderr, "iteration") == "1 (the step after backward() call 1)"


def test_a_clean_script_with_a_minus_inf_mask_runs_to_the_end(tmp_path):
    _script(tmp_path, CLEAN)
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "trained True\n"
    assert done.stderr == ""


def test_the_watch_is_on_only_with_the_flag(tmp_path):
    _script(
        tmp_path,
        """
        import sys
        import torch

        watch = torch.autograd.state.instrument
        print(type(watch).__name__, "app.sessions.nan_watch" in sys.modules)
        """,
    )
    assert stepgrad("run", "script.py", cwd=tmp_path).stdout == "NoneType False\n"
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.stdout == "NanWatch True\n"


def test_what_the_watch_keeps_stays_bounded(monkeypatch):
    monkeypatch.setattr(nan_watch, "RECORD_CAP", 100)
    model = engine.nn.Linear(8, 8)
    with NanWatch() as watch:
        for _ in range(20):
            model(engine.randn(4, 8)).pow(2).mean().backward()
            assert watch.trace.nodes == [] and not watch._by_tensor and not watch._leaf_tensors
        with engine.no_grad():
            for _ in range(200):  # no backward() at all
                model(engine.randn(4, 8)).relu()
                assert len(watch.trace.nodes) <= 100 + 3
    assert watch.backward_calls == 20


def test_a_gradient_from_a_graph_older_than_the_records_is_still_checked():
    w = engine.zeros(3, requires_grad=True)
    with NanWatch() as watch:
        kept = engine.sqrt(w)
        engine.ones(1, requires_grad=True).sum().backward()  # forgets kept's record
        try:
            kept.sum().backward()
        except NonFiniteFound as found:
            assert found.message == "sqrt (backward): produced Inf from finite inputs"
            assert found.origin == ""  # its line is no longer known
        else:
            raise AssertionError("the Inf gradient went unreported")
    assert watch.backward_calls == 1


def test_the_flag_without_a_script_is_a_usage_error(tmp_path):
    done = stepgrad("run", "--explain-nan", cwd=tmp_path)
    assert done.returncode == 2
    assert "--explain-nan needs a script" in done.stderr
    assert "--explain-nan" in stepgrad("run", "--help", cwd=tmp_path).stdout


def test_a_nan_in_the_data_is_reported_at_the_first_op_that_reads_it(tmp_path):
    path = _script(
        tmp_path,
        """
        import torch

        x = torch.tensor([1.0, float("nan")])
        y = x.reshape(2, 1)  # only moves values: not where it is reported
        z = y * 2
        """,
    )
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    where = _line(path, "z = y * 2")
    assert done.stderr.startswith(f"script.py:{where}: mul: input 0 already holds NaN, made ")


def test_a_row_masked_whole_is_reported_where_its_nan_is_made(tmp_path):
    path = _script(
        tmp_path,
        """
        import torch
        import torch.nn.functional as F

        scores = torch.randn(2, 3, requires_grad=True)
        mask = torch.tensor([[True, False, True], [False, False, False]])
        masked = scores.masked_fill(~mask, float("-inf"))  # -inf on purpose: not reported
        weights = F.softmax(masked, dim=1)
        """,
    )
    done = stepgrad("run", "--explain-nan", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    where = _line(path, "weights = F.softmax(masked, dim=1)")
    assert done.stderr.startswith(
        f"script.py:{where}: softmax: produced NaN from inputs holding Inf\n"
    )
