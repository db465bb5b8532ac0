"""Small IDX files for tests: MNIST's format, good, damaged or hostile, built in a folder."""

from __future__ import annotations

import gzip
import math
import os
import struct
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

REAL_MNIST = Path("/work/shared/data/mnist")
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    magic = (0x08 << 8) | array.ndim if magic is None else magic
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_file(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)


def write_mnist(
    folder: Path, gz: bool = True, sizes=(6, 4), seed: int = 0, image_sizes=((28, 28), (28, 28))
) -> dict:
    """Tiny MNIST-format files in `folder`; returns the arrays written, by split."""
    rng = np.random.default_rng(seed)
    written = {}
    splits = zip(FILES.items(), sizes, image_sizes, strict=True)
    for (split, (images_name, labels_name)), n, size in splits:
        images = rng.integers(0, 256, size=(n, *size), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        ext = ".gz" if gz else ""
        write_file(folder / (images_name + ext), idx_bytes(images))
        write_file(folder / (labels_name + ext), idx_bytes(labels))
        written[split] = images, labels
    return written


def idx_header(magic: int, shape: tuple) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(shape)}I", *shape)


def zero_bomb(path: Path, header: bytes, gigabytes: int) -> None:
    """`header` then `gigabytes` GiB of zeros, as gzip members of 16 MiB: about 3 MB a GiB."""
    member = gzip.compress(bytes(16 << 20), compresslevel=9, mtime=0)
    with open(path, "wb") as f:
        f.write(gzip.compress(header, mtime=0))
        for _ in range(gigabytes * 64):
            f.write(member)


# ----- folders for property tests -----------------------------------------------
# A member is described as plain data, so that Hypothesis prints a failing folder whole.
DIMS = st.one_of(st.integers(0, 30), st.sampled_from([28, 2**16, 2**31, 2**32 - 1]))
NO_DAMAGE = {"cut": None, "flips": [], "extra": b""}


def good_member(shape: tuple, gz: bool, seed: int) -> dict:
    """A sound IDX file of unsigned bytes of `shape` (labels in 0..9)."""
    return {
        "kind": "bytes",
        "header": struct.pack(f">I{len(shape)}I", 0x0800 | len(shape), *shape),
        "payload_length": math.prod(shape),
        "labels_below": 10,
        "seed": seed,
        "gz": gz,
        **NO_DAMAGE,
    }


@st.composite
def broken_member(draw, member: dict) -> dict:
    """`member` spoiled one way or several: bytes changed, a header of anything, or no file."""
    kind = draw(st.sampled_from(["damaged", "damaged", "header", "folder", "fifo", "missing"]))
    if kind in ("folder", "fifo", "missing"):
        return {"kind": kind}
    member = dict(member)
    if kind == "header":  # a dimension count, type code and sizes, and up to 5000 bytes
        ndim = draw(st.sampled_from([0, 1, 2, 3, 4, 255]))
        shape = draw(st.lists(DIMS, min_size=min(ndim, 4), max_size=min(ndim, 4)))
        type_code = draw(st.sampled_from([0x08, 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]))
        member["header"] = struct.pack(f">I{len(shape)}I", (type_code << 8) | ndim, *shape)
        member["payload_length"] = draw(st.integers(0, 5000))
    member["labels_below"] = draw(st.sampled_from([10, 11, 256]))
    member["cut"] = draw(st.one_of(st.none(), st.integers(0, 6000)))
    member["flips"] = draw(st.lists(st.integers(0, 6000), max_size=3))
    member["extra"] = draw(st.sampled_from([b"", b"\0", b"garbage"]))
    return member


@st.composite
def mnist_folders(draw) -> dict:
    """{file name: member}: the four files of a sound folder, with none, some or all spoiled."""
    size = draw(st.sampled_from([(28, 28), (28, 28), (14, 14), (0, 0), (1, 3)]))
    members = {}
    for images, labels in FILES.values():
        count = draw(st.integers(0, 6))
        image_size = draw(st.sampled_from([size, size, size, (28, 28), (3, 1)]))
        label_count = draw(st.sampled_from([count, count, count, count + 1]))
        seed = draw(st.integers(0, 2**16))
        members[images] = good_member((count, *image_size), draw(st.booleans()), seed)
        members[labels] = good_member((label_count,), draw(st.booleans()), seed + 1)
    spoiled = draw(st.lists(st.sampled_from(sorted(members)), max_size=4, unique=True))
    for name in spoiled:
        members[name] = draw(broken_member(members[name]))
    return members


def build_folder(folder: Path, members: dict) -> None:
    """Write the files `members` describes into `folder`."""
    for name, member in members.items():
        path = folder / (name + (".gz" if member.get("gz") else ""))
        if member["kind"] == "folder":
            path.mkdir()
        elif member["kind"] == "fifo":
            os.mkfifo(path)
        elif member["kind"] == "bytes":
            rng = np.random.default_rng(member["seed"])
            high = member["labels_below"] if "labels" in name else 256
            payload = rng.integers(0, high, member["payload_length"], dtype=np.uint8).tobytes()
            data = member["header"] + payload
            if member["gz"]:
                data = gzip.compress(data, mtime=0)
            data = bytearray(data[: member["cut"]] + member["extra"])
            for position in member["flips"]:
                if position < len(data):
                    data[position] ^= 0xA5
            path.write_bytes(bytes(data))
