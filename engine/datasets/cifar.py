"""CIFAR-10 from its binary version: fixed-size records, read without unpickling anything."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from engine.datasets.mnist import CorruptDatasetError, DatasetNotFoundError, DownloadError
from engine.datasets.vision import VisionDataset
from engine.files import open_regular
from engine.tensor import Tensor

_RECORD = 1 + 3 * 32 * 32  # one label byte, then the red, green and blue 32x32 planes
# A batch file holds 10,000 records (30.7 MB); anything past four times that is refused unread.
MAX_CIFAR_FILE_BYTES = 4 * 10_000 * _RECORD


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, in ten classes.

    Read from the *binary* version (`cifar-10-binary.tar.gz`, extracted): the
    folder `cifar-10-batches-bin` under `root` (or `root` itself) holding
    `data_batch_1.bin` ... `data_batch_5.bin` and `test_batch.bin`, each a run of
    3,073-byte records (a label byte, then 3,072 bytes of pixels, channel by
    channel). The pickled Python version is never read: unpickling runs code.

    `.data` is the uint8 tensor (N, 32, 32, 3), height-width-channel as in
    torchvision, and `.targets` the int64 labels; items are (image (3, 32, 32)
    float32 in [0, 1], label). Missing files raise DatasetNotFoundError naming the
    folder and the files; damaged ones CorruptDatasetError. `download=True` cannot
    fetch anything: it raises DownloadError saying where to get the archive.
    """

    base_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    train_list = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list = ["test_batch.bin"]
    classes = [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ]  # fmt: skip

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
        names = self.train_list if train else self.test_list
        folder = self._folder(names)
        if folder is None:
            self._explain_missing(names, download)
        self.files = [os.path.join(folder, name) for name in names]
        labels, images = zip(*(read_cifar_batch(path) for path in self.files), strict=True)
        self.data = Tensor._make(np.concatenate(images), False, None)
        self.targets = Tensor._make(np.concatenate(labels).astype(np.int64), False, None)

    def _candidates(self) -> list[str]:
        return [os.path.join(self.root, self.base_folder), self.root]

    def _folder(self, names: list[str]) -> str | None:
        """The first candidate folder holding every file of the split."""
        for folder in self._candidates():
            if all(os.path.exists(os.path.join(folder, name)) for name in names):
                return folder
        return None

    def _explain_missing(self, names: list[str], download: bool) -> None:
        folder = self._candidates()[0]
        missing = [n for n in names if not os.path.exists(os.path.join(folder, n))]
        where = (
            f"{type(self).__name__}: the {'training' if self.train else 'test'} files of the "
            f"binary version were not found in {folder} (nor in {self.root}).\n"
            f"Expected: {', '.join(names)}; missing: {', '.join(missing)}.\n"
        )
        how = (
            f"Download {self.url} (the binary version, not the Python one) and extract it "
            f"into {self.root}, which makes the folder {self.base_folder}."
        )
        if download:
            raise DownloadError(where + "stepgrad cannot download CIFAR-10 itself. " + how)
        raise DatasetNotFoundError(where + how)

    def _images(self, index) -> np.ndarray:
        images = self.data._data[index].astype(np.float32) / np.float32(255)
        return np.moveaxis(images, -1, -3)

    def extra_repr(self) -> str:
        return f"Root location: {self.root}\nSplit: {'Train' if self.train else 'Test'}"


def read_cifar_batch(
    path: str | os.PathLike, max_bytes: int = MAX_CIFAR_FILE_BYTES, num_classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """(labels (N,) uint8, images (N, 32, 32, 3) uint8) from one binary CIFAR batch file.

    The file must be a whole number of 3,073-byte records with labels below
    `num_classes`; anything else, a folder or FIFO in its place included, raises
    CorruptDatasetError naming `path` (DatasetNotFoundError when it is missing).
    """
    path = os.fspath(path)
    try:
        with open_regular(path, max_bytes) as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{path}: no such file") from None
    except OSError as err:
        reason = f"{path}: {err.strerror or err}" if err.filename is None else str(err)
        raise CorruptDatasetError(reason) from None
    if not raw or len(raw) % _RECORD:
        raise CorruptDatasetError(
            f"{path}: {len(raw)} bytes is not a whole number of {_RECORD}-byte CIFAR records "
            "(1 label byte + 3072 pixel bytes); is it the binary version's file?"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].copy()
    if labels.max() >= num_classes:
        bad = int(np.argmax(labels >= num_classes))
        raise CorruptDatasetError(
            f"{path}: record {bad} has label {int(labels[bad])}, outside 0..{num_classes - 1}"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return labels, np.ascontiguousarray(images)
