"""`stepgrad run SCRIPT.py`: a person's PyTorch script on the engine, as a shell sees it."""

from __future__ import annotations

import sys
import textwrap

from app.sessions.scripts import engine_as_torch
from tests.app.cli_process import stepgrad

LENET = """
    import sys

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(FEATURES, 120)
            self.fc2 = nn.Linear(120, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(x.size(0), -1)
            x = self.fc1(x)
            return self.fc2(x)


    def train():
        torch.manual_seed(0)
        data = TensorDataset(torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,)))
        model = Net()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for inputs, labels in DataLoader(data, batch_size=8):
            opt.zero_grad()
            outputs = model(inputs)
            F.cross_entropy(outputs, labels).backward()
            opt.step()
        print("trained", type(torch).__name__, torch.__name__, sys.argv[1:], __name__)


    if __name__ == "__main__":
        train()
        sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


def _script(tmp_path, text: str, name: str = "script.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _line(path, text: str) -> int:
    """The number of the line of `path` that holds `text`."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_correct_script_runs_on_the_engine_with_its_arguments_and_exit_status(tmp_path):
    _script(tmp_path, LENET.replace("FEATURES", "4 * 4 * 16"))
    done = stepgrad("run", "script.py", "3", "--flag", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "trained module engine ['3', '--flag'] __main__" in done.stdout
    assert done.stderr == ""


def test_a_shape_error_is_reported_at_the_users_line_with_shapes_and_a_fix(tmp_path):
    path = _script(tmp_path, LENET.replace("FEATURES", "7 * 7 * 16"))
    done = stepgrad("run", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    where = _line(path, "x = self.fc1(x)")
    assert lines[0].startswith(f"script.py:{where}: linear: ")  # FILE:LINE: for editors
    assert "(8, 256)" in lines[0] and "784" in lines[0]
    assert lines[1].strip() == "x = self.fc1(x)"
    assert any(line.split()[0] == "x" and "(8, 256) float32" in line for line in lines)
    assert any("self.fc1" in line and "in_features=784" in line for line in lines)
    assert "set in_features=256 (Linear(256, 120))" in done.stderr
    called = _line(path, "outputs = model(inputs)")
    assert f"called from script.py:{called} in train: outputs = model(inputs)" in done.stderr
    assert "engine" + "/" not in done.stderr and "Traceback" not in done.stderr


def test_the_values_indices_pair_passed_to_relu_gets_its_remedy(tmp_path):
    _script(
        tmp_path,
        """
        import torch
        import torch.nn.functional as F
        x = torch.ones(3, 4)
        y = F.relu(torch.max(x, 0))
        """,
    )
    done = stepgrad("run", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("script.py:5: relu(): argument 'input'")
    assert ".values" in done.stderr


def test_an_import_the_engine_does_not_provide_is_one_line(tmp_path):
    _script(tmp_path, "import torch\nimport torch.distributed as dist\n")
    done = stepgrad("run", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(
        "script.py:2: torch.distributed is not provided"
    )
    assert "torch.nn" in done.stderr  # says what is supported


def test_a_missing_script_and_help(tmp_path):
    done = stepgrad("run", "nowhere.py", cwd=tmp_path)
    assert done.returncode == 2 and "nowhere.py: no such file" in done.stderr
    done = stepgrad("run", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "never executes anything" in done.stdout
    done = stepgrad("--help", cwd=tmp_path)
    assert "run" in done.stdout and "your own PyTorch script" in done.stdout


def test_the_hook_gives_engine_modules_only_inside_and_puts_torch_back(tmp_path):
    before = {name: sys.modules.get(name) for name in ("torch", "torch.nn")}
    with engine_as_torch():
        import torch
        import torch.nn.functional as F

        import engine

        assert torch is engine and F is engine.nn.functional
    assert {name: sys.modules.get(name) for name in ("torch", "torch.nn")} == before
