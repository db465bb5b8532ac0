"""`stepgrad run SCRIPT.py`: a person's PyTorch script on the engine, as a shell sees it."""

from __future__ import annotations

import sys
import textwrap

import pytest

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


def _report(tmp_path, text: str, *args: str) -> list[str]:
    """The lines of the report `stepgrad run` gives for a script that fails."""
    _script(tmp_path, text)
    done = stepgrad("run", "script.py", *args, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "engine" + "/" not in done.stderr
    return done.stderr.splitlines()


def _row(lines: list[str], name: str) -> str:
    """The operand row of a report that describes `name`."""
    return next(line.strip() for line in lines[2:] if line.strip().startswith(name + "  "))


def test_a_conv_given_the_wrong_channels_inside_a_sequential_is_named_by_its_path(tmp_path):
    lines = _report(
        tmp_path,
        """
        import torch
        import torch.nn as nn
        model = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.Flatten())
        images = torch.randn(4, 1, 28, 28)
        outputs = model(images)
        """,
    )
    assert lines[0].startswith("script.py:6: conv2d: ")
    assert _row(lines, "model.0").startswith("model.0  Conv2d(3, 6, kernel_size=(5, 5)")
    assert _row(lines, "images").startswith("images   (4, 1, 28, 28) float32")
    assert "the input has 1 channel; set in_channels=1 (Conv2d(1, 6, kernel_size=5))" in lines


def test_a_conv_given_images_without_a_channel_dimension_gets_unsqueeze(tmp_path):
    lines = _report(
        tmp_path,
        """
        import torch
        import torch.nn as nn
        conv = nn.Conv2d(1, 6, 5)
        out = conv(torch.randn(4, 28, 28))
        """,
    )
    assert (
        "the input (4, 28, 28) has no channel dimension; add one with .unsqueeze(1) "
        "to get (4, 1, 28, 28)"
    ) in lines


def test_the_linear_fix_reads_the_layers_own_input_not_the_scripts_operands(tmp_path):
    lines = _report(
        tmp_path,
        """
        import torch
        import torch.nn as nn
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(10, 10))
        outputs = model(torch.randn(4, 1, 28, 28))
        """,
    )
    assert _row(lines, "model.3") == "model.3  Linear(in_features=10, out_features=10, bias=True)"
    assert "the input has 100 features per sample; set in_features=100 (Linear(100, 10))" in lines


NESTED = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Body(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.pool = nn.MaxPool2d(2)
            self.blocks = nn.ModuleList([nn.Linear(676, 676), nn.Linear(600, 10)])

        def forward(self, x):
            x = self.pool(F.relu(self.conv(x))).view(VIEW)
            for block in self.blocks:
                x = block(x)
            return x


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = Body()

        def forward(self, x):
            return self.body(x)


    net = Net()
    out = net(torch.randn(3, 1, 28, 28))
"""


def test_a_view_on_an_unnamed_tensor_deep_in_the_model(tmp_path):
    lines = _report(tmp_path, NESTED.replace("VIEW", "-1, 4 * 7 * 7"))
    where = _line(tmp_path / "script.py", "view(-1, 4 * 7 * 7)")
    assert lines[0].startswith(f"script.py:{where}: reshape: ")
    assert lines[2].strip() == "^" * len("self.pool(F.relu(self.conv(x))).view(-1, 4 * 7 * 7)")
    assert _row(lines, "self") == "self       Body in net.body"
    assert _row(lines, "self.pool").endswith(" in net.body.pool")
    assert _row(lines, "x") == "x          (3, 1, 28, 28) float32"  # an argument: no 'from'
    assert (
        "the tensor has 4*13*13=676 values per sample; use .view(-1, 676), "
        "or .flatten(1), which always fits"
    ) in lines
    assert lines[-2:] == [
        f"called from script.py:{_line(tmp_path / 'script.py', 'return self.body(x)')} in "
        "forward: return self.body(x)",
        f"called from script.py:{_line(tmp_path / 'script.py', 'out = net(')} in <module>: "
        "out = net(torch.randn(3, 1, 28, 28))",
    ]


def test_a_layer_in_a_loop_is_named_by_its_index_and_x_has_no_single_origin(tmp_path):
    lines = _report(tmp_path, NESTED.replace("VIEW", "x.size(0), -1"))
    assert lines[0].startswith(f"script.py:{_line(tmp_path / 'script.py', 'x = block(x)')}: ")
    assert _row(lines, "block").endswith(" in net.body.blocks.1")
    assert _row(lines, "x") == "x      (3, 676) float32, requires grad"  # from either line
    assert "the input has 676 features per sample; set in_features=676 (Linear(676, 10))" in lines


def test_tensor_valued_sub_expressions_are_shown_and_nothing_of_the_script_reruns(tmp_path):
    _script(
        tmp_path,
        """
        import torch
        import torch.nn as nn


        def shout(t):
            print("shout ran")
            return t


        class Loud(nn.Module):
            def forward(self, t):
                print("forward ran")
                return t


        loud = Loud()
        x = torch.ones(4, 3, 2, 2)
        z = torch.ones(5, 2)
        y = torch.cat([x.view(x.size(0), -1), shout(z), loud(z), z[:, 0:1]], 1)
        """,
    )
    done = stepgrad("run", "script.py", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["shout ran", "forward ran"]  # once each, by the script
    lines = done.stderr.splitlines()
    assert lines[0].startswith("script.py:20: cat: ")
    assert _row(lines, "x.view(x.size(0), -1)").endswith("(4, 12) float32")
    assert _row(lines, "z[:, 0:1]").endswith("(5, 1) float32")
    assert _row(lines, "x").endswith(
        "(4, 3, 2, 2) float32   from torch.ones(4, 3, 2, 2) at script.py:18"
    )
    assert not any(line.split()[:1] in (["shout(z)"], ["loud(z)"]) for line in lines)


@pytest.mark.parametrize(
    ("labels", "fix"),
    [
        (
            "torch.tensor([1.0, 2.0, 3.0, 4.0])",
            "labels holds class indices as float32; pass labels.long()",
        ),
        (
            "F.one_hot(torch.tensor([1, 2, 3, 4]), 10)",
            "labels looks one-hot (4, 10); pass class indices: labels.argmax(1)",
        ),
        (
            "torch.tensor([[1], [2], [3], [4]])",
            "labels has shape (4, 1); pass one index per sample: labels.squeeze(1)",
        ),
        (
            "torch.arange(8)",
            "outputs has 4 rows of scores for 8 targets; check that forward keeps the batch",
        ),
        (
            "torch.tensor([1, 2, 3, 10])",
            "the labels go up to 10 but outputs has 10 classes; the last layer needs 11 outputs",
        ),
    ],
)
@pytest.mark.parametrize(
    "loss", ["nn.CrossEntropyLoss()(outputs, labels)", "F.cross_entropy(outputs, labels)"]
)
def test_a_cross_entropy_target_that_does_not_fit_gets_its_fix(tmp_path, labels, fix, loss):
    lines = _report(
        tmp_path,
        f"""
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        outputs = torch.randn(4, 10)
        labels = {labels}
        loss = {loss}
        """,
    )
    assert lines[0].startswith("script.py:7: ")
    assert any(line.startswith(fix) for line in lines)


@pytest.mark.parametrize(
    ("product", "fix"),
    [
        (
            "a @ w",
            "a (4, 3) has 3 columns but w (5, 3) has 5 rows; they must be equal: a @ w.t() fits",
        ),
        (
            "torch.matmul(w.t(), a) + 1",
            "w.t() (3, 5) has 5 columns but a (4, 3) has 4 rows; they must be equal",
        ),
    ],
)
def test_matmul_operands_whose_inner_dimensions_differ(tmp_path, product, fix):
    lines = _report(
        tmp_path,
        f"""
        import torch
        a = torch.randn(4, 3)
        w = torch.randn(5, 3)
        y = {product}
        """,
    )
    assert lines[0].startswith("script.py:5: matmul: ")
    assert fix in lines


def test_a_syntax_error_is_reported_at_its_line(tmp_path):
    path = _script(tmp_path, "import torch\nx = torch.ones(3\nprint(x)\n", "broken.py")
    done = stepgrad("run", str(path), cwd=tmp_path)
    assert done.returncode == 1
    first, source, caret = done.stderr.splitlines()[:3]
    assert first == "broken.py:2: SyntaxError: '(' was never closed"
    assert source.strip() == "x = torch.ones(3" and caret.strip() == "^"
    assert "Traceback" not in done.stderr
