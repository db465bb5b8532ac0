"""Checkpoints are one unit: a stop at any moment leaves the old one or the new one, verified."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.sessions import checkpoints
from app.sessions.setup import SessionError
from app.sessions.training import TrainingSession
from tests.app.sessions.test_training import mlp

ROOT = Path(__file__).resolve().parents[3]


def trained() -> TrainingSession:
    session = TrainingSession(mlp(epochs=1))
    session.run(epochs=1)
    return session


def test_a_checkpoint_has_a_manifest_and_resumes(tmp_path):
    session = trained()
    folder = session.save_checkpoint(tmp_path / "run")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["global_step"] == session.global_step
    assert set(manifest["files"]) == set(checkpoints.FILES)
    again = TrainingSession.resume_from(folder, mlp(epochs=2))
    assert again.global_step == session.global_step
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing left beside it


@pytest.mark.parametrize("damage", ["changed", "missing", "manifest", "step"])
def test_a_torn_or_changed_checkpoint_is_refused(tmp_path, damage):
    folder = trained().save_checkpoint(tmp_path / "run")
    if damage == "changed":
        (folder / "weights.npz").write_bytes((folder / "weights.npz").read_bytes()[:-10])
    elif damage == "missing":
        (folder / "optimizer.npz").unlink()
    elif damage == "manifest":
        (folder / "manifest.json").unlink()
    else:
        position = json.loads((folder / "session.json").read_text())
        position["global_step"] += 1
        (folder / "session.json").write_text(json.dumps(position))
    with pytest.raises(SessionError, match="torn|changed"):
        TrainingSession.resume_from(folder, mlp(epochs=2))


def test_a_folder_of_other_files_is_not_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SessionError, match="not a stepgrad checkpoint"):
        trained().save_checkpoint(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_stop_between_the_two_renames_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    session = trained()
    folder = session.save_checkpoint(tmp_path / "run")
    step = session.global_step
    session.run(epochs=2)
    monkeypatch.setattr(checkpoints, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def dies_after_the_first(src, dst):
        real_rename(src, dst)
        if ".old-" in str(dst):
            raise KeyboardInterrupt  # the process is stopped here

    monkeypatch.setattr(checkpoints.os, "rename", dies_after_the_first)
    with pytest.raises(KeyboardInterrupt):
        session.save_checkpoint(folder)
    monkeypatch.setattr(checkpoints.os, "rename", real_rename)
    assert checkpoints.read_position(folder)["global_step"] == step  # put back, whole


KILLER = """
import sys
from pathlib import Path
from app.sessions.training import TrainingSession
from tests.app.sessions.test_training import mlp
folder = Path(sys.argv[1])
if (folder / "session.json").exists():
    session = TrainingSession.resume_from(folder, mlp(epochs=1000))
else:
    session = TrainingSession(mlp(epochs=1000))
print("ready", flush=True)
while True:
    session.run(epochs=session.epoch + 1)
    session.save_checkpoint(folder)
"""


def kill_while_saving(tmp_path: Path, kills: int, seed: int) -> list[int]:
    """Kill a process that trains and checkpoints in a loop, at random moments."""
    rng = random.Random(seed)
    folder = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    steps = []
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLER, str(folder)], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 1.5))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            child.kill()
        if folder.exists() or list(tmp_path.glob(".run.old-*")):
            position = checkpoints.read_position(folder)  # raises if torn
            session = TrainingSession.resume_from(folder, mlp(epochs=1000))
            assert session.global_step == position["global_step"]
            steps.append(position["global_step"])
    return steps


def test_killed_at_random_moments_every_checkpoint_left_is_whole(tmp_path):
    steps = kill_while_saving(tmp_path, kills=4, seed=1)
    assert steps == sorted(steps)


@pytest.mark.slow
def test_killed_forty_times_every_checkpoint_left_is_whole(tmp_path):
    steps = kill_while_saving(tmp_path, kills=40, seed=2)
    assert steps and steps == sorted(steps) and steps[-1] > steps[0]
