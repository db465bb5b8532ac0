"""engine.serialization: save/load round trips, atomic writes and refusing foreign files."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import serialization
from engine.files import NotARegularFileError
from engine.serialization import ArrayInfo, load, save
from engine.tensor import Tensor


def state() -> dict:
    return {
        "model": OrderedDict(
            [
                ("features.0.weight", engine.randn(4, 3)),
                ("features.0.bias", engine.zeros(4, dtype=engine.float64)),
                ("bn.num_batches_tracked", engine.tensor(7)),
                ("mask", engine.tensor([True, False])),
                ("half", engine.ones(2, dtype=engine.float16)),
                ("pixels", Tensor._make(np.arange(6, dtype=np.uint8), False, None)),
            ]
        ),
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": engine.ones(4, 3)}},
            "param_groups": [
                {"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False}
            ],
        },
        "epoch": 12,
        "best": float("inf"),
        "nan": float("nan"),
        "name": "lenet ✓",
        "note": None,
        "array": np.arange(3, dtype=np.int32),
        "np_scalar": np.float32(0.5),
        (1, "a"): "tuple key",
    }


def test_round_trip_keeps_values_types_and_order(tmp_path):
    original = state()
    path = tmp_path / "checkpoint.pt"
    save(original, path)
    loaded = load(path)
    model = loaded["model"]
    assert isinstance(model, OrderedDict) and list(model) == list(original["model"])
    for key, tensor in original["model"].items():
        assert isinstance(model[key], Tensor) and model[key].dtype == tensor.dtype
        np.testing.assert_array_equal(model[key].numpy(), tensor.numpy())
    opt = loaded["optimizer"]
    assert opt["state"][0]["step"] == 3 and isinstance(opt["state"][0]["exp_avg"], Tensor)
    assert (
        opt["param_groups"][0]["betas"] == (0.9, 0.999)
        and opt["param_groups"][0]["amsgrad"] is False
    )
    assert loaded["epoch"] == 12 and loaded["best"] == math.inf and math.isnan(loaded["nan"])
    assert loaded["name"] == "lenet ✓" and loaded["note"] is None
    assert loaded["array"].dtype == np.int32 and loaded["np_scalar"] == np.float32(0.5)
    assert isinstance(loaded["np_scalar"], np.float32)
    assert loaded[(1, "a")] == "tuple key"


def test_path_is_written_exactly_as_given(tmp_path):
    save({"x": engine.ones(1)}, tmp_path / "weights")
    assert os.listdir(tmp_path) == ["weights"]
    assert zipfile.is_zipfile(tmp_path / "weights")


def test_file_objects_and_requires_grad(tmp_path):
    buffer = io.BytesIO()
    save([engine.ones(2, requires_grad=True), engine.zeros(2)], buffer)
    buffer.seek(0)
    a, b = load(buffer)
    assert a.requires_grad and not b.requires_grad


def test_map_location_cpu_and_bad_values(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": engine.ones(2)}, path)
    assert load(path, map_location="cpu")["w"].device == "cpu"
    assert load(path, map_location=engine.device("cpu"), weights_only=True)["w"].device == "cpu"
    with pytest.raises(TypeError, match="map_location"):
        load(path, map_location=3)
    with pytest.raises(TypeError, match="map_location function must return"):
        load(path, map_location=lambda storage, loc: None)
    with pytest.raises(ValueError, match="unknown device"):
        load(path, map_location={"cpu": "meta"})


def test_map_location_as_pytorch_scripts_pass_it(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": engine.ones(2)}, path)
    assert load(path, map_location=lambda storage, loc: storage)["w"].device == "cpu"
    assert load(path, map_location={"cuda:0": "cpu"})["w"].device == "cpu"


@pytest.mark.gpu
def test_map_location_cuda(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": engine.ones(2)}, path)
    assert load(path, map_location="cuda")["w"].is_cuda
    assert load(path, map_location=lambda storage, loc: storage.cuda())["w"].is_cuda
    assert load(path, map_location={"cpu": "cuda:0"})["w"].is_cuda


def test_unsupported_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "w.npz"
    save({"v": 1}, path)
    with pytest.raises(TypeError, match=r"obj\['bad'\]\[1\] of type set"):
        save({"bad": [1, {2}]}, path)
    with pytest.raises(TypeError, match="key of type object"):
        save({object(): 1}, path)
    assert load(path) == {"v": 1}


def test_failing_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    save({"v": engine.ones(3)}, path)
    before = path.read_bytes()

    def broken_write(f, arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write_npz", broken_write)
    with pytest.raises(OSError, match="disk full"):
        save({"v": engine.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.npz"]  # no temporary file left behind


def test_a_pickle_is_refused_and_never_unpickled(tmp_path):
    class Bomb:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "exploded"),))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"x": Bomb()}))
    with pytest.raises(ValueError, match=r"evil\.pt: this is a pickle file"):
        load(path)
    assert not (tmp_path / "exploded").exists()


def test_non_npz_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt: not a stepgrad save file"):
        load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(3))
    with pytest.raises(ValueError, match=r"plain\.npz: .*without a stepgrad manifest"):
        load(plain)


def test_a_pytorch_checkpoint_is_named_as_such(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match="PyTorch torch.save checkpoint"):
        load(path)


def test_object_arrays_in_an_archive_are_refused(tmp_path):
    good, tricky = tmp_path / "good.npz", tmp_path / "tricky.npz"
    save({"w": engine.ones(2)}, good)
    object_array = io.BytesIO()
    np.save(object_array, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tricky, "w") as dst:
        for name in src.namelist():  # the same manifest, but t0 now needs pickle
            dst.writestr(name, object_array.getvalue() if name == "t0.npy" else src.read(name))
    with pytest.raises(ValueError, match=r"tricky\.npz: array 't0' can't be read without pickle"):
        load(tricky)


# ----- damaged saves: each was once a traceback, or a misleading message -------------
def member_bytes(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def rewritten(path, parts: dict[str, bytes], method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", method) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return path


def npy_header(text: bytes) -> bytes:
    """A .npy 1.0 magic and header holding `text`, padded as numpy pads it."""
    text += b" " * (63 - len(text) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


def with_manifest(tmp_path, root, extra=None) -> Path:
    """A save whose manifest's root is `root` (JSON), beside the arrays in `extra`."""
    manifest = json.dumps({"format": serialization.FORMAT, "version": 1, "root": root})
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(manifest.encode(), np.uint8))
    parts = {f"{serialization.MANIFEST}.npy": buffer.getvalue(), **(extra or {})}
    return rewritten(tmp_path / "tampered.npz", parts)


def test_a_damaged_array_header_is_called_damaged_not_pickled(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": engine.ones(2)}, path)
    parts = member_bytes(path)
    parts["t0.npy"] = npy_header(b"{'descr': '<f4', 'shape': (2,")  # unclosed: TokenError
    rewritten(path, parts)
    with pytest.raises(ValueError, match=r"damaged save file: array 't0'") as err:
        load(path)
    assert "pickle" not in str(err.value)


def test_a_header_that_disagrees_with_the_members_size_is_damaged(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": engine.ones(2)}, path)
    parts = member_bytes(path)
    parts["t0.npy"] = npy_header(
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    )
    rewritten(path, parts)
    with pytest.raises(ValueError, match=r"array 't0' is damaged: its header declares float32"):
        load(path)


@pytest.mark.parametrize(
    ("root", "problem"),
    [
        ({"type": "dict", "items": {"a": 1}}, "items are a dict, not a list"),
        ({"type": "dict", "items": [[1, 2, 3]]}, "not a [key, value] pair"),
        ({"type": "dict", "items": [[{"type": "list", "items": []}, 1]]}, "key of type list"),
        ({"type": "dict"}, "fields ['type'], not ['items', 'type']"),
        ({"type": "float", "value": [1]}, "not nan or inf"),
        ({"type": "set", "items": []}, "unknown type 'set'"),
        ({"type": ["list"], "items": []}, "unknown type ['list']"),
        ([1, 2], "is a JSON list"),
        ({"type": "tensor", "array": "t9", "requires_grad": False}, "array 't9' that is not in"),
        ({"type": "tensor", "array": 5, "requires_grad": False}, "array 5 that is not in"),
        ({"type": "tensor", "array": "t0", "requires_grad": "yes"}, "not true or false"),
        ({"type": "list", "items": [{"type": "list", "items": []}] * 2}, None),
    ],
)
def test_a_tampered_manifest_is_one_value_error(tmp_path, root, problem):
    extra = {"t0.npy": member_bytes(saved_ones(tmp_path))["t0.npy"]}
    path = with_manifest(tmp_path, root, extra)
    if problem is None:
        assert load(path) == [[], []]
        return
    with pytest.raises(ValueError) as err:
        load(path)
    assert problem in str(err.value) and "\n" not in str(err.value)


def saved_ones(tmp_path) -> Path:
    save({"w": engine.ones(2)}, tmp_path / "ones.npz")
    return tmp_path / "ones.npz"


def test_one_array_referred_to_twice_is_refused(tmp_path):
    extra = {"t0.npy": member_bytes(saved_ones(tmp_path))["t0.npy"]}
    entry = {"type": "tensor", "array": "t0", "requires_grad": False}
    path = with_manifest(tmp_path, {"type": "list", "items": [entry, entry]}, extra)
    with pytest.raises(ValueError, match="already holds"):
        load(path)


def test_deep_nesting_and_huge_numbers_in_a_manifest(tmp_path):
    node = {"type": "list", "items": []}
    for _ in range(150):
        node = {"type": "list", "items": [node]}
    with pytest.raises(ValueError, match="nested 3.. levels deep"):
        load(with_manifest(tmp_path, node))
    raw = b'{"format": "stepgrad-state", "version": 1, "root": ' + b"[" * 100_000
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(raw, np.uint8))
    path = rewritten(tmp_path / "deep.npz", {f"{serialization.MANIFEST}.npy": buffer.getvalue()})
    with pytest.raises(ValueError, match="nested 100001 levels deep"):
        load(path)
    assert load(with_manifest(tmp_path, 10**300)) == 10**300


def test_string_complex_and_datetime_tensors_are_refused(tmp_path):
    for array in (np.array(["a", "b"]), np.ones(2, np.complex64), np.zeros(2, "M8[s]")):
        buffer = io.BytesIO()
        np.save(buffer, array)
        entry = {"type": "tensor", "array": "t0", "requires_grad": False}
        path = with_manifest(tmp_path, entry, {"t0.npy": buffer.getvalue()})
        with pytest.raises(ValueError, match=re.escape(f"array 't0' holds {array.dtype},")):
            load(path)


def test_a_fifo_or_folder_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.npz")
    with pytest.raises(NotARegularFileError, match="not a regular file"):
        load(tmp_path / "pipe.npz")
    with pytest.raises(NotARegularFileError, match="a folder"):
        load(tmp_path)


def test_check_sees_shapes_and_dtypes_before_any_data(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    save({"w": engine.ones(2, 3), "n": np.int8(3)}, path)
    seen = {}

    def check(saved):
        seen.update(saved)
        raise ValueError("no thanks")

    reads, real = [], serialization._Reader._data

    def reading(reader, slot, shape, dtype):
        reads.append(slot.member.filename)
        return real(reader, slot, shape, dtype)

    monkeypatch.setattr(serialization._Reader, "_data", reading)
    with pytest.raises(ValueError, match="no thanks"):
        load(path, check=check)
    assert seen == {
        "w": ArrayInfo((2, 3), np.dtype("float32"), True),
        "n": ArrayInfo((), np.dtype("int8"), False),
    }
    assert reads == [f"{serialization.MANIFEST}.npy"]  # and no array's


def test_fortran_ordered_and_deflated_arrays_load(tmp_path):
    path = tmp_path / "w.npz"
    matrix = np.arange(6.0).reshape(2, 3)
    save({"t": engine.tensor(matrix.T), "a": np.asfortranarray(matrix)}, path)
    rewritten(path, member_bytes(path), zipfile.ZIP_DEFLATED)
    loaded = load(path)
    np.testing.assert_array_equal(loaded["t"].numpy(), matrix.T)
    np.testing.assert_array_equal(loaded["a"], matrix)
