"""Datasets: the shipped 8x8 digits, MNIST and Fashion-MNIST from IDX files, CIFAR-10 from its
binary files, image folders (with Pillow), 2-D toy sets."""

from engine.datasets import transforms
from engine.datasets.cifar import CIFAR10
from engine.datasets.digits import Digits
from engine.datasets.folder import ImageFolder
from engine.datasets.mnist import (
    MNIST,
    CorruptDatasetError,
    DatasetNotFoundError,
    DownloadError,
    FashionMNIST,
    read_idx,
)
from engine.datasets.toy import make_blobs, make_circles, make_moons, make_spirals, make_xor
from engine.datasets.vision import VisionDataset

__all__ = [
    "CIFAR10",
    "ImageFolder",
    "MNIST",
    "CorruptDatasetError",
    "DatasetNotFoundError",
    "Digits",
    "DownloadError",
    "FashionMNIST",
    "VisionDataset",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "read_idx",
    "transforms",
]
