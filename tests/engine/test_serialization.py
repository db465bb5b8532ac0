"""engine.serialization: save/load round trips, atomic writes and refusing foreign files."""

from __future__ import annotations

import io
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import engine
from engine import serialization
from engine.serialization import load, save
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
        load(path, map_location=lambda storage, loc: storage)


@pytest.mark.gpu
def test_map_location_cuda(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": engine.ones(2)}, path)
    assert load(path, map_location="cuda")["w"].is_cuda


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
