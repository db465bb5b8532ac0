"""Damaged or tampered checkpoint folders: they resume and train, or raise one SessionError."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sessions import checkpoints
from app.sessions.setup import SessionError
from app.sessions.training import TrainingSession
from tests.app.sessions.test_training import mlp
from tests.engine.test_serialization_fuzz import DAMAGE, json_values, paths, replaced

SECONDS = 10  # any one resume, however damaged the folder
SCHEDULE = {"type": "StepLR", "step_size": 1, "gamma": 0.5}
JSON_FILES = ("session.json", "metrics.json", "manifest.json")
NPZ_FILES = ("weights.npz", "optimizer.npz")
RAW_JSON = [
    b"",
    b"\xff\xfe{}",  # not UTF-8
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * 100_000,
    b"1" * 5000,
    b'{"epoch": 1e999}',
    b"null",
    b"[]",
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    session = TrainingSession(mlp(epochs=1, schedule=SCHEDULE))
    session.run(epochs=1)
    session.step_hooks = [session.request_stop]  # stops the second epoch after a batch,
    session.run(epochs=2)  # so that the position's batch and sums are not zero
    return session.save_checkpoint(tmp_path_factory.mktemp("fuzz") / "run")


@pytest.fixture(scope="module")
def session() -> TrainingSession:
    return TrainingSession(mlp(epochs=3, schedule=SCHEDULE))


def rehash(folder: Path) -> None:
    """Make the manifest name the files as they are now: tampering, not a torn write."""
    path = folder / "manifest.json"
    if not path.is_file():  # reading a FIFO would wait for a writer
        return
    try:
        manifest = json.loads(path.read_text())
        manifest["files"] = {
            name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in checkpoints.FILES
            if (folder / name).is_file() and (folder / name).stat().st_size < 10 * 2**20
        }
        path.write_text(json.dumps(manifest))
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        pass  # the manifest or a file is what was damaged


def resumes_or_refuses(session: TrainingSession, folder: Path) -> None:
    """The property: a SessionError of one line, or a session that trains on."""
    start = time.perf_counter()
    try:
        checkpoints.read_into(session, folder)
    except SessionError as err:
        assert "\n" not in str(err) and str(err), str(err)
    else:
        session.step_hooks = [session.request_stop]  # one batch is enough
        session.run(epochs=session.epoch + 1)
        session.step_hooks = []
    assert time.perf_counter() - start < SECONDS


def damage_json(path: Path, data) -> None:
    how = data.draw(st.sampled_from(["edit", "drop", "raw"]))
    if how == "raw":
        path.write_bytes(data.draw(st.sampled_from(RAW_JSON)))
        return
    value = json.loads(path.read_text())
    place = data.draw(st.sampled_from(list(paths(value))))
    if how == "drop" and place:
        parent = value
        for key in place[:-1]:
            parent = parent[key]
        del parent[place[-1]]
    else:
        value = replaced(value, place, data.draw(json_values))
    path.write_text(json.dumps(value))


def damage_kind(path: Path, data) -> None:
    """The file replaced by a folder, a FIFO, a link to itself, a huge file, or nothing."""
    kind = data.draw(st.sampled_from(["folder", "fifo", "loop", "huge", "missing"]))
    path.unlink()
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "huge":
        with open(path, "wb") as f:
            f.truncate(300 * 2**20)  # sparse: no disk used


def damaged_folder(checkpoint: Path, data) -> Path:
    folder = Path(tempfile.mkdtemp()) / "run"
    shutil.copytree(checkpoint, folder)
    name = data.draw(st.sampled_from([*JSON_FILES, *NPZ_FILES, "design.json"]))
    path = folder / name
    kind = data.draw(st.sampled_from(["content", "content", "content", "kind"]))
    if kind == "kind":
        damage_kind(path, data)
    elif name.endswith(".npz"):
        damage = data.draw(st.sampled_from(DAMAGE))
        path.write_bytes(damage(path.read_bytes(), data))
    else:
        damage_json(path, data)
    if data.draw(st.booleans()):
        rehash(folder)
    return folder


def check_one(checkpoint: Path, session: TrainingSession, data) -> None:
    folder = damaged_folder(checkpoint, data)
    try:
        resumes_or_refuses(session, folder)
    finally:
        shutil.rmtree(folder.parent)


def test_the_undamaged_checkpoint_resumes(checkpoint, session):
    checkpoints.read_into(session, checkpoint)
    resumes_or_refuses(session, checkpoint)


@settings(max_examples=80)
@given(st.data())
def test_a_damaged_checkpoint_resumes_or_raises_session_error(checkpoint, session, data):
    check_one(checkpoint, session, data)


@pytest.mark.slow
@settings(max_examples=2000)
@given(st.data())
def test_a_damaged_checkpoint_resumes_or_raises_session_error_many(checkpoint, session, data):
    check_one(checkpoint, session, data)
