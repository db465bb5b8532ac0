"""save/load for state dicts: a .npz of arrays plus a JSON manifest, never a pickle."""

from __future__ import annotations

import json
import math
import os
import struct
import tokenize
import zipfile
import zlib
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numpy.lib import format as npy_format

from engine import backend
from engine.dtypes import device
from engine.files import open_regular, parse_json, write_atomic
from engine.tensor import Tensor

FORMAT = "stepgrad-state"
VERSION = 1
MANIFEST = "__stepgrad_manifest__"
_SCALARS = (bool, int, float, str, type(None))
_CONTAINERS = {"dict": dict, "OrderedDict": OrderedDict, "list": list, "tuple": tuple}
# Bounds on what a save's structure may declare; the arrays' data has none, since a
# legitimate save may be as large as memory, but each array's size must agree with its
# zip member's sizes (deflate expands at most about 1032-fold).
MAX_MANIFEST_BYTES = 64 * 2**20
MAX_MANIFEST_DEPTH = 200
MAX_HEADER_BYTES = 10_000
MAX_DEFLATE_RATIO = 1100
READ_BLOCK = 1 << 22


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


def load(f, map_location=None, weights_only: bool | None = None, *, check=None):
    """Read what `save` wrote; tensors come back on the CPU or on `map_location`.

    Files are opened with `allow_pickle=False`: anything that is not a stepgrad
    save (a pickle, a PyTorch checkpoint, a plain .npz) is refused with a
    ValueError, never unpickled, and so is a damaged one, whatever the damage.
    `check`, if given, is called with the saved object as it will load, but with
    an ArrayInfo (shape, dtype) for each array, before any array's data is read:
    an error it raises ends the load. `weights_only` is accepted for PyTorch scripts.
    """
    if hasattr(f, "read"):
        name = str(getattr(f, "name", None) or repr(f))
    else:
        name = os.fspath(f)
    target = _map_location(map_location)
    if not hasattr(f, "read"):
        with open_regular(f) as fh:  # a folder or FIFO is refused without blocking
            return _load_from(fh, name, target, check)
    return _load_from(f, name, target, check)


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
@dataclass(frozen=True)
class ArrayInfo:
    """An array of a save as its header declares it, before any of its data is read.

    `tensor` says whether it loads as a Tensor (else as a numpy array or scalar).
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    tensor: bool


@dataclass(frozen=True)
class _Slot:
    """Where an ArrayInfo's data lies: its member, and how the loaded array is returned."""

    member: zipfile.ZipInfo
    offset: int  # where the data starts, after the .npy header
    fortran: bool
    scalar: bool
    requires_grad: bool


def _load_from(fh, name: str, target: str | None, check):
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
    with _zip_errors(name, "the zip directory"):
        archive = zipfile.ZipFile(fh)
    with archive:
        reader = _Reader(archive, name)
        root = reader.read_manifest()
        if check is not None:
            check(root)
        return reader.fill(root, target)


class _Reader:
    """One archive's members: headers first (shapes, dtypes, sizes), data only when asked."""

    def __init__(self, archive: zipfile.ZipFile, name: str):
        self.archive, self.name = archive, name
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            if info.filename in self.members:
                raise ValueError(f"{name}: damaged save file (member {info.filename!r} twice)")
            self.members[info.filename] = info
        self.slots: dict[int, _Slot] = {}  # id(ArrayInfo) -> where its data is
        self.used: set[str] = set()

    def read_manifest(self):
        """The saved object with ArrayInfo in place of each array; every entry checked."""
        info = self.members.get(f"{MANIFEST}.npy")
        if info is None:
            if any(m.endswith("data.pkl") for m in self.members):
                raise ValueError(
                    f"{self.name}: this is a PyTorch torch.save checkpoint (pickled data); "
                    "stepgrad never unpickles files. In PyTorch, convert it with "
                    "np.savez(path, **{k: v.numpy() for k, v in state_dict.items()}) "
                    "and load those arrays with numpy"
                )
            raise ValueError(
                f"{self.name}: a zip/.npz archive without a stepgrad manifest; it was not "
                "written by engine.save (a plain .npz of arrays opens with numpy.load)"
            )
        shape, fortran, dtype, offset = self._header(info, MANIFEST)
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_MANIFEST_BYTES:
            raise ValueError(
                f"{self.name}: the manifest is not text of at most "
                f"{MAX_MANIFEST_BYTES} bytes (it is {dtype} of shape {shape})"
            )
        raw = self._data(_Slot(info, offset, fortran, False, False), shape, dtype)
        try:
            manifest = parse_json(raw.tobytes().decode("utf-8"), MAX_MANIFEST_DEPTH)
        except ValueError as e:  # also UnicodeDecodeError and JSONDecodeError
            raise ValueError(f"{self.name}: the manifest is not valid JSON ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"{self.name}: the manifest is not a {FORMAT} manifest")
        if manifest.get("version") != VERSION or isinstance(manifest.get("version"), bool):
            raise ValueError(
                f"{self.name}: format version {_short(manifest.get('version'))}; "
                f"this stepgrad reads {VERSION}"
            )
        if set(manifest) != {"format", "version", "root"}:
            raise ValueError(f"{self.name}: the manifest has entries {sorted(manifest)}")
        return self._decode(manifest["root"], "obj")

    def fill(self, node, target: str | None):
        """`node` with each ArrayInfo replaced by its array or tensor, read now."""
        if isinstance(node, ArrayInfo):
            slot = self.slots[id(node)]
            array = self._data(slot, node.shape, node.dtype)
            if not node.tensor:
                return array[()] if slot.scalar else array
            if target is not None:
                array = backend.to_device(array, target)
            return Tensor._make(array, slot.requires_grad, None)
        if isinstance(node, list | tuple):
            return type(node)(self.fill(v, target) for v in node)
        if isinstance(node, dict):
            return type(node)((k, self.fill(v, target)) for k, v in node.items())
        return node

    # ----- the manifest's entries -------------------------------------------
    def _decode(self, node, where: str):
        if isinstance(node, bool | int | float | str | type(None)):
            return node
        if not isinstance(node, dict):
            self._bad(where, f"is a JSON {type(node).__name__}, which engine.save never writes")
        kind = node.get("type")
        fields = _FIELDS.get(kind) if isinstance(kind, str) else None
        if fields is None:
            self._bad(where, f"has an entry of unknown type {_short(kind)}")
        if set(node) != fields:
            self._bad(where, f"is a {kind} entry with fields {sorted(node)}, not {sorted(fields)}")
        if kind == "float":
            if node["value"] not in ("nan", "inf", "-inf"):
                self._bad(where, f"is a float entry for {_short(node['value'])}, not nan or inf")
            return float(node["value"])
        if kind in ("tensor", "ndarray"):
            return self._array_entry(node, kind, where)
        items = node["items"]
        if not isinstance(items, list):
            self._bad(where, f"is a {kind} whose items are a {type(items).__name__}, not a list")
        if kind in ("list", "tuple"):
            return _CONTAINERS[kind](self._decode(v, f"{where}[{i}]") for i, v in enumerate(items))
        pairs = []
        for i, pair in enumerate(items):
            if not isinstance(pair, list) or len(pair) != 2:
                self._bad(where, f"is a {kind} whose item {i} is not a [key, value] pair")
            key = self._decode(pair[0], f"{where} key {i}")
            if not _is_plain_key(key):
                self._bad(where, f"is a {kind} with a key of type {type(key).__name__}")
            pairs.append((key, self._decode(pair[1], f"{where}[{_short(key)}]")))
        return _CONTAINERS[kind](pairs)

    def _array_entry(self, node: dict, kind: str, where: str) -> ArrayInfo:
        key = node["array"]
        flag = node["requires_grad" if kind == "tensor" else "scalar"]
        if not isinstance(flag, bool):
            self._bad(where, f"has a {kind} flag {_short(flag)} that is not true or false")
        member = self.members.get(f"{key}.npy") if isinstance(key, str) else None
        if member is None or key == MANIFEST:
            raise ValueError(
                f"{self.name}: the manifest refers to an array {_short(key)} "
                "that is not in the file"
            )
        if key in self.used:
            self._bad(where, f"refers to array {key!r}, which another entry already holds")
        self.used.add(key)
        shape, fortran, dtype, offset = self._header(member, key)
        if dtype.kind not in ("biuf" if kind == "tensor" else "biufcUS"):  # no complex tensors
            raise ValueError(
                f"{self.name}: array {key!r} holds {dtype}, which a {kind} can't (saved at {where})"
            )
        if kind == "ndarray" and flag and shape != ():
            self._bad(where, f"is a scalar whose array {key!r} has shape {shape}")
        if kind == "tensor" and flag and dtype.kind != "f":
            self._bad(where, f"asks {dtype} tensor {key!r} to require gradients")
        info = ArrayInfo(shape, dtype, kind == "tensor")
        scalar, requires_grad = (flag, False) if kind == "ndarray" else (False, flag)
        self.slots[id(info)] = _Slot(member, offset, fortran, scalar, requires_grad)
        return info

    def _bad(self, where: str, problem: str):
        raise ValueError(f"{self.name}: damaged manifest: {where} {problem}")

    # ----- the members' bytes -------------------------------------------------
    def _header(self, info: zipfile.ZipInfo, key: str) -> tuple[tuple, bool, np.dtype, int]:
        """Shape, order, dtype and data offset of member `info`, checked against its size."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(
                f"{self.name}: array {key!r} is compressed with zip method "
                f"{info.compress_type}; saves are stored or deflated"
            )
        with _zip_errors(self.name, f"array {key!r}"), self.archive.open(info) as member:
            version = npy_format.read_magic(member)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f".npy format version {version}")
            read = npy_format.read_array_header_1_0
            if version == (2, 0):
                read = npy_format.read_array_header_2_0
            shape, fortran, dtype = read(member, max_header_size=MAX_HEADER_BYTES)
            offset = member.tell()
        if dtype.hasobject:
            raise ValueError(
                f"{self.name}: array {key!r} can't be read without pickle: it holds Python "
                f"objects (dtype {dtype})"
            )
        if any(n < 0 for n in shape):
            raise ValueError(f"{self.name}: array {key!r} has a damaged header (shape {shape})")
        size = offset + math.prod(shape) * dtype.itemsize
        if size != info.file_size:
            raise ValueError(
                f"{self.name}: array {key!r} is damaged: its header declares {dtype} of shape "
                f"{shape} ({size} bytes), the archive {info.file_size} bytes"
            )
        deflated = info.compress_type == zipfile.ZIP_DEFLATED
        most = MAX_DEFLATE_RATIO * info.compress_size + 1024 if deflated else info.compress_size
        if info.file_size > most:
            raise ValueError(
                f"{self.name}: array {key!r} is damaged: {info.file_size} bytes can't come "
                f"from {info.compress_size} {'deflated' if deflated else 'stored'} bytes"
            )
        return shape, fortran, dtype, offset

    def _data(self, slot: _Slot, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """The member's array, read in blocks straight into its own memory."""
        key = slot.member.filename
        try:
            array = np.empty(shape[::-1] if slot.fortran else shape, dtype)
        except MemoryError:
            raise ValueError(
                f"{self.name}: array {key!r} ({slot.member.file_size} bytes) does not fit in memory"
            ) from None
        view = memoryview(array.reshape(-1).view(np.uint8)) if array.nbytes else memoryview(b"")
        with _zip_errors(self.name, f"array {key!r}"), self.archive.open(slot.member) as member:
            member.read(slot.offset)
            done = 0
            while done < len(view):
                n = member.readinto(view[done : done + READ_BLOCK])
                if not n:
                    raise EOFError("the data ends early")
                done += n
            if member.read(1):
                raise ValueError("more data than its header declares")
        return array.transpose() if slot.fortran else array


_FIELDS = {
    "float": {"type", "value"},
    "tensor": {"type", "array", "requires_grad"},
    "ndarray": {"type", "array", "scalar"},
    **{kind: {"type", "items"} for kind in _CONTAINERS},
}


@contextmanager
def _zip_errors(name: str, what: str):
    """What zipfile, zlib and numpy's .npy reader raise on damaged bytes, as one ValueError."""
    try:
        yield
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,  # an encrypted member
        NotImplementedError,  # an unknown compression method
        OverflowError,
        struct.error,
        zlib.error,
        SyntaxError,  # numpy reads the header as a Python literal:
        tokenize.TokenError,  # an unclosed bracket gets this
    ) as e:
        raise ValueError(f"{name}: damaged save file: {what} can't be read ({e})") from None


def _short(value) -> str:
    """`value` for a message: its repr, cut to a line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _map_location(map_location) -> str | None:
    """None for the CPU (where arrays are read), else the device to move tensors to.

    As well as a device, PyTorch scripts pass a dict from saved to wanted locations
    (the tensors go where its values say) or a function of (storage, location), such
    as `lambda storage, loc: storage`: it is asked where a CPU tensor would go.
    """
    if map_location is None:
        return None
    if isinstance(map_location, dict):
        kinds = {_map_location(v) for v in map_location.values()} - {None}
        return kinds.pop() if kinds else None  # the one device besides the CPU, if named
    if callable(map_location) and not isinstance(map_location, device):
        moved = map_location(Tensor._make(np.zeros(1, np.float32), False, None), "cpu")
        if not isinstance(moved, Tensor):
            raise TypeError(
                "load: a map_location function must return the tensor it is given, or it "
                f"moved to a device; it returned {type(moved).__name__}"
            )
        return _map_location(moved.device)
    if not isinstance(map_location, str | device):
        raise TypeError(
            f"load: map_location must be None, 'cpu', 'cuda', a device, a dict or a function, "
            f"got {map_location!r}"
        )
    kind = device(map_location).type
    return None if kind == "cpu" else kind
