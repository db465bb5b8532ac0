"""engine.load on damaged saves: it loads, or it raises one ValueError; never another error."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.serialization import MANIFEST, load, save

SECONDS = 5  # any one load, however damaged the file

DTYPES = ["float32", "float64", "float16", "int64", "int8", "uint8", "bool", "complex64"]
arrays = st.builds(
    lambda dtype, shape, tensor: (
        engine.tensor(np.ones(shape, dtype))
        if tensor and dtype != "complex64"  # the engine has no complex tensors
        else np.arange(np.prod(shape)).astype(dtype)
    ),
    st.sampled_from(DTYPES),
    st.lists(st.integers(0, 3), max_size=3).map(tuple),
    st.booleans(),
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
saved_objects = st.recursive(
    scalars | arrays,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    save(obj, buffer)
    return buffer.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def archive(parts: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def with_manifest(data: bytes, manifest) -> bytes:
    """The same save with its manifest replaced by `manifest` (JSON-able, or raw bytes)."""
    parts = members(data)
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    parts[f"{MANIFEST}.npy"] = npy(np.frombuffer(raw, np.uint8))
    return archive(parts)


def manifest_of(data: bytes) -> dict:
    return json.loads(np.load(io.BytesIO(members(data)[f"{MANIFEST}.npy"])).tobytes())


def loads_or_refuses(data: bytes) -> None:
    """The property: load returns, or raises ValueError with a one-line message."""
    start = time.perf_counter()
    try:
        load(io.BytesIO(data))
    except ValueError as err:
        assert "\n" not in str(err), str(err)
    assert time.perf_counter() - start < SECONDS


def paths(node, path=()):
    """Every place in a JSON value, as a path of keys and indices."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, (*path, i))


def replaced(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = replaced(node[path[0]], path[1:], value)
    return copy


# ----- ways to damage a save: each takes its bytes and returns them damaged ----------
def byte_flips(raw: bytes, data) -> bytes:
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    return bytes(raw)


def truncation(raw: bytes, data) -> bytes:
    return raw[: data.draw(st.integers(0, len(raw) - 1))]


def manifest_edits(raw: bytes, data) -> bytes:
    manifest = manifest_of(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        place = data.draw(st.sampled_from(list(paths(manifest))))
        manifest = replaced(manifest, place, data.draw(json_values))
    return with_manifest(raw, manifest)


def header_swaps(raw: bytes, data) -> bytes:
    """An array's header declares another dtype or shape (its data unchanged or not)."""
    parts = members(raw)
    names = sorted(n for n in parts if not n.startswith(MANIFEST))
    if not names:
        return raw
    name = data.draw(st.sampled_from(names))
    array = np.load(io.BytesIO(parts[name]))
    dtype = data.draw(st.sampled_from([*DTYPES, "<U3", "|S2", "V4", "<M8[s]"]))
    shapes = st.just(array.shape) | st.lists(st.integers(0, 2**40), max_size=3).map(tuple)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": data.draw(shapes)}
    )
    same_size = np.zeros(array.shape, dtype).tobytes()
    body = data.draw(st.sampled_from([array.tobytes(), same_size, b""]))
    parts[name] = header.getvalue() + body
    return archive(parts)


def member_changes(raw: bytes, data) -> bytes:
    """A member deleted, emptied or garbled, or the whole archive deflated."""
    parts = members(raw)
    name = data.draw(st.sampled_from(sorted(parts)))
    change = data.draw(st.sampled_from(["delete", "empty", "garble", "deflate"]))
    if change == "delete":
        del parts[name]
    elif change == "empty":
        parts[name] = b""
    elif change == "garble":
        parts[name] = data.draw(st.binary(max_size=64))
    return archive(parts, zipfile.ZIP_DEFLATED if change == "deflate" else zipfile.ZIP_STORED)


DAMAGE = [byte_flips, truncation, manifest_edits, header_swaps, member_changes]


# ----- the properties ----------------------------------------------------------
@settings(max_examples=40)
@given(saved_objects)
def test_what_save_writes_load_reads(obj):
    loaded = load(io.BytesIO(saved_bytes(obj)))
    assert type(loaded) is type(obj)


@settings(max_examples=60)
@given(st.sampled_from(DAMAGE), saved_objects, st.data())
def test_a_damaged_save_loads_or_raises_value_error(damage, obj, data):
    loads_or_refuses(damage(saved_bytes(obj), data))


@pytest.mark.slow
@settings(max_examples=3000)
@given(st.sampled_from(DAMAGE), saved_objects, st.data())
def test_a_damaged_save_loads_or_raises_value_error_many(damage, obj, data):
    loads_or_refuses(damage(saved_bytes(obj), data))
