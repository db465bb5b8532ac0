"""MNIST and Fashion-MNIST, read from IDX files in torchvision's folder layout."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from engine.datasets.vision import DIGIT_CLASSES, VisionDataset
from engine.files import open_regular
from engine.tensor import Tensor

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_NAMES = {
    0x08: "unsigned bytes", 0x09: "signed bytes", 0x0B: "16-bit integers",
    0x0C: "32-bit integers", 0x0D: "32-bit floats", 0x0E: "64-bit floats",
}  # fmt: skip
# The most data one IDX file may declare: 256 MiB, over five times MNIST's 47 MB of
# training images. A header past it is refused before anything is read or allocated.
MAX_IDX_BYTES = 256 * 2**20
_CHUNK = 1 << 20  # bytes read at a time, so that a short file allocates no more than it holds


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not where the dataset looked."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but does not hold what it should."""


class DownloadError(RuntimeError):
    """No mirror gave a file with the right checksum."""


class MNIST(VisionDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28.

    Files are looked for in `root/MNIST/raw/` (torchvision's layout) and then in
    `root/` itself, each as `train-images-idx3-ubyte` or with `.gz`. `.data` is the
    uint8 tensor (N, 28, 28) and `.targets` the int64 labels, as in torchvision;
    items are (image (1, 28, 28) float32 in [0, 1], label). `.files` names the images
    file and the labels file read. A file that is missing raises DatasetNotFoundError;
    one that is damaged, too large or not a regular file, CorruptDatasetError.
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = DIGIT_CLASSES

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ):
        super().__init__(transform, target_transform)
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        if download:
            self.download()
        prefix = "train" if train else "t10k"
        images_path = self._find_or_explain(f"{prefix}-images-idx3-ubyte")
        labels_path = self._find_or_explain(f"{prefix}-labels-idx1-ubyte")
        images = read_idx(images_path, ndim=3)
        labels = read_idx(labels_path, ndim=1)
        self.files = (images_path, labels_path)
        if len(images) != len(labels):
            raise CorruptDatasetError(
                f"{images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels; the two files must come from the same set"
            )
        if len(labels) and labels.max() >= len(self.classes):
            raise CorruptDatasetError(
                f"{labels_path}: label {int(labels.max())} is out of range "
                f"0..{len(self.classes) - 1}"
            )
        self.data = Tensor._make(images, False, None)
        self.targets = Tensor._make(labels.astype(np.int64), False, None)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _candidates(self, stem: str) -> list[str]:
        folders = (self.raw_folder, self.root)
        return [os.path.join(folder, stem + ext) for folder in folders for ext in ("", ".gz")]

    def _find(self, stem: str) -> str | None:
        """The first candidate that is a file; else the first that is something else, which
        reading then refuses by name (a folder or FIFO is not taken for a missing file)."""
        candidates = self._candidates(stem)
        found = next((p for p in candidates if os.path.isfile(p)), None)
        return found or next((p for p in candidates if os.path.exists(p)), None)

    def _find_or_explain(self, stem: str) -> str:
        path = self._find(stem)
        if path is not None:
            return path
        files = ", ".join(name for name, _ in self.resources)
        raise DatasetNotFoundError(
            f"{type(self).__name__}: {stem} not found. Looked for:\n  "
            + "\n  ".join(self._candidates(stem))
            + f"\nPass download=True to fetch it, or copy the four files ({files}) "
            f"into {self.raw_folder} or {self.root}."
        )

    def download(self) -> None:
        """Fetch the files that are missing into `raw_folder`, checking their MD5."""
        for filename, md5 in self.resources:
            if self._find(filename.removesuffix(".gz")) is None:
                os.makedirs(self.raw_folder, exist_ok=True)
                download_file(self.mirrors, filename, md5, os.path.join(self.raw_folder, filename))

    def _images(self, index) -> np.ndarray:
        images = self.data._data[index].astype(np.float32) / np.float32(255)
        return np.expand_dims(images, -3)

    def extra_repr(self) -> str:
        return f"Root location: {self.root}\nSplit: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip


def read_idx(
    path: str | os.PathLike, ndim: int, type_code: int = 0x08, max_bytes: int = MAX_IDX_BYTES
) -> np.ndarray:
    """The array in an IDX file (gzipped or not), checked against its header.

    The header is read first: a shape that would hold more than `max_bytes` is refused
    before anything is allocated, and then exactly the bytes it declares are read, plus
    one to catch what follows them. A gzip bomb costs no more memory than the data its
    header declares. Every problem, a folder or FIFO in the file's place included, is a
    CorruptDatasetError (a DatasetNotFoundError for a missing file) naming `path`.
    """
    path = os.fspath(path)
    if type_code not in _IDX_TYPES:
        codes = ", ".join(f"0x{code:02x}" for code in _IDX_TYPES)
        raise ValueError(f"read_idx: type_code must be one of {codes}, got {type_code!r}")
    dtype = np.dtype(_IDX_TYPES[type_code])
    try:
        # a file larger than any data it may hold, gzip's overhead allowed for, is refused
        # unread; this also bounds the time spent scanning a gzip header for its end
        f = open_regular(path, max_bytes + max_bytes // 8 + 4096)
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{path}: no such file") from None
    except OSError as err:
        raise CorruptDatasetError(_os_reason(path, err)) from None
    with f:
        zipped = f.read(2) == b"\x1f\x8b"  # gzip's magic, whatever the file is called
        f.seek(0)
        try:
            if zipped:
                with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                    return _read_idx_stream(stream, path, ndim, type_code, dtype, max_bytes, None)
            size = os.fstat(f.fileno()).st_size
            return _read_idx_stream(f, path, ndim, type_code, dtype, max_bytes, size)
        except (OSError, EOFError, zlib.error) as err:
            if zipped:
                raise CorruptDatasetError(f"{path}: not a valid gzip file ({err})") from None
            raise CorruptDatasetError(_os_reason(path, err)) from None


def _read_idx_stream(
    f: BinaryIO, path: str, ndim: int, type_code: int, dtype: np.dtype, max_bytes: int, size
) -> np.ndarray:
    """The array after the header at `f`'s position; `size` is the file's, when not gzipped."""
    expected = (type_code << 8) | ndim
    head = _read_up_to(f, 4)
    if len(head) < 4:
        raise CorruptDatasetError(f"{path}: truncated: {len(head)} bytes, too short for a header")
    magic = struct.unpack(">I", head)[0]
    if magic != expected:
        raise CorruptDatasetError(
            f"{path}: bad magic number 0x{magic:08x}, expected 0x{expected:08x} "
            f"({_describe(expected)}){_what_it_is(magic)}; is it the right file?"
        )
    dims = _read_up_to(f, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise CorruptDatasetError(
            f"{path}: truncated inside the header ({4 + len(dims)} bytes, "
            f"the header of {_describe(expected)} takes {4 + 4 * ndim})"
        )
    shape = struct.unpack(f">{ndim}I", dims)
    need = math.prod(shape) * dtype.itemsize
    # a zero in the shape makes no data, but numpy still refuses the other sizes' product
    if math.prod(max(d, 1) for d in shape) * dtype.itemsize > max_bytes:
        holds = "" if size is None else f" (the file holds {size} bytes)"
        raise CorruptDatasetError(
            f"{path}: the header's shape {shape} is more than the {_size(max_bytes)} "
            f"of data an IDX file may hold here{holds}; is it the right file?"
        )
    if size is not None and size != 4 + 4 * ndim + need:
        have = size - 4 - 4 * ndim
        if have < need:
            raise CorruptDatasetError(
                f"{path}: truncated: the header says shape {shape} ({need} bytes of data) "
                f"but the file holds {have}"
            )
        raise CorruptDatasetError(
            f"{path}: {have - need} unexpected bytes after the data of shape {shape}"
        )
    buffer = np.empty(need, dtype=np.uint8)  # pages are only taken as data arrives
    view, got = memoryview(buffer), 0
    while got < need:
        n = f.readinto(view[got : got + _CHUNK])
        if not n:
            raise CorruptDatasetError(
                f"{path}: truncated: the header says shape {shape} ({need} bytes of data) "
                f"but the file holds {got}"
            )
        got += n
    if f.read(1):
        raise CorruptDatasetError(f"{path}: unexpected bytes after the data of shape {shape}")
    if not dtype.isnative:
        buffer.view(dtype).byteswap(inplace=True)
    return buffer.view(dtype.newbyteorder("=")).reshape(shape)


def _read_up_to(f: BinaryIO, n: int) -> bytes:
    """Up to `n` bytes, fewer only at the end of the file."""
    parts, got = [], 0
    while got < n and (part := f.read(n - got)):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _describe(magic: int) -> str:
    """'an IDX file of 3-d unsigned bytes', for the magic number of one."""
    kind = _IDX_NAMES.get((magic >> 8) & 0xFF, f"type code 0x{(magic >> 8) & 0xFF:02x}")
    return f"an IDX file of {magic & 0xFF}-d {kind}"


def _what_it_is(magic: int) -> str:
    """What a wrong magic number says the file is, where it is some IDX file."""
    if magic >> 16 or (magic >> 8) & 0xFF not in _IDX_TYPES:
        return ""
    return f": it is {_describe(magic)}"


def _size(n: int) -> str:
    """'256 MiB', or a byte count where it is not whole mebibytes."""
    return f"{n // 2**20} MiB" if n and n % 2**20 == 0 else f"{n} bytes"


def _os_reason(path: str, err: OSError) -> str:
    """'PATH: why', for an error met reading the file at `path`."""
    return f"{path}: {err.strerror or err}" if err.filename is None else str(err)


def download_file(mirrors: list[str], filename: str, md5: str, destination: str) -> None:
    """Fetch `filename` from the first mirror that serves it with this MD5; write atomically."""
    import http.client  # only downloads pay for importing the web modules
    import urllib.error
    import urllib.request

    tried = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "stepgrad"})
            with urllib.request.urlopen(request, timeout=30) as response:
                got = _save_stream(response, destination, md5)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            tried.append(f"{url}: {e}")
            continue
        if got == md5:
            return
        tried.append(f"{url}: checksum mismatch (md5 {got}, expected {md5})")
    raise DownloadError(
        f"could not download {filename} to {destination}. Tried:\n  " + "\n  ".join(tried)
    )


def _save_stream(response, destination: str, md5: str) -> str:
    """Stream to a temporary file beside `destination`; rename only when the MD5 matches."""
    digest = hashlib.md5(usedforsecurity=False)
    folder, name = os.path.split(destination)
    fd, tmp = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() == md5:
            os.replace(tmp, destination)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return digest.hexdigest()
