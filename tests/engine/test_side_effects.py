"""Importing the engine changes no process-wide state; its ops raise no float warnings."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import engine
import engine.debug


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_leaves_numpy_error_settings_alone():
    code = (
        "import numpy as np; np.seterr(all='warn'); before = np.geterr(); "
        "import engine, engine.nn, engine.debug; "
        "print(np.geterr() == before, engine.backend.is_tuned())"
    )
    assert run_python(code) == "True False"


def test_tune_runs_once_and_changes_no_numpy_setting():
    code = (
        "import numpy as np, engine; before = np.geterr(); "
        "engine.backend.tune(); engine.backend.tune(); "
        "print(engine.backend.is_tuned(), np.geterr() == before)"
    )
    assert run_python(code) == "True True"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda x: x.log(), id="log(0)"),
        pytest.param(lambda x: x / 0, id="x/0"),
        pytest.param(lambda x: (x * 1e30) * 1e30, id="overflow"),
        pytest.param(lambda x: (x / 0) - (x / 0), id="inf-inf"),
    ],
)
@pytest.mark.usefixtures("fast_path")
def test_ops_and_their_backward_emit_no_float_warning(make):
    x = engine.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        out = make(x)
        out.sum().backward()
        assert not np.isfinite(out.detach().numpy()).all()
        assert not np.isfinite(x.grad.numpy()).all()
        assert np.geterr()["divide"] == "warn"  # the caller's setting is still in force
    assert [str(w.message) for w in caught] == []


def test_optimizer_step_and_stats_on_infinite_values_emit_no_float_warning():
    p = engine.nn.Parameter(engine.tensor([1.0, 2.0]))
    optimizers = [engine.optim.SGD([p], lr=0.1), engine.optim.Adam([p]), engine.optim.RMSprop([p])]
    big = np.full(300_000, np.inf, np.float32)  # past the sample size: summarised at once
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        for opt in optimizers:
            p.grad = engine.tensor([np.inf, -np.inf])
            opt.step()
        s = engine.debug.stats(np.array([np.inf, -np.inf, 1e38, 1e38], np.float32))
        assert s.inf_count == 2 and s.histogram
        assert engine.debug.stats(big).inf_count == big.size
    assert [str(w.message) for w in caught] == []


def test_anomaly_check_and_monitor_on_infinite_values_emit_no_float_warning():
    model = engine.nn.Sequential(engine.nn.Linear(2, 2), engine.nn.ReLU())
    monitor = engine.debug.Monitor(model, every=1)
    x = engine.tensor([[np.inf, -np.inf]])
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        with pytest.raises(engine.debug.AnomalyError), engine.debug.detect_anomaly():
            model(x)
        model(x).sum().backward()
        report = monitor.step()
        assert report is not None and not np.isfinite(report.layers[0].act_mean)
    assert [str(w.message) for w in caught] == []


def test_numpy_outside_the_engine_still_warns():
    x = engine.tensor([0.0])
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        x.log()
        np.log(np.zeros(1))
    assert [w.category for w in caught] == [RuntimeWarning]


def test_the_stepgrad_command_tunes_the_process_at_start():
    code = (
        "import engine, app.cli\n"
        "print(engine.backend.is_tuned())\n"
        "try:\n    app.cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(engine.backend.is_tuned())"
    )
    lines = run_python(code).splitlines()
    assert (lines[0], lines[-1]) == ("False", "True")  # not by the import, by main()
