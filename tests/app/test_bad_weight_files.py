"""Bad weights and checkpoint folders through the command line: exit 2, one line, little memory."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import engine
from app.model.design import Design
from app.model.export import ExportError, check_weights
from engine.serialization import MANIFEST
from engine.tensor import Tensor
from tests.app.cli_process import ROOT, stepgrad
from tests.app.test_cli import write_design


def refused(result: subprocess.CompletedProcess, *phrases: str) -> str:
    """Exit 2 and exactly one stderr line, `stepgrad: ...`, holding every phrase."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("stepgrad: "), result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def design_weights(path: str, change=None) -> dict:
    """The design's own state dict, with `change(key, array)` applied to each array."""
    state = Design.load(path).build().state_dict()
    if change is None:
        return state
    return {k: Tensor._make(change(k, v.numpy()), False, None) for k, v in state.items()}


KINDS = {
    "int": lambda a: a.astype(np.int64),
    "bool": lambda a: a > 0,
    "complex": lambda a: a.astype(np.complex64),
    "str": lambda a: a.astype(str),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_weights_that_are_not_floating_are_refused_naming_entry_and_kind(tmp_path, kind):
    path = write_design(tmp_path)
    weights = tmp_path / "w.npz"
    arrays = design_weights(path, lambda k, a: KINDS[kind](a) if k == "fc1.weight" else a)
    # engine.save keeps what it is given; a str or complex tensor is written as an array
    if kind in ("str", "complex"):
        arrays["fc1.weight"] = arrays["fc1.weight"].numpy()
    engine.save(arrays, weights)
    with pytest.raises(ExportError) as err:
        check_weights(Design.load(path), weights)
    message = str(err.value)
    assert str(weights) in message and "fc1.weight" in message and "(32, 64)" in message
    assert "floating point" in message and "\n" not in message


def test_weights_of_the_right_kind_and_shape_pass(tmp_path):
    path = write_design(tmp_path)
    weights = tmp_path / "w.npz"
    engine.save(design_weights(path, lambda k, a: a.astype(np.float64)), weights)
    check_weights(Design.load(path), weights)


def test_export_refuses_int_weights_with_exit_2(tmp_path):
    path = write_design(tmp_path)
    weights = tmp_path / "w.npz"
    engine.save(design_weights(path, lambda k, a: a.astype(np.int32)), weights)
    result = stepgrad("export", path, "-o", str(tmp_path / "m.py"), "--weights", str(weights))
    refused(result, str(weights), "fc1.weight holds int32 of shape (32, 64)")
    assert not (tmp_path / "m.py").exists()


@pytest.mark.parametrize("kind", ["folder", "fifo", "garbage", "deep"])
def test_export_refuses_what_is_not_a_weights_file_with_exit_2(tmp_path, kind):
    path, weights = write_design(tmp_path), tmp_path / "w.npz"
    if kind == "folder":
        weights.mkdir()
    elif kind == "fifo":
        os.mkfifo(weights)
    elif kind == "garbage":
        weights.write_bytes(b"PK\x03\x04" + os.urandom(200))
    else:
        raw = b'{"format": "stepgrad-state", "version": 1, "root": ' + b"[" * 100_000
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(raw, np.uint8))
        with zipfile.ZipFile(weights, "w") as z:
            z.writestr(f"{MANIFEST}.npy", buffer.getvalue())
    refused(stepgrad("export", path, "-o", str(tmp_path / "m.py"), "--weights", str(weights)))


def checkpoint(tmp_path) -> tuple[str, Path]:
    path, out = write_design(tmp_path, epochs=1), tmp_path / "run"
    assert stepgrad("train", path, "--out", str(out)).returncode == 0
    return path, out


def tamper(folder: Path, name: str, content: bytes) -> None:
    """Replace a file and make the manifest name the new one, as a deliberate edit would."""
    (folder / name).write_bytes(content)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256(content).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_resume_refuses_tampered_folders_with_exit_2(tmp_path):
    path, out = checkpoint(tmp_path)
    pristine = {p.name: p.read_bytes() for p in out.iterdir()}
    position = json.loads(pristine["session.json"])
    buffer = io.BytesIO()
    engine.save(design_weights(path, lambda k, a: a.astype(np.int64)), buffer)
    cases = {
        "weights.npz": (buffer.getvalue(), "fc1.weight holds int64"),
        "session.json": (json.dumps({**position, "epoch": "two"}).encode(), "epoch is 'two'"),
        "metrics.json": (b"[" * 100_000, "nested 100000 levels"),
        "manifest.json": (b'{"files": []}', "manifest.json"),
    }
    for name, (content, phrase) in cases.items():
        for p in out.iterdir():
            p.unlink()
        for file, data in pristine.items():
            (out / file).write_bytes(data)
        if name == "manifest.json":
            (out / name).write_bytes(content)
        else:
            tamper(out, name, content)
        refused(stepgrad("train", path, "--resume", str(out)), phrase)
    (out / "session.json").unlink()
    os.mkfifo(out / "session.json")
    refused(stepgrad("train", path, "--resume", str(out), timeout=60), "not a regular file")


# ----- a zip bomb: small on disk, huge once inflated ----------------------------------
def bomb(path: Path, floats: int) -> Path:
    """A weights file whose one tensor, fc1.weight, inflates to `floats` float32 zeros."""
    entry = {"type": "tensor", "array": "t0", "requires_grad": True}
    root = {"type": "dict", "items": [["fc1.weight", entry]]}
    manifest = json.dumps({"format": "stepgrad-state", "version": 1, "root": root}).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("t0.npy", "w", force_zip64=True) as member:
            header = {"descr": "<f4", "fortran_order": False, "shape": (floats,)}
            np.lib.format.write_array_header_1_0(member, header)
            block, left = bytes(1 << 24), floats * 4
            while left:
                member.write(block[: min(left, len(block))])
                left -= min(left, len(block))
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(manifest, np.uint8))
        z.writestr(f"{MANIFEST}.npy", buffer.getvalue())
    return path


PEAK = """
import resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, result.returncode)
sys.stderr.write(result.stderr)
"""


def peak_megabytes(tmp_path, weights: Path) -> tuple[int, subprocess.CompletedProcess]:
    """Export with `weights` in a child process: its peak memory (MB) and its result."""
    argv = ["export", write_design(tmp_path), "-o", str(tmp_path / "m.py"), "--weights"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-c", PEAK, sys.executable, "-m", "app", *argv, str(weights)]
    result = subprocess.run(run, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    peak, code = map(int, result.stdout.split())
    return peak, subprocess.CompletedProcess(run, code, "", result.stderr)


def test_a_zip_bomb_is_refused_from_its_header_without_inflating(tmp_path):
    weights = bomb(tmp_path / "bomb.npz", 2**26)  # 256 MB inflated, about 1 MB on disk
    assert weights.stat().st_size < 2 * 2**20
    peak, result = peak_megabytes(tmp_path, weights)
    refused(result, "fc1.weight holds float32 of shape (67108864,)")
    assert peak < 200, f"{peak} MB"


@pytest.mark.slow
def test_a_2_gb_zip_bomb_is_refused_in_little_memory(tmp_path):
    weights = bomb(tmp_path / "bomb.npz", 2**29)  # 2 GB inflated, 2 MB on disk
    peak, result = peak_megabytes(tmp_path, weights)
    refused(result, "fc1.weight holds float32 of shape (536870912,)")
    assert peak < 300, f"{peak} MB"
