"""`stepgrad run` on each script in examples/: the correct ones train, each buggy one
gives its report (file, line, shapes, fix) or shows its bug in what it prints."""

from __future__ import annotations

import functools
import math
import re

import pytest

from tests.app.cli_process import ROOT, stepgrad
from tests.engine.idx_files import write_mnist

EXAMPLES = ROOT / "examples"


@functools.cache
def _run(name: str, *args: str):
    """`stepgrad run examples/NAME ARGS` from the repository root, once per test run."""
    return stepgrad("run", f"examples/{name}", *args)


def _line(name: str, text: str) -> int:
    """The number of the line of examples/NAME that holds `text`."""
    lines = (EXAMPLES / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _losses(stdout: str) -> list[float]:
    return [float(value) for value in re.findall(r"^epoch \d+: loss (\S+)$", stdout, re.M)]


def _accuracy(stdout: str) -> float:
    return float(re.search(r"^test accuracy: ([\d.]+)%", stdout, re.M).group(1))


def _row(stderr: str, name: str) -> str:
    """The operand row of the report that describes `name`."""
    rows = stderr.splitlines()[2:]  # after the first line and the source line
    return next(line.strip() for line in rows if line.split()[:1] == [name])


def _caret_under(stderr: str, text: str) -> bool:
    """Whether the report's ^^^ line marks exactly `text` in the source line above it."""
    lines = stderr.splitlines()
    source, caret = lines[1], lines[2]
    start = caret.index("^")
    return caret.strip() == "^" * len(text) and source[start : start + len(text)] == text


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("lenet_mnist.py", ("--epochs", "3")),
        ("branching_module.py", ("--epochs", "3")),
        ("custom_loss.py", ("--epochs", "3")),
    ],
)
def test_a_correct_example_trains_and_exits_0(name, args):
    done = _run(name, *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    losses = _losses(done.stdout)
    assert len(losses) == 3 and losses[-1] < 0.6 * losses[0]
    assert _accuracy(done.stdout) > 70


def test_lenet_reads_mnist_from_a_data_folder_when_given_one(tmp_path):
    write_mnist(tmp_path, sizes=(64, 40))
    done = _run("lenet_mnist.py", "--epochs", "1", "--data", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert len(_losses(done.stdout)) == 1
    assert "test accuracy: " in done.stdout and " of 40 images" in done.stdout


def test_the_custom_loss_matches_cross_entropy_without_smoothing():
    done = _run("custom_loss.py", "--epochs", "3")
    assert "equals F.cross_entropy at smoothing 0: True" in done.stdout


def test_a_wrong_in_features_is_reported_at_fc1_with_the_module_path_and_the_fix():
    done = _run("bug_in_features.py")
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    where = _line("bug_in_features.py", "x = F.relu(self.fc1(x))")
    assert lines[0].startswith(f"examples/bug_in_features.py:{where}: linear: ")
    assert "(32, 256)" in lines[0] and "(120, 784)" in lines[0]
    assert lines[1].strip() == "x = F.relu(self.fc1(x))"
    assert _caret_under(done.stderr, "self.fc1(x)")
    fc1 = _row(done.stderr, "self.fc1")
    assert "in_features=784" in fc1 and fc1.endswith(" in net.fc1")
    flat = _line("bug_in_features.py", "x = x.view(x.size(0), -1)")
    x = _row(done.stderr, "x")
    assert "(32, 256) float32" in x
    assert x.endswith(f"from x.view(x.size(0), -1) at examples/bug_in_features.py:{flat}")
    assert "the input has 256 features per sample; set in_features=256 (Linear(256, 120))" in lines
    called = _line("bug_in_features.py", "outputs = net(inputs)")
    assert lines[-1] == f"called from examples/bug_in_features.py:{called} in <module>: " + (
        "outputs = net(inputs)"
    )
    assert "Traceback" not in done.stderr and "engine/" not in done.stderr


def test_the_max_pair_passed_to_relu_shows_the_pair_and_takes_values():
    done = _run("bug_max_tuple.py")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    where = _line("bug_max_tuple.py", "x = F.relu(torch.max(x, 2))")
    assert lines[0].startswith(f"examples/bug_max_tuple.py:{where}: relu(): ")
    pair = _row(done.stderr, "torch.max(x,")
    assert "a (values, indices) pair: values (64, 32) float32, indices (64, 32) int64" in pair
    assert "(64, 32, 6) float32" in _row(done.stderr, "x")
    assert _row(done.stderr, "self") == "self             RowConvNet in model"
    assert "torch.max(x, 2) is a (values, indices) pair; take torch.max(x, 2).values" in (
        done.stderr
    )


def test_a_view_of_the_wrong_size_gives_the_size_per_sample():
    done = _run("bug_view_size.py")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    where = _line("bug_view_size.py", "x = x.view(-1, 32 * 8 * 8)")
    assert lines[0].startswith(f"examples/bug_view_size.py:{where}: reshape: ")
    assert _caret_under(done.stderr, "x.view(-1, 32 * 8 * 8)")
    assert "(32, 32, 7, 7) float32" in _row(done.stderr, "x")
    assert _row(done.stderr, "self") == "self  SmallCNN in model"
    assert (
        "x has 32*7*7=1568 values per sample; use x.view(x.size(0), -1) or " + ("x.view(-1, 1568)")
        in lines
    )


def test_log_of_zero_in_a_custom_loss_runs_to_the_end_with_a_nan_loss():
    done = _run("bug_log_zero.py")
    assert done.returncode == 0, done.stderr
    losses = _losses(done.stdout)
    assert len(losses) == 10 and math.isfinite(losses[0]) and math.isnan(losses[-1])


def test_without_zero_grad_the_loss_never_falls_below_the_first_epochs(tmp_path):
    done = _run("bug_no_zero_grad.py")
    assert done.returncode == 0, done.stderr
    losses = _losses(done.stdout)
    assert len(losses) == 5 and min(losses[1:]) > losses[0]
    # zero_grad is the one bug: with it the same script's loss falls
    text = (EXAMPLES / "bug_no_zero_grad.py").read_text()
    fixed = text.replace(
        "        loss = criterion", "        optimizer.zero_grad()\n        loss = criterion"
    )
    assert fixed != text
    (tmp_path / "fixed.py").write_text(fixed)
    done = stepgrad("run", "fixed.py", cwd=tmp_path)
    losses = _losses(done.stdout)
    assert done.returncode == 0 and losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize("name", ["bug_in_features.py", "bug_max_tuple.py", "bug_view_size.py"])
def test_the_readme_shows_what_each_report_says(name):
    readme = (EXAMPLES / "README.md").read_text()
    shown = readme.split(f"`stepgrad run examples/{name}`:\n\n```\n", 1)[1].split("```", 1)[0]
    assert shown == _run(name).stderr


def test_every_example_is_in_the_readme():
    readme = (EXAMPLES / "README.md").read_text()
    for path in EXAMPLES.glob("*.py"):
        assert f"`{path.name}`" in readme
