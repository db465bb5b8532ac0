"""save/load for state dicts: a .npz of arrays plus a JSON manifest, never a pickle."""

from __future__ import annotations

import json
import os
import zipfile
from collections import OrderedDict

import numpy as np

from engine import backend
from engine.dtypes import device
from engine.files import write_atomic
from engine.tensor import Tensor

FORMAT = "stepgrad-state"
VERSION = 1
MANIFEST = "__stepgrad_manifest__"
_SCALARS = (bool, int, float, str, type(None))
_CONTAINERS = {"dict": dict, "OrderedDict": OrderedDict, "list": list, "tuple": tuple}


def save(obj, f) -> None:
    """Write `obj` to `f` (a path, written exactly as named, or a binary file object).

    `obj` may nest dicts (keys: str, int, float, bool, None or tuples of them),
    OrderedDicts, lists and tuples of tensors, NumPy arrays and scalars, Python
    numbers, strings, bools and None. Saving to a path is atomic: a temporary file
    in the same folder replaces the old one only once it is complete.
    """
    arrays: dict[str, np.ndarray] = {}
    root = _encode(obj, arrays, "obj")
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    arrays[MANIFEST] = np.frombuffer(manifest.encode("utf-8"), dtype=np.uint8)
    if hasattr(f, "write"):
        _write_npz(f, arrays)
        return
    write_atomic(f, lambda out: _write_npz(out, arrays))


def load(f, map_location=None, weights_only: bool | None = None):
    """Read what `save` wrote; tensors come back on the CPU or on `map_location`.

    Files are opened with `allow_pickle=False`: anything that is not a stepgrad
    save (a pickle, a PyTorch checkpoint, a plain .npz) is refused with a
    ValueError, never unpickled. `weights_only` is accepted for PyTorch scripts.
    """
    name = getattr(f, "name", None) or (repr(f) if hasattr(f, "read") else os.fspath(f))
    target = _map_location(map_location)
    if not hasattr(f, "read"):
        with open(f, "rb") as fh:
            return _load_from(fh, name, target)
    return _load_from(f, name, target)


# ----- writing --------------------------------------------------------------
def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    np.savez(f, **arrays)


def _encode(obj, arrays: dict[str, np.ndarray], where: str):
    """A JSON-able description of `obj`; tensors and arrays go into `arrays` by name."""
    if isinstance(obj, Tensor):
        key = f"t{len(arrays)}"
        arrays[key] = backend.to_numpy(obj._data)
        return {"type": "tensor", "array": key, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray | np.generic):
        if obj.dtype.kind not in "biufcUS":
            raise TypeError(f"save: {where} is a numpy array of {obj.dtype}, which needs pickle")
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"type": "ndarray", "array": key, "scalar": isinstance(obj, np.generic)}
    if isinstance(obj, float) and not np.isfinite(obj):
        return {"type": "float", "value": repr(obj)}  # JSON has no NaN or Infinity
    if isinstance(obj, _SCALARS):
        return obj
    kind = _container_kind(obj)
    if kind is None:
        raise TypeError(
            f"save: can't store {where} of type {type(obj).__name__}; supported are tensors, "
            "numpy arrays, numbers, strings, bools, None, and dicts, lists and tuples of them"
        )
    if kind in ("list", "tuple"):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    else:
        for k in obj:
            if not _is_plain_key(k):
                raise TypeError(
                    f"save: {where} has a key of type {type(k).__name__} ({k!r}); keys must be "
                    "str, int, float, bool, None or tuples of them"
                )
        items = [
            [_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")]
            for k, v in obj.items()
        ]
    return {"type": kind, "items": items}


def _container_kind(obj) -> str | None:
    if isinstance(obj, OrderedDict):
        return "OrderedDict"
    if isinstance(obj, dict):
        return "dict"
    if isinstance(obj, tuple):
        return "tuple"
    if isinstance(obj, list):
        return "list"
    return None


def _is_plain_key(k) -> bool:
    return isinstance(k, _SCALARS) or (isinstance(k, tuple) and all(_is_plain_key(x) for x in k))


# ----- reading --------------------------------------------------------------
def _load_from(fh, name: str, target: str | None):
    head = fh.read(4)
    fh.seek(0)
    if head[:1] == b"\x80":  # the PROTO opcode that starts every pickle since protocol 2
        raise ValueError(
            f"{name}: this is a pickle file, not a stepgrad save; stepgrad never unpickles "
            "files. Re-save the data with engine.save"
        )
    if not zipfile.is_zipfile(fh):
        raise ValueError(
            f"{name}: not a stepgrad save file (expected a .npz archive written by engine.save)"
        )
    fh.seek(0)
    with zipfile.ZipFile(fh) as z:
        members = z.namelist()
    if f"{MANIFEST}.npy" not in members:
        if any(m.endswith("data.pkl") for m in members):
            raise ValueError(
                f"{name}: this is a PyTorch torch.save checkpoint (pickled data); stepgrad "
                "never unpickles files. In PyTorch, convert it with "
                "np.savez(path, **{k: v.numpy() for k, v in state_dict.items()}) "
                "and load those arrays with numpy"
            )
        raise ValueError(
            f"{name}: a zip/.npz archive without a stepgrad manifest; it was not written by "
            "engine.save (a plain .npz of arrays opens with numpy.load)"
        )
    fh.seek(0)
    try:
        with np.load(fh, allow_pickle=False) as npz:
            manifest = _read_manifest(npz[MANIFEST], name)
            return _decode(manifest["root"], npz, name, target)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{name}: damaged stepgrad save file ({e})") from None


def _read_manifest(raw: np.ndarray, name: str) -> dict:
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{name}: the manifest is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "root" not in manifest:
        raise ValueError(f"{name}: the manifest is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise ValueError(
            f"{name}: format version {manifest.get('version')!r}; this stepgrad reads {VERSION}"
        )
    return manifest


def _decode(node, npz, name: str, target: str | None):
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "float":
        return float(node["value"])
    if kind in ("tensor", "ndarray"):
        array = _array(npz, node.get("array"), name)
        if kind == "ndarray":
            return array[()] if node.get("scalar") else array
        if target is not None:
            array = backend.to_device(array, target)
        t = Tensor._make(array, False, None)
        return t.requires_grad_(True) if node.get("requires_grad") else t
    if kind in _CONTAINERS:
        items = node.get("items", [])
        if kind in ("list", "tuple"):
            return _CONTAINERS[kind](_decode(v, npz, name, target) for v in items)
        return _CONTAINERS[kind](
            (_decode(k, npz, name, target), _decode(v, npz, name, target)) for k, v in items
        )
    raise ValueError(f"{name}: the manifest has an entry of unknown type {kind!r}")


def _array(npz, key, name: str) -> np.ndarray:
    if not isinstance(key, str) or key not in npz.files:
        raise ValueError(f"{name}: the manifest refers to an array {key!r} that is not in the file")
    try:
        return npz[key]
    except ValueError as e:  # object arrays would need pickle, which stays off
        raise ValueError(f"{name}: array {key!r} can't be read without pickle ({e})") from None


def _map_location(map_location) -> str | None:
    """None for the CPU (where arrays are read), else the device to move tensors to."""
    if map_location is None:
        return None
    if not isinstance(map_location, str | device):
        raise TypeError(
            f"load: map_location must be None, 'cpu', 'cuda' or a device, got {map_location!r}"
        )
    kind = device(map_location).type
    return None if kind == "cpu" else kind
