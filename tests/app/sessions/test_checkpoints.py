"""Checkpoints are one unit: a stop at any moment leaves the old one or the new one, verified."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import engine
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


# ----- tampered folders: the manifest is rewritten to match, as a deliberate edit would --
def retouched(folder: Path, name: str, content: bytes | None) -> None:
    """`name` replaced by `content` (or removed), and the manifest made to name it."""
    path = folder / name
    if content is not None:
        path.write_bytes(content)
    manifest = json.loads((folder / "manifest.json").read_text())
    if path.is_file():
        manifest["files"][name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def edited_json(folder: Path, name: str, edit) -> bytes:
    value = json.loads((folder / name).read_text())
    edit(value)
    return json.dumps(value).encode()


POSITION_EDITS = {
    "epoch as text": (lambda p: p.update(epoch="2"), "session.json.epoch is '2'"),
    "epoch past 2**63": (lambda p: p.update(epoch=10**30), "expected a whole number"),
    "rng_state a string": (lambda p: p.update(rng_state="x"), "rng_state is 'x'"),
    "rng_state missing a key": (lambda p: p["rng_state"].pop("uinteger"), "lacks ['uinteger']"),
    "sums a list": (lambda p: p.update(sums=[1, 2]), "sums is [1, 2]"),
    "smooth too short": (lambda p: p.update(smooth=[0.5]), "has 1 items, expected 2"),
    "no batch": (lambda p: p.pop("batch"), "lacks ['batch']"),
    "batch past the epoch": (lambda p: p.update(batch=10**6), "batch 1000000 of an epoch"),
}


@pytest.mark.parametrize("case", sorted(POSITION_EDITS))
def test_a_tampered_session_json_is_one_session_error(tmp_path, case):
    folder = trained().save_checkpoint(tmp_path / "run")
    edit, phrase = POSITION_EDITS[case]
    retouched(folder, "session.json", edited_json(folder, "session.json", edit))
    with pytest.raises(SessionError) as err:
        TrainingSession.resume_from(folder, mlp(epochs=2))
    assert phrase in str(err.value) and "\n" not in str(err.value)


RAW_FILES = {
    "metrics nested 100000 deep": ("metrics.json", b"[" * 100_000, "nested 100000 levels deep"),
    "metrics not UTF-8": ("metrics.json", b'{"history": "\xff"}', "cannot be read"),
    "metrics history an object": (
        "metrics.json",
        b'{"history": {}, "lr_changes": [], "losses": []}',
        "metrics.json.history is {}",
    ),
    "metrics a loss as text": (
        "metrics.json",
        b'{"history": [], "lr_changes": [], "losses": ["0.5"]}',
        "losses[0] is '0.5'",
    ),
    "session huge number": ("session.json", b"1" * 5000, "cannot be read"),
}


@pytest.mark.parametrize("case", sorted(RAW_FILES))
def test_a_malformed_json_file_is_one_session_error(tmp_path, case):
    folder = trained().save_checkpoint(tmp_path / "run")
    name, content, phrase = RAW_FILES[case]
    retouched(folder, name, content)
    with pytest.raises(SessionError) as err:
        TrainingSession.resume_from(folder, mlp(epochs=2))
    assert phrase in str(err.value) and "\n" not in str(err.value)
    assert str(folder) in str(err.value)


@pytest.mark.parametrize("name", ["weights.npz", "session.json", "metrics.json", "manifest.json"])
@pytest.mark.parametrize("kind", ["folder", "fifo", "loop", "huge"])
def test_a_file_replaced_by_a_folder_fifo_loop_or_huge_file_is_refused(tmp_path, name, kind):
    folder = trained().save_checkpoint(tmp_path / "run")
    path = folder / name
    path.unlink()
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to(name)
    else:
        with open(path, "wb") as f:
            f.truncate(300 * 2**20)  # sparse
    start = time.monotonic()
    with pytest.raises(SessionError) as err:
        TrainingSession.resume_from(folder, mlp(epochs=2))
    assert "\n" not in str(err.value) and time.monotonic() - start < 10


def test_optimizer_state_that_the_optimizer_would_trip_on_is_refused(tmp_path):
    folder = trained().save_checkpoint(tmp_path / "run")
    saved = engine.load(folder / "optimizer.npz")
    del saved["optimizer"]["state"][0]["exp_avg"]  # Adam's step() would raise KeyError
    engine.save(saved, folder / "optimizer.npz")
    retouched(folder, "optimizer.npz", None)
    with pytest.raises(SessionError, match=r"optimizer state 0 holds \['exp_avg_sq', 'step'\]"):
        TrainingSession.resume_from(folder, mlp(epochs=2))
    saved = engine.load(folder / "optimizer.npz")
    saved["optimizer"]["param_groups"][0]["lr"] = "fast"
    engine.save(saved, folder / "optimizer.npz")
    retouched(folder, "optimizer.npz", None)
    with pytest.raises(SessionError, match=r"param_groups\[0\].lr is 'fast'"):
        TrainingSession.resume_from(folder, mlp(epochs=2))


def test_int_weights_in_a_checkpoint_are_refused(tmp_path):
    folder = trained().save_checkpoint(tmp_path / "run")
    state = engine.load(folder / "weights.npz")
    state["fc1.weight"] = engine.tensor(np.ones((32, 64), np.int64))
    engine.save(state, folder / "weights.npz")
    retouched(folder, "weights.npz", None)
    with pytest.raises(SessionError, match=r"fc1.weight holds int64 of shape \(32, 64\)"):
        TrainingSession.resume_from(folder, mlp(epochs=2))
