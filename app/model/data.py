"""The datasets a design trains on, made from its `training` settings."""

from __future__ import annotations

import inspect
import os
import reprlib
from dataclasses import dataclass

from engine import datasets
from engine.utils.data import Dataset, TensorDataset

IMAGE_SETS = {
    "digits": datasets.Digits,
    "mnist": datasets.MNIST,
    "fashion_mnist": datasets.FashionMNIST,
}
TOY_SETS = {
    "moons": datasets.make_moons,
    "circles": datasets.make_circles,
    "spirals": datasets.make_spirals,
    "xor": datasets.make_xor,
    "blobs": datasets.make_blobs,
}
TOY_OPTIONS = {"spirals": ("classes",), "blobs": ("centers",), "circles": ("factor",)}
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


# Toy sets are drawn into memory at once: a million points (16 MB) is far more than a
# 2-D toy needs, and keeps a mistyped `n` from asking for terabytes.
MAX_TOY_SAMPLES = 1_000_000
MAX_TOY_CLASSES = 1_000  # spiral arms or blob centers; a classifier needs one output each


class DatasetError(ValueError):
    """A dataset that cannot be made: the message names the folder or the value."""


@dataclass
class DataSplit:
    """Training and validation sets, what one sample looks like, and where they come from.

    `input_shape` is the shape of a sample as read, never assumed; `source` names the
    file or settings it was read from, for messages. Both sets hold at least one sample.
    """

    name: str
    train: Dataset
    val: Dataset
    input_shape: tuple
    num_classes: int
    source: str = ""

    def __post_init__(self) -> None:
        for part, which in ((self.train, "training"), (self.val, "validation")):
            if len(part) == 0:
                raise DatasetError(
                    f"{self.source or self.name}: the {which} set is empty; "
                    "training needs at least one sample in each"
                )


def make_datasets(training: dict, data_dir: str | os.PathLike | None = None) -> DataSplit:
    """The training and validation sets named by `training["dataset"]`.

    Image sets validate on their test split. Toy sets are drawn once from
    `training["seed"]` (size `n`, at most MAX_TOY_SAMPLES, `noise`, and `classes` for
    spirals, `centers` for blobs, `factor` for circles) and split: the last
    `val_fraction` (default 0.2) of the shuffled points validate. Anything that keeps
    them from being made, an empty split included, is a DatasetError.
    """
    name = str(training.get("dataset", "digits")).lower()
    if name in IMAGE_SETS:
        return _image_sets(name, data_dir)
    if name in TOY_SETS:
        return _toy_sets(name, training)
    known = ", ".join([*IMAGE_SETS, *TOY_SETS])
    raise DatasetError(f"unknown dataset {training.get('dataset')!r} (known: {known})")


def _image_sets(name: str, data_dir) -> DataSplit:
    cls = IMAGE_SETS[name]
    if name == "digits":
        train, val = cls(train=True), cls(train=False)
        shape = tuple(train[0][0].shape)
        return DataSplit(name, train, val, shape, len(cls.classes), "the shipped 8×8 digits")
    files = ", ".join(IDX_FILES)
    if data_dir is None:
        raise DatasetError(
            f"dataset {name!r} reads its files from a folder: pass --data DIR, where DIR "
            f"(or DIR/{cls.__name__}/raw) holds {files}"
        )
    if not os.path.isdir(data_dir):
        raise DatasetError(
            f"data folder {os.fspath(data_dir)} does not exist (it should hold {files})"
        )
    try:
        train, val = cls(data_dir, train=True), cls(data_dir, train=False)
    except (datasets.DatasetNotFoundError, datasets.CorruptDatasetError, OSError) as err:
        raise DatasetError(str(err)) from None
    for part, which in ((train, "training"), (val, "validation")):
        if len(part) == 0:
            raise DatasetError(
                f"{part.files[0]} holds no images; the {which} set needs at least one"
            )
    shape, val_shape = tuple(train[0][0].shape), tuple(val[0][0].shape)
    if val_shape != shape:
        raise DatasetError(
            f"{train.files[0]} holds {image_size(shape)} images but {val.files[0]} holds "
            f"{image_size(val_shape)}; the two splits must come from the same set"
        )
    return DataSplit(name, train, val, shape, len(cls.classes), train.files[0])


def image_size(shape: tuple) -> str:
    """'28×28' for an image shape (C, H, W)."""
    return "×".join(str(d) for d in shape[1:])


def toy_settings(name: str, training: dict) -> tuple[dict, float]:
    """The keyword arguments (defaults filled in) `make_datasets` draws toy set `name`
    with, and the fraction of it that validates; a DatasetError for a bad value."""
    kwargs, fraction = _toy_settings(name, training)
    bound = inspect.signature(TOY_SETS[name]).bind(**kwargs)
    bound.apply_defaults()
    return dict(bound.arguments), fraction


def _toy_settings(name: str, training: dict) -> tuple[dict, float]:
    n = training.get("n", 400)
    if not _is_int(n) or not 2 <= n <= MAX_TOY_SAMPLES:
        raise DatasetError(
            f"dataset {name!r}: training.n must be a whole number from 2 to "
            f"{MAX_TOY_SAMPLES:,}, got {reprlib.repr(n)}"
        )
    kwargs = {"n": n, "seed": training.get("seed", 0)}
    for key in ("noise", *TOY_OPTIONS.get(name, ())):
        if key in training:
            kwargs[key] = training[key]
    count = kwargs.get("classes", kwargs.get("centers"))
    if isinstance(count, list | tuple | int) and _count(count) > MAX_TOY_CLASSES:
        key = "classes" if "classes" in kwargs else "centers"
        raise DatasetError(
            f"dataset {name!r}: training.{key} may give at most {MAX_TOY_CLASSES:,} classes, "
            f"got {reprlib.repr(count)}"
        )
    fraction = training.get("val_fraction", 0.2)
    if not isinstance(fraction, int | float) or isinstance(fraction, bool) or not 0 < fraction < 1:
        raise DatasetError(
            f"training.val_fraction must be a number between 0 and 1, got {reprlib.repr(fraction)}"
        )
    return kwargs, fraction


def _toy_sets(name: str, training: dict) -> DataSplit:
    kwargs, fraction = _toy_settings(name, training)
    try:
        x, y = TOY_SETS[name](**kwargs)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"dataset {name!r}: {err}") from None
    cut = len(y) - max(1, round(len(y) * fraction))
    if cut < 1:
        raise DatasetError(
            f"dataset {name!r}: training.val_fraction {fraction} of {len(y)} samples leaves none "
            "to train on"
        )
    train, val = TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])
    return DataSplit(name, train, val, (2,), int(y.max().item()) + 1, f"toy set {name!r}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(classes: list | tuple | int) -> int:
    return classes if isinstance(classes, int) else len(classes)
