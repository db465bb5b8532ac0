"""The `stepgrad` command line: summary, train (stop and resume), export and bad input."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

import engine
from app import __version__
from app.cli import main
from app.model.design import Design
from app.sessions.reports import BatchReport
from app.sessions.training import TrainingSession

LAYERS = [
    {"type": "Flatten", "name": "flatten"},
    {"type": "Linear", "args": {"in_features": 64, "out_features": 32}, "name": "fc1"},
    {"type": "ReLU"},
    {
        "type": "Residual",
        "name": "block",
        "layers": [
            {"type": "Linear", "args": {"in_features": 32, "out_features": 32}, "name": "inner"},
            {"type": "Dropout", "args": {"p": 0.2}},
        ],
    },
    {"type": "Linear", "args": {"in_features": 32, "out_features": 10}, "name": "out"},
]


def write_design(tmp_path, layers=None, name="tiny", **training) -> str:
    settings = {"dataset": "digits", "epochs": 2, "batch_size": 64, "seed": 0}
    settings["optimizer"] = {"type": "Adam", "lr": 0.01}
    settings.update(training)
    data = {
        "format": "stepgrad.design",
        "version": 1,
        "name": name,
        "input": {"shape": [1, 8, 8]},
        "layers": LAYERS if layers is None else layers,
        "training": settings,
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def fails(capsys, argv, *phrases) -> str:
    """Run `argv`, expect status 2 and one `stepgrad: ` message holding every phrase."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("stepgrad: ") and "Traceback" not in err
    for phrase in phrases:
        assert phrase in err
    return err


def weights(folder) -> dict:
    return {k: v.numpy() for k, v in engine.load(folder / "weights.npz").items()}


class TestBasics:
    def test_version(self, capsys):
        assert main(["--version"]) == 0
        assert capsys.readouterr().out.strip() == f"stepgrad {__version__}"

    def test_no_command_opens_the_app_on_the_default_sample(self, monkeypatch):
        from app.tui.app import StepgradApp

        opened = []
        monkeypatch.setattr(StepgradApp, "run", lambda app: opened.append(app.editor))
        assert main([]) == 0
        assert opened[0].design.name == "mlp_digits" and opened[0].path is None

    def test_a_design_argument_opens_that_file(self, monkeypatch):
        from app.tui.app import StepgradApp

        opened = []
        monkeypatch.setattr(StepgradApp, "run", lambda app: opened.append(app.editor))
        sample = Path(__file__).parents[2] / "sample_models" / "cnn_digits.json"
        assert main([str(sample)]) == 0
        assert opened[0].design.name == "cnn_digits"

    def test_data_folder_reaches_the_app(self, monkeypatch, tmp_path):
        from app.tui.app import StepgradApp

        opened = []
        monkeypatch.setattr(StepgradApp, "run", lambda app: opened.append(app))
        sample = Path(__file__).parents[2] / "sample_models" / "lenet_mnist.json"
        assert main(["--data", str(tmp_path), str(sample)]) == 0
        assert opened[0].state.data_dir == tmp_path
        assert opened[0].editor.design.name == "lenet_mnist"
        assert main([str(sample)]) == 0 and opened[1].state.data_dir is None

    def test_missing_data_folder_is_refused_before_the_app_opens(
        self, monkeypatch, tmp_path, capsys
    ):
        from app.tui.app import StepgradApp

        monkeypatch.setattr(StepgradApp, "run", lambda app: pytest.fail("the app opened"))
        assert main(["--data", str(tmp_path / "nowhere")]) == 2
        assert f"--data {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err
        assert main(["a.json", "b.json"]) == 2
        assert "unrecognized arguments: b.json" in capsys.readouterr().err

    @pytest.mark.parametrize("command", ["summary", "train", "export"])
    def test_help(self, capsys, command):
        assert main([command, "--help"]) == 0
        assert f"usage: stepgrad {command}" in capsys.readouterr().out


class TestSummary:
    def test_table_and_totals(self, tmp_path, capsys):
        assert main(["summary", write_design(tmp_path)]) == 0
        out = capsys.readouterr().out
        lines = {
            line.split()[0] + " " + line.split()[1]: line
            for line in out.splitlines()
            if len(line.split()) > 3
        }
        assert "(32,)" in lines["2 fc1"] and "2,080" in lines["2 fc1"]
        assert "Residual" in lines["4 block"] and "--" in lines["4 block"]
        assert lines["4.1 inner"].startswith("    4.1")  # children are indented
        assert "1,056" in lines["4.1 inner"]
        assert "(10,)" in lines["5 out"] and "330" in lines["5 out"]
        assert "Total parameters: 3,466" in out
        # every leaf layer's output: (64 + 32 + 32 + 32 + 32 + 10) * 4 bytes
        assert "Activation memory per sample: 0.8 KB" in out

    def test_problems_are_listed_with_status_1(self, tmp_path, capsys):
        layers = [{"type": "Linear", "args": {"in_features": 64, "out_features": 10}}]
        assert main(["summary", write_design(tmp_path, layers)]) == 1
        out = capsys.readouterr().out
        assert "1 problem:" in out
        assert "layer 1 (Linear): expects input (*, 64), gets (1, 8, 8)" in out

    def test_an_exported_file_reads_as_its_design(self, tmp_path, capsys):
        exported = tmp_path / "model.py"
        assert main(["export", write_design(tmp_path), "-o", str(exported)]) == 0
        assert main(["summary", str(exported)]) == 0
        assert "Total parameters: 3,466" in capsys.readouterr().out


class TestBadInput:
    def test_malformed_json_gives_line_and_column(self, tmp_path, capsys):
        path = tmp_path / "broken.json"
        path.write_text('{\n  "format": "stepgrad.design",\n  "version": ,\n}\n')
        fails(capsys, ["summary", str(path)], f"{path}:3:14: malformed JSON")

    def test_missing_file(self, tmp_path, capsys):
        fails(capsys, ["train", str(tmp_path / "nope.json")], "nope.json: no such file")

    def test_unknown_layer(self, tmp_path, capsys):
        path = write_design(tmp_path, [{"type": "Bogus"}])
        fails(capsys, ["train", path], "unknown layer type 'Bogus'")
        fails(capsys, ["export", path, "-o", str(tmp_path / "x.py")], "unknown layer type")

    def test_mnist_without_data_folder(self, tmp_path, capsys):
        path = write_design(tmp_path, dataset="mnist")
        fails(capsys, ["train", path], "--data DIR", "train-images-idx3-ubyte")
        fails(capsys, ["train", path, "--data", str(tmp_path)], "MNIST", str(tmp_path))

    def test_invalid_arguments(self, tmp_path, capsys):
        path = write_design(tmp_path)
        fails(capsys, ["train", path, "--epochs", "zero"], "--epochs", "'zero'")
        fails(capsys, ["train", path, "--device", "tpu"], "--device")
        fails(capsys, ["export", path], "-o/--output")
        fails(capsys, ["summary"], "DESIGN")
        fails(capsys, ["train", path, "--resume", str(tmp_path)], "not a checkpoint folder")

    def test_cuda_without_a_gpu(self, tmp_path, capsys):
        from engine.backend import is_cuda_available

        if is_cuda_available():
            pytest.skip("a GPU is present")
        fails(capsys, ["train", write_design(tmp_path), "--device", "cuda"], "CUDA")


class TestTrain:
    def test_writes_a_checkpoint_and_resume_continues(self, tmp_path, capsys):
        path, out = write_design(tmp_path), tmp_path / "run"
        assert main(["train", path, "--epochs", "1", "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert "epoch 1/1  train loss" in printed and "val loss" in printed and "acc" in printed
        assert {"weights.npz", "metrics.json", "optimizer.npz", "session.json"} <= {
            p.name for p in out.iterdir()
        }
        assert len(json.loads((out / "metrics.json").read_text())["history"]) == 1

        assert main(["train", path, "--resume", str(out)]) == 0
        assert "epoch 2/2" in capsys.readouterr().out
        assert json.loads((out / "session.json").read_text())["epoch"] == 2

    def test_ctrl_c_stops_after_the_batch_and_resume_is_exact(self, tmp_path, capsys, monkeypatch):
        path = write_design(tmp_path)
        assert main(["train", path, "--out", str(tmp_path / "straight")]) == 0

        run = TrainingSession.run

        def interrupted_run(self, epochs=None, on_report=None):
            def report(r):
                on_report(r)
                if isinstance(r, BatchReport) and r.global_step == 30:
                    os.kill(os.getpid(), signal.SIGINT)

            self.report_interval = 0
            return run(self, epochs, report)

        monkeypatch.setattr(TrainingSession, "run", interrupted_run)
        out = tmp_path / "stopped"
        assert main(["train", path, "--out", str(out)]) == 130
        printed = capsys.readouterr().out
        assert f"resume with: stepgrad train {path} --resume {out}" in printed
        assert json.loads((out / "session.json").read_text())["global_step"] == 30

        monkeypatch.setattr(TrainingSession, "run", run)
        assert main(["train", path, "--resume", str(out)]) == 0
        want, got = weights(tmp_path / "straight"), weights(out)
        assert all(np.array_equal(want[k], got[k]) for k in want)

    def test_nonfinite_loss_exits_1_with_a_message(self, tmp_path, capsys):
        path = write_design(tmp_path, optimizer={"type": "SGD", "lr": 1e6})
        assert main(["train", path, "--out", str(tmp_path / "run")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("stepgrad: the loss became") and "Lower the learning rate" in err


class TestExport:
    @pytest.mark.parametrize("target", ["engine", "torch"])
    def test_writes_python(self, tmp_path, capsys, target):
        out = tmp_path / f"{target}_model.py"
        assert main(["export", write_design(tmp_path), "--target", target, "-o", str(out)]) == 0
        source = out.read_text()
        compile(source, str(out), "exec")
        assert ("import torch" in source) == (target == "torch")
        assert Design.load(out).name == "tiny"

    def test_with_trained_weights(self, tmp_path, capsys):
        path, run = write_design(tmp_path), tmp_path / "run"
        assert main(["train", path, "--epochs", "1", "--out", str(run)]) == 0
        out = tmp_path / "model.py"
        argv = ["export", path, "-o", str(out), "--weights", str(run / "weights.npz")]
        assert main(argv) == 0
        assert "weights.npz" in out.read_text()
        fails(capsys, [*argv[:-1], str(tmp_path / "missing.npz")], "missing.npz")

    def test_refuses_to_replace_the_design_or_a_file_it_did_not_export(self, tmp_path, capsys):
        path = write_design(tmp_path)
        before = Path(path).read_text()
        fails(capsys, ["export", path, "-o", path], "the design being exported")
        assert Path(path).read_text() == before
        mine = tmp_path / "mine.py"
        mine.write_text("print('my own script')\n")
        fails(capsys, ["export", path, "-o", str(mine)], "not a file stepgrad exported", "--force")
        assert mine.read_text() == "print('my own script')\n"
        assert main(["export", path, "-o", str(mine), "--force"]) == 0
        assert main(["export", path, "-o", str(mine)]) == 0  # an earlier export is replaced

    def test_a_device_target_is_refused_with_exit_2(self, tmp_path, capsys):
        fifo = tmp_path / "pipe.py"
        os.mkfifo(fifo)
        fails(capsys, ["export", write_design(tmp_path), "-o", str(fifo)], "not a regular file")


class TestCheckedBeforeTraining:
    """What would fail after an epoch of training is found before the first batch."""

    def test_an_out_folder_that_cannot_be_written_stops_before_training(self, tmp_path, capsys):
        design = write_design(tmp_path)
        (tmp_path / "file").write_text("x")
        fails(capsys, ["train", design, "--out", str(tmp_path / "file")], "is not a folder",
              "nothing was trained")  # fmt: skip
        (tmp_path / "notes").mkdir()
        (tmp_path / "notes" / "mine.txt").write_text("keep")
        fails(capsys, ["train", design, "--out", str(tmp_path / "notes")], "not a checkpoint")
        assert (tmp_path / "notes" / "mine.txt").read_text() == "keep"
        fails(capsys, ["train", design, "--out", str(tmp_path / "file" / "run")],
              "cannot be written there")  # fmt: skip

    @pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
    def test_a_read_only_place_stops_before_training(self, tmp_path, capsys):
        design = write_design(tmp_path)
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        fails(capsys, ["train", design, "--out", str(locked / "run")], "Permission denied")

    def test_a_diverged_run_warns_and_exits_1(self, tmp_path, capsys):
        design = write_design(tmp_path, optimizer={"type": "Adam", "lr": 50.0})
        assert main(["train", design, "--out", str(tmp_path / "run")]) == 1
        captured = capsys.readouterr()
        assert "finished 2 epochs" in captured.out
        warning = captured.err.strip()
        assert warning.startswith("stepgrad: the training loss rose from 2.")
        assert "training diverged; lower the learning rate" in warning
        assert (tmp_path / "run" / "weights.npz").is_file()  # what it reached is kept

    def test_a_run_that_learns_does_not_warn(self, tmp_path, capsys):
        assert main(["train", write_design(tmp_path), "--out", str(tmp_path / "run")]) == 0
        assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "text",
    [
        "[" * 50_000,
        '{"format": "stepgrad.design", "version": ' + "9" * 5000 + "}",
        '{"format": "stepgrad.design", "version": 1, "input": {"shape": [1, 8, 8]}, '
        '"layers": [{"type": "ReLU", "name": "\\udc80"}]}',
        '{"format": "stepgrad.design", "version": 1, "input": {"shape": [1, 8, 8]}, '
        '"layers": [{"type": {"a": 1}}]}',
        "\x00\xff garbage",
    ],
)
@pytest.mark.parametrize("command", ["summary", "train", "export"])
def test_hostile_design_files_give_one_line_and_exit_2(tmp_path, capsys, text, command):
    path = tmp_path / "d.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    argv = [command, str(path)] + (["-o", str(tmp_path / "m.py")] if command == "export" else [])
    err = fails(capsys, argv, str(path))
    assert err.count("\n") == 1 and len(err) < 400
