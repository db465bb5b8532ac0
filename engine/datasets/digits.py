"""The 8x8 handwritten digits (UCI, 1,797 images), shipped inside the package."""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.datasets.vision import DIGIT_CLASSES, VisionDataset
from engine.tensor import Tensor

DIGITS_FILE = Path(__file__).parent / "data" / "digits.csv.gz"


class Digits(VisionDataset):
    """The UCI "Optical Recognition of Handwritten Digits" test set: 1,797 images, 8x8.

    Items are (image (1, 8, 8) float32 in [0, 1], label 0..9); `.data` holds all
    images as a float32 tensor (N, 1, 8, 8) and `.targets` the int64 labels.

    The split is fixed and needs no random numbers: within each class, in file
    order, every fifth image (positions 4, 9, 14, ...) is a test image and the
    rest train. That gives 1,442 training and 355 test images with each class in
    both at 4:1. `root` and `download` are accepted so a script written for
    `MNIST(root, ...)` runs with only the class name changed; the data ships with
    stepgrad, so they do nothing.
    """

    classes = DIGIT_CLASSES

    def __init__(
        self,
        root: str | None = None,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ):
        if isinstance(root, bool):
            raise TypeError(
                "Digits(root, train, ...): the first argument is root (ignored); "
                "pass train by keyword, e.g. Digits(train=False)"
            )
        super().__init__(transform, target_transform)
        self.root, self.train = root, train
        pixels, labels = _load_digits()
        keep = ~_test_mask(labels) if train else _test_mask(labels)
        images = (pixels[keep] / np.float32(16)).astype(np.float32).reshape(-1, 1, 8, 8)
        self.data = Tensor._make(images, False, None)
        self.targets = Tensor._make(labels[keep], False, None)

    def _images(self, index) -> np.ndarray:
        return np.array(self.data._data[index])  # a copy: callers may change it

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


def _test_mask(labels: np.ndarray) -> np.ndarray:
    """Every fifth image of each class, in file order, is a test image."""
    mask = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        mask[np.flatnonzero(labels == c)[4::5]] = True
    return mask


@functools.cache
def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images as uint8 (N, 64) in 0..16 and their int64 labels, read once."""
    if not DIGITS_FILE.is_file():
        raise FileNotFoundError(
            f"the digits data file is missing: {DIGITS_FILE} (it ships with stepgrad; "
            "reinstall the package)"
        )
    try:
        with gzip.open(DIGITS_FILE, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"{DIGITS_FILE}: can't read the digits data ({e})") from None
    if table.shape != (1797, 65):
        raise ValueError(f"{DIGITS_FILE}: expected 1797 rows of 65 values, got {table.shape}")
    pixels, labels = table[:, :64], table[:, 64]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{DIGITS_FILE}: pixel values must be 0..16 and labels 0..9")
    pixels, labels = pixels.astype(np.uint8), labels.copy()
    pixels.flags.writeable = labels.flags.writeable = False  # shared by every instance
    return pixels, labels
