"""Small IDX files for tests: MNIST's format, good, damaged or hostile, built in a folder."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

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
