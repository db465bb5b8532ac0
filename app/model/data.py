"""The datasets a design trains on, made from its `training` settings."""

from __future__ import annotations

import os
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


class DatasetError(ValueError):
    """A dataset that cannot be made: the message names the folder or the value."""


@dataclass
class DataSplit:
    """Training and validation sets, and what one sample looks like."""

    name: str
    train: Dataset
    val: Dataset
    input_shape: tuple
    num_classes: int


def make_datasets(training: dict, data_dir: str | os.PathLike | None = None) -> DataSplit:
    """The training and validation sets named by `training["dataset"]`.

    Image sets validate on their test split. Toy sets are drawn once from
    `training["seed"]` (size `n`, `noise`, and `classes` for spirals, `centers`
    for blobs, `factor` for circles) and split: the last `val_fraction` (default
    0.2) of the shuffled points validate.
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
        return DataSplit(name, train, val, (1, 8, 8), 10)
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
    except (datasets.DatasetNotFoundError, datasets.CorruptDatasetError) as err:
        raise DatasetError(str(err)) from None
    return DataSplit(name, train, val, (1, 28, 28), 10)


def _toy_sets(name: str, training: dict) -> DataSplit:
    kwargs = {"n": training.get("n", 400), "seed": training.get("seed", 0)}
    for key in ("noise", *TOY_OPTIONS.get(name, ())):
        if key in training:
            kwargs[key] = training[key]
    try:
        x, y = TOY_SETS[name](**kwargs)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"dataset {name!r}: {err}") from None
    fraction = training.get("val_fraction", 0.2)
    if not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise DatasetError(f"val_fraction must be a number between 0 and 1, got {fraction!r}")
    cut = len(y) - max(1, round(len(y) * fraction))
    train, val = TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])
    return DataSplit(name, train, val, (2,), int(y.max().item()) + 1)
